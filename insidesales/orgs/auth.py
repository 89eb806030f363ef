"""Login by email, refusing users with no active membership (e.g. a switched-off agency)."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from insidesales.orgs.models import User


def active_membership(user: User, organization_id: int | None = None):
    """The membership a signed-in user works in: the chosen organization, else the first active one."""
    from insidesales.orgs.models import Membership

    qs = (
        Membership.objects.select_related("organization", "agency", "team", "user")
        .filter(user=user, is_active=True)
        .order_by("id")
    )
    if organization_id:
        chosen = qs.filter(organization_id=organization_id).first()
        if chosen:
            return _usable(chosen)
    for membership in qs:
        if _usable(membership):
            return membership
    return None


def _usable(membership):
    if membership.agency_id and not membership.agency.is_active:
        return None
    return membership


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip().lower()
        if not email or password is None:
            return None
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            User().set_password(password)  # same work as a real check, against timing probes
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.is_superuser or active_membership(user) is not None:
                return user
        return None
