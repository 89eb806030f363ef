"""Storing a received email: the one path for IMAP polling and for `insidesales ingest-email` (mail piped in).

Idempotent: the same mailbox + UIDVALIDITY + UID, or the same Message-ID with the same content (the hash
ignores transport headers), is stored once. A stored message is threaded (Message-ID / In-Reply-To /
References), matched to a lead or contact, put on its timeline, its attachments kept (size-capped), a hard
bounce's address suppressed, and the sequences told (a reply stops them, an out-of-office pauses them).

Unmatched messages are stored too, with no record and no owner: only the mailbox's owner and admins see them
(`insidesales.mail.selectors.messages.message_scope`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from insidesales.core.text import normalize_email
from insidesales.crm.models import Contact, Lead, LeadStatus
from insidesales.mail.models import (
    Direction,
    EmailAttachment,
    EmailMessage,
    InboundKind,
    Mailbox,
    MailSettings,
    MessageStatus,
    SuppressionReason,
)
from insidesales.mail.parsing import ParsedEmail, parse
from insidesales.mail.services.suppression import suppression_add
from insidesales.orgs.models import Organization

logger = logging.getLogger(__name__)
TIMELINE_BODY_CHARS = 2000


@dataclass
class RecordMatch:
    """The lead or contact a message belongs to, and the owner, team, agency and company copied from it."""

    lead: Lead | None = None
    contact: Contact | None = None

    def fields(self) -> dict[str, Any]:
        record = self.lead or self.contact
        if record is None:
            return {}
        return {
            "lead": self.lead,
            "contact": self.contact,
            "company_id": getattr(self.contact, "company_id", None) if self.contact else None,
            "owner_id": record.owner_id,
            "team_id": record.team_id,
            "agency_id": record.agency_id,
        }


def attachments_dir() -> Path:
    return Path(settings.DATA_DIR) / "mail" / "attachments"


def attachment_path(sha256: str) -> Path:
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise ValueError("not a sha256 hex digest")
    return attachments_dir() / sha256


def attachment_max_bytes(organization_id: int) -> int:
    try:
        from insidesales.mail.services.mail_settings import mail_settings_for
    except ImportError:  # written alongside; until then, the organization's row (created with defaults)
        mail_settings_for = None
    if mail_settings_for is not None:
        return mail_settings_for(organization_id).attachment_max_bytes
    return MailSettings.objects.get_or_create(organization_id=organization_id)[0].attachment_max_bytes


def message_ingest(
    *,
    organization: Organization,
    raw: bytes,
    mailbox: Mailbox | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> EmailMessage | None:
    """Store one received message, or return the copy already stored. None: it is one of our own sent
    messages (e.g. a copy to ourselves), nothing to store. The returned message's `was_created` says
    whether this call stored it."""
    if mailbox is not None and uid is not None:
        existing = EmailMessage.objects.filter(mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid=uid).first()
        if existing is not None:
            existing.was_created = False
            return existing
    parsed = parse(raw)
    if EmailMessage.objects.filter(
        organization=organization, direction=Direction.OUT, message_id=parsed.message_id
    ).exists():
        return None
    duplicate = _stored_copy(organization.pk, parsed)
    if duplicate is not None:
        return duplicate
    cap = attachment_max_bytes(organization.pk)
    stored_files = [_store_file(a.data) if len(a.data) <= cap else None for a in parsed.attachments]
    try:
        with transaction.atomic():
            message = _create(organization, parsed, mailbox, uidvalidity, uid, stored_files)
    except IntegrityError:  # stored by a concurrent poll or pipe in the meantime
        existing = _stored_copy(organization.pk, parsed)
        if existing is None and mailbox is not None and uid is not None:
            existing = EmailMessage.objects.filter(mailbox=mailbox, imap_uidvalidity=uidvalidity, imap_uid=uid).first()
        if existing is None:
            raise
        existing.was_created = False
        return existing
    message.was_created = True
    return message


def _stored_copy(organization_id: int, parsed: ParsedEmail) -> EmailMessage | None:
    found = EmailMessage.objects.filter(
        organization_id=organization_id,
        direction=Direction.IN,
        message_id=parsed.message_id,
        content_hash=parsed.content_hash,
    ).first()
    if found is not None:
        found.was_created = False
    return found


def _create(
    organization: Organization,
    parsed: ParsedEmail,
    mailbox: Mailbox | None,
    uidvalidity: int | None,
    uid: int | None,
    stored_files: list[str | None],
) -> EmailMessage:
    from insidesales.mail.services.timeline import email_timeline_log

    related = _related_messages(organization.pk, parsed)
    match = _match(organization.pk, parsed, related, mailbox)
    now = timezone.now()
    bounce = parsed.bounce.as_json() if parsed.bounce is not None else {}
    if parsed.bounce is not None:
        bounce["verified_hard"] = _verified_hard_bounces(organization.pk, parsed.bounce)
    message = EmailMessage.objects.create(
        organization=organization,
        mailbox=mailbox,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        kind=parsed.kind,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        thread_root=_thread_root(parsed, related),
        from_address=parsed.from_address[:254],
        from_name=parsed.from_name[:200],
        to_addresses=parsed.to,
        cc_addresses=parsed.cc,
        subject=parsed.subject[:998],
        body_text=parsed.text,
        body_html=parsed.html,
        content_hash=parsed.content_hash,
        received_at=now,
        sent_at=parsed.date if parsed.date and parsed.date <= now else None,
        imap_uidvalidity=uidvalidity if uid is not None else None,
        imap_uid=uid,
        bounce=bounce,
        **match.fields(),
    )
    EmailAttachment.objects.bulk_create(
        [
            EmailAttachment(
                message=message,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=len(attachment.data),
                sha256=digest or hashlib.sha256(attachment.data).hexdigest(),
                stored=digest is not None,
            )
            for attachment, digest in zip(parsed.attachments, stored_files, strict=True)
        ]
    )
    if parsed.bounce is not None:
        for recipient in parsed.bounce.recipients:
            if recipient.hard and recipient.recipient.lower() in set(message.bounce.get("verified_hard", [])):
                suppression_add(
                    organization_id=organization.pk,
                    email=recipient.recipient,
                    reason=SuppressionReason.HARD_BOUNCE,
                    note=f"{recipient.status} {recipient.diagnostic}".strip(),
                )
    email_timeline_log(message=message)
    _react(message)
    return message


def _verified_hard_bounces(organization_id: int, report: Any) -> list[str]:
    """The permanently failed recipients this bounce may act on: only addresses one of OUR emails (the
    one the report names by its Message-ID) was sent to. Anyone can write a bounce-looking message; one
    that names no email of ours, or an address that email did not go to, suppresses nobody."""
    original = (report.original_message_id or "").strip("<>")
    if not original:
        return []
    sent = EmailMessage.objects.filter(
        organization_id=organization_id, direction=Direction.OUT, message_id=original
    ).values_list("to_addresses", "cc_addresses")
    addressed = {a.lower() for to, cc in sent for a in [*to, *cc] if isinstance(a, str)}
    return sorted({r.recipient.lower() for r in report.recipients if r.hard and r.recipient.lower() in addressed})


def _react(message: EmailMessage) -> None:
    """Tell the sequences; a failure there is logged, never a reason to lose the message."""
    from insidesales.mail.services.sequences import enrollments_react_to_inbound

    try:
        with transaction.atomic():
            enrollments_react_to_inbound(message=message)
    except Exception:  # noqa: BLE001 - the message is stored either way; the log says what went wrong
        logger.exception("sequences could not react to email %s", message.pk)


# --- threading and matching --------------------------------------------------------------------------


def _related_messages(organization_id: int, parsed: ParsedEmail) -> list[EmailMessage]:
    """Known messages this one refers to: the one it answers first, then its references newest first;
    for a bounce, the message that bounced first."""
    wanted = [parsed.in_reply_to, *reversed(parsed.references)]
    if parsed.bounce is not None and parsed.bounce.original_message_id:
        wanted.insert(0, parsed.bounce.original_message_id)
    wanted = list(dict.fromkeys(w for w in wanted if w and w != parsed.message_id))
    if not wanted:
        return []
    found = EmailMessage.objects.filter(organization_id=organization_id, message_id__in=wanted[:60]).select_related(
        "lead", "contact"
    )
    # The same id can be stored twice (sent by us, and a copy received back): the sent one wins.
    by_id: dict[str, EmailMessage] = {}
    for item in found:
        current = by_id.get(item.message_id)
        if current is None or (item.direction == Direction.OUT and current.direction != Direction.OUT):
            by_id[item.message_id] = item
    return [by_id[w] for w in wanted if w in by_id]


def _thread_root(parsed: ParsedEmail, related: list[EmailMessage]) -> str:
    for item in related:
        if item.thread_root:
            return item.thread_root
    return parsed.message_id


def _match(
    organization_id: int, parsed: ParsedEmail, related: list[EmailMessage], mailbox: Mailbox | None
) -> RecordMatch:
    """The record of the message answered (or bounced) wins; else the sender's address (for a bounce,
    the failed recipient's)."""
    for item in related:
        if item.lead_id or item.contact_id:
            return RecordMatch(lead=item.lead, contact=item.contact)
    if parsed.bounce is not None:
        main = parsed.bounce.main
        address = main.recipient if main else ""
    else:
        address = parsed.from_address
    return match_address(organization_id=organization_id, address=address, prefer_owner_id=mailbox_user(mailbox))


def mailbox_user(mailbox: Mailbox | None) -> int | None:
    return mailbox.user_id if mailbox is not None else None


def match_address(*, organization_id: int, address: str, prefer_owner_id: int | None = None) -> RecordMatch:
    """The lead or contact with this address (records store addresses normalized, as search and duplicate
    detection compare them). Among several: the mailbox owner's first, then open leads before contacts
    before converted or disqualified leads, then the most recently active."""
    address = normalize_email(address)
    if "@" not in address:
        return RecordMatch()
    leads = list(Lead.objects.filter(organization_id=organization_id, email=address).order_by("-last_activity_at")[:20])
    contacts = list(
        Contact.objects.filter(organization_id=organization_id, email=address).order_by("-last_activity_at")[:20]
    )
    closed = (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)

    def rank(record: Lead | Contact) -> tuple[int, int]:
        mine = 0 if prefer_owner_id is not None and record.owner_id == prefer_owner_id else 1
        if isinstance(record, Lead):
            return mine, 2 if record.status in closed else 0
        return mine, 1

    candidates: list[Lead | Contact] = [*leads, *contacts]
    if not candidates:
        return RecordMatch()
    best = min(candidates, key=rank)  # min is stable: equal ranks keep the most recently active
    return RecordMatch(lead=best) if isinstance(best, Lead) else RecordMatch(contact=best)


# --- attachments -------------------------------------------------------------------------------------


def _store_file(data: bytes) -> str:
    """Write `data` under its sha256 (once; atomically, so a reader never sees half a file)."""
    digest = hashlib.sha256(data).hexdigest()
    target = attachment_path(digest)
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest


__all__ = ["InboundKind", "RecordMatch", "attachment_path", "match_address", "message_ingest"]
