"""Reads of the telephony settings pages, for admins only: caller IDs, dispositions, and the calling-window
check of one number under the organization's saved rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from insidesales.calls import compliance
from insidesales.calls.models import CallerId, Disposition
from insidesales.calls.services.config import dispositions_ensure, telephony_settings
from insidesales.calls.services.dnc import blocked_numbers
from insidesales.core.errors import NotFound
from insidesales.core.phones import parse_phone
from insidesales.orgs.models import Membership
from insidesales.orgs.services import require_admin


def caller_id_list(*, membership: Membership) -> QuerySet[CallerId]:
    require_admin(membership)
    return (
        CallerId.objects.filter(organization_id=membership.organization_id)
        .select_related("team")
        .order_by("-is_default", "label", "number")
    )


def caller_id_get(*, membership: Membership, caller_id_id: int, for_update: bool = False) -> CallerId:
    require_admin(membership)
    qs = CallerId.objects.filter(organization_id=membership.organization_id)
    if for_update:
        qs = qs.select_for_update()
    found = qs.filter(pk=caller_id_id).first()
    if found is None:
        raise NotFound()
    return found


def disposition_list(*, membership: Membership) -> QuerySet[Disposition]:
    """Every disposition of the organization, active ones first (the defaults are created on first use)."""
    require_admin(membership)
    dispositions_ensure(membership.organization_id)
    return Disposition.objects.filter(organization_id=membership.organization_id).order_by(
        "-is_active", "position", "id"
    )


def disposition_get(*, membership: Membership, disposition_id: int, for_update: bool = False) -> Disposition:
    require_admin(membership)
    qs = Disposition.objects.filter(organization_id=membership.organization_id)
    if for_update:
        qs = qs.select_for_update()
    found = qs.filter(pk=disposition_id).first()
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class WindowCheck:
    """What the "test a number" tool shows: the number as read, and `compliance.check_call`'s decision."""

    e164: str
    country: str
    decision: compliance.Decision


def window_check(*, membership: Membership, phone: str, time_zone: str, now: dt.datetime) -> WindowCheck | None:
    """May `phone` be called at `now` under the saved rules and do-not-call list? None: not a phone number.
    A `time_zone` given counts as known (as a person typed it on the lead)."""
    require_admin(membership)
    organization = membership.organization
    parsed = parse_phone(phone, organization.default_region)
    if parsed is None:
        return None
    rules = compliance.WindowRules.from_json(telephony_settings(organization.pk).window_rules or {})
    decision = compliance.check_call(
        lead_phone=parsed.e164,
        lead_country=parsed.country,
        lead_time_zone=time_zone,
        now_utc=now,
        rules=rules,
        dnc=blocked_numbers(organization.pk, None, [parsed.e164]),
        time_zone_confirmed=bool(time_zone),
    )
    return WindowCheck(e164=parsed.e164, country=parsed.country, decision=decision)
