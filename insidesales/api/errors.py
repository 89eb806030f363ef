"""RFC 9457 problem details: every API error answers `application/problem+json`.

The body is `{"type", "title", "status", "detail", "code"}` plus `errors` ({field: [messages]}) on 422.
`type` is always "about:blank", so `title` is the HTTP status phrase and `code` tells problems apart.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from insidesales.core import errors as domain

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: gettext_lazy("Bad Request"),
    401: gettext_lazy("Unauthorized"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Not Found"),
    405: gettext_lazy("Method Not Allowed"),
    409: gettext_lazy("Conflict"),
    422: gettext_lazy("Unprocessable Content"),
    429: gettext_lazy("Too Many Requests"),
    500: gettext_lazy("Internal Server Error"),
}
DEFAULT_DETAILS = {
    403: gettext_lazy("You may not do this."),
    409: gettext_lazy("The object's current state does not allow this."),
    422: gettext_lazy("The request has invalid fields."),
}
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
}
DOMAIN_CODES = (
    (domain.NotFound, "not_found"),
    (domain.PermissionDenied, "permission_denied"),
    (domain.ValidationError, "validation_error"),
    (domain.Conflict, "conflict"),
)
# Where a request's parameters came from, as ninja reports it; dropped from field names in `errors`.
PARAM_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


class Problem(Schema):
    """An RFC 9457 problem: what went wrong, for people (`title`, `detail`) and programs (`status`, `code`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: dict[str, list[str]] | None = None


class ApiProblem(Exception):
    """A problem raised by the API layer itself (idempotency, CSRF...), with its own `code`."""

    def __init__(self, status: int, detail: str, *, code: str = "", errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or CODES.get(status, "error")
        self.errors = errors


class Unauthenticated(AuthenticationError):
    """Credentials are missing, wrong, revoked, or belong to no active membership."""

    def __init__(self, message: str = "") -> None:
        super().__init__(401, message or "Unauthorized")


def problem_response(
    status: int,
    detail: Any = "",
    *,
    code: str = "",
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    title = str(TITLES.get(status) or _phrase(status))
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": str(detail or title),
        "code": code or CODES.get(status, "error"),
    }
    if errors is not None or status == 422:
        body["errors"] = {str(k): [str(m) for m in v] for k, v in (errors or {}).items()}
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def pydantic_errors(raw: list[dict[str, Any]]) -> tuple[dict[str, list[str]], bool]:
    """ninja's error list → ({"field.path": [messages]}, whether every error is about the URL path)."""
    fields: dict[str, list[str]] = {}
    only_path = bool(raw)
    for error in raw:
        loc = [str(part) for part in error.get("loc", ())]
        source = loc[0] if loc and loc[0] in PARAM_SOURCES else ""
        if source:
            loc = loc[1:]
        if source != "path":
            only_path = False
        if source == "body" and loc and loc[0] == "payload":
            loc = loc[1:]
        name = ".".join(loc) or source or "__all__"
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        fields.setdefault(name, []).append(message)
    return fields, only_path


def _application_error(request: HttpRequest, exc: domain.ApplicationError) -> HttpResponse:
    code = getattr(exc, "code", None) or next(  # a domain error may name its own code
        (name for cls, name in DOMAIN_CODES if isinstance(exc, cls)),
        CODES.get(exc.status, "error"),
    )
    errors = exc.fields if isinstance(exc, domain.ValidationError) else None
    detail = exc.message
    if isinstance(exc, domain.NotFound):
        detail = _("No such object.")  # the same words whether it is missing or out of scope
    elif not detail or detail == exc.title:
        detail = str(DEFAULT_DETAILS.get(exc.status) or TITLES.get(exc.status) or _phrase(exc.status))
    return problem_response(exc.status, detail, code=code, errors=errors)


def _api_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(exc.status, exc.detail, code=exc.code, errors=exc.errors)


def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields, only_path = pydantic_errors(exc.errors)
    if only_path:
        # A malformed or out-of-range id names no object: the same answer as an unknown one.
        return problem_response(404, _("No such object."))
    return problem_response(422, _("The request has invalid fields."), errors=fields)


def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = exc.message if exc.message != "Unauthorized" else _("Send an API key or sign in.")
    return problem_response(401, detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return problem_response(429, _("Too many requests; wait before trying again."))


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    detail = str(exc)
    if exc.status_code == 400 and detail == "Cannot parse request body":
        detail = _("The request body is not valid JSON.")
    return problem_response(exc.status_code, detail)


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(404, _("No such object."))


def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(403, str(exc) or _("You may not do this."))


def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API request failed: %s %s", request.method, request.path, exc_info=exc)
    return problem_response(500, _("Something went wrong on our side."))


def install_exception_handlers(api: NinjaAPI) -> None:
    """Route every exception an operation can raise to a problem response (most specific class wins)."""
    api.add_exception_handler(domain.ApplicationError, _application_error)
    api.add_exception_handler(ApiProblem, _api_problem)
    api.add_exception_handler(NinjaValidationError, _validation_error)
    api.add_exception_handler(AuthenticationError, _authentication_error)
    api.add_exception_handler(Throttled, _throttled)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(ObjectDoesNotExist, _not_found)
    api.add_exception_handler(DjangoPermissionDenied, _forbidden)
    api.add_exception_handler(Exception, _server_error)
