"""One-off emails from a record: queue (or schedule) an email to a lead, a contact or one of a company's
people, from one of the sender's own mailboxes, and cancel a scheduled one before it goes.

Nothing is sent here: the row is queued with its Message-ID, and the mailer worker sends it and logs it on
the record's timeline. Every check happens first — the mailbox is the actor's (404), the record is visible
to the actor (404), the address is an address (422), the address is not suppressed (409) — so a refused
email leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.crm.models import Company, Contact, Lead
from insidesales.mail.compose import clean_address, new_message_id
from insidesales.mail.models import Direction, EmailMessage, EmailTemplate, Mailbox, MessageStatus
from insidesales.mail.rendering import merge_context, render_email, single_line
from insidesales.mail.selectors.messages import sent_message_get
from insidesales.mail.selectors.templates import template_get
from insidesales.mail.services.suppression import ensure_not_suppressed
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import visible_records

# A scheduled time this close to now is "now": the form's minute precision must not refuse "in a minute".
SCHEDULE_SLACK = dt.timedelta(seconds=30)


def _own_mailbox(actor: Membership, mailbox: Mailbox | None) -> Mailbox:
    if (
        mailbox is None
        or mailbox.organization_id != actor.organization_id
        or mailbox.user_id != actor.user_id
        or not actor.is_active
    ):
        raise NotFound()
    if not mailbox.is_active:
        raise ValidationError(fields={"mailbox": [_("This mailbox is switched off: choose another one.")]})
    return mailbox


def _visible(actor: Membership, record: Any, model: type) -> Any:
    """The record again, read through the visibility rules (a record out of scope is a 404)."""
    if record is None:
        return None
    found = visible_records(model.objects.filter(pk=record.pk), actor).select_related("owner").first()
    if found is None:
        raise NotFound()
    return found


def address_check(address: Any) -> str:
    """A single recipient address, normalized; ValidationError on anything else (lists, names, CR/LF)."""
    if isinstance(address, list | tuple):
        if len(address) != 1:
            raise ValidationError(fields={"to": [_("Send a one-off email to exactly one address.")]})
        address = address[0]
    text = (address or "").strip() if isinstance(address, str) else ""
    if not text:
        raise ValidationError(fields={"to": [_("Enter the recipient's email address.")]})
    try:
        return clean_address(text)
    except ValueError:
        raise ValidationError(
            fields={"to": [_("“%(address)s” is not an email address.") % {"address": single_line(text)[:254]}]}
        ) from None


def _send_time(send_at: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    if send_at is None:
        return None
    if timezone.is_naive(send_at):
        raise ValidationError(fields={"send_at": [_("Give the time with its time zone.")]})
    if send_at <= now - SCHEDULE_SLACK:
        raise ValidationError(fields={"send_at": [_("Choose a time in the future.")]})
    if send_at > now + dt.timedelta(days=366):
        raise ValidationError(fields={"send_at": [_("Choose a time within a year.")]})
    return send_at if send_at > now else None


@transaction.atomic
def email_send(
    *,
    actor: Membership,
    mailbox: Mailbox,
    to: str | list[str],
    subject: str,
    body: str,
    lead: Lead | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    template: EmailTemplate | None = None,
    send_at: dt.datetime | None = None,
) -> EmailMessage:
    """Queue an email to `to` about one record (or schedule it for `send_at`, in the future), with merge
    fields filled from the record. Returns the queued (or scheduled) EmailMessage."""
    mailbox = _own_mailbox(actor, mailbox)
    lead = _visible(actor, lead, Lead)
    contact = _visible(actor, contact, Contact)
    company = _visible(actor, company, Company)
    if lead is None and contact is None and company is None:
        raise ValidationError(fields={"record": [_("Send the email from a lead, a contact or a company.")]})
    if template is not None:
        template = template_get(membership=actor, template_id=template.pk)
    address = address_check(to)
    now = timezone.now()
    when = _send_time(send_at, now)
    errors: dict[str, list[str]] = {}
    if not (subject or "").strip():
        errors["subject"] = [_("Write a subject.")]
    if not (body or "").strip():
        errors["body"] = [_("Write the email.")]
    if errors:
        raise ValidationError(fields=errors)
    ensure_not_suppressed(organization_id=actor.organization_id, email=address)
    context = merge_context(
        organization=actor.organization, lead=lead, contact=contact, company=company, sender=mailbox
    )
    rendered = render_email(subject=subject, body=body.replace("\r\n", "\n"), context=context)
    if not rendered.subject:
        raise ValidationError(fields={"subject": [_("The subject is empty once the merge fields are filled in.")]})
    record = lead or contact or company
    message_id = new_message_id(domain=mailbox.email.rpartition("@")[2])
    user = mailbox.user
    return EmailMessage.objects.create(
        organization_id=actor.organization_id,
        mailbox=mailbox,
        direction=Direction.OUT,
        status=MessageStatus.SCHEDULED if when else MessageStatus.QUEUED,
        message_id=message_id,
        thread_root=message_id,
        from_address=mailbox.email,
        from_name=single_line(mailbox.display_name or user.full_name)[:200],
        to_addresses=[address],
        subject=rendered.subject[:998],
        body_text=rendered.text,
        body_html=rendered.html,
        lead=lead,
        contact=contact,
        company=company or (contact.company if contact is not None and contact.company_id else None),
        owner_id=record.owner_id,
        team_id=record.team_id,
        agency_id=record.agency_id,
        created_by=actor.user,
        template=template,
        scheduled_at=when or now,
    )


@transaction.atomic
def email_cancel(*, actor: Membership, message: EmailMessage) -> EmailMessage:
    """Cancel a scheduled email before the worker takes it. Its writer, admins and managers who see it may."""
    message = sent_message_get(membership=actor, message_id=message.pk)  # 404 unless seen or written
    if message.created_by_id != actor.user_id and actor.role not in (Role.ADMIN, Role.MANAGER):
        from insidesales.core.errors import PermissionDenied

        raise PermissionDenied(_("Only the person who wrote this email, a manager or an admin can cancel it."))
    # Conditional on the status: a worker that picked the email a moment ago wins, and the answer says so.
    changed = EmailMessage.objects.filter(pk=message.pk, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED
    )
    if not changed:
        message.refresh_from_db(fields=["status"])
        if message.status == MessageStatus.CANCELLED:
            return message
        raise Conflict(_("This email is no longer scheduled (it is being sent or was sent): it cannot be cancelled."))
    message.refresh_from_db(fields=["status"])
    return message
