"""Admins' writes to the organization's dispositions (how a call ended, chosen by the rep after it).

Dispositions are never deleted (calls point at them): they are switched off. A key is fixed once
created; a hotkey belongs to one active disposition at a time. A built-in label keeps being shown in
the reader's language until an admin renames it (`config.disposition_label`).

A disposition may enroll the called lead or contact in an email sequence (`actions["enroll_sequence"]`, a
sequence id): `disposition_enroll` runs after the rep picks it, and a record that cannot be enrolled (no
address, suppressed, already in a sequence...) never undoes the disposition: why is written on its timeline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from insidesales.calls.models import Call, Disposition
from insidesales.calls.services.config import disposition_label, dispositions_ensure
from insidesales.calls.settings_selectors import disposition_get
from insidesales.core.errors import ApplicationError, Conflict, ValidationError
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
    sequence_id = _clean_enroll_sequence(membership, data, errors)
    values["actions"] = {**(current.actions if current else {}), **actions}
    if "enroll_sequence" in data:  # a form or request that does not offer the action leaves it as it was
        values["actions"].pop("enroll_sequence", None)
        if sequence_id is not None:
            values["actions"]["enroll_sequence"] = sequence_id
    if hotkey and "hotkey" not in errors and (current is None or current.is_active):
        _check_hotkey_free(membership.organization_id, hotkey, current, errors)
    return values, errors


def _clean_enroll_sequence(membership: Membership, data: Mapping[str, Any], errors: dict[str, list[str]]) -> int | None:
    """The sequence a disposition enrolls in: one of the organization's that is not archived, or none."""
    from insidesales.mail.models import Sequence, SequenceStatus

    raw = data.get("enroll_sequence")
    if raw in (None, ""):
        return None
    try:
        sequence_id = int(raw)
    except (TypeError, ValueError):
        sequence_id = 0
    exists = (
        Sequence.objects.filter(organization_id=membership.organization_id, pk=sequence_id)
        .exclude(status=SequenceStatus.ARCHIVED)
        .exists()
    )
    if not exists:
        errors["enroll_sequence"] = [_("Choose one of the sequences.")]
        return None
    return sequence_id


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


def disposition_enroll(*, membership: Membership, call: Call, disposition: Disposition) -> str | None:
    """After the rep chose `disposition` for `call`: enroll the lead or contact called in the disposition's
    sequence, with the rep as the one who enrolled it. Returns why it was not enrolled (None when it was, or
    when there is nothing to do); either way the record's timeline says what happened. Nothing raised here
    reaches the disposition: a refusal is rolled back to a savepoint and written down instead."""
    from insidesales.mail.selectors.sequences import sequence_list
    from insidesales.mail.services.sequences import SKIP_MESSAGES, enrollments_create
    from insidesales.orgs.visibility import visible_records

    sequence_id = (disposition.actions or {}).get("enroll_sequence")
    record = call.lead or call.contact
    if not sequence_id or record is None:
        return None
    # Only a sequence this rep may see (an agency rep: their agency's), and only a record they may see.
    sequence = sequence_list(membership=membership).filter(pk=sequence_id).first()
    problem: str | None = None
    if sequence is None:
        problem = _("the sequence no longer exists")
    elif not visible_records(type(record).objects.filter(pk=record.pk), membership).exists():
        return None
    else:
        try:
            with transaction.atomic():
                leads, contacts = ([record], []) if call.lead_id else ([], [record])
                result = enrollments_create(actor=membership, sequence=sequence, leads=leads, contacts=contacts)
        except ApplicationError as exc:
            problem = exc.message
        else:
            if not result.enrolled:
                reason = next(iter(result.skipped), "")
                problem = str(SKIP_MESSAGES.get(reason, reason))
    name = sequence.name if sequence is not None else str(sequence_id)
    if problem is None:
        subject = _("Enrolled in the sequence “%(name)s”") % {"name": name}
    else:
        subject = _("Not enrolled in the sequence “%(name)s”: %(why)s") % {"name": name, "why": problem}
    _timeline_note(membership, call, subject, sequence_id=sequence_id, enrolled=problem is None)
    return problem


def _timeline_note(membership: Membership, call: Call, subject: str, *, sequence_id: int, enrolled: bool) -> None:
    from insidesales.crm.models import Activity, ActivityKind

    Activity.objects.create(
        organization_id=membership.organization_id,
        kind=ActivityKind.NOTE,
        actor=membership.user,
        subject=subject[:255],
        body=subject,
        data={"event": "sequence_enroll", "call_id": call.pk, "sequence_id": sequence_id, "enrolled": enrolled},
        lead_id=call.lead_id,
        contact_id=None if call.lead_id else call.contact_id,
    )
