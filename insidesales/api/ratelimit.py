"""Per-key request limits: a fixed one-minute window counted in the Django cache (Redis or the database).

Requests made with an API key count against that key; requests made from a browser session count
against the user. `settings.API_RATE_LIMIT_PER_MINUTE` is read on every request (0 switches limits off).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from ninja.throttling import BaseThrottle

WINDOW_SECONDS = 60


def clock() -> float:
    """Seconds since the epoch; a function so tests can stop time at a window's edge."""
    return time.time()


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends


def rate_limit_identity(request: HttpRequest) -> str | None:
    """Whose budget this request spends: the API key's, else the signed-in user's."""
    key = getattr(request, "api_key", None)
    if key is not None:
        return f"key:{key.pk}"
    membership = getattr(request, "auth", None)
    if membership is not None and getattr(membership, "user_id", None):
        return f"user:{membership.user_id}"
    return None


def _count(key: str) -> int:
    """Add one to the window's counter: incr where it exists, else add (first request of the window)."""
    try:
        return int(cache.incr(key))
    except ValueError:
        if cache.add(key, 1, WINDOW_SECONDS + 5):
            return 1
        return int(cache.incr(key))  # another request created it in between


class ApiRateLimit(BaseThrottle):
    """ninja throttle: runs after authentication, before the operation; answers 429 with Retry-After."""

    def __init__(self) -> None:
        # One instance serves every thread; the wait belongs to the request being checked.
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        identity = rate_limit_identity(request)
        limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
        if identity is None or limit <= 0:
            return True
        now = clock()
        window = int(now // WINDOW_SECONDS)
        count = _count(f"api-rate:{identity}:{window}")
        reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        request._rate_limit = RateLimitState(limit=limit, remaining=max(0, limit - count), reset=reset)  # type: ignore[attr-defined]
        self._local.wait = reset
        return count <= limit

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)


def add_rate_limit_headers(request: HttpRequest, response: HttpResponse) -> None:
    state: RateLimitState | None = getattr(request, "_rate_limit", None)
    if state is None:
        return
    response["X-RateLimit-Limit"] = str(state.limit)
    response["X-RateLimit-Remaining"] = str(state.remaining)
    response["X-RateLimit-Reset"] = str(state.reset)
