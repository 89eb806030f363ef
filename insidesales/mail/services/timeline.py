"""An email's entry on the timeline of its lead, contact or (when it has neither) company: one per message,
written when it is received or sent, whatever path got it there."""

from __future__ import annotations

from django.utils import timezone

from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Lead
from insidesales.crm.services.activities import activity_log
from insidesales.mail.models import Direction, EmailMessage

BODY_CHARS = 2000


def email_summary(message: EmailMessage) -> dict:
    """What the timeline keeps of an email (`data` of its Activity)."""
    return {
        "email_id": message.pk,
        "direction": message.direction,
        "kind": message.kind,
        "from": message.from_address,
        "to": list(message.to_addresses or [])[:10],
        "bounce_status": (message.bounce or {}).get("status", ""),
        "bounce_recipient": (message.bounce or {}).get("recipient", ""),
    }


def _record(message: EmailMessage) -> Lead | Contact | Company | None:
    if message.lead_id:
        return Lead.objects.filter(pk=message.lead_id).first()
    if message.contact_id:
        return Contact.objects.filter(pk=message.contact_id).first()
    if message.company_id:
        return Company.objects.filter(pk=message.company_id).first()
    return None


def email_timeline_log(*, message: EmailMessage) -> None:
    """Put the message on its record's timeline (nothing for a message with no record; never twice)."""
    record = _record(message)
    if record is None:
        return
    field = "lead" if isinstance(record, Lead) else "contact" if isinstance(record, Contact) else "company"
    already = Activity.objects.filter(**{field: record}, kind=ActivityKind.EMAIL, data__email_id=message.pk).exists()
    if already:
        return
    if message.direction == Direction.OUT:
        when = message.sent_at or timezone.now()
        actor = message.created_by
    else:
        when = message.received_at or message.created_at or timezone.now()
        actor = None
    activity_log(
        record=record,
        kind=ActivityKind.EMAIL,
        actor=actor,
        subject=message.subject[:255],
        body=(message.body_text or "")[:BODY_CHARS],
        data=email_summary(message),
        occurred_at=when,
    )
