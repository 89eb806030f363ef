"""Admins' writes to the organization's dispositions (how a call ended, chosen by the rep after it).

Dispositions are never deleted (calls point at them): they are switched off. A key is fixed once
created; a hotkey belongs to one active disposition at a time. A built-in label keeps being shown in
the reader's language until an admin renames it (`config.disposition_label`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from insidesales.calls.models import Disposition
from insidesales.calls.services.config import disposition_label, dispositions_ensure
from insidesales.calls.settings_selectors import disposition_get
from insidesales.core.errors import Conflict, ValidationError
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record, require_admin

LEAD_STATUSES = ("new", "working", "qualified", "disqualified")  # what a disposition may set a lead to
ACTION_FLAGS = ("callback", "add_to_dnc", "retry")
MAX_POSITION = 999
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _clean(
    membership: Membership, data: Mapping[str, Any], current: Disposition | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    label = str(data.get("label") or "").strip()
    if current is not None and label == disposition_label(current):
        label = current.label  # the shown (translated) built-in label, left as it was
    if not label:
        errors["label"] = [_("Give the disposition a label.")]
    elif len(label) > 100:
        errors["label"] = [_("Keep the label under 100 characters.")]
    values["label"] = label
    hotkey = str(data.get("hotkey") or "").strip().lower()
    if len(hotkey) > 1 or (hotkey and not hotkey.isprintable()):
        errors["hotkey"] = [_("A hotkey is one key: a letter or a digit.")]
    values["hotkey"] = hotkey
    raw = data.get("position")
    try:
        position = current.position if raw in (None, "") and current is not None else int(raw or 0)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position <= MAX_POSITION:
        errors["position"] = [_("Enter a position from 0 to 999.")]
    values["position"] = max(position, 0)
    status = str(data.get("lead_status") or "")
    if status and status not in LEAD_STATUSES:
        errors["lead_status"] = [_("Choose a lead status.")]
    values["is_contact"] = bool(data.get("is_contact"))
    actions = {name: bool(data.get(name)) for name in ACTION_FLAGS}
    actions["lead_status"] = status
    if actions["callback"] and actions["add_to_dnc"]:
        errors["add_to_dnc"] = [_("A number put on the do-not-call list cannot also get a callback.")]
    values["actions"] = {**(current.actions if current else {}), **actions}
    if hotkey and "hotkey" not in errors and (current is None or current.is_active):
        _check_hotkey_free(membership.organization_id, hotkey, current, errors)
    return values, errors


def _check_hotkey_free(organization_id: int, hotkey: str, current: Disposition | None, errors) -> None:
    taken = Disposition.objects.filter(organization_id=organization_id, is_active=True, hotkey=hotkey)
    if current is not None:
        taken = taken.exclude(pk=current.pk)
    holder = taken.first()
    if holder is not None:
        errors["hotkey"] = [
            _("“%(key)s” is the hotkey of “%(label)s”.") % {"key": hotkey, "label": disposition_label(holder)}
        ]


@transaction.atomic
def disposition_create(*, membership: Membership, data: Mapping[str, Any]) -> Disposition:
    """Add a disposition. `data`: key, label, hotkey, position, is_contact, and the actions callback,
    add_to_dnc, retry (booleans) and lead_status ("" for none)."""
    require_admin(membership)
    dispositions_ensure(membership.organization_id)  # the built-in ones first, so keys and hotkeys are checked
    if data.get("position") in (None, ""):  # last, unless placed
        last = Disposition.objects.filter(organization_id=membership.organization_id).aggregate(Max("position"))
        data = {**data, "position": min((last["position__max"] or 0) + 1, MAX_POSITION)}
    values, errors = _clean(membership, data, None)
    key = str(data.get("key") or "").strip().lower()
    if not _KEY.match(key):
        errors["key"] = [_("A key is up to 40 lowercase letters, digits, - and _, such as “demo_booked”.")]
    elif Disposition.objects.filter(organization_id=membership.organization_id, key=key).exists():
        errors["key"] = [_("Another disposition has the key “%(key)s”.") % {"key": key}]
    if errors:
        raise ValidationError(fields=errors)
    disposition = Disposition.objects.create(organization_id=membership.organization_id, key=key, **values)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="disposition.create",
        instance=disposition,
        changes={"key": [None, key], "label": [None, disposition.label], "hotkey": [None, disposition.hotkey]},
    )
    return disposition


@transaction.atomic
def disposition_update(*, membership: Membership, disposition_id: int, data: Mapping[str, Any]) -> Disposition:
    """Change a disposition (everything but its key)."""
    disposition = disposition_get(membership=membership, disposition_id=disposition_id, for_update=True)
    values, errors = _clean(membership, data, disposition)
    if errors:
        raise ValidationError(fields=errors)
    changes = {
        name: [getattr(disposition, name), value]
        for name, value in values.items()
        if getattr(disposition, name) != value
    }
    if not changes:
        return disposition
    for name, value in values.items():
        setattr(disposition, name, value)
    disposition.save()
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="disposition.update",
        instance=disposition,
        changes=changes,
    )
    return disposition


@transaction.atomic
def disposition_set_active(*, membership: Membership, disposition_id: int, is_active: bool) -> Disposition:
    """Switch a disposition off (reps no longer see it; past calls keep it) or back on. Conflict when
    switching on would give its hotkey to two dispositions."""
    disposition = disposition_get(membership=membership, disposition_id=disposition_id, for_update=True)
    if disposition.is_active == is_active:
        return disposition
    if is_active and disposition.hotkey:
        errors: dict[str, list[str]] = {}
        _check_hotkey_free(membership.organization_id, disposition.hotkey, disposition, errors)
        if errors:
            raise Conflict(errors["hotkey"][0] + " " + _("Change one of the hotkeys first."))
    if (
        not is_active
        and not Disposition.objects.filter(organization_id=membership.organization_id, is_active=True)
        .exclude(pk=disposition.pk)
        .exists()
    ):
        raise Conflict(_("Reps need at least one disposition to choose from."))
    disposition.is_active = is_active
    disposition.save(update_fields=["is_active", "updated_at"])
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="disposition.activate" if is_active else "disposition.deactivate",
        instance=disposition,
        changes={"is_active": [not is_active, is_active]},
    )
    return disposition
