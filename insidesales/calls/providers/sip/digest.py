"""HTTP digest authentication as SIP uses it (RFC 3261 §22, RFC 2617, RFC 8760 for SHA-256).

A trunk that wants credentials answers our INVITE with 401 (WWW-Authenticate) or 407
(Proxy-Authenticate); we send the INVITE again with the matching Authorization header.
"""

from __future__ import annotations

import hashlib
import secrets

from .message import split_list

_ALGORITHMS = {"MD5": "md5", "SHA-256": "sha256"}


class DigestError(ValueError):
    """A challenge we cannot answer (not Digest, an unknown algorithm or qop, no nonce)."""


def parse_challenge(value: str) -> dict[str, str]:
    """`Digest realm="x", nonce="y", qop="auth"` → {"realm": "x", "nonce": "y", "qop": "auth"}."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"not a digest challenge: {scheme!r}")
    params = {}
    for item in split_list(rest):
        name, _, param = item.partition("=")
        param = param.strip()
        if param.startswith('"') and param.endswith('"') and len(param) >= 2:
            param = param[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = param
    if "nonce" not in params:
        raise DigestError("challenge without a nonce")
    return params


def authorization(
    challenge: dict[str, str], *, method: str, uri: str, username: str, password: str, nonce_count: int = 1
) -> str:
    """The Authorization (or Proxy-Authorization) header value answering `challenge`."""
    algorithm = challenge.get("algorithm", "MD5").upper()
    if algorithm not in _ALGORITHMS:
        raise DigestError(f"unsupported digest algorithm {algorithm}")

    def digest(text: str) -> str:
        return hashlib.new(_ALGORITHMS[algorithm], text.encode()).hexdigest()

    realm, nonce = challenge.get("realm", ""), challenge["nonce"]
    ha1 = digest(f"{username}:{realm}:{password}")
    ha2 = digest(f"{method}:{uri}")
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    qops = [qop.strip() for qop in challenge.get("qop", "").split(",") if qop.strip()]
    if qops and "auth" not in qops:
        raise DigestError(f"unsupported qop {challenge['qop']}")
    if qops:
        cnonce, count = secrets.token_hex(8), f"{nonce_count:08x}"
        response = digest(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{digest(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append(f"algorithm={algorithm}")
    if "opaque" in challenge:
        fields.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(fields)
