"""The simulated carrier as a telephony adapter: the demo places "calls" with no telephony account.

Each originated call draws its outcome from `calls.simulated.SimulatedCarrier` (answer, machine,
busy, no answer, talk time) and reports the same events a real provider would, on asyncio timers.
`speed` compresses time (tests run calls in milliseconds). The UI labels this provider as
simulated wherever calls are shown; no real phone rings.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass, field

from django.utils import timezone

from insidesales.calls.providers.base import AgentEndpoint, EventKind, EventSink, OriginateRequest, ProviderEvent
from insidesales.calls.simulated import CarrierProfile, Outcome, SimulatedCarrier


@dataclass
class _Leg:
    request: OriginateRequest
    answered_at: float | None = None
    ended: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    end_kind: EventKind | None = None
    task: asyncio.Task | None = None


class SimulatedProvider:
    name = "simulated"

    def __init__(
        self, sink: EventSink, *, profile: CarrierProfile | None = None, seed: int | None = None, speed: float = 1.0
    ) -> None:
        self.sink = sink
        self.carrier = SimulatedCarrier(profile or CarrierProfile(), seed if seed is not None else secrets.randbits(32))
        self.speed = speed
        self.legs: dict[str, _Leg] = {}
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)

    async def _emit(self, call_id: str, kind: EventKind, **data) -> None:
        leg = self.legs.get(call_id)
        if leg is None:
            return
        await self.sink(
            ProviderEvent(
                provider=self.name,
                provider_call_id=call_id,
                kind=kind,
                occurred_at=timezone.now(),
                event_id=f"{call_id}:{kind}",
                data=data,
                reference=leg.request.reference,
            )
        )

    async def _sleep_or_end(self, leg: _Leg, seconds: float) -> bool:
        """Wait `seconds` (simulated); True if our side ended the call meanwhile."""
        try:
            await asyncio.wait_for(leg.done.wait(), timeout=max(0.0, seconds / self.speed))
            return True
        except TimeoutError:
            return False

    async def originate(self, request: OriginateRequest) -> str:
        call_id = f"sim-{self._prefix}-{next(self._ids)}"
        leg = _Leg(request)
        self.legs[call_id] = leg
        leg.task = asyncio.create_task(self._run(call_id, leg))
        return call_id

    async def _run(self, call_id: str, leg: _Leg) -> None:
        try:
            await self._play_out(call_id, leg)
        finally:
            self.legs.pop(call_id, None)

    async def _play_out(self, call_id: str, leg: _Leg) -> None:
        loop = asyncio.get_running_loop()
        result = self.carrier.dial()
        await self._emit(call_id, EventKind.INITIATED)
        if await self._sleep_or_end(leg, 1.0):
            return await self._finish(call_id, leg)
        await self._emit(call_id, EventKind.RINGING)
        wait = min(result.seconds, leg.request.ring_timeout_s) - 1.0
        if result.outcome == Outcome.NO_ANSWER:
            wait = leg.request.ring_timeout_s - 1.0
        if await self._sleep_or_end(leg, wait):
            return await self._finish(call_id, leg)
        if result.outcome == Outcome.BUSY:
            leg.ended = True
            return await self._emit(call_id, EventKind.BUSY)
        if result.outcome == Outcome.NO_ANSWER or result.seconds > leg.request.ring_timeout_s:
            leg.ended = True
            return await self._emit(call_id, EventKind.NO_ANSWER)
        leg.answered_at = loop.time()
        if result.outcome == Outcome.MACHINE:
            await self._emit(call_id, EventKind.ANSWERED, answered_by="unknown")
            await self._emit(call_id, EventKind.MACHINE, answered_by="machine")
            # A machine records for up to a minute, then hangs up.
            await self._sleep_or_end(leg, 60.0)
            return await self._finish(call_id, leg)
        await self._emit(call_id, EventKind.ANSWERED, answered_by="human")
        await self._sleep_or_end(leg, self.carrier.talk_seconds())
        await self._finish(call_id, leg)

    async def _finish(self, call_id: str, leg: _Leg) -> None:
        if leg.ended:
            return
        leg.ended = True
        if leg.answered_at is None:
            await self._emit(call_id, EventKind.CANCELED)
            return
        seconds = (asyncio.get_running_loop().time() - leg.answered_at) * self.speed
        await self._emit(call_id, EventKind.COMPLETED, duration_s=round(seconds))

    async def cancel(self, provider_call_id: str) -> None:
        leg = self.legs.get(provider_call_id)
        if leg is not None:
            leg.done.set()

    hangup = cancel

    async def bridge(self, provider_call_id: str, agent: AgentEndpoint) -> None:
        leg = self.legs.get(provider_call_id)
        if leg is not None and leg.answered_at is not None and not leg.ended:
            await self._emit(provider_call_id, EventKind.BRIDGED, agent=agent.address)

    async def play(self, provider_call_id: str, message: str) -> None:
        leg = self.legs.get(provider_call_id)
        if leg is None or leg.ended:
            return
        # About 2.5 words a second, then the simulated callee hears the end and we hang up.
        await asyncio.sleep(max(1.0, len(message.split()) / 2.5) / self.speed)
        leg.done.set()

    async def close(self) -> None:
        tasks = [leg.task for leg in self.legs.values() if leg.task is not None and not leg.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.legs.clear()
