"""`Idempotency-Key` on POST: a retried request gets the stored answer instead of doing the work twice.

Two wrappers, installed on every operation by `api.py`:
- `idempotency_transaction` wraps the whole operation (before authentication). For a POST with the header
  it takes a short lock in the cache (a concurrent duplicate answers 409), then runs the operation inside one
  transaction and stores the answer in that same transaction, so the write and its stored answer commit
  together or not at all. Answers of 5xx roll everything back and are not stored.
- `idempotency_lookup` wraps the endpoint function (after authentication and input validation): it replays a
  stored answer (same status and body, plus `Idempotent-Replayed: true`), refuses a key reused for a different
  request (422), or marks the request so its answer is stored.
Requests refused before the endpoint runs (401, 422 on input, 429) are not stored: they did nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.api.errors import ApiProblem, problem_response
from insidesales.api.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = dt.timedelta(hours=24)
LOCK_SECONDS = 120
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as in the IETF draft's examples


@dataclass(frozen=True)
class PendingKey:
    organization_id: int
    user_id: int
    key: str
    method: str
    path: str
    body_hash: str


def _applies(request: HttpRequest) -> bool:
    return request.method == "POST" and HEADER in request.headers


def _lock_name(request: HttpRequest, key: str) -> str:
    # Taken before authentication, so it is keyed by the credentials sent rather than by the user.
    credentials = "|".join(
        (
            request.headers.get("Authorization", ""),
            request.headers.get("X-API-Key", ""),
            request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""),
        )
    )
    digest = hashlib.sha256(f"{credentials}\n{key}".encode()).hexdigest()
    return f"api-idempotency-lock:{digest}"


def idempotency_transaction(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _applies(request):
            return run(request, *args, **kwargs)
        lock = _lock_name(request, request.headers[HEADER][:300])
        if not cache.add(lock, 1, LOCK_SECONDS):
            return problem_response(
                409,
                _("A request with this Idempotency-Key is still being processed."),
                code="idempotency_in_flight",
            )
        try:
            with transaction.atomic():
                response = run(request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                pending: PendingKey | None = getattr(request, "_idempotency", None)
                if pending is not None and not _store(pending, response):
                    transaction.set_rollback(True)
                    return problem_response(
                        409,
                        _("A request with this Idempotency-Key was completed at the same time."),
                        code="idempotency_in_flight",
                    )
                return response
        finally:
            cache.delete(lock)

    return wrapper


def idempotency_lookup(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not _applies(request):
            return view(request, *args, **kwargs)
        key = request.headers[HEADER]
        if not KEY_PATTERN.match(key):
            raise ApiProblem(
                422,
                _("The Idempotency-Key header must be 1 to 255 visible ASCII characters."),
                errors={HEADER: [_("Invalid key.")]},
            )
        membership = request.auth  # type: ignore[attr-defined]
        pending = PendingKey(
            organization_id=membership.organization_id,
            user_id=membership.user_id,
            key=key,
            method=request.method or "POST",
            path=request.get_full_path()[:2000],
            body_hash=hashlib.sha256(request.body).hexdigest(),
        )
        stored = _find(pending)
        if stored is not None:
            if (stored.method, stored.path, stored.body_hash) != (pending.method, pending.path, pending.body_hash):
                raise ApiProblem(
                    422,
                    _("This Idempotency-Key was already used for a different request."),
                    code="idempotency_key_reused",
                    errors={HEADER: [_("Use a new key for a new request.")]},
                )
            return replay(stored)
        request._idempotency = pending  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _find(pending: PendingKey) -> IdempotencyKey | None:
    stored = IdempotencyKey.objects.filter(
        organization_id=pending.organization_id, user_id=pending.user_id, key=pending.key
    ).first()
    if stored is not None and stored.created_at < timezone.now() - KEY_TTL:
        stored.delete()  # expired: the key may be used afresh
        return None
    return stored


def _store(pending: PendingKey, response: HttpResponse) -> bool:
    """Keep the answer; False when another request stored one for this key first."""
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(
                organization_id=pending.organization_id,
                user_id=pending.user_id,
                key=pending.key,
                method=pending.method,
                path=pending.path,
                body_hash=pending.body_hash,
                response_status=response.status_code,
                response_body=response.content.decode("utf-8", errors="replace"),
                response_content_type=response.get("Content-Type", "application/json")[:100],
            )
    except IntegrityError:
        return False
    return True


def replay(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(stored.response_body, status=stored.response_status)
    response["Content-Type"] = stored.response_content_type
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Forget keys older than 24 hours; run periodically by the worker. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - KEY_TTL
    deleted, _detail = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
