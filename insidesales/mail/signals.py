"""Reactions to other apps' rows: a finished manual step (task or callback) lets its sequence go on; a
lead or contact that changes hands takes its emails and enrollments along."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import post_save


def _task_saved(sender, instance, **kwargs) -> None:
    if instance.completed_at is not None:
        from insidesales.mail.manual_steps import step_task_done

        step_task_done(task_id=instance.pk)


def _callback_saved(sender, instance, **kwargs) -> None:
    if instance.done_at is not None:
        from insidesales.mail.manual_steps import step_task_done

        step_task_done(callback_id=instance.pk)


OWNERSHIP = {"owner", "team", "agency"}


def _record_saved(sender, instance, update_fields=None, created=False, **kwargs) -> None:
    """A lead or contact changed hands: its emails and enrollments are seen by the new owner, team and
    agency (they copy the record's, for scoping), and its open sequences send from the new owner's mailbox."""
    if created or (update_fields is not None and not OWNERSHIP & set(update_fields)):
        return
    from insidesales.mail.models import EmailMessage, Enrollment, EnrollmentState
    from insidesales.mail.services.sequences import sender_mailbox

    field = "lead" if sender._meta.model_name == "lead" else "contact"
    own = {"owner_id": instance.owner_id, "team_id": instance.team_id, "agency_id": instance.agency_id}
    stale = ~Q(**own)
    EmailMessage.objects.filter(stale, **{field: instance}).update(**own)
    moved = Enrollment.objects.filter(stale, **{field: instance})
    if not moved.exists():
        return
    open_states = [EnrollmentState.ACTIVE, EnrollmentState.PAUSED]
    if instance.owner_id is not None:
        mailbox = sender_mailbox(
            organization_id=instance.organization_id, owner_id=instance.owner_id, actor_user_id=None
        )
        if mailbox is not None:
            moved.filter(state__in=open_states).update(mailbox=mailbox)
    moved.update(**own)


def connect() -> None:
    post_save.connect(_record_saved, sender="crm.Lead", dispatch_uid="mail.lead_saved")
    post_save.connect(_record_saved, sender="crm.Contact", dispatch_uid="mail.contact_saved")
    post_save.connect(_task_saved, sender="crm.Task", dispatch_uid="mail.task_saved")
    post_save.connect(_callback_saved, sender="calls.Callback", dispatch_uid="mail.callback_saved")
