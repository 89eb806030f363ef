"""Reading the organization's suppression list: admins and managers read and search it (and may take an
address off); everyone may check one address and add one."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from insidesales.core.errors import NotFound, PermissionDenied
from insidesales.mail.models import Suppression
from insidesales.mail.services.suppression import normalize_address
from insidesales.orgs.models import Membership, Role

READERS = (Role.ADMIN, Role.MANAGER)


def can_manage_suppressions(membership: Membership) -> bool:
    return membership.role in READERS


def suppression_list(*, membership: Membership, search: str = "") -> QuerySet[Suppression]:
    """The list for admins and managers (empty for other roles), optionally only addresses containing `search`."""
    entries = Suppression.objects.filter(organization_id=membership.organization_id).select_related("created_by")
    if not can_manage_suppressions(membership):
        return entries.none()
    needle = normalize_address(search)
    if needle:
        entries = entries.filter(email__contains=needle)
    return entries


def suppression_get(*, membership: Membership, suppression_id: Any, for_removal: bool = False) -> Suppression:
    """One entry; other roles get NotFound (they cannot read the list), and PermissionDenied for removal."""
    try:
        pk = int(suppression_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    entry = Suppression.objects.filter(organization_id=membership.organization_id, pk=pk).first()
    if entry is None:
        raise NotFound()
    if not can_manage_suppressions(membership):
        if for_removal:
            raise PermissionDenied(_("Only admins and managers take an address off the suppression list."))
        raise NotFound()
    return entry


def suppression_check(*, membership: Membership, email: str) -> Suppression | None:
    """The entry for `email` when the organization suppresses it, for anyone who sends."""
    return Suppression.objects.filter(
        organization_id=membership.organization_id, email=normalize_address(email)
    ).first()
