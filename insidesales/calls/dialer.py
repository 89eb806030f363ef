"""The dialer worker: one asyncio process that carries calls between the database and the providers.

It claims queued calls (one UPDATE per call, so several workers never place the same call), places
them through the organization's provider, applies every provider event to the call record, connects
answered click-to-call calls to their rep, and carries hang-up requests to the provider. Database
work runs in threads (`sync_to_async`); the loop itself only waits on timers and sockets.

Run it with `insidesales dialer` (`insidesales serve --with-worker` starts it too).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from insidesales.calls.models import FINAL_CALL_STATUSES, AgentSession, Call, CallStatus, ProviderKind
from insidesales.calls.providers.base import (
    AgentEndpoint,
    EventKind,
    OriginateRequest,
    Provider,
    ProviderError,
    ProviderEvent,
)
from insidesales.calls.services.events import UnknownCall, call_event_apply
from insidesales.core.live import latest_id

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
RING_TIMEOUT_S = 25.0


def _db(fn: Callable) -> Callable:
    """Run a database function in a worker thread, with Django's connection hygiene."""

    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(wrapped, thread_sensitive=True)


def _claim_queued(limit: int = 50) -> list[Call]:
    claimed = []
    candidates = list(
        Call.objects.filter(dispatched_at__isnull=True, status=CallStatus.QUEUED, provider_call_id="")
        .order_by("queued_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in candidates:
        if Call.objects.filter(pk=pk, dispatched_at__isnull=True).update(dispatched_at=timezone.now()):
            claimed.append(Call.objects.get(pk=pk))
    return claimed


def _hangups(mine: set[int]) -> list[Call]:
    if not mine:
        return []
    return list(
        Call.objects.filter(pk__in=mine, hangup_requested_at__isnull=False).exclude(status__in=FINAL_CALL_STATUSES)
    )


def _agent_endpoint(call_id: int) -> AgentEndpoint | None:
    call = Call.objects.filter(pk=call_id).first()
    if call is None or call.agent_id is None:
        return None
    session = AgentSession.objects.filter(organization_id=call.organization_id, user_id=call.agent_id).first()
    address = session.endpoint if session and session.endpoint else f"agent-{call.agent_id}"
    return AgentEndpoint(address=address)


def _fail(call_id: int, reason: str) -> None:
    from insidesales.calls.services.events import BLOCKED, call_event_record

    call = Call.objects.get(pk=call_id)
    call_event_record(call=call, kind=BLOCKED, data={"reason": reason[:255]})


def _provider_kind(call: Call) -> str:
    return call.provider


class Dialer:
    """One worker's state: its providers and the calls it placed."""

    def __init__(self, *, providers: dict[str, Provider] | None = None, speed: float = 1.0) -> None:
        self.speed = speed
        self.providers: dict[str, Provider] = providers or {}
        self.calls: dict[int, tuple[str, str]] = {}  # our call id -> (provider kind, provider call id)
        self.stopping = asyncio.Event()
        self._live_after = 0

    def provider_for(self, kind: str) -> Provider:
        provider = self.providers.get(kind)
        if provider is None:
            if kind != ProviderKind.SIMULATED:
                raise ProviderError(f"no {kind} provider is configured on this worker")
            from insidesales.calls.providers.simulated import SimulatedProvider

            provider = SimulatedProvider(self.on_event, speed=self.speed)
            self.providers[kind] = provider
        return provider

    async def on_event(self, event: ProviderEvent) -> None:
        try:
            call, new = await _db(call_event_apply)(event)
        except UnknownCall:
            log.warning("event for an unknown call: %s", event)
            return
        if not new:
            return
        if call.status in FINAL_CALL_STATUSES:
            self.calls.pop(call.pk, None)
            return
        if event.kind == EventKind.ANSWERED and call.agent_id and call.campaign_id is None:
            endpoint = await _db(_agent_endpoint)(call.pk)
            if endpoint is not None:
                await self.provider_for(call.provider).bridge(event.provider_call_id, endpoint)

    async def place(self, call: Call) -> None:
        try:
            provider = self.provider_for(_provider_kind(call))
            provider_id = await provider.originate(
                OriginateRequest(
                    to=call.to_number,
                    caller_id=call.from_number,
                    reference=str(call.pk),
                    ring_timeout_s=RING_TIMEOUT_S,
                    detect_machine=call.campaign_id is not None,
                )
            )
        except ProviderError as exc:
            await _db(_fail)(call.pk, str(exc))
            return
        self.calls[call.pk] = (call.provider, provider_id)
        await _db(_set_provider_id)(call.pk, call.provider, provider_id)

    async def carry_hangups(self) -> None:
        for call in await _db(_hangups)(set(self.calls)):
            kind, provider_id = self.calls[call.pk]
            provider = self.provider_for(kind)
            if call.answered_at is None:
                await provider.cancel(provider_id)
            else:
                await provider.hangup(provider_id)

    async def tick(self) -> None:
        for call in await _db(_claim_queued)():
            await self.place(call)
        await self.carry_hangups()

    async def run(self) -> None:
        self._live_after = await _db(latest_id)(["dialer:queue"])
        while not self.stopping.is_set():
            try:
                await self.tick()
            except Exception:  # one bad call must not stop everyone's dialing
                log.exception("dialer tick failed")
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass
        for provider in self.providers.values():
            await provider.close()


def _set_provider_id(call_id: int, kind: str, provider_id: str) -> None:
    with transaction.atomic():
        Call.objects.filter(pk=call_id).filter(Q(provider_call_id="") | Q(provider_call_id=provider_id)).update(
            provider_call_id=provider_id
        )


def run_forever() -> None:
    dialer = Dialer()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, dialer.stopping.set)
        await dialer.run()

    asyncio.run(main())
