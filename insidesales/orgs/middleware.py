"""Per-request membership (role, organization) and the user's language and time zone."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth import logout
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from insidesales.orgs.auth import active_membership


class MembershipMiddleware:
    """Attach `request.membership`; a user whose agency was switched off is signed out at once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = active_membership(user, request.session.get("organization_id"))
            if membership is None and not user.is_superuser:
                logout(request)
                messages.warning(
                    request,
                    _("Your access has ended: your organization or agency was switched off."),
                    fail_silently=True,
                )
            request.membership = membership
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone or "UTC"))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if not request.COOKIES.get("django_language") and user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
