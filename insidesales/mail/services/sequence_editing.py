"""Writing sequences and their steps: create, change, activate, pause, archive; add, change, delete and move steps.

Admins edit every sequence; managers the sequences of the teams they manage (an organization-wide sequence,
with no team, and an agency's sequence are the admins'). Reps and agency reps use sequences (they enroll), they
do not write them. Step positions run 0, 1, 2... without gaps: an enrollment's `position` is the index of the
next step it runs, so inserting, deleting or moving a step shifts the open enrollments past it as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.mail.models import (
    EmailTemplate,
    Enrollment,
    EnrollmentState,
    Sequence,
    SequenceStatus,
    SequenceStep,
    StepKind,
    StopReason,
)
from insidesales.orgs.models import Agency, Membership, Role, Team
from insidesales.orgs.services import audit_record
from insidesales.orgs.visibility import managed_team_ids

MAX_STEPS = 50
MAX_WAIT_DAYS = 365
EMAIL_KINDS = (StepKind.AUTO_EMAIL, StepKind.MANUAL_EMAIL)
WINDOW_KINDS = (StepKind.AUTO_EMAIL, StepKind.MANUAL_EMAIL, StepKind.CALL, StepKind.TASK)
# Positions are moved out of the way first (unique per sequence, checked row by row on both databases).
PARKING_OFFSET = 10_000
OPEN_STATES = (EnrollmentState.ACTIVE, EnrollmentState.PAUSED)


# --- who may write -----------------------------------------------------------------------------------


def can_create_sequences(membership: Membership) -> bool:
    return membership.role in (Role.ADMIN, Role.MANAGER)


def can_edit_sequence(membership: Membership, sequence: Sequence) -> bool:
    """Admins: all. Managers: a sequence of a team they manage (not one for everyone, nor an agency's)."""
    if sequence.organization_id != membership.organization_id:
        return False
    if membership.role == Role.ADMIN:
        return True
    if membership.role == Role.MANAGER:
        return sequence.agency_id is None and sequence.team_id in managed_team_ids(membership)
    return False


def _require_edit(actor: Membership, sequence: Sequence) -> None:
    if sequence.organization_id != actor.organization_id:
        raise NotFound()
    if not can_edit_sequence(actor, sequence):
        raise PermissionDenied(_("Only admins and the managers of its team change this sequence."))


def _audit(actor: Membership, action: str, instance: Any, changes: dict[str, Any]) -> None:
    audit_record(
        organization_id=actor.organization_id, actor=actor.user, action=action, instance=instance, changes=changes
    )


def _locked(sequence: Sequence) -> Sequence:
    """The caller's sequence, locked for this transaction and read afresh: concurrent edits of one
    sequence take turns, and the caller's object shows what was written."""
    if not Sequence.objects.select_for_update().filter(pk=sequence.pk).exists():
        raise NotFound()
    sequence.refresh_from_db()
    return sequence


# --- sequences -----------------------------------------------------------------------------------------


def _clean_sequence(actor: Membership, data: Mapping[str, Any], current: Sequence | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    name = str(data.get("name", current.name if current else "") or "").strip()
    if not name:
        errors["name"] = [_("Give the sequence a name.")]
    elif len(name) > 150:
        errors["name"] = [_("Keep the name under 150 characters.")]
    out["name"] = name
    out["description"] = str(data.get("description", current.description if current else "") or "")[:5000]
    out["allow_parallel"] = bool(data.get("allow_parallel", current.allow_parallel if current else False))
    for key, model in (("team_id", Team), ("agency_id", Agency)):
        value = data.get(key, getattr(current, key) if current else None)
        if value in (None, ""):
            out[key] = None
            continue
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = 0
        if not model.objects.filter(organization_id=actor.organization_id, pk=value).exists():
            errors[key.removesuffix("_id")] = [_("Choose one from the list.")]
        out[key] = value
    if out.get("team_id") and out.get("agency_id"):
        errors["agency"] = [_("A sequence is for a team or for an agency, not both.")]
    if actor.role == Role.MANAGER:
        if out.get("agency_id"):
            errors["agency"] = [_("Only admins write sequences for agencies.")]
        if out.get("team_id") not in managed_team_ids(actor):
            errors["team"] = [_("Choose one of your teams (sequences for everyone are written by admins).")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)
    return out


@transaction.atomic
def sequence_create(*, actor: Membership, data: Mapping[str, Any]) -> Sequence:
    """A new sequence, as a draft: it is activated once its steps are written. `data`: name, description,
    team_id, agency_id, allow_parallel."""
    if not can_create_sequences(actor):
        raise PermissionDenied(_("Only admins and managers write sequences."))
    values = _clean_sequence(actor, data, None)
    sequence = Sequence.objects.create(
        organization_id=actor.organization_id, owner=actor.user, status=SequenceStatus.DRAFT, **values
    )
    _audit(actor, "sequence.create", sequence, {"name": [None, sequence.name], "team_id": [None, sequence.team_id]})
    return sequence


@transaction.atomic
def sequence_update(*, actor: Membership, sequence: Sequence, data: Mapping[str, Any]) -> Sequence:
    """Change name, description, team or agency, and whether its leads may be in other sequences too.
    Its status changes only through the verbs below."""
    sequence = _locked(sequence)
    _require_edit(actor, sequence)
    values = _clean_sequence(actor, data, sequence)
    changes = {k: [getattr(sequence, k), v] for k, v in values.items() if getattr(sequence, k) != v}
    if changes:
        for key, value in values.items():
            setattr(sequence, key, value)
        sequence.save()
        _audit(actor, "sequence.update", sequence, changes)
    return sequence


def _set_status(actor: Membership, sequence: Sequence, status: str) -> Sequence:
    before = sequence.status
    if before != status:
        sequence.status = status
        sequence.save(update_fields=["status", "updated_at"])
        _audit(actor, "sequence.status", sequence, {"status": [before, status]})
    return sequence


@transaction.atomic
def sequence_activate(*, actor: Membership, sequence: Sequence) -> Sequence:
    """Open the sequence for enrollment (and let its paused enrollments' steps run again). It needs steps,
    and at least one that does something (a sequence of waits only would enroll people for nothing)."""
    sequence = _locked(sequence)
    _require_edit(actor, sequence)
    kinds = set(sequence.steps.values_list("kind", flat=True))
    if not kinds - {StepKind.WAIT}:
        raise Conflict(_("Add an email, a call or a task step before activating the sequence."))
    return _set_status(actor, sequence, SequenceStatus.ACTIVE)


@transaction.atomic
def sequence_pause(*, actor: Membership, sequence: Sequence) -> Sequence:
    """No new enrollments and no steps run; enrollments keep their place and go on when it is activated."""
    sequence = _locked(sequence)
    _require_edit(actor, sequence)
    if sequence.status != SequenceStatus.ACTIVE:
        raise Conflict(_("Only an active sequence can be paused."))
    return _set_status(actor, sequence, SequenceStatus.PAUSED)


@transaction.atomic
def sequence_archive(*, actor: Membership, sequence: Sequence) -> Sequence:
    """Retire the sequence: its open enrollments are stopped (by hand), the report stays."""
    sequence = _locked(sequence)
    _require_edit(actor, sequence)
    if sequence.status == SequenceStatus.ARCHIVED:
        return sequence
    now = timezone.now()
    stopped = Enrollment.objects.filter(sequence=sequence, state__in=OPEN_STATES).update(
        state=EnrollmentState.STOPPED,
        stop_reason=StopReason.MANUAL,
        next_run_at=None,
        claimed_until=None,
        finished_at=now,
        updated_at=now,
    )
    if stopped:
        _audit(actor, "sequence.archive_stop", sequence, {"enrollments_stopped": [None, stopped]})
    return _set_status(actor, sequence, SequenceStatus.ARCHIVED)


SEQUENCE_VERBS = {
    SequenceStatus.ACTIVE: sequence_activate,
    SequenceStatus.PAUSED: sequence_pause,
    SequenceStatus.ARCHIVED: sequence_archive,
}


def sequence_set_status(*, actor: Membership, sequence: Sequence, status: str) -> Sequence:
    """The verb for a status picked in a form or sent to the API (a draft stays a draft until activated)."""
    if status == sequence.status:
        return sequence
    verb = SEQUENCE_VERBS.get(status)  # type: ignore[call-overload]
    if verb is None:
        raise ValidationError(fields={"status": [_("Choose active, paused or archived.")]})
    return verb(actor=actor, sequence=sequence)


# --- steps -----------------------------------------------------------------------------------------------


def _time(value: Any) -> dt.time | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    try:
        return dt.time.fromisoformat(str(value)).replace(second=0, microsecond=0)
    except ValueError as exc:
        raise ValueError(str(value)) from exc


def _check_merge_syntax(subject: str, body: str, errors: dict[str, list[str]]) -> None:
    """Compile the step's text once (the templates' save-time check), so a broken `{{ ... }}` is refused
    when written, not when the worker sends it."""
    from insidesales.mail.rendering import MergeTemplateError, template_check

    try:
        template_check(subject=subject, body=body)
    except MergeTemplateError as exc:
        for field, messages in exc.fields.items():
            errors.setdefault(field, []).extend(messages)


def _usable_template(actor: Membership, template_id: Any) -> EmailTemplate | None:
    """A template of the organization the actor may use: theirs or one shared with the organization."""
    try:
        pk = int(template_id)
    except (TypeError, ValueError):
        return None
    template = EmailTemplate.objects.filter(organization_id=actor.organization_id, pk=pk).first()
    if template is None or not (template.is_shared or template.owner_id == actor.user_id):
        return None
    return template


def _clean_step(actor: Membership, kind: str, data: Mapping[str, Any], current: SequenceStep | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}

    def get(name: str, default: Any) -> Any:
        return data.get(name, getattr(current, name) if current is not None else default)

    if kind not in StepKind.values:
        raise ValidationError(fields={"kind": [_("Choose a kind of step.")]})
    out: dict[str, Any] = {
        "kind": kind,
        "template": None,
        "subject": "",
        "body": "",
        "reply_in_thread": False,
        "title": "",
        "wait_days": 0,
        "business_days": False,
        "window_start": None,
        "window_end": None,
    }
    if kind in EMAIL_KINDS:
        template_id = data.get("template_id", current.template_id if current is not None else None)
        subject = str(get("subject", "") or "").strip()
        body = str(get("body", "") or "")
        if template_id not in (None, ""):
            out["template"] = _usable_template(actor, template_id)
            if out["template"] is None:
                errors["template"] = [_("Choose one of your templates or a shared one.")]
        elif not subject and not body.strip():
            errors["template"] = [_("Choose a template, or write a subject and a body.")]
        else:
            if not subject:
                errors["subject"] = [_("Write a subject (or choose a template).")]
            if not body.strip():
                errors["body"] = [_("Write the email (or choose a template).")]
        if len(subject) > 255:
            errors["subject"] = [_("Keep the subject under 255 characters.")]
        if out["template"] is None and not errors:
            _check_merge_syntax(subject, body, errors)
        out["subject"], out["body"] = subject, body[:50000]
        out["reply_in_thread"] = bool(get("reply_in_thread", True))
    if kind in (StepKind.CALL, StepKind.TASK, StepKind.MANUAL_EMAIL):
        out["title"] = str(get("title", "") or "").strip()[:255]
        if kind == StepKind.TASK and not out["title"]:
            errors["title"] = [_("Say what the task is.")]
    if kind == StepKind.WAIT:
        try:
            days = int(get("wait_days", 1))
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= MAX_WAIT_DAYS:
            errors["wait_days"] = [_("Wait from 1 to 365 days.")]
        out["wait_days"] = max(0, min(days, MAX_WAIT_DAYS))
        out["business_days"] = bool(get("business_days", False))
    if kind in WINDOW_KINDS:
        try:
            start, end = _time(get("window_start", None)), _time(get("window_end", None))
        except ValueError:
            errors["window_start"] = [_("Enter times as HH:MM.")]
            start = end = None
        if (start is None) != (end is None):
            errors["window_end"] = [_("Give both ends of the window, or neither.")]
        elif start is not None and end is not None and start >= end:
            errors["window_end"] = [_("The window must end after it starts.")]
        out["window_start"], out["window_end"] = start, end
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)
    return out


def _shift_steps(sequence: Sequence, *, start: int, delta: int) -> None:
    """Move the steps at `start` and after by `delta` (±1), parking them first so no two rows share a
    position midway (the unique index is checked row by row on SQLite and PostgreSQL alike)."""
    SequenceStep.objects.filter(sequence=sequence, position__gte=start).update(position=F("position") + PARKING_OFFSET)
    SequenceStep.objects.filter(sequence=sequence, position__gte=PARKING_OFFSET).update(
        position=F("position") - PARKING_OFFSET + delta
    )


def _shift_enrollments(sequence: Sequence, *, after: int, delta: int) -> None:
    """Open enrollments whose next step is past `after` keep pointing at the same step."""
    Enrollment.objects.filter(sequence=sequence, state__in=OPEN_STATES, position__gt=after).update(
        position=F("position") + delta
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _step_changes(step: SequenceStep, values: dict[str, Any]) -> dict[str, list[Any]]:
    changes = {
        key: [_plain(getattr(step, key)), _plain(value)] for key, value in values.items() if getattr(step, key) != value
    }
    if "body" in changes:  # lengths, not whole emails, in the audit log
        changes["body"] = [len(step.body), len(values["body"])]
    return changes


@transaction.atomic
def step_add(
    *, actor: Membership, sequence: Sequence, kind: str, data: Mapping[str, Any], position: int | None = None
) -> SequenceStep:
    """Add a step at the end, or at `position` (the steps from there move down one)."""
    sequence = _locked(sequence)
    _require_edit(actor, sequence)
    values = _clean_step(actor, kind, data, None)
    count = SequenceStep.objects.filter(sequence=sequence).count()
    if count >= MAX_STEPS:
        raise Conflict(_("A sequence has at most %(n)d steps.") % {"n": MAX_STEPS})
    if position is None or position >= count:
        position = count
    elif position < 0:
        raise ValidationError(fields={"position": [_("A position is 0 or more.")]})
    else:
        _shift_steps(sequence, start=position, delta=1)
        _shift_enrollments(sequence, after=position, delta=1)
    step = SequenceStep.objects.create(sequence=sequence, position=position, **values)
    _audit(
        actor,
        "sequence.step_add",
        sequence,
        {"step": [None, step.pk], "kind": [None, kind], "position": [None, position]},
    )
    return step


@transaction.atomic
def step_update(*, actor: Membership, step: SequenceStep, data: Mapping[str, Any]) -> SequenceStep:
    """Change a step's fields (its kind too: the fields of the new kind are checked)."""
    sequence = _locked(step.sequence)
    _require_edit(actor, sequence)
    step = SequenceStep.objects.get(pk=step.pk)
    values = _clean_step(actor, str(data.get("kind") or step.kind), data, step)
    changes = _step_changes(step, values)
    if changes:
        for key, value in values.items():
            setattr(step, key, value)
        step.save()
        _audit(actor, "sequence.step_update", sequence, {"step": [step.pk, step.pk], **changes})
    return step


@transaction.atomic
def step_delete(*, actor: Membership, step: SequenceStep) -> None:
    """Delete a step; the later steps move up one. A step already run for someone stays in the report
    of its runs until deleted here (its runs go with it)."""
    sequence = _locked(step.sequence)
    _require_edit(actor, sequence)
    position = SequenceStep.objects.filter(pk=step.pk).values_list("position", flat=True).first()
    if position is None:
        raise NotFound()
    SequenceStep.objects.filter(pk=step.pk).delete()
    _shift_steps(sequence, start=position + 1, delta=-1)
    _shift_enrollments(sequence, after=position, delta=-1)
    _audit(actor, "sequence.step_delete", sequence, {"step": [step.pk, None], "kind": [step.kind, None]})


@transaction.atomic
def step_move(*, actor: Membership, step: SequenceStep, to_position: int) -> SequenceStep:
    """Put a step at `to_position` (0 is first); the steps between move over by one. Enrollments keep
    the index of their next step, so they run whatever step is now there."""
    sequence = _locked(step.sequence)
    _require_edit(actor, sequence)
    step = SequenceStep.objects.get(pk=step.pk)
    count = SequenceStep.objects.filter(sequence=sequence).count()
    target = max(0, min(int(to_position), count - 1))
    source = step.position
    if target == source:
        return step
    # Park the moving step, slide the ones between, then drop it in: no two rows ever share a position.
    SequenceStep.objects.filter(pk=step.pk).update(position=PARKING_OFFSET * 2)
    between = SequenceStep.objects.filter(sequence=sequence, position__lt=PARKING_OFFSET)
    if target < source:
        between = between.filter(position__gte=target, position__lt=source)
        delta = 1
    else:
        between = between.filter(position__gt=source, position__lte=target)
        delta = -1
    between.update(position=F("position") + PARKING_OFFSET)
    SequenceStep.objects.filter(
        sequence=sequence, position__gte=PARKING_OFFSET, position__lt=PARKING_OFFSET * 2
    ).update(position=F("position") - PARKING_OFFSET + delta)
    SequenceStep.objects.filter(pk=step.pk).update(position=target)
    step.position = target
    _audit(actor, "sequence.step_move", sequence, {"step": [step.pk, step.pk], "position": [source, target]})
    return step
