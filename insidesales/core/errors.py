"""Domain errors raised by services and selectors; the edges turn them into form errors or 4xx."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Base class: a request that cannot be carried out. `status` is the HTTP answer at the edge."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str = "", *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.title)
        self.message = message or str(self.title)
        self.extra = extra or {}


class NotFound(ApplicationError):
    """The object does not exist *for this user*: missing and out-of-scope look the same."""

    status = 404
    title = "Not found"


class PermissionDenied(ApplicationError):
    """The object is visible, but this user's role may not do this with it."""

    status = 403
    title = "Forbidden"


class ValidationError(ApplicationError):
    """Input is wrong; `fields` maps a field name to a list of messages."""

    status = 422
    title = "Validation failed"

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message or "Validation failed", extra={"errors": fields or {}})
        self.fields = fields or {}


class Conflict(ApplicationError):
    """The request conflicts with the current state (e.g. converting a converted lead)."""

    status = 409
    title = "Conflict"


def one_or_not_found(queryset, pk: Any):
    """The row of an (already scoped) queryset with primary key `pk`, or NotFound — also for a `pk` that
    is no integer at all (a typed-in URL, an API body)."""
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError, OverflowError):
        found = None
    if found is None:
        raise NotFound()
    return found
