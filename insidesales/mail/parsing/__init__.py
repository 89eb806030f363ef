"""Reading a received email: RFC 5322 bytes in, a `ParsedEmail` out — addresses, threading ids, text,
attachments, a hash that ignores transport headers, and whether it is a bounce, an auto-reply or a message.

`parse()` never raises: mail comes from anyone, and a malformed message is still stored and shown.
Bounces (DSNs, RFC 3464, and the common non-standard ones) are read in `bounces.py` next to this file.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from insidesales.mail.parsing.bounces import BounceReport, bounce_read
from insidesales.mail.parsing.headers import (
    addresses,
    header_all,
    header_text,
    message_id_of,
    message_ids_in,
    part_text,
)
from insidesales.mail.parsing.html_text import html_to_text

# Headers added on the way (by each relay, by the delivering server, by mbox readers): the same message
# delivered twice differs only in these, so the content hash leaves them out.
TRANSPORT_HEADERS = frozenset(
    {
        "received",
        "x-received",
        "delivered-to",
        "return-path",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
        "x-envelope-from",
        "authentication-results",
        "arc-authentication-results",
        "arc-message-signature",
        "arc-seal",
        "received-spf",
        "x-spam-status",
        "x-spam-score",
        "x-spam-level",
        "x-spam-flag",
        "x-spam-checker-version",
        "x-virus-scanned",
        "status",
        "x-status",
        "x-uid",
        "x-keywords",
        "x-mozilla-status",
        "x-mozilla-status2",
        "x-gm-message-state",
    }
)
SYNTHETIC_DOMAIN = "no-message-id.invalid"
MAX_FILENAME = 255

KIND_MESSAGE, KIND_AUTO_REPLY, KIND_BOUNCE = "message", "auto_reply", "bounce"

# Subjects of out-of-office replies (English, Russian and a few neighbours seen in Russian-speaking offices).
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|"
    r"away from (?:the )?office|on vacation|on leave|i am (?:currently )?out of|"
    r"автоответ|автоматический ответ|нет на месте|отсутствую|отсутствие на работе|вне офиса|в отпуске|"
    r"abwesenheitsnotiz|réponse automatique|respuesta automática"
    r")",
    re.IGNORECASE,
)


@dataclass
class Attachment:
    """One file of a message: a safe file name, its declared type and its bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    """Everything ingestion needs from one received message."""

    message_id: str
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    envelope_to: list[str] = field(default_factory=list)  # Delivered-To / X-Original-To, for routing
    subject: str = ""
    date: dt.datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    content_hash: str = ""
    kind: str = KIND_MESSAGE
    bounce: BounceReport | None = None
    defects: int = 0

    @property
    def recipients(self) -> list[str]:
        """Every address the message was for, envelope first (what a mail server piping it knows best)."""
        seen: dict[str, None] = {}
        for address in [*self.envelope_to, *self.to, *self.cc]:
            seen.setdefault(address, None)
        return list(seen)


def parse(raw: bytes) -> ParsedEmail:
    """Read `raw` (a whole RFC 5322 message). Never raises; missing parts come back empty."""
    raw = bytes(raw or b"")
    content_hash = content_hash_of(raw)
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
    except Exception:  # noqa: BLE001 - the parser is lenient, but arbitrary bytes have crashed it before
        return ParsedEmail(message_id=_synthetic_id(content_hash), content_hash=content_hash, defects=1)
    parsed = ParsedEmail(message_id="", content_hash=content_hash)
    _read_headers(message, parsed)
    if not parsed.message_id:
        parsed.message_id = _synthetic_id(content_hash)
    try:
        _read_parts(message, parsed)
    except Exception:  # noqa: BLE001 - a broken MIME tree still leaves the headers worth storing
        parsed.defects += 1
    try:
        parsed.bounce = bounce_read(message, subject=parsed.subject, from_address=parsed.from_address)
    except Exception:  # noqa: BLE001
        parsed.bounce = None
    parsed.kind = _kind(message, parsed)
    return parsed


# --- headers ---------------------------------------------------------------------------------------


def _read_headers(message: Message, parsed: ParsedEmail) -> None:
    parsed.message_id = message_id_of(header_text(message, "Message-ID"))
    parsed.in_reply_to = message_id_of(header_text(message, "In-Reply-To"))
    parsed.references = message_ids_in(header_text(message, "References"))[-50:]
    parsed.subject = header_text(message, "Subject")[:998]
    sender = addresses([header_text(message, "From")]) or addresses([header_text(message, "Sender")])
    if sender:
        parsed.from_name, parsed.from_address = sender[0][0][:200], sender[0][1]
    parsed.to = [a for _, a in addresses(header_all(message, "To"))][:100]
    parsed.cc = [a for _, a in addresses(header_all(message, "Cc"))][:100]
    envelope = header_all(message, "Delivered-To") + header_all(message, "X-Original-To")
    parsed.envelope_to = list(dict.fromkeys(a for _, a in addresses(envelope)))
    try:
        date = parsedate_to_datetime(header_text(message, "Date"))
        parsed.date = date if date.tzinfo else date.replace(tzinfo=dt.UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed.date = None
    parsed.defects = len(getattr(message, "defects", []) or [])


def content_hash_of(raw: bytes) -> str:
    """sha256 of the message without its transport headers and with line ends made uniform."""
    normalized = raw.replace(b"\r\n", b"\n")
    head, sep, body = normalized.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded continuation belongs to the header above it
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skipping = name.decode("latin-1") in TRANSPORT_HEADERS
        if not skipping:
            kept.append(line)
    return hashlib.sha256(b"\n".join(kept) + sep + body).hexdigest()


def _synthetic_id(content_hash: str) -> str:
    # Stable: the same message delivered twice gets the same id, so it is stored once.
    return f"{content_hash[:40]}@{SYNTHETIC_DOMAIN}"


# --- body and attachments --------------------------------------------------------------------------


def safe_filename(name: str, content_type: str = "") -> str:
    """A file name without directories, control characters or leading dots; never empty."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*').strip().lstrip(".").strip()
    if not name:
        extension = {"message/rfc822": ".eml", "text/calendar": ".ics", "application/pdf": ".pdf"}
        name = "attachment" + extension.get(content_type, "")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else name[:MAX_FILENAME]
    return name


def _read_parts(message: Message, parsed: ParsedEmail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    _walk(message, parsed, texts, htmls, depth=0, top=True)
    parsed.html = htmls[0] if htmls else ""
    if texts:
        parsed.text = texts[0].replace("\r\n", "\n").replace("\r", "\n")
    elif htmls:
        parsed.text = html_to_text(htmls[0])


def _walk(part: Message, parsed: ParsedEmail, texts: list[str], htmls: list[str], *, depth: int, top: bool) -> None:
    if depth > 20:  # nobody nests MIME this deep except to hurt a parser
        return
    content_type = part.get_content_type()
    if part.is_multipart() and content_type.startswith("multipart/"):
        report = content_type == "multipart/report"
        for index, child in enumerate(part.get_payload() or []):
            if report and index > 0:  # the machine-readable report and the returned message: read as a bounce
                continue
            if isinstance(child, Message):
                _walk(child, parsed, texts, htmls, depth=depth + 1, top=False)
        return
    disposition = (part.get_content_disposition() or "").lower()
    filename = _part_filename(part)
    is_body_text = content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
    if is_body_text:
        (texts if content_type == "text/plain" else htmls).append(part_text(part))
        return
    if top and not part.is_multipart() and content_type.startswith("text/"):
        texts.append(part_text(part))
        return
    data = _part_bytes(part)
    parsed.attachments.append(
        Attachment(filename=safe_filename(filename, content_type), content_type=content_type[:255], data=data)
    )


def _part_filename(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # noqa: BLE001
        return ""


def _part_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            try:
                return inner[0].as_bytes(policy=email.policy.SMTP)
            except Exception:  # noqa: BLE001
                return bytes(inner[0])
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


# --- kind -----------------------------------------------------------------------------------------


def _kind(message: Message, parsed: ParsedEmail) -> str:
    if parsed.bounce is not None:
        return KIND_BOUNCE
    if is_auto_reply(message, parsed.subject):
        return KIND_AUTO_REPLY
    return KIND_MESSAGE


def is_auto_reply(message: Message, subject: str) -> bool:
    """RFC 3834 `Auto-Submitted`, the vendor headers, or an out-of-office subject."""
    auto_submitted = header_text(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if any(header_text(message, name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if header_text(message, "X-Auto-Response-Suppress") and header_text(message, "X-MS-Exchange-Inbox-Rules-Loop"):
        return True
    precedence = header_text(message, "Precedence").lower()
    if precedence == "auto_reply":
        return True
    return bool(AUTO_REPLY_SUBJECT.search(subject or ""))
