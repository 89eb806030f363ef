"""The rep's part of a sequence: a manual step becomes a task (with the draft) or a callback on the rep's
call queue, and the enrollment waits until it is done."""

from __future__ import annotations

import logging

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.crm.models import Contact, Lead
from insidesales.mail.models import Enrollment, EnrollmentState, SequenceStep, StepKind, StepRun
from insidesales.mail.rows import RunRow

log = logging.getLogger(__name__)


def make_task(e: Enrollment, step: SequenceStep, run: RunRow, *, draft: tuple[str, str] | None = None) -> None:
    """The rep's part of a manual step: a task (manual email: with the draft) or a callback (call step)."""
    from insidesales.crm.services.activities import task_create
    from insidesales.orgs.models import Membership

    user_id = e.owner_id or e.enrolled_by_id
    membership = Membership.objects.filter(organization_id=e.organization_id, user_id=user_id).first()
    record_type = Lead if e.lead_id else Contact
    record_id = e.lead_id or e.contact_id
    if membership is None:
        run.outcome, run.detail = "skipped", "nobody to give the task to"
        e.waiting_for_task, e.next_run_at = False, e.updated_at or timezone.now()
        return
    try:
        if step.kind == StepKind.CALL:
            from insidesales.calls.services.callbacks import callback_schedule

            record = (Lead if e.lead_id else Contact).objects.get(pk=record_id)
            callback = callback_schedule(
                membership=membership,
                record=record,
                due_at=timezone.now(),
                personal=True,
                note=(step.title or _("Sequence call"))[:500],
            )
            run.outcome, run.callback_id = "callback", callback.pk
            return
        subject, notes = draft if draft is not None else (step.subject, step.body)
        if draft is not None:  # the draft to send, ready to copy into an email to the record
            notes = _("Subject: %(subject)s\nTo: %(to)s\n\n%(body)s") % {
                "subject": subject,
                "to": e.email,
                "body": notes,
            }
        title = step.title or (_("Send email: %(subject)s") % {"subject": subject} if subject else "")
        task = task_create(
            membership=membership,
            title=title or _("Sequence task"),
            due_at=timezone.now(),
            notes=notes,
            record_type=record_type,
            record_id=record_id,
        )
        run.task_id = task.pk
    except Exception as exc:  # the record moved out of the rep's reach, or similar: skip, do not stall
        if isinstance(exc, IntegrityError):
            raise
        log.warning("sequence task for enrollment %s not made: %s", e.pk, exc)
        run.outcome, run.detail = "skipped", str(exc)[:500]
        e.waiting_for_task, e.next_run_at = False, timezone.now()


def step_task_done(*, task_id: int | None = None, callback_id: int | None = None) -> int:
    """A manual step's task or callback was completed: its enrollment goes on to the next step."""
    runs = StepRun.objects.filter(task_id=task_id) if task_id else StepRun.objects.filter(callback_id=callback_id)
    ids = list(runs.values_list("enrollment_id", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    return Enrollment.objects.filter(pk__in=ids, state=EnrollmentState.ACTIVE, waiting_for_task=True).update(
        waiting_for_task=False, next_run_at=now, updated_at=now
    )
