"""Unsubscribe links of sequence emails: a signed token naming the organization and the email's
Message-ID (HMAC-SHA256 with SECRET_KEY), so the link unsubscribes exactly the address that email went to."""

from __future__ import annotations

import base64
import functools

from django.conf import settings
from django.core import signing

UNSUBSCRIBE_SALT = "insidesales.mail.unsubscribe"

_SIGNER = None


def _signer() -> signing.Signer:
    global _SIGNER
    if _SIGNER is None or _SIGNER.key != settings.SECRET_KEY:
        _SIGNER = signing.Signer(salt=UNSUBSCRIBE_SALT, algorithm="sha256")
    return _SIGNER


def unsubscribe_token(*, organization_id: int, message_id: str) -> str:
    """`<base64 of "organization id, newline, Message-ID">:<HMAC-SHA256>`, URL-safe (signed with SECRET_KEY)."""
    raw = base64.urlsafe_b64encode(f"{organization_id}\n{message_id}".encode()).rstrip(b"=").decode()
    return _signer().sign(raw)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    try:
        raw = _signer().unsign(token)
        organization_id, message_id = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().split("\n", 1)
        return int(organization_id), message_id
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None


def unsubscribe_url(*, organization_id: int, message_id: str) -> str:
    return _unsubscribe_url(organization_id, message_id, settings.SECRET_KEY, settings.PUBLIC_URL)


@functools.lru_cache(maxsize=4096)
def _unsubscribe_url(organization_id: int, message_id: str, key: str, public_url: str) -> str:
    # Remembered: the engine puts the link in the footer and the outbox, moments later, in the headers.
    token = unsubscribe_token(organization_id=organization_id, message_id=message_id)
    return f"{public_url}/unsubscribe/{token}/"
