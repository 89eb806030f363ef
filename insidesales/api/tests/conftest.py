"""Fixtures for the API tests: a JSON client that speaks to /api/v1/ with one member's API key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from insidesales.core.testing import factories as f
from insidesales.orgs.models import Membership
from insidesales.orgs.services import api_key_create


class ApiClient:
    """Django's test client, sending JSON to /api/v1/<path> with fixed headers (usually an API key)."""

    def __init__(self, headers: dict[str, str] | None = None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers = dict(headers or {})

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {**self.headers, **extra}

    def get(self, path: str, params: Any = None, **headers: str):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self._headers(headers))

    def post(self, path: str, data: Any = None, **headers: str):
        body = "" if data is None else json.dumps(data)
        return self.client.post(f"/api/v1{path}", body, content_type="application/json", headers=self._headers(headers))

    def patch(self, path: str, data: Any = None, **headers: str):
        return self.client.patch(
            f"/api/v1{path}", json.dumps(data or {}), content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path: str, **headers: str):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(headers))


def key_for(membership: Membership) -> str:
    return api_key_create(membership=membership, name="tests")[1]


@pytest.fixture
def api_as(db) -> Callable[[Membership], ApiClient]:
    """`api_as(membership)` → a client authenticated with a fresh API key of that member."""

    def make(membership: Membership) -> ApiClient:
        return ApiClient({"Authorization": f"Bearer {key_for(membership)}"})

    return make


@pytest.fixture
def anonymous(db) -> ApiClient:
    return ApiClient()


@pytest.fixture
def admin(db) -> Membership:
    """An administrator of a fresh organization (with the default pipeline)."""
    return f.AdminMembershipFactory(organization=f.OrganizationFactory(), user=f.UserFactory(full_name="Ada Admin"))


@pytest.fixture
def admin_api(admin, api_as) -> ApiClient:
    return api_as(admin)


def assert_problem(response, status: int, code: str | None = None) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status (and code); returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    assert body["type"] == "about:blank"
    if code:
        assert body["code"] == code
    return body
