"""Completing the generated OpenAPI document with what ninja does not know about.

Every operation gets its problem+json error answers, the rate-limit headers, and (POST) the Idempotency-Key
header, so clients and schemathesis can check every answer against the document.
"""

from __future__ import annotations

from typing import Any

from insidesales.api.errors import PROBLEM_CONTENT_TYPE, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed per minute for these credentials.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current minute.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until the current minute's window ends.",
        "schema": {"type": "integer"},
    },
}
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Any unique string (e.g. a UUID). Sending the same request again with the same key replays the first "
        "answer instead of doing the work twice; the key is kept for 24 hours."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}
DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No credentials, or a wrong, revoked or cut-off API key.",
    403: "Your role may not do this, or the CSRF token is missing (session auth).",
    404: "No such object — or not one you can see: the two look the same.",
    409: "The object's state does not allow this, or the same Idempotency-Key is in flight.",
    422: "Invalid input; `errors` maps each field to its messages.",
    429: "Rate limit reached; retry after `Retry-After` seconds.",
}


def _problem(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
    }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "required": True, "schema": {"type": "integer"}},
            **RATE_HEADERS,
        }
    return response


def _error_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    has_path_id = any(p.get("in") == "path" for p in operation.get("parameters", []))
    # An id in the query (e.g. an export's saved `view`) is looked up like a path id.
    has_path_id |= any(p.get("in") == "query" and p.get("name") == "view" for p in operation.get("parameters", []))
    has_body = "requestBody" in operation
    statuses = [401, 403, 429]
    if has_body:
        statuses.append(400)
    if has_path_id or method in ("post", "patch"):
        statuses.append(404)  # a path id, or an id in the body, that is not yours
    if method in ("post", "patch", "delete"):
        statuses.append(409)
    if operation.get("parameters") or has_body or method == "post":
        statuses.append(422)
    return sorted(statuses)


def complete_schema(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            if method == "post":
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_PARAMETER))
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if 200 <= int(status) < 300:
                    response.setdefault("headers", {}).update(RATE_HEADERS)
                    if method == "post":
                        response["headers"]["Idempotent-Replayed"] = {
                            "description": "`true` when this is the stored answer to an earlier identical request.",
                            "schema": {"type": "string", "enum": ["true"]},
                        }
            for status in _error_statuses(method, operation):
                responses.setdefault(status, _problem(status))
    return schema
