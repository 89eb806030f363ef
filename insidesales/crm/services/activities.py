"""Timeline entries and tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import NotFound, ValidationError
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Deal, Lead, Task
from insidesales.inbound.webhook_events import emit_meeting_booked
from insidesales.orgs.models import Membership, Role, User
from insidesales.orgs.services import audit_record, diff, snapshot
from insidesales.orgs.visibility import visible_user_ids

from .common import get_visible, parse_id, raise_if

RECORD_FIELD = {Lead: "lead", Contact: "contact", Company: "company", Deal: "deal"}


def activity_log(
    *,
    record: Any,
    kind: str,
    actor: User | None,
    subject: str = "",
    body: str = "",
    data: dict | None = None,
    occurred_at: dt.datetime | None = None,
    touch: bool = True,
) -> Activity:
    """Append an entry to a record's timeline (and bump the record's last activity)."""
    when = occurred_at or timezone.now()
    activity = Activity.objects.create(
        organization_id=record.organization_id,
        kind=kind,
        actor=actor if actor and actor.pk else None,
        subject=subject[:255],
        body=body,
        data=data or {},
        occurred_at=when,
        **{RECORD_FIELD[type(record)]: record},
    )
    if touch and (record.last_activity_at is None or when > record.last_activity_at):
        type(record).objects.filter(pk=record.pk).update(last_activity_at=when)
        record.last_activity_at = when
    if kind == ActivityKind.MEETING:
        emit_meeting_booked(activity)
    return activity


@transaction.atomic
def note_add(*, membership: Membership, record_type: type, record_id: int, body: str) -> Activity:
    record = get_visible(record_type, membership, record_id)
    body = (body or "").strip()
    if not body:
        raise ValidationError(fields={"body": [_("Write something first.")]})
    if len(body) > 20000:
        raise ValidationError(fields={"body": [_("Notes are limited to 20,000 characters.")]})
    activity = activity_log(record=record, kind=ActivityKind.NOTE, actor=membership.user, body=body)
    if isinstance(record, Lead) and record.status == "new":
        from .leads import _set_status

        _set_status(record, "working", membership.user)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="note.add",
        instance=activity,
        changes={"record": [None, f"{type(record).__name__.lower()}:{record.pk}"]},
    )
    return activity


def _task_scope(membership: Membership):
    qs = Task.objects.filter(organization_id=membership.organization_id)
    ids = visible_user_ids(membership)
    return qs if ids is None else qs.filter(assignee_id__in=ids)


def task_get(*, membership: Membership, task_id: int) -> Task:
    try:
        task = _task_scope(membership).filter(pk=int(task_id)).first()
    except (TypeError, ValueError):
        task = None
    if task is None:
        raise NotFound()
    return task


def _resolve_assignee(membership: Membership, assignee_id: int | None, errors: dict[str, list[str]]) -> User | None:
    if assignee_id in (None, "", membership.user_id):
        return membership.user
    ids = visible_user_ids(membership)
    assignee_id = parse_id(assignee_id)
    if assignee_id is None:
        errors.setdefault("assignee", []).append(_("Unknown user."))
        return None
    if membership.role not in (Role.ADMIN, Role.MANAGER) or (ids is not None and assignee_id not in ids):
        errors.setdefault("assignee", []).append(_("You can only assign tasks to yourself or your team."))
        return None
    member = (
        Membership.objects.select_related("user")
        .filter(organization_id=membership.organization_id, user_id=assignee_id, is_active=True)
        .first()
    )
    if member is None:
        errors.setdefault("assignee", []).append(_("Unknown user."))
        return None
    return member.user


@transaction.atomic
def task_create(
    *,
    membership: Membership,
    title: str,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    notes: str = "",
    assignee_id: int | None = None,
    record_type: type | None = None,
    record_id: int | None = None,
) -> Task:
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("This field is required."))
    assignee = _resolve_assignee(membership, assignee_id, errors)
    if remind_at and due_at and remind_at > due_at:
        errors.setdefault("remind_at", []).append(_("The reminder must come before the due time."))
    record = None
    if record_type is not None and record_id is not None:
        record = get_visible(record_type, membership, record_id)
    raise_if(errors)
    task = Task.objects.create(
        organization_id=membership.organization_id,
        title=title[:255],
        notes=notes,
        due_at=due_at,
        remind_at=remind_at,
        assignee=assignee,
        created_by=membership.user,
        **({RECORD_FIELD[type(record)]: record} if record is not None else {}),
    )
    if record is not None:
        activity_log(
            record=record,
            kind=ActivityKind.TASK,
            actor=membership.user,
            subject=task.title,
            data={"task_id": task.pk, "event": "created", "due_at": due_at.isoformat() if due_at else None},
        )
    audit_record(organization_id=membership.organization_id, actor=membership.user, action="task.create", instance=task)
    _schedule_reminder(task)
    return task


@transaction.atomic
def task_update(*, membership: Membership, task_id: int, **fields: Any) -> Task:
    task = task_get(membership=membership, task_id=task_id)
    before = snapshot(task)
    errors: dict[str, list[str]] = {}
    if "title" in fields:
        title = (fields["title"] or "").strip()
        if not title:
            errors.setdefault("title", []).append(_("This field is required."))
        task.title = title[:255]
    for name in ("notes", "due_at", "remind_at"):
        if name in fields:
            setattr(task, name, fields[name])
    if "remind_at" in fields:
        task.reminded_at = None
    if "assignee_id" in fields and fields["assignee_id"] is not None:
        assignee = _resolve_assignee(membership, fields["assignee_id"], errors)
        if assignee:
            task.assignee = assignee
    if task.remind_at and task.due_at and task.remind_at > task.due_at:
        errors.setdefault("remind_at", []).append(_("The reminder must come before the due time."))
    raise_if(errors)
    task.save()
    if "remind_at" in fields:
        _schedule_reminder(task)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="task.update",
        instance=task,
        changes=diff(before, snapshot(task)),
    )
    return task


@transaction.atomic
def task_complete(*, membership: Membership, task_id: int, done: bool = True) -> Task:
    task = task_get(membership=membership, task_id=task_id)
    if done and task.completed_at is None:
        task.completed_at = timezone.now()
    elif not done:
        task.completed_at = None
    task.save(update_fields=["completed_at", "updated_at"])
    record = task.lead or task.contact or task.company or task.deal
    if record is not None and done:
        activity_log(
            record=record,
            kind=ActivityKind.TASK,
            actor=membership.user,
            subject=task.title,
            data={"task_id": task.pk, "event": "completed"},
        )
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="task.complete" if done else "task.reopen",
        instance=task,
    )
    return task


@transaction.atomic
def task_delete(*, membership: Membership, task_id: int) -> None:
    task = task_get(membership=membership, task_id=task_id)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="task.delete",
        instance=task,
        changes={"title": [task.title, None]},
    )
    task.delete()


def _schedule_reminder(task: Task) -> None:
    """Enqueue the reminder to run at `remind_at`, after the transaction commits."""
    if task.remind_at is None or task.completed_at is not None:
        return
    from insidesales.crm.tasks import send_task_reminder

    task_id, when = task.pk, task.remind_at
    transaction.on_commit(lambda: send_task_reminder.using(run_after=when).enqueue(task_id))


def task_send_reminder(*, task_id: int, now: dt.datetime | None = None) -> bool:
    """Send one task's reminder if it is due and not yet sent; claiming the row makes it exactly-once."""
    import zoneinfo

    from django.core.mail import send_mail
    from django.utils import translation
    from django.utils.formats import date_format

    now = now or timezone.now()
    task = Task.objects.select_related("assignee").filter(pk=task_id).first()
    if task is None or task.completed_at is not None or task.remind_at is None or task.remind_at > now:
        return False
    claimed = Task.objects.filter(pk=task.pk, reminded_at__isnull=True, remind_at=task.remind_at).update(
        reminded_at=now
    )
    if not claimed:
        return False
    with translation.override(task.assignee.language or "en"):
        # The due time as the assignee reads dates: their locale's format, in their time zone.
        try:
            zone = zoneinfo.ZoneInfo(task.assignee.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo("UTC")
        due = date_format(timezone.localtime(task.due_at, zone), "SHORT_DATETIME_FORMAT") if task.due_at else _("soon")
        send_mail(
            subject=_("Reminder: %(title)s") % {"title": task.title},
            message=_("Task “%(title)s” is due %(due)s.") % {"title": task.title, "due": due},
            from_email=None,
            recipient_list=[task.assignee.email],
        )
    return True


def task_send_due_reminders(*, now: dt.datetime | None = None) -> int:
    """Send every due, unsent reminder (catch-up after downtime). Returns how many were sent."""
    now = now or timezone.now()
    due = Task.objects.filter(remind_at__lte=now, reminded_at__isnull=True, completed_at__isnull=True)
    return sum(task_send_reminder(task_id=pk, now=now) for pk in due.values_list("pk", flat=True)[:500])
