"""The one interface every telephony adapter implements, and the events they report.

An adapter turns our commands (originate, cancel, hang up, bridge to an agent, play a message) into
its provider's signalling (SIP messages, Twilio REST calls, the simulated carrier) and reports what
happens to each call as `ProviderEvent`s. Events may arrive twice or out of order; the call record
(`calls.services.events`) applies them idempotently, so adapters report what they see and never
try to deduplicate across processes themselves.

The dialer worker runs an asyncio loop, so the commands are coroutines. Adapters never touch the
database: they receive plain values and hand events to the `EventSink` they were built with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class EventKind(StrEnum):
    """What happened to a call, in the order a call normally goes through them."""

    INITIATED = "initiated"  # the provider accepted the call (SIP: 100 Trying; Twilio: queued/initiated)
    RINGING = "ringing"  # the callee's phone rings (SIP 180/183; Twilio ringing)
    ANSWERED = "answered"  # someone or something picked up (SIP 200 OK; Twilio in-progress/answered)
    MACHINE = "machine"  # the answer was recognised as an answering machine
    BRIDGED = "bridged"  # the callee is connected to an agent
    COMPLETED = "completed"  # an answered call ended (either side hung up)
    BUSY = "busy"  # SIP 486/600; Twilio busy
    NO_ANSWER = "no_answer"  # rang out (we cancelled after the ring timeout; Twilio no-answer)
    CANCELED = "canceled"  # we gave the call up before it was answered (SIP 487 after our CANCEL)
    FAILED = "failed"  # any other final failure (SIP 4xx-6xx, Twilio failed)
    RECORDING = "recording"  # a recording of the call is available (data["recording_url"])


# Final kinds: once one of these is applied, the call is over whatever arrives later.
FINAL_KINDS = frozenset(
    {EventKind.COMPLETED, EventKind.BUSY, EventKind.NO_ANSWER, EventKind.CANCELED, EventKind.FAILED}
)


@dataclass(frozen=True)
class ProviderEvent:
    """One thing that happened to one call, as the provider told it.

    `event_id` is unique per event within the provider (a SIP transaction and response code, a
    Twilio callback's CallSid + status + SequenceNumber...) so a repeated delivery is recognised.
    `sequence` orders events of one call when the provider numbers them (Twilio SequenceNumber);
    None where it does not. `data` carries kind-specific values: `duration_s`, `recording_url`,
    `sip_code`, `answered_by`, `reason`. `reference` is our call's id when the provider echoes it
    (an event can arrive before `originate` has returned the provider's id)."""

    provider: str
    provider_call_id: str
    kind: EventKind
    occurred_at: dt.datetime
    event_id: str
    sequence: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    reference: str = ""


EventSink = Callable[[ProviderEvent], Awaitable[None]]


@dataclass(frozen=True)
class OriginateRequest:
    """An outbound call to place. `to` and `caller_id` are E.164; `reference` is our call's id, echoed
    back where the provider allows (SIP header X-Insidesales-Call, Twilio callback URL)."""

    to: str
    caller_id: str
    reference: str
    ring_timeout_s: float = 25.0
    detect_machine: bool = False
    # Record the call; `notice` is played to the callee when they answer, before anyone speaks (the
    # recording-consent notice of their jurisdiction). Adapters that cannot play it leave it to the rep,
    # whose screen shows it.
    record: bool = False
    notice: str = ""


@dataclass(frozen=True)
class AgentEndpoint:
    """Where an agent takes calls: a SIP URI (softphone or desk phone) or, for Twilio, a client or
    number dialled into the call's conference."""

    address: str
    display_name: str = ""


class ProviderError(Exception):
    """A command the provider refused or could not carry out (bad credentials, unreachable, rejected)."""


class Provider(Protocol):
    """What the dialer and click-to-call need from a telephony adapter."""

    name: str

    async def originate(self, request: OriginateRequest) -> str:
        """Start an outbound call; return the provider's id for it. Events follow through the sink."""
        ...

    async def cancel(self, provider_call_id: str) -> None:
        """Give up a call that has not been answered (SIP CANCEL)."""
        ...

    async def hangup(self, provider_call_id: str) -> None:
        """End an answered call (SIP BYE)."""
        ...

    async def bridge(self, provider_call_id: str, agent: AgentEndpoint) -> None:
        """Connect an answered call to an agent."""
        ...

    async def play(self, provider_call_id: str, message: str) -> None:
        """Play a message to the callee (the abandonment notice), then hang up."""
        ...

    async def close(self) -> None:
        """Release sockets and connections."""
        ...
