"""Background tasks of the inbound app. Thin: each calls a service that is safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def send_notification_emails() -> int:
    """Email every alert not emailed yet (claimed row by row, so two workers never send one twice)."""
    from insidesales.inbound.services.notification_email import notification_emails_send

    return notification_emails_send()
