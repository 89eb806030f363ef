"""Provider credentials at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from `CREDENTIALS_KEY` (a Fernet key, see docs/telephony.md) or, when that is unset,
is derived from `SECRET_KEY` with HKDF, so a database dump alone never reveals a trunk password or
an auth token. Rotating keys: list the new key first and old ones after it in `CREDENTIALS_KEY`
(comma-separated); values are read with any of them (and with the key derived from SECRET_KEY, for
values stored before CREDENTIALS_KEY was set) and encrypted with the first when saved;
`insidesales rotate_credentials` re-encrypts every organization's at once.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CredentialsUnreadable(Exception):
    """The stored credentials were encrypted with a key this server does not have."""


def _derived_key() -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"insidesales-credentials", info=b"fernet")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


def _fernet() -> MultiFernet:
    """The configured keys (the first encrypts), then the key derived from SECRET_KEY, so values written
    before CREDENTIALS_KEY was set stay readable until they are saved again."""
    configured = [k.strip() for k in (getattr(settings, "CREDENTIALS_KEY", "") or "").split(",") if k.strip()]
    return MultiFernet([*(Fernet(k) for k in configured), Fernet(_derived_key())])


def reencrypt_credentials(token: str) -> str:
    """`token` encrypted again with the current first key (after a key rotation)."""
    return _fernet().rotate(token.encode()).decode() if token else ""


def encrypt_credentials(values: dict[str, Any]) -> str:
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialsUnreadable("stored telephony credentials cannot be decrypted with this server's key") from exc
