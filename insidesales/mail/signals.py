"""Reactions to other apps' rows: a finished manual step (task or callback) lets its sequence go on."""

from __future__ import annotations

from django.db.models.signals import post_save


def _task_saved(sender, instance, **kwargs) -> None:
    if instance.completed_at is not None:
        from insidesales.mail.engine import step_task_done

        step_task_done(task_id=instance.pk)


def _callback_saved(sender, instance, **kwargs) -> None:
    if instance.done_at is not None:
        from insidesales.mail.engine import step_task_done

        step_task_done(callback_id=instance.pk)


def connect() -> None:
    post_save.connect(_task_saved, sender="crm.Task", dispatch_uid="mail.task_saved")
    post_save.connect(_callback_saved, sender="calls.Callback", dispatch_uid="mail.callback_saved")
