"""Bounces: delivery status notifications (RFC 3464 `multipart/report; report-type=delivery-status`) read
per recipient, and the common non-standard ones (a mailer daemon's text) read on a best-effort basis.

A recipient failed hard when its Action is `failed` and its Status is 5.x.x; 4.x.x (or `delayed`) is soft.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser, HeaderParser

from insidesales.mail.parsing.headers import addresses, header_text, message_id_of, part_text

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE = re.compile(r"\b([245])\d\d\b")
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed|failure notice|"
    r"mail delivery (?:failed|failure|subsystem)|returned mail|could not be delivered|delivery failure|"
    r"недоставлен|не доставлен|не может быть доставлено|ошибка доставки|возвращенное письмо",
    re.IGNORECASE,
)
DAEMON_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
# A failed address in a mailer daemon's text: "<a@b>: host ... said", "delivered to a@b because", "To: a@b".
TEXT_RECIPIENT = re.compile(
    r"<([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)>\s*:|"
    r"(?:delivered to|delivery to|recipient(?: address)?:?|address(?:es)?:?|получател[ья]:?|адрес(?:ат)?:?)\s*"
    r"<?([^<>\s@:;,]+@[^<>\s@;,]+\.[A-Za-z]{2,})>?",
    re.IGNORECASE,
)
ORIGINAL_ID = re.compile(r"^message-id:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class RecipientStatus:
    """One recipient's fate in a DSN."""

    recipient: str
    original_recipient: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""

    @property
    def hard(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass
class BounceReport:
    """What a bounce says: per-recipient statuses and the Message-ID of the message that bounced."""

    recipients: list[RecipientStatus] = field(default_factory=list)
    original_message_id: str = ""
    standard: bool = True  # False: read from a non-standard bounce's text

    @property
    def main(self) -> RecipientStatus | None:
        """The recipient that matters most: the first hard failure, else the first listed."""
        return next((r for r in self.recipients if r.hard), self.recipients[0] if self.recipients else None)

    @property
    def hard(self) -> bool:
        return any(r.hard for r in self.recipients)

    def as_json(self) -> dict:
        """The `EmailMessage.bounce` value."""
        main = self.main
        return {
            "recipient": main.recipient if main else "",
            "action": main.action if main else "",
            "status": main.status if main else "",
            "diagnostic": main.diagnostic[:500] if main else "",
            "hard": self.hard,
            "recipients": [r.recipient for r in self.recipients if r.hard],
            "original_message_id": self.original_message_id,
            "standard": self.standard,
            "per_recipient": [
                {
                    "recipient": r.recipient,
                    "action": r.action,
                    "status": r.status,
                    "diagnostic": r.diagnostic[:500],
                }
                for r in self.recipients[:50]
            ],
        }


def bounce_read(message: Message, *, subject: str, from_address: str) -> BounceReport | None:
    """The bounce report of `message`, or None when it is not a bounce."""
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type", "") or "").lower()
        if report_type in ("delivery-status", "") or report_type.endswith("delivery-status"):
            report = _read_dsn(message)
            if report is not None and report.recipients:
                return report
    from_daemon = bool(DAEMON_SENDER.match(from_address or ""))
    if from_daemon or (BOUNCE_SUBJECT.search(subject or "") and not header_text(message, "In-Reply-To")):
        # (a person's reply that happens to say "undelivered" has an In-Reply-To; a daemon's bounce does not)
        return _read_text_bounce(message)
    return None


# --- RFC 3464 ----------------------------------------------------------------------------------------


def _read_dsn(message: Message) -> BounceReport | None:
    parts = message.get_payload()
    if not isinstance(parts, list):
        return None
    report = BounceReport()
    text_fallback = ""
    for part in parts:
        if not isinstance(part, Message):
            continue
        content_type = part.get_content_type()
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            report.recipients = _recipient_blocks(part)
        elif content_type in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                report.original_message_id = message_id_of(header_text(inner[0], "Message-ID"))
        elif content_type in ("text/rfc822-headers", "text/global-headers"):
            headers = BytesParser(policy=email.policy.default).parsebytes(
                part_text(part).encode("utf-8", "replace"), headersonly=True
            )
            report.original_message_id = message_id_of(header_text(headers, "Message-ID"))
        elif content_type == "text/plain" and not text_fallback:
            text_fallback = part_text(part)
    if not report.original_message_id and text_fallback:
        found = ORIGINAL_ID.search(text_fallback)
        report.original_message_id = message_id_of(found.group(1)) if found else ""
    return report


def _recipient_blocks(part: Message) -> list[RecipientStatus]:
    """The per-recipient field groups of a delivery-status part (parsed into sub-messages by `email`, or
    left as text by some producers)."""
    payload = part.get_payload()
    blocks: list[Message] = []
    if isinstance(payload, list):
        blocks = [b for b in payload if isinstance(b, Message)]
    else:
        text = part_text(part).replace("\r\n", "\n")
        blocks = [HeaderParser().parsestr(chunk) for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]
    out = []
    for block in blocks:
        final = _address_field(header_text(block, "Final-Recipient"))
        original = _address_field(header_text(block, "Original-Recipient"))
        recipient = final or original
        if not recipient:
            continue  # the per-message block (Reporting-MTA, Arrival-Date...)
        action = header_text(block, "Action").lower().split(" ")[0]
        diagnostic = header_text(block, "Diagnostic-Code")
        status = _status(header_text(block, "Status")) or _status(diagnostic)
        out.append(
            RecipientStatus(
                recipient=recipient,
                original_recipient=original,
                action=action,
                status=status,
                diagnostic=diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic else diagnostic,
            )
        )
    return out


def _address_field(value: str) -> str:
    """`rfc822; someone@example.com` → `someone@example.com`."""
    value = value.split(";", 1)[-1].strip()
    found = addresses([value])
    return found[0][1] if found else ""


def _status(text: str) -> str:
    found = STATUS.search(text or "")
    if found:
        return ".".join(found.groups())
    code = SMTP_CODE.search(text or "")
    return f"{code.group(1)}.0.0" if code else ""


# --- non-standard bounces ----------------------------------------------------------------------------


def _read_text_bounce(message: Message) -> BounceReport | None:
    text = _all_text(message)
    recipient = ""
    for found in TEXT_RECIPIENT.finditer(text):
        candidate = (found.group(1) or found.group(2) or "").lower().rstrip(".")
        if candidate and not DAEMON_SENDER.match(candidate):
            recipient = candidate
            break
    if not recipient:
        return None
    status = _status(text)
    # Without a status code, a mailer daemon's "could not be delivered" is treated as permanent.
    status = status or "5.0.0"
    delayed = re.search(r"delayed|will (?:continue|keep) trying|not yet been delivered|задерж", text, re.IGNORECASE)
    action = "delayed" if delayed or status.startswith("4") else "failed"
    found_id = ORIGINAL_ID.search(text)
    diagnostic = _diagnostic_line(text)
    return BounceReport(
        recipients=[RecipientStatus(recipient=recipient, action=action, status=status, diagnostic=diagnostic)],
        original_message_id=message_id_of(found_id.group(1)) if found_id else _attached_message_id(message),
        standard=False,
    )


def _all_text(message: Message) -> str:
    chunks = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/rfc822-headers"):
            chunks.append(part_text(part))
        elif part.get_content_type() == "text/html" and not chunks:
            from insidesales.mail.parsing.html_text import html_to_text

            chunks.append(html_to_text(part_text(part)))
    return "\n".join(chunks)[:200_000]


def _attached_message_id(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return message_id_of(header_text(inner[0], "Message-ID"))
    return ""


def _diagnostic_line(text: str) -> str:
    for line in text.splitlines():
        if STATUS.search(line) or SMTP_CODE.search(line):
            return " ".join(line.split())[:500]
    return ""
