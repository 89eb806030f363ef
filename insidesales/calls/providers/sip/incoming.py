"""Calls that reach us from the trunk: who is calling whom, and the caller's side of the dialog.

An INVITE from the trunk makes us the caller's UAS (RFC 3261 §12.1.1): the dialog's local tag is
the To tag we answer with, its remote target the INVITE's Contact and its route set the INVITE's
Record-Route in order. That side is kept as a `Leg` like the calls we place, so BYE and the rest of
the dialog code serve both. Everything here comes from the caller's message: numbers are read from
the URIs' user parts and only ever put into headers through `Headers.add`, which refuses control
characters, and through the URI and quoting rules below.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from insidesales.core.phones import parse_phone

from ..base import AgentEndpoint
from .dialog import USER_AGENT, Leg
from .endpoint import Address, ServerInvite
from .message import SipParseError, SipRequest, header_params, header_uri, parse_uri

_NUMBER = re.compile(r"\+?[0-9]{3,20}\Z")
_USER = re.compile(r"(?:sips?:([^@]*)@|tel:(.*))", re.IGNORECASE)
_VISUAL_SEPARATORS = re.compile(r"[\s().\-]")
_PRINTABLE = re.compile(r"[^\x20-\x7e]|[\"<>\\]")


@dataclass(frozen=True)
class IncomingCall:
    """An incoming call as the adapter saw it: the caller's Call-ID and the two numbers (E.164 where the
    user part is an international number, its digits where it is a national one, else the user part)."""

    provider_call_id: str
    from_number: str
    to_number: str


# Given to SipProvider: route the call and name the phone to ring, or None when nobody can take it.
IncomingHandler = Callable[[IncomingCall], Awaitable[AgentEndpoint | None]]


def number_of(uri: str) -> str:
    """The number in a SIP URI's user part (`sip:+1-415-555-2671;isub=1@host` → `+14155552671`) or a tel
    URI, or the user part itself, printable and short, when it is not a number (`anonymous`)."""
    found = _USER.match(uri)
    if found is None:
        return ""
    user = urllib.parse.unquote((found.group(1) or found.group(2) or "").split(";", 1)[0])
    compact = _VISUAL_SEPARATORS.sub("", user)
    if _NUMBER.match(compact):
        if compact.startswith("00"):  # the international prefix most of the world dials
            compact = "+" + compact[2:]
        if compact.startswith("+"):
            parsed = parse_phone(compact, "")
            return parsed.e164 if parsed else compact
        return compact  # a national number: the organization's region reads it
    return _PRINTABLE.sub("", user)[:64]


def incoming_call(request: SipRequest) -> IncomingCall:
    to_number = number_of(header_uri(request.headers.get("To") or "")) or number_of(request.uri)
    return IncomingCall(
        provider_call_id=request.call_id,
        from_number=number_of(header_uri(request.headers.get("From") or "")),
        to_number=to_number,
    )


def unusable(request: SipRequest) -> tuple[int, str] | None:
    """Why we cannot take this INVITE (the status and reason to refuse it with), or None."""
    if not request.from_tag:
        return (400, "Missing From tag")
    try:
        parse_uri(header_uri(request.headers.get("Contact") or ""))
    except SipParseError:
        return (400, "Missing or bad Contact")
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not request.body or content_type != "application/sdp":
        # We pass the caller's offer to the agent; an INVITE without one (the offer would come in the
        # ACK) is not supported.
        return (488, "Not Acceptable Here")
    return None


def caller_leg(server: ServerInvite, local: Address) -> Leg:
    """Our side of the caller's dialog, as a leg we can send BYE on once we have answered."""
    request = server.request
    return Leg(
        local=local,
        request_uri=request.uri,
        local_uri=_without_tag(request.headers.get("To") or ""),
        remote_uri=_without_tag(request.headers.get("From") or ""),
        first_hop=server.source,
        call_id=request.call_id,
        local_tag=server.tag,
        remote_tag=request.from_tag,
        remote_target=header_uri(request.headers.get("Contact") or ""),
        route_set=request.headers.get_all("Record-Route"),
        remote_sdp=request.body,
    )


def dialog_headers(server: ServerInvite, local: Address) -> tuple[tuple[str, str], ...]:
    """What a response that sets up the dialog (18x, 2xx) adds: the request's Record-Route and our Contact."""
    host, port = local
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    routes = tuple(("Record-Route", route) for route in server.request.headers.get_all("Record-Route"))
    return routes + (("Contact", f"<sip:{USER_AGENT}@{hostport}>"), ("Server", USER_AGENT))


def quoted(text: str) -> str:
    """`text` as a quoted display name (RFC 3261 §25.1 quoted-string)."""
    return '"' + _PRINTABLE.sub("", text)[:64] + '"'


def _without_tag(value: str) -> str:
    """A From or To value without its tag parameter (the other header parameters kept)."""
    if "tag" not in header_params(value):
        return value
    split_at = value.rfind(">") + 1  # parameters after the URI (or after the name-addr's >)
    head, params = (value[:split_at], value[split_at:]) if split_at else _split_addr_spec(value)
    kept = [part for part in params.split(";")[1:] if part.split("=")[0].strip().lower() != "tag"]
    return head + "".join(f";{part}" for part in kept)


def _split_addr_spec(value: str) -> tuple[str, str]:
    uri, _, params = value.partition(";")
    return uri, ";" + params if params else ""
