"""Twilio's status callbacks: is this request really from Twilio, about a call we placed, and new?

Twilio signs each callback with `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, the full URL it
requested + every POST parameter's name and value, sorted by name)). That proves the request came
from Twilio, but it carries no time, so a captured request could be sent again later. Two more
checks close that gap:

- the callback URL we give Twilio carries our own token: the call's reference, an expiry (`exp`,
  unix seconds) and an HMAC of both under our secret. A URL we did not mint, or one past its
  expiry, is refused even when Twilio signed it;
- an identical request (same URL and signature, so same body) seen before is refused as a replay.
  The memory of what was seen is a `ReplayGuard`; the database implementation lives with the call
  records. Call `check_callback` in the transaction that applies the event, so a failure rolls the
  mark back and Twilio's retry of the same request still gets through.

Parsing is separate and pure (`parse_status_callback`): each delivery becomes one `ProviderEvent`
whose `event_id` is the same for a repeated delivery, so the call record applies it once.

None of this needs Django: the web view passes the URL, the POST parameters and the headers, and
answers 403 (unsigned, bad_signature, expired), 409 (replayed) or 400 (malformed) from the
`CallbackRejected` reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from insidesales.calls.providers.base import EventKind, ProviderEvent

PROVIDER_NAME = "twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"

# Query parameters of our callback URLs.
REFERENCE_PARAM = "ref"
EXPIRES_PARAM = "exp"
LEG_PARAM = "leg"  # "agent" on the agent's leg of a bridge; absent on the customer's call
BRIDGED_CALL_PARAM = "call"  # on the agent's leg: the customer's CallSid it was bridged to
TOKEN_PARAM = "sig"
AGENT_LEG = "agent"

# Twilio's CallStatus values and the event each one is.
_STATUS_KINDS = {
    "queued": EventKind.INITIATED,
    "initiated": EventKind.INITIATED,
    "ringing": EventKind.RINGING,
    "in-progress": EventKind.ANSWERED,
    "completed": EventKind.COMPLETED,
    "busy": EventKind.BUSY,
    "no-answer": EventKind.NO_ANSWER,
    "failed": EventKind.FAILED,
    "canceled": EventKind.CANCELED,
}
# AnsweredBy values (MachineDetection=Enable gives machine_start; DetectMessageEnd the machine_end_*).
_MACHINE_ANSWERS = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})

Params = Mapping[str, Any] | Iterable[tuple[str, str]]


class RejectReason(StrEnum):
    UNSIGNED = "unsigned"  # no X-Twilio-Signature header
    BAD_SIGNATURE = "bad_signature"  # Twilio's signature or our URL token does not match
    EXPIRED = "expired"  # our URL token is past its expiry
    REPLAYED = "replayed"  # this exact request was accepted before
    MALFORMED = "malformed"  # signed and ours, but not a status callback we understand


class CallbackRejected(Exception):
    """A callback we refuse; `reason` tells the web view which answer to give."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


class ReplayGuard(Protocol):
    """Remembers which callbacks were accepted.

    `seen` records `key` and answers whether it was recorded before, in one atomic step (two
    deliveries racing must not both get False). `until` is when the key may be forgotten: after it,
    the URL's expiry refuses the request anyway."""

    def seen(self, key: str, *, until: dt.datetime) -> bool: ...


class MemoryReplayGuard:
    """A `ReplayGuard` in process memory, for tests and single-process tools (it forgets nothing)."""

    def __init__(self) -> None:
        self._keys: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def seen(self, key: str, *, until: dt.datetime) -> bool:
        with self._lock:
            if key in self._keys:
                return True
            self._keys[key] = until
            return False


# -- Twilio's signature -----------------------------------------------------------------------------


def _pairs(params: Params) -> list[tuple[str, str]]:
    """(name, value) pairs from a dict, a dict of lists, a Django QueryDict or a list of pairs."""
    if hasattr(params, "lists"):  # Django's QueryDict / MultiValueDict keep repeated names
        return [(name, value) for name, values in params.lists() for value in values]
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in params.items():
            if isinstance(value, list | tuple):
                pairs.extend((name, str(item)) for item in value)
            else:
                pairs.append((name, str(value)))
        return pairs
    return [(str(name), str(value)) for name, value in params]


def signature_for(url: str, params: Params, auth_token: str) -> str:
    """The X-Twilio-Signature Twilio computes for a POST of `params` to `url`.

    Parameters are sorted by name; a name sent more than once contributes its distinct values in
    sorted order, as Twilio's helper libraries do."""
    values: dict[str, set[str]] = {}
    for name, value in _pairs(params):
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port: Twilio signs the URL
    as it requested it, and its helper libraries accept either form of the port."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    variants = [url, urlunsplit(parts._replace(netloc=prefix + host))]
    if default_port is not None and parts.port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default_port}")))
    return list(dict.fromkeys(variants))


def verify_signature(url: str, params: Params, signature: str | None, auth_token: str) -> bool:
    """Whether `signature` is Twilio's signature of this request (constant-time comparison)."""
    if not signature:
        return False
    given = signature.encode()
    matches = [hmac.compare_digest(signature_for(u, params, auth_token).encode(), given) for u in _url_variants(url)]
    return any(matches)


# -- our callback URL token -------------------------------------------------------------------------


def _url_token(url_secret: str, fields: list[tuple[str, str]]) -> str:
    message = "\n".join(f"{name}={value}" for name, value in fields).encode()
    digest = hmac.new(url_secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _token_fields(reference: str, expires: int, leg: str | None, bridged_call: str | None) -> list[tuple[str, str]]:
    fields = [(REFERENCE_PARAM, reference), (EXPIRES_PARAM, str(expires))]
    if leg:
        fields += [(LEG_PARAM, leg), (BRIDGED_CALL_PARAM, bridged_call or "")]
    return fields


def signed_callback_url(
    base_url: str,
    *,
    reference: str,
    expires_at: dt.datetime,
    url_secret: str,
    leg: str | None = None,
    bridged_call: str | None = None,
) -> str:
    """`base_url` with our reference, an expiry and our HMAC of both in the query string."""
    fields = _token_fields(reference, int(expires_at.timestamp()), leg, bridged_call)
    query = urlencode([*fields, (TOKEN_PARAM, _url_token(url_secret, fields))])
    return f"{base_url}{'&' if '?' in base_url else '?'}{query}"


def _read_url_token(url: str, url_secret: str, now: dt.datetime) -> dict[str, str]:
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    token = query.get(TOKEN_PARAM, "")
    try:
        fields = _token_fields(
            query[REFERENCE_PARAM], int(query[EXPIRES_PARAM]), query.get(LEG_PARAM), query.get(BRIDGED_CALL_PARAM)
        )
    except (KeyError, ValueError):
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "the callback URL carries no token of ours") from None
    if not hmac.compare_digest(_url_token(url_secret, fields).encode(), token.encode()):
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "the callback URL's token does not match")
    if int(query[EXPIRES_PARAM]) < now.timestamp():
        raise CallbackRejected(RejectReason.EXPIRED, "the callback URL has expired")
    return query


# -- parsing ----------------------------------------------------------------------------------------


def _occurred_at(flat: Mapping[str, str], received_at: dt.datetime | None) -> dt.datetime:
    stamp = flat.get("Timestamp")
    if not stamp:
        if received_at is None:
            raise CallbackRejected(RejectReason.MALFORMED, "no Timestamp")
        return received_at
    try:
        when = parsedate_to_datetime(stamp)
    except (TypeError, ValueError):
        raise CallbackRejected(RejectReason.MALFORMED, f"Timestamp {stamp!r} is not an RFC 2822 date") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _int_or_none(flat: Mapping[str, str], name: str) -> int | None:
    value = flat.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise CallbackRejected(RejectReason.MALFORMED, f"{name} {value!r} is not a number") from None


def parse_status_callback(params: Params, *, received_at: dt.datetime | None = None) -> ProviderEvent:
    """One status callback (or recording status callback) as a `ProviderEvent`.

    The event id is CallSid:CallStatus[:SequenceNumber], so a repeated delivery has the same id.
    In-progress with AnsweredBy machine_* or fax is MACHINE, otherwise ANSWERED; completed carries
    `duration_s` (CallDuration). The asynchronous machine detection's callback (AnsweredBy, no
    CallStatus) is MACHINE, or ANSWERED with `answered_by` human/unknown, id CallSid:amd. A
    RecordingUrl rides on the event as `data["recording_url"]`; a recording status callback
    (RecordingSid, no CallStatus) is its own RECORDING event.
    `received_at` stands in when Twilio sent no Timestamp."""
    flat = dict(_pairs(params))
    call_sid = flat.get("CallSid", "")
    if not call_sid:
        raise CallbackRejected(RejectReason.MALFORMED, "no CallSid")
    sequence = _int_or_none(flat, "SequenceNumber")
    occurred_at = _occurred_at(flat, received_at)
    data: dict[str, Any] = {}
    if flat.get("RecordingUrl"):
        data["recording_url"] = flat["RecordingUrl"]
    status = flat.get("CallStatus", "")
    answered_by = flat.get("AnsweredBy")
    if not status and answered_by:  # the asynchronous machine detection's verdict
        data["answered_by"] = answered_by
        if flat.get("MachineDetectionDuration"):
            data["detection_ms"] = _int_or_none(flat, "MachineDetectionDuration")
        kind = EventKind.MACHINE if answered_by in _MACHINE_ANSWERS else EventKind.ANSWERED
        return ProviderEvent(PROVIDER_NAME, call_sid, kind, occurred_at, f"{call_sid}:amd", sequence, data)
    if not status and flat.get("RecordingSid"):
        if flat.get("RecordingStatus", "completed") != "completed" or "recording_url" not in data:
            raise CallbackRejected(RejectReason.MALFORMED, "a recording callback without a completed recording")
        event_id = f"{call_sid}:recording:{flat['RecordingSid']}"
        return ProviderEvent(PROVIDER_NAME, call_sid, EventKind.RECORDING, occurred_at, event_id, sequence, data)
    kind = _STATUS_KINDS.get(status)
    if kind is None:
        raise CallbackRejected(RejectReason.MALFORMED, f"unknown CallStatus {status!r}")
    if answered_by:
        data["answered_by"] = answered_by
    if kind is EventKind.ANSWERED and answered_by in _MACHINE_ANSWERS:
        kind = EventKind.MACHINE
    if kind is EventKind.COMPLETED:
        data["duration_s"] = _int_or_none(flat, "CallDuration") or 0
    if flat.get("SipResponseCode"):
        data["sip_code"] = _int_or_none(flat, "SipResponseCode")
    event_id = f"{call_sid}:{status}" if sequence is None else f"{call_sid}:{status}:{sequence}"
    return ProviderEvent(PROVIDER_NAME, call_sid, kind, occurred_at, event_id, sequence, data)


# -- the one entry point for the web view -----------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def check_callback(
    url: str,
    params: Params,
    headers: Mapping[str, str],
    *,
    auth_token: str,
    url_secret: str,
    now: dt.datetime,
    replay_guard: ReplayGuard,
) -> ProviderEvent | None:
    """Verify and parse one status callback, or raise `CallbackRejected`.

    `url` is the full public URL Twilio requested, query string included (behind a TLS-terminating
    proxy, build it from the configured public URL, not from what the app server sees). Returns
    None for an authentic callback that means nothing to the call record: the agent's leg of a
    bridge ringing or ending; its answer is reported as BRIDGED on the customer's call. Events carry
    the reference from our URL (`reference`, and `data["reference"]`)."""
    signature = _header(headers, SIGNATURE_HEADER)
    if not signature:
        raise CallbackRejected(RejectReason.UNSIGNED, f"no {SIGNATURE_HEADER} header")
    if not verify_signature(url, params, signature, auth_token):
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "X-Twilio-Signature does not match")
    query = _read_url_token(url, url_secret, now)
    event = parse_status_callback(params, received_at=now)
    expires_at = dt.datetime.fromtimestamp(int(query[EXPIRES_PARAM]), dt.UTC)
    replay_key = hashlib.sha256(f"{url}\n{signature}".encode()).hexdigest()
    if replay_guard.seen(f"{PROVIDER_NAME}:{replay_key}", until=expires_at):
        raise CallbackRejected(RejectReason.REPLAYED, "this callback was accepted before")
    reference = query[REFERENCE_PARAM]
    data = dict(event.data)
    if reference:
        data["reference"] = reference
    if query.get(LEG_PARAM) != AGENT_LEG:
        return replace(event, data=data, reference=reference)
    if event.kind is not EventKind.ANSWERED:
        return None
    customer_call = query.get(BRIDGED_CALL_PARAM, "")
    agent_call = event.provider_call_id
    data["agent_call_id"] = agent_call
    bridged_id = f"{agent_call}:bridged"
    return ProviderEvent(
        PROVIDER_NAME, customer_call, EventKind.BRIDGED, event.occurred_at, bridged_id, None, data, reference=reference
    )
