"""Reads of emails (sent and received), always scoped to the acting member.

An email tied to a lead, contact or company carries that record's owner, team and agency, and is seen by whoever
may see such a record (`orgs.visibility.record_scope`, as calls are). An email tied to no record (an unknown
sender, a bounce for an address we do not know) has no owner: only its mailbox's owner and admins see it —
never the unassigned pool.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from insidesales.core.errors import NotFound, one_or_not_found
from insidesales.core.pagination import Page, paginate
from insidesales.mail.models import EmailAttachment, EmailMessage
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import record_scope

LINKED = Q(lead__isnull=False) | Q(contact__isnull=False) | Q(company__isnull=False)


def message_scope(membership: Membership) -> Q | None:
    """The Q an email must match to be visible to `membership`; None: none at all."""
    scope = record_scope(membership)
    if scope is None:
        return None
    if membership.role == Role.ADMIN:
        return Q()
    own_unlinked = Q(mailbox__user_id=membership.user_id, lead__isnull=True, contact__isnull=True, company__isnull=True)
    return (LINKED & scope) | own_unlinked


def message_list(*, membership: Membership) -> QuerySet[EmailMessage]:
    qs = EmailMessage.objects.filter(organization_id=membership.organization_id)
    scope = message_scope(membership)
    return qs.none() if scope is None else qs.filter(scope)


def sent_message_get(*, membership: Membership, message_id: object) -> EmailMessage:
    """An outgoing email the member sees, or wrote: its writer may always cancel what they scheduled, even
    after its record left their reach."""
    if not membership.is_active:
        raise NotFound()
    scope = message_scope(membership)
    mine = Q(created_by_id=membership.user_id)
    outgoing = EmailMessage.objects.filter(organization_id=membership.organization_id, direction="out")
    return one_or_not_found(outgoing.filter(mine if scope is None else scope | mine), message_id)


def message_page(
    *,
    membership: Membership,
    direction: str | None = None,
    kind: str | None = None,
    lead_id: int | None = None,
    contact_id: int | None = None,
    mailbox_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """A page of the emails this member sees, newest first, narrowed by the filters given."""
    qs = message_list(membership=membership).select_related("lead", "contact", "mailbox")
    exact = {
        "direction": direction,
        "kind": kind,
        "lead_id": lead_id,
        "contact_id": contact_id,
        "mailbox_id": mailbox_id,
    }
    qs = qs.filter(**{name: value for name, value in exact.items() if value not in (None, "")})
    # The list never shows bodies: leave the big columns in the database.
    qs = qs.defer("body_text", "body_html")
    return paginate(qs, order="-created_at", cursor=cursor, limit=limit)


def message_get(*, membership: Membership, message_id: int) -> EmailMessage:
    visible = message_list(membership=membership).select_related("lead", "contact", "company", "mailbox")
    return one_or_not_found(visible, message_id)


def message_attachments(*, message: EmailMessage) -> list[EmailAttachment]:
    return list(message.attachments.order_by("id"))


def attachment_get(*, membership: Membership, message_id: int, attachment_id: int) -> EmailAttachment:
    """An attachment of an email the member may see (404 for anything else, including a mismatched pair)."""
    message = message_get(membership=membership, message_id=message_id)
    found = one_or_not_found(message.attachments.all(), attachment_id)
    found.message = message
    return found
