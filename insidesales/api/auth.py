"""Who is calling: an API key (`Authorization: Bearer` or `X-API-Key`) or the browser session (with CSRF).

Each scheme answers the caller's Membership, which ninja puts on `request.auth`. A key that is wrong or
revoked, or whose user has no active membership in the key's organization (e.g. their agency was switched
off), answers 401 — even if the browser also carries a session.
"""

from __future__ import annotations

import zoneinfo

from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from insidesales.api.errors import ApiProblem, Unauthenticated
from insidesales.orgs.auth import active_membership, with_memberships
from insidesales.orgs.models import Membership, User
from insidesales.orgs.services import api_key_authenticate


def membership_for_key(request: HttpRequest, secret: str) -> Membership:
    """The membership an API key acts as; raises Unauthenticated for a bad key or a cut-off user."""
    key = api_key_authenticate((secret or "").strip())
    if key is None:
        raise Unauthenticated(_("The API key is invalid or revoked."))
    membership = active_membership(with_memberships(key.user), key.organization_id)
    if membership is None or membership.organization_id != key.organization_id:
        raise Unauthenticated(_("The API key's user has no access to this organization."))
    request.api_key = key  # type: ignore[attr-defined]
    _use_preferences(request, key.user)
    return membership


def _use_preferences(request: HttpRequest, user: User) -> None:
    """Key callers get their own time zone (for "today") and, unless they ask otherwise, their language."""
    try:
        timezone.activate(zoneinfo.ZoneInfo(user.time_zone or "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()
    if "HTTP_ACCEPT_LANGUAGE" not in request.META and user.language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language  # type: ignore[attr-defined]


class BearerAuth(HttpBearer):
    """`Authorization: Bearer isk_...`"""

    def authenticate(self, request: HttpRequest, token: str) -> Membership | None:
        return membership_for_key(request, token)


class ApiKeyAuth(APIKeyHeader):
    """`X-API-Key: isk_...`"""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Membership | None:
        if not key:
            return None
        return membership_for_key(request, key)


class SessionAuth(APIKeyCookie):
    """The browser's session cookie; unsafe methods also need the CSRF token (`X-CSRFToken` header)."""

    def __init__(self) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Membership | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # Set by MembershipMiddleware; None once the user's agency is switched off.
        membership = getattr(request, "membership", None)
        if membership is None:
            return None
        if check_csrf(request):
            raise ApiProblem(403, _("CSRF check failed: send the X-CSRFToken header."), code="csrf_failed")
        return membership

    def authenticate(self, request: HttpRequest, key: str | None) -> Membership | None:  # pragma: no cover
        return None  # __call__ does the work; ninja's base class requires the method


def auth_schemes() -> list:
    return [BearerAuth(), ApiKeyAuth(), SessionAuth()]
