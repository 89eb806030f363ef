"""Admins' writes to the organization's caller IDs: the numbers it may show when it calls, per team and
per region (local presence), with at most one default."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils.translation import gettext as _

from insidesales.calls.models import CallerId
from insidesales.calls.settings_selectors import caller_id_get
from insidesales.core.errors import ValidationError
from insidesales.core.phones import parse_phone
from insidesales.orgs.models import Membership, Team
from insidesales.orgs.services import audit_record, require_admin

# "US" (the country) or "US-415" (and a national prefix: area code, city code...).
_REGION = re.compile(r"^([A-Z]{2})(?:-(\d{1,8}))?$")
AUDITED = ("number", "label", "team_id", "region", "is_default")


def clean_region(value: str) -> tuple[str, str | None]:
    """The region normalized ("us-415" → "US-415") and a message when it is not one."""
    region = (value or "").strip().upper().replace(" ", "")
    if not region:
        return "", None
    match = _REGION.match(region)
    if match is None or match.group(1) not in phonenumbers.SUPPORTED_REGIONS:
        return region, _("Enter a country code, optionally with a national prefix: US, or US-415 for one area code.")
    return region, None


def _clean(membership: Membership, data: Mapping[str, Any], current: CallerId | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    organization = membership.organization
    parsed = parse_phone(str(data.get("number") or ""), organization.default_region)
    if parsed is None:
        errors["number"] = [_("This does not look like a phone number.")]
    else:
        taken = CallerId.objects.filter(organization_id=organization.pk, number=parsed.e164)
        if current is not None:
            taken = taken.exclude(pk=current.pk)
        if taken.exists():
            errors["number"] = [_("%(number)s is in the list already.") % {"number": parsed.e164}]
    label = str(data.get("label") or "").strip()
    if len(label) > 100:
        errors["label"] = [_("Keep the label under 100 characters.")]
    team_id = data.get("team_id") or None
    if team_id is not None and not Team.objects.filter(organization_id=organization.pk, pk=team_id).exists():
        errors["team"] = [_("Choose one of the organization's teams.")]
    region, problem = clean_region(str(data.get("region") or ""))
    if problem:
        errors["region"] = [problem]
    if errors:
        raise ValidationError(fields=errors)
    assert parsed is not None
    return {
        "number": parsed.e164,
        "label": label,
        "team_id": team_id,
        "region": region,
        "is_default": bool(data.get("is_default")),
    }


def _make_only_default(caller_id: CallerId) -> None:
    CallerId.objects.filter(organization_id=caller_id.organization_id, is_default=True).exclude(pk=caller_id.pk).update(
        is_default=False
    )


@transaction.atomic
def caller_id_create(*, membership: Membership, data: Mapping[str, Any]) -> CallerId:
    """Add a number. `data`: number (read in the organization's region), label, team_id, region, is_default."""
    require_admin(membership)
    values = _clean(membership, data, None)
    caller_id = CallerId.objects.create(organization_id=membership.organization_id, **values)
    if caller_id.is_default:
        _make_only_default(caller_id)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="caller_id.create",
        instance=caller_id,
        changes={name: [None, values[name]] for name in AUDITED},
    )
    return caller_id


@transaction.atomic
def caller_id_update(*, membership: Membership, caller_id_id: int, data: Mapping[str, Any]) -> CallerId:
    caller_id = caller_id_get(membership=membership, caller_id_id=caller_id_id, for_update=True)
    values = _clean(membership, data, caller_id)
    changes = {
        name: [getattr(caller_id, name), value] for name, value in values.items() if getattr(caller_id, name) != value
    }
    if not changes:
        return caller_id
    for name, value in values.items():
        setattr(caller_id, name, value)
    caller_id.save()
    if caller_id.is_default:
        _make_only_default(caller_id)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="caller_id.update",
        instance=caller_id,
        changes=changes,
    )
    return caller_id


@transaction.atomic
def caller_id_delete(*, membership: Membership, caller_id_id: int) -> None:
    """Remove a number; campaigns that showed it fall back to the default."""
    caller_id = caller_id_get(membership=membership, caller_id_id=caller_id_id, for_update=True)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="caller_id.delete",
        instance=caller_id,
        changes={"number": [caller_id.number, None]},
    )
    caller_id.delete()
