"""Unsubscribing from a link or a one-click List-Unsubscribe POST (RFC 8058): the address goes on the
organization's suppression list, its sequences stop, and the record's timeline says so."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from insidesales.crm.models import Activity, ActivityKind
from insidesales.mail.links import unsubscribe_read
from insidesales.mail.models import Direction, EmailMessage, StopReason, SuppressionReason
from insidesales.mail.services.sequences import enrollments_stop_for_address
from insidesales.mail.services.suppression import is_suppressed, normalize_address, suppression_add


@dataclass(frozen=True)
class UnsubscribeTarget:
    """The message a link came with and the address it unsubscribes."""

    message: EmailMessage
    email: str

    @property
    def done(self) -> bool:
        return is_suppressed(organization_id=self.message.organization_id, email=self.email)


def unsubscribe_target(token: str) -> UnsubscribeTarget | None:
    """The message and address of a signed link, or None for a forged, damaged or stale one."""
    read = unsubscribe_read(token)
    if read is None:
        return None
    organization_id, message_id = read
    message = EmailMessage.objects.filter(
        organization_id=organization_id, direction=Direction.OUT, message_id=message_id
    ).first()
    if message is None or not message.to_addresses:
        return None
    return UnsubscribeTarget(message=message, email=normalize_address(message.to_addresses[0]))


@transaction.atomic
def unsubscribe(*, target: UnsubscribeTarget, one_click: bool) -> bool:
    """Suppress the address and stop its sequences; True if it was not suppressed before (idempotent)."""
    message = target.message
    if target.done:
        return False
    suppression_add(
        organization_id=message.organization_id,
        email=target.email,
        reason=SuppressionReason.UNSUBSCRIBED,
        note=("one-click: " if one_click else "link: ") + message.message_id,
    )
    enrollments_stop_for_address(
        organization_id=message.organization_id, email=target.email, reason=StopReason.UNSUBSCRIBED
    )
    if message.lead_id or message.contact_id:
        Activity.objects.create(
            organization_id=message.organization_id,
            kind=ActivityKind.EMAIL,
            subject=f"Unsubscribed: {target.email}",
            data={"event": "unsubscribed", "email": target.email, "one_click": one_click},
            lead_id=message.lead_id,
            contact_id=message.contact_id,
        )
    return True
