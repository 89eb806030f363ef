"""Signatures of outgoing webhooks, as the Standard Webhooks specification defines them
(https://www.standardwebhooks.com/), so receivers can use its libraries or a few lines of their own.

Each request carries three headers:
- `webhook-id`: the delivery's id (the same on every retry of it: use it to drop duplicates);
- `webhook-timestamp`: seconds since the epoch when this attempt was signed;
- `webhook-signature`: `v1,` and the base64 HMAC-SHA256, keyed with the subscription's secret, of
  `{webhook-id}.{webhook-timestamp}.{body}` (space-separated when there are several, e.g. while a secret
  is being rotated).
The secret is shown as `whsec_` followed by base64 of 32 random bytes; the key is those bytes.
A receiver recomputes the signature over the raw body, compares in constant time, and refuses a
timestamp more than five minutes away from its clock (replays).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(PREFIX) :], validate=True)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def verify(secret: str, received: Mapping[str, str], body: bytes, *, now: float | None = None) -> bool:
    """What a receiver does (and what our tests check every request with)."""
    lowered = {k.lower(): v for k, v in received.items()}
    message_id = lowered.get("webhook-id", "")
    try:
        timestamp = int(lowered.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, message_id, timestamp, body).encode()
    offered = lowered.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered)
