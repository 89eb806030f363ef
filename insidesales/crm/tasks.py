"""Background tasks of the records app. Thin: take ids, re-fetch, call a service; safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def send_task_reminder(task_id: int) -> bool:
    """Email the assignee of one task whose reminder time has come (no-op if already sent or done)."""
    from insidesales.crm.services.activities import task_send_reminder

    return task_send_reminder(task_id=task_id)


@task()
def send_due_reminders() -> int:
    """Catch-up sweep: every reminder that is due and was not sent (e.g. the worker was down)."""
    from insidesales.crm.services.activities import task_send_due_reminders

    return task_send_due_reminders()
