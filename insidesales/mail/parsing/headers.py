"""Decoding headers, addresses, Message-IDs and text parts of received mail without ever raising."""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def header_text(message: Message, name: str) -> str:
    """A header decoded to text (RFC 2047 words, any charset), or "" — never an exception."""
    try:
        value = message.get(name)
        if value is None:
            return ""
        return _clean(str(value))
    except Exception:  # noqa: BLE001 - a header the policy cannot parse: decode the raw value by hand
        pass
    for key, raw_value in getattr(message, "raw_items", lambda: [])():
        if key.lower() == name.lower():
            try:
                return _clean(str(make_header(decode_header(str(raw_value)))))
            except Exception:  # noqa: BLE001
                return _clean(str(raw_value))
    return ""


def header_all(message: Message, name: str) -> list[str]:
    values = []
    for key, raw_value in getattr(message, "raw_items", lambda: [])():
        if key.lower() == name.lower():
            try:
                values.append(_clean(str(make_header(decode_header(str(raw_value))))))
            except Exception:  # noqa: BLE001
                values.append(_clean(str(raw_value)))
    return values


def _clean(value: str) -> str:
    # Unfolded, without control characters (a CR or LF in a stored subject would be a header injection later).
    return " ".join("".join(ch if ch.isprintable() or ch == " " else " " for ch in value).split())


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(name, address) pairs with lower-cased addresses; things that are not addresses are dropped."""
    out = []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001
        pairs = []
    for name, address in pairs:
        address = address.strip().strip("<>").lower()
        if "@" in address and " " not in address and len(address) <= 254:
            out.append((name.strip(), address))
    return out


def message_id_of(value: str) -> str:
    """The id inside the angle brackets (or the bare value), at most 255 characters."""
    found = ANGLE_ID.search(value or "")
    text = found.group(1) if found else (value or "").strip().strip("<>").split(" ")[0]
    return text[:255]


def message_ids_in(value: str) -> list[str]:
    found = ANGLE_ID.findall(value or "")
    return [v[:255] for v in (found or (value or "").split())]


def part_text(part: Message) -> str:
    """A leaf part's text in its declared charset; unknown charsets and bad bytes are replaced, not fatal."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "replace")
    charset = (part.get_content_charset() or "utf-8").strip().strip('"')
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")
