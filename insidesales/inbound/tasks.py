"""Background tasks of the inbound app. Thin: each calls a service that is safe to run twice."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

SWEEP_EVERY = dt.timedelta(minutes=1)


@task()
def send_notification_emails() -> int:
    """Email every alert not emailed yet (claimed row by row, so two workers never send one twice)."""
    from insidesales.inbound.services.notification_email import notification_emails_send

    return notification_emails_send()


@task()
def check_response_deadline(submission_id: int) -> str:
    """An inquiry's response deadline passed: reassign and/or escalate if nobody called or emailed."""
    from insidesales.inbound.sla import deadline_check

    return deadline_check(submission_id=submission_id)


@task()
def sweep_inbound() -> dict:
    """Once a minute: deadlines a stopped worker missed, alert emails a killed worker left unsent."""
    from insidesales.core.recurring import schedule_next
    from insidesales.inbound.services.notification_email import notification_emails_send
    from insidesales.inbound.sla import overdue_check_all

    try:
        return {"deadlines": overdue_check_all(), "emails": notification_emails_send()}
    finally:
        schedule_next(sweep_inbound, SWEEP_EVERY)


def schedule_inbound_sweep() -> bool:
    from insidesales.core.recurring import schedule_next

    return schedule_next(sweep_inbound, SWEEP_EVERY)
