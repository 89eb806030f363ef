"""The OpenAPI document describes every operation fully, and the docs page loads nothing from a CDN."""

from __future__ import annotations

import re

import pytest
from django.test import Client

METHODS = ("get", "post", "patch", "put", "delete")


@pytest.fixture
def schema(db) -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_has_id_summary_tags_and_security(schema):
    ids = set()
    for path, method, operation in _operations(schema):
        assert operation.get("operationId"), (path, method)
        assert operation["operationId"] not in ids
        ids.add(operation["operationId"])
        assert operation.get("summary"), (path, method)
        assert operation.get("tags"), (path, method)
        schemes = {name for requirement in operation["security"] for name in requirement}
        assert schemes == {"BearerAuth", "ApiKeyAuth", "SessionAuth"}, (path, method)
    assert set(schema["components"]["securitySchemes"]) == {"BearerAuth", "ApiKeyAuth", "SessionAuth"}


def test_every_operation_declares_problem_responses(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        for status in ("401", "403", "429"):
            assert "application/problem+json" in responses[status]["content"], (path, method, status)
        if "{id}" in path:
            assert "404" in responses, (path, method)
        if method in ("post", "patch"):
            assert "422" in responses, (path, method)
        assert "Retry-After" in responses["429"]["headers"]


def test_posts_document_the_idempotency_key(schema):
    for path, method, operation in _operations(schema):
        names = {p["name"] for p in operation.get("parameters", [])}
        assert ("Idempotency-Key" in names) == (method == "post"), (path, method)


def test_the_documented_paths(schema):
    paths = set(schema["paths"])
    for plural in ("leads", "contacts", "companies", "deals"):
        base = f"/api/v1/{plural}"
        assert {base, f"{base}/bulk", f"{base}/{{id}}", f"{base}/{{id}}/assign", f"{base}/{{id}}/notes"} <= paths
        assert f"{base}/{{id}}/timeline" in paths
    for verb in ("qualify", "disqualify", "start-working", "convert"):
        assert f"/api/v1/leads/{{id}}/{verb}" in paths
    for verb in ("move-stage", "won", "lost"):
        assert f"/api/v1/deals/{{id}}/{verb}" in paths
    for other in ("tasks", "tasks/today", "tags", "custom-fields", "pipelines", "saved-views", "search", "me"):
        assert f"/api/v1/{other}" in paths


def test_list_parameters_come_from_the_filterset(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/leads"]["get"]["parameters"]}
    assert {"owner", "status", "q", "team", "agency", "tag", "country", "created_from", "created_to"} <= names
    assert {"sort", "cursor", "limit"} <= names


def test_docs_page_uses_local_static_files(db):
    html = Client().get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
    assert external == []
