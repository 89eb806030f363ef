"""The little SDP (RFC 4566, offer/answer RFC 3264) a signalling-only controller needs.

We handle no media. The customer's INVITE carries a minimal offer naming our address and the
discard port, so the customer's answer tells us where the customer's media goes; bridging hands
that answer to the agent and the agent's answer back to the customer (RFC 3725). Each SDP we send
on a dialog must keep our origin line with a growing version (RFC 3264 §8), so the bodies we pass
along get our `o=` line.
"""

from __future__ import annotations

import ipaddress

DISCARD_PORT = 9


def _address_type(address: str) -> str:
    try:
        return "IP6" if ipaddress.ip_address(address).version == 6 else "IP4"
    except ValueError:
        return "IP4"


def origin_line(address: str, session_id: int, version: int) -> str:
    return f"o=insidesales {session_id} {version} IN {_address_type(address)} {address}"


def offer(address: str, session_id: int, version: int) -> bytes:
    """A valid audio offer (G.711 µ-law and A-law, DTMF events) with nowhere to send the audio."""
    kind = _address_type(address)
    lines = [
        "v=0",
        origin_line(address, session_id, version),
        "s=-",
        f"c=IN {kind} {address}",
        "t=0 0",
        f"m=audio {DISCARD_PORT} RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def with_origin(sdp: bytes, address: str, session_id: int, version: int) -> bytes:
    """`sdp` with its o= line replaced by ours, so another party's description can be offered as ours."""
    lines = sdp.decode("utf-8", errors="replace").replace("\r\n", "\n").rstrip("\n").split("\n")
    lines = [origin_line(address, session_id, version) if line.startswith("o=") else line for line in lines]
    return ("\r\n".join(lines) + "\r\n").encode()
