"""Writes of the organization's working hours for response deadlines (admins only)."""

from __future__ import annotations

from datetime import time

from django.db import transaction
from django.utils.translation import gettext as _

from insidesales.calls.windows import CallingWindow, WindowRules
from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.inbound.models import InboundSettings
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.services import audit_record


@transaction.atomic
def working_hours_update(
    *, membership: Membership, weekdays: list[int], start: time, end: time, public_holidays: bool
) -> InboundSettings:
    if membership.role != Role.ADMIN:
        raise PermissionDenied(_("Only admins change working hours."))
    errors: dict[str, list[str]] = {}
    days = sorted({int(d) for d in weekdays if str(d).isdigit() and 0 <= int(d) <= 6})
    if not days:
        errors["weekdays"] = [_("Pick at least one working day.")]
    if start == end:
        errors["end"] = [_("The working day must end after it starts.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)
    rules = WindowRules(default=(CallingWindow(start, end, frozenset(days)),))
    settings, _created = InboundSettings.objects.select_for_update().get_or_create(
        organization_id=membership.organization_id
    )
    before = {"working_hours": settings.working_hours, "public_holidays": settings.public_holidays}
    settings.working_hours = rules.to_json()
    settings.public_holidays = public_holidays
    settings.save()
    from insidesales.inbound.sla import forget_working_rules

    transaction.on_commit(lambda: forget_working_rules(membership.organization_id))
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="inbound.working_hours",
        instance=settings,
        changes={
            "working_hours": [before["working_hours"], settings.working_hours],
            "public_holidays": [before["public_holidays"], public_holidays],
        },
    )
    return settings
