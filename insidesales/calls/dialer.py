"""The dialer worker: one asyncio process that carries calls between the database and the providers.

It claims queued calls (one UPDATE per call, so several workers never place the same call), places
them through the organization's provider, applies every provider event to the call record, connects
answered click-to-call calls to their rep, and carries hang-up requests to the provider. Database
work runs in threads (`sync_to_async`); the loop itself only waits on timers and sockets.

Run it with `insidesales dialer` (`insidesales serve --with-worker` starts it too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import signal
import time
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections, transaction
from django.db.models import Q
from django.utils import timezone

from insidesales.calls.floor import (
    DROP_AFTER,
    CampaignFloor,
    active_campaign_ids,
    agents_scope,
    calls_to_cancel,
    connect_agent,
    create_campaign_calls,
    floor_snapshot,
    floor_start,
    outcome_of,
    read_agents,
)
from insidesales.calls.models import (
    FINAL_CALL_STATUSES,
    AgentSession,
    AgentState,
    Call,
    CallDirection,
    CallStatus,
    Campaign,
    CampaignMode,
    CampaignStatus,
    ProviderKind,
    TelephonySettings,
)
from insidesales.calls.providers.base import (
    AgentEndpoint,
    EventKind,
    OriginateRequest,
    Provider,
    ProviderError,
    ProviderEvent,
)
from insidesales.calls.providers.sip.incoming import IncomingCall
from insidesales.calls.services.callbacks import callbacks_due
from insidesales.calls.services.campaigns import campaign_next_leads
from insidesales.calls.services.config import recording_notice, telephony_settings
from insidesales.calls.services.dialing import caller_id_for
from insidesales.calls.services.events import UnknownCall, call_event_apply
from insidesales.calls.services.upkeep import upkeep
from insidesales.calls.simulated import Outcome
from insidesales.core import live
from insidesales.core.live import events_after, latest_id
from insidesales.orgs.visibility import record_scope

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
RING_TIMEOUT_S = 25.0
UPKEEP_SECONDS = 60.0
RELAY_TOPIC = "dialer:events"  # provider events that reached a web process, for the worker to act on
BRIDGE_DEADLINE_S = 30.0  # the rep's phone rings up to 20 s; past this the callee is let go
MACHINE_DETECTION_S = 4.0  # longest we wait for a machine-detection verdict before treating the answer as a person
LISTEN_SECONDS = 5.0  # how often the SIP trunks' settings are checked (each SIP organization's adapter listens)


def _db(fn: Callable) -> Callable:
    """Run a database function in a worker thread, with Django's connection hygiene."""

    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(wrapped, thread_sensitive=True)


def _claim_queued(limit: int = 50) -> list[Call]:
    """Queued calls nobody placed yet, claimed in one UPDATE: the claim's own timestamp (to the
    microsecond) tells this worker's claims from another worker's racing for the same rows."""
    candidates = list(
        Call.objects.filter(dispatched_at__isnull=True, status=CallStatus.QUEUED, provider_call_id="")
        .order_by("queued_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return []
    stamp = timezone.now()
    Call.objects.filter(pk__in=candidates, dispatched_at__isnull=True).update(dispatched_at=stamp)
    return list(Call.objects.filter(pk__in=candidates, dispatched_at=stamp).order_by("queued_at"))


QUEUED_EXPIRY = dt.timedelta(minutes=2)


def _still_to_place(call: Call) -> bool:
    """Checked again as the worker takes a queued call: the rep may have hung up meanwhile, the number may
    have gone on a do-not-call list (the rep's own disposition, say), the window may have closed (a worker
    that was down for hours); a call queued long ago is not placed at all."""
    from insidesales.calls import gate
    from insidesales.calls.services.events import BLOCKED, call_event_record

    if call.hangup_requested_at is not None:
        call_event_record(call=call, kind=EventKind.CANCELED, data={"reason": "hung up before it was dialled"})
        return False
    if call.queued_at < timezone.now() - QUEUED_EXPIRY:
        call_event_record(call=call, kind=BLOCKED, data={"reason": "not dialled within 2 minutes of the request"})
        return False
    record = call.lead or call.contact or call.company
    refusal = gate.outbound_refusal(
        organization_id=call.organization_id,
        rules=telephony_settings(call.organization_id).window_rules,
        number=call.to_number,
        country=getattr(record, "country", ""),
        time_zone=getattr(record, "time_zone", ""),
        campaign_id=call.campaign_id,
        now=timezone.now(),
    )
    if refusal is not None:
        call_event_record(call=call, kind=BLOCKED, data={"reason": refusal.message[:255], "code": refusal.code})
        return False
    return True


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


def _sip_organizations() -> list[int]:
    return list(TelephonySettings.objects.filter(provider=ProviderKind.SIP).values_list("organization_id", flat=True))


def _route_incoming(organization_id: int, incoming: IncomingCall) -> tuple[int, AgentEndpoint | None]:
    """Record and route a call from the organization's SIP trunk: our call's id and the phone to ring."""
    from insidesales.calls.services.inbound import call_inbound_receive, call_missed
    from insidesales.orgs.models import Organization

    result = call_inbound_receive(
        organization=Organization.objects.get(pk=organization_id),
        provider=ProviderKind.SIP,
        provider_call_id=incoming.provider_call_id,
        from_number=incoming.from_number,
        to_number=incoming.to_number,
    )
    if result.agent_id is None:
        return result.call.pk, None
    session = AgentSession.objects.filter(organization_id=organization_id, user_id=result.agent_id).first()
    if session is None or not session.endpoint:  # routed to a rep whose phone is not set: nobody can ring
        call_missed(call_id=result.call.pk)
        return result.call.pk, None
    return result.call.pk, AgentEndpoint(address=session.endpoint)


def _fail(call_id: int, reason: str) -> None:
    from insidesales.calls.services.events import BLOCKED, call_event_record

    call = Call.objects.get(pk=call_id)
    call_event_record(call=call, kind=BLOCKED, data={"reason": reason[:255]})


class Dialer:
    """One worker's state: its providers and the calls it placed."""

    def __init__(self, *, providers: dict[str, Provider] | None = None, speed: float = 1.0) -> None:
        self.speed = speed
        self.providers: dict[str, Provider] = providers or {}
        self.calls: dict[int, tuple[str, str]] = {}  # our call id -> (provider kind, provider call id)
        self.stopping = asyncio.Event()
        self._live_after = 0
        self._relay_after = 0
        self._unsaved_ids: list[tuple[int, str]] = []
        self._background: set[asyncio.Task] = set()
        # Answered calls whose rep is being rung in: call id -> (deadline, provider kind, organization, provider id).
        self._bridging: dict[int, tuple[float, str, int, str]] = {}
        self._provider_versions: dict[str, object] = {}
        self._listen_errors: dict[int, str] = {}  # organization -> why its SIP adapter cannot listen
        self._orgs: dict[int, int] = {}  # our call id -> organization (whose provider carries it)
        self.floors: dict[int, CampaignFloor] = {}
        self._floor_calls: set[int] = set()  # calls placed by a floor (connected by it when answered)

    def provider_for(self, kind: str, organization_id: int | None = None) -> Provider:
        """The adapter for a call: the shared simulated carrier, or the organization's own account."""
        if kind == ProviderKind.SIMULATED:
            provider = self.providers.get(kind)
            if provider is None:
                from insidesales.calls.providers.simulated import SimulatedProvider

                provider = SimulatedProvider(self.on_event, speed=self.speed)
                self.providers[kind] = provider
            return provider
        key = f"{kind}:{organization_id}"
        provider = self.providers.get(key) or self.providers.get(kind)
        if provider is None:
            raise ProviderError(f"no {kind} provider is configured for organization {organization_id}")
        return provider

    async def ensure_provider(self, kind: str, organization_id: int) -> Provider:
        """Build (or rebuild, after its settings changed) the organization's SIP or Twilio adapter."""
        if kind == ProviderKind.SIMULATED or kind in self.providers:
            return self.provider_for(kind, organization_id)
        key = f"{kind}:{organization_id}"
        settings = await _db(telephony_settings)(organization_id)
        from insidesales.calls.providers.factory import provider_version

        version = provider_version(settings)
        if self._provider_versions.get(key) != version or key not in self.providers:
            old = self.providers.pop(key, None)
            if old is not None:
                await old.close()
            from insidesales.calls.providers.factory import build_provider

            provider = build_provider(
                settings, self.on_event, on_incoming=functools.partial(self.on_incoming, organization_id)
            )
            start = getattr(provider, "start", None)
            if start is not None:
                await start()
            self.providers[key] = provider
            self._provider_versions[key] = version
        return self.providers[key]

    async def listen_for_calls(self) -> None:
        """Each organization on a SIP trunk has its adapter listening (for the trunk's incoming calls) before
        any outbound call, rebuilt when its settings change; an organization that left SIP has it closed."""
        organizations = set(await _db(_sip_organizations)())
        for key in [key for key in self.providers if key.startswith(f"{ProviderKind.SIP}:")]:
            if int(key.split(":", 1)[1]) not in organizations:
                await self.providers.pop(key).close()
        for organization_id in organizations:
            try:
                await self.ensure_provider(ProviderKind.SIP, organization_id)
            except ProviderError as exc:
                if self._listen_errors.get(organization_id) != str(exc):  # said once, not every few seconds
                    log.warning("organization %s: the SIP trunk cannot take calls: %s", organization_id, exc)
                self._listen_errors[organization_id] = str(exc)
            else:
                self._listen_errors.pop(organization_id, None)

    async def on_incoming(self, organization_id: int, incoming: IncomingCall) -> AgentEndpoint | None:
        """A call from an organization's SIP trunk: identify the caller, route the call (the record pops on
        the rep's screen) and return the rep's phone; None when nobody can take it (the call is missed)."""
        call_id, endpoint = await _db(_route_incoming)(organization_id, incoming)
        if endpoint is not None:
            self.calls[call_id] = (ProviderKind.SIP, incoming.provider_call_id)  # the rep may hang it up
        return endpoint

    async def on_event(self, event: ProviderEvent) -> None:
        """An event from an adapter this worker runs (SIP, simulated): store it, then act on it."""
        try:
            call, new = await _db(call_event_apply)(event)
        except UnknownCall:
            log.warning("event for an unknown call: %s", event)
            return
        if new:
            await self.react(call, event)

    async def react(self, call: Call, event: ProviderEvent) -> None:
        """What the worker does after an event was stored: pacing, connecting the rep, forgetting ended calls."""
        if event.kind == EventKind.BRIDGED or call.status in FINAL_CALL_STATUSES:
            self._bridging.pop(call.pk, None)
        floor = self.floors.get(call.campaign_id) if call.campaign_id else None
        if floor is not None and call.pk in self._floor_calls:
            await self.floor_event(floor, call, event)
        if call.status in FINAL_CALL_STATUSES:
            self.calls.pop(call.pk, None)
            self._floor_calls.discard(call.pk)
            if call.direction == CallDirection.INBOUND and call.status != CallStatus.COMPLETED:
                from insidesales.calls.services.inbound import call_missed

                await _db(call_missed)(call_id=call.pk)  # the rep is ready again; a callback is scheduled
            return
        if event.kind == EventKind.ANSWERED and call.direction == CallDirection.INBOUND:
            return  # the SIP adapter connected the caller to the rep it was given
        if event.kind == EventKind.ANSWERED and call.agent_id and call.pk not in self._floor_calls:
            # Click-to-call and preview: the rep asked for this call; connect them as soon as it is answered.
            endpoint = await _db(_agent_endpoint)(call.pk)
            if endpoint is not None:
                await self.connect_rep(call.pk, call.provider, call.organization_id, event.provider_call_id, endpoint)

    async def connect_rep(
        self, call_id: int, kind: str, organization_id: int, provider_call_id: str, endpoint: AgentEndpoint
    ) -> None:
        """Ring the rep's phone into the answered call. If it cannot be reached, or has not picked up by the
        deadline (Twilio reports the rep's answer later, over HTTP), the callee is not left in silence: they
        hear the identifying message and the call ends."""
        self._bridging[call_id] = (time.monotonic() + BRIDGE_DEADLINE_S, kind, organization_id, provider_call_id)
        try:
            await self.provider_for(kind, organization_id).bridge(provider_call_id, endpoint)
        except ProviderError as exc:
            log.warning("could not connect the rep to call %s: %s", call_id, exc)
            await self.rep_not_connected(call_id)

    async def rep_not_connected(self, call_id: int) -> None:
        entry = self._bridging.pop(call_id, None)
        if entry is None:
            return
        _deadline, kind, organization_id, provider_call_id = entry
        message = await _db(_mark_rep_not_connected)(call_id)
        task = asyncio.create_task(self._play_and_hang_up(kind, organization_id, provider_call_id, message, call_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def check_bridges(self) -> None:
        now = time.monotonic()
        for call_id, (deadline, *_rest) in list(self._bridging.items()):
            if now >= deadline:
                await self.rep_not_connected(call_id)

    async def relayed_events(self) -> None:
        """Events a web process received for calls this worker placed (Twilio's callbacks arrive over HTTP):
        the web view stored them and relays them here to be acted on."""
        relayed = await _db(events_after)([RELAY_TOPIC], self._relay_after)
        for event_id, _topic, payload in relayed:
            self._relay_after = event_id
            call_id = payload.get("call")
            if call_id not in self.calls:
                continue
            call = await _db(Call.objects.get)(pk=call_id)
            relayed = ProviderEvent(
                provider=call.provider,
                provider_call_id=payload.get("provider_call_id") or call.provider_call_id,
                kind=EventKind(payload["kind"]),
                occurred_at=timezone.now(),
                event_id=payload.get("event_id", ""),
                data=payload.get("data") or {},
            )
            try:
                await self.react(call, relayed)
            except Exception:  # the next relayed events still get handled
                log.exception("acting on a relayed event failed: %s", payload)

    # -- campaign floors (power and predictive dialing) -------------------------------------------

    async def floor_event(self, floor: CampaignFloor, call: Call, event: ProviderEvent) -> None:
        now = time.time()
        dialled = floor.ringing.get(call.pk)
        since_dial = now - dialled if dialled is not None else 0.0
        kind = str(event.kind)
        if kind == EventKind.ANSWERED:
            answered_by = event.data.get("answered_by") or "human"
            if answered_by == "human":
                floor.ringing.pop(call.pk, None)
                floor.detecting.pop(call.pk, None)
                if call.pk not in floor.waiting and call.pk not in floor.connected_at:
                    floor.pacer.resolved(now, Outcome.LIVE, since_dial)
                    floor.waiting[call.pk] = now
                    await self.connect_waiting(floor)
            else:  # machine detection still listening: the verdict follows (or a person, see tick)
                floor.ringing.pop(call.pk, None)
                floor.detecting[call.pk] = (now, since_dial)
        elif kind == EventKind.MACHINE:
            floor.ringing.pop(call.pk, None)
            started = floor.detecting.pop(call.pk, None)
            floor.pacer.resolved(now, Outcome.MACHINE, started[1] if started else since_dial)
            kind_, provider_id = self.calls.get(call.pk, (call.provider, event.provider_call_id))
            await self.provider_for(kind_, call.organization_id).hangup(provider_id)
        elif kind == EventKind.BRIDGED:
            pass
        elif kind in (EventKind.BUSY, EventKind.NO_ANSWER, EventKind.FAILED):
            if floor.ringing.pop(call.pk, None) is not None:
                floor.pacer.resolved(now, outcome_of(kind), since_dial)
        elif kind == EventKind.CANCELED:
            if floor.ringing.pop(call.pk, None) is not None:
                if call.pk in floor.cancelled:
                    floor.pacer.cancelled(now, since_dial)
                else:
                    floor.pacer.resolved(now, Outcome.NO_ANSWER, since_dial)
            floor.cancelled.discard(call.pk)
        elif kind == EventKind.COMPLETED:
            floor.ringing.pop(call.pk, None)
            floor.detecting.pop(call.pk, None)
            if call.pk in floor.waiting:  # hung up before an agent took it: counted as abandoned (no message)
                floor.waiting.pop(call.pk)
                await _db(_mark_abandoned)(call.pk, False)
                floor.pacer.abandoned(now)
            connected = floor.connected_at.pop(call.pk, None)
            if connected is not None:
                floor.pacer.talk_ended(now, now - connected)

    async def connect_waiting(self, floor: CampaignFloor) -> None:
        """Connect live answers to free agents, oldest answer first; abandon those past the 2 seconds."""
        now = time.time()
        for call_id, answered in sorted(floor.waiting.items(), key=lambda item: item[1]):
            agent = await _db(connect_agent)(floor, call_id)
            if agent is not None:
                floor.waiting.pop(call_id, None)
                floor.connected_at[call_id] = time.time()
                floor.pacer.connected(now, now - answered)
                kind, provider_id = self.calls.get(call_id, (None, None))
                endpoint = await _db(_agent_endpoint)(call_id)
                if provider_id and endpoint is not None:
                    await self.connect_rep(call_id, kind, floor.organization_id, provider_id, endpoint)
                continue
            if now - answered >= DROP_AFTER:
                floor.waiting.pop(call_id, None)
                floor.pacer.abandoned(now)
                message = await _db(_mark_abandoned)(call_id)
                kind, provider_id = self.calls.get(call_id, (None, None))
                if provider_id:
                    task = asyncio.create_task(
                        self._play_and_hang_up(kind, floor.organization_id, provider_id, message, call_id)
                    )
                    self._background.add(task)  # held until done (the loop keeps only weak references)
                    task.add_done_callback(self._background.discard)

    async def _play_and_hang_up(
        self, kind: str, organization_id: int, provider_id: str, message: str, call_id: int | None = None
    ) -> None:
        provider = self.provider_for(kind, organization_id)
        try:
            if kind == ProviderKind.TWILIO and message and _looks_russian(message):
                await provider.play(provider_id, message, language="ru-RU")  # a Russian voice for Russian text
            else:
                await provider.play(provider_id, message)
        except ProviderError:
            log.exception("could not play the abandonment message")
            if call_id is not None:
                await _db(_message_not_played)(call_id)
            await provider.hangup(provider_id)

    async def floor_tick(self, floor: CampaignFloor) -> None:
        await _db(read_agents)(floor)
        now = time.time()
        for call_id, (started, since_dial) in list(floor.detecting.items()):
            if now - started >= MACHINE_DETECTION_S:  # no verdict: a person is on the line
                floor.detecting.pop(call_id)
                floor.pacer.resolved(now, Outcome.LIVE, since_dial)
                floor.waiting[call_id] = now
        await self.connect_waiting(floor)
        if floor.mode == CampaignMode.PREVIEW:
            await _db(preview_offer)(floor)
            return
        for call_id in calls_to_cancel(floor):
            kind, provider_id = self.calls.get(call_id, (None, None))
            if provider_id:
                await self.provider_for(kind, floor.organization_id).cancel(provider_id)
        wanted = floor.pacer.calls_to_place(floor_snapshot(floor))
        if wanted <= 0:
            return
        calls = await _db(_reserve_and_create)(floor, wanted)
        for call in calls:
            floor.ringing[call.pk] = time.time()
            self._floor_calls.add(call.pk)
            await self.place(call)
        await self.save_provider_ids()

    async def run_floors(self) -> None:
        active = set(await _db(active_campaign_ids)())
        for campaign_id in active - set(self.floors):
            self.floors[campaign_id] = await _db(_floor_start)(campaign_id)
        for campaign_id in set(self.floors) - active:
            floor = self.floors[campaign_id]
            if not (floor.ringing or floor.waiting or floor.detecting or floor.connected_at):
                del self.floors[campaign_id]
        for floor in list(self.floors.values()):
            await self.floor_tick(floor)

    async def place(self, call: Call) -> None:
        try:
            provider = await self.ensure_provider(call.provider, call.organization_id)
            record, notice = await _db(_recording)(call)
            provider_id = await provider.originate(
                OriginateRequest(
                    to=call.to_number,
                    caller_id=call.from_number,
                    reference=str(call.pk),
                    ring_timeout_s=RING_TIMEOUT_S,
                    detect_machine=call.campaign_id is not None,
                    record=record,
                    notice=notice,
                )
            )
        except ProviderError as exc:
            await _db(_fail)(call.pk, str(exc))
            return
        self.calls[call.pk] = (call.provider, provider_id)
        self._orgs[call.pk] = call.organization_id
        self._unsaved_ids.append((call.pk, provider_id))

    async def save_provider_ids(self) -> None:
        """The provider ids of the calls just placed, in one transaction (events that came first found
        their call by our reference)."""
        if self._unsaved_ids:
            pending, self._unsaved_ids = self._unsaved_ids, []
            await _db(_set_provider_ids)(pending)

    async def carry_hangups(self) -> None:
        for call in await _db(_hangups)(set(self.calls)):
            kind, provider_id = self.calls[call.pk]
            provider = self.provider_for(kind, call.organization_id)
            if call.answered_at is None:
                await provider.cancel(provider_id)
            else:
                await provider.hangup(provider_id)

    async def tick(self) -> None:
        await self.relayed_events()
        for call in await _db(_claim_queued)():
            if await _db(_still_to_place)(call):
                await self.place(call)
        await self.save_provider_ids()
        await self.carry_hangups()
        await self.check_bridges()
        await self.run_floors()

    async def run(self) -> None:
        self._live_after = await _db(latest_id)(["dialer:queue"])
        self._relay_after = await _db(latest_id)([RELAY_TOPIC])
        next_upkeep = next_listen = 0.0
        while not self.stopping.is_set():
            try:
                if time.monotonic() >= next_listen:
                    next_listen = time.monotonic() + LISTEN_SECONDS
                    await self.listen_for_calls()
                await self.tick()
                if time.monotonic() >= next_upkeep:
                    next_upkeep = time.monotonic() + UPKEEP_SECONDS
                    await _db(upkeep)()
            except Exception:  # one bad call must not stop everyone's dialing
                log.exception("dialer tick failed")
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass
        for task in list(self._background):  # messages still playing: the calls end with the worker
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for provider in self.providers.values():
            await provider.close()
        # The database thread's connection goes with the worker (no session left holding anything).
        await sync_to_async(connections.close_all, thread_sensitive=True)()


def _floor_start(campaign_id: int) -> CampaignFloor:
    return floor_start(Campaign.objects.get(pk=campaign_id))


def _reserve_and_create(floor: CampaignFloor, wanted: int) -> list[Call]:
    campaign = Campaign.objects.select_related("caller_id").get(pk=floor.campaign_id)
    if campaign.status != CampaignStatus.ACTIVE:
        return []
    scope = agents_scope(floor)
    entries = campaign_next_leads(campaign=campaign, count=wanted, scope=scope)
    if not entries:
        return []
    settings = telephony_settings(campaign.organization_id)

    def caller(to_number: str) -> str:  # the campaign's number, else local presence for each callee
        return caller_id_for(
            organization_id=campaign.organization_id,
            team_id=campaign.team_id,
            to_number=to_number,
            preferred=campaign.caller_id,
        )

    return create_campaign_calls(floor, entries, caller, settings.provider)


def _mark_abandoned(call_id: int, message: bool = True) -> str:
    """Record the abandonment (the evidence the compliance report reads: whether the identifying message
    is played) and return the message to play."""
    from insidesales.calls.services.config import abandon_message
    from insidesales.calls.services.events import ABANDONED, call_event_record

    call = Call.objects.select_related("organization").get(pk=call_id)
    call_event_record(call=call, kind=ABANDONED, data={"message": message})
    return abandon_message(call)


def preview_offer(floor: CampaignFloor) -> None:
    """Preview: each ready agent with no lead on screen gets the next lead they may see."""
    campaign = Campaign.objects.get(pk=floor.campaign_id)
    if campaign.status != CampaignStatus.ACTIVE:
        return
    for agent in floor.agents.values():
        if agent.state != AgentState.READY:
            continue
        session = AgentSession.objects.filter(organization_id=floor.organization_id, user_id=agent.user_id).first()
        if session is None or session.current_lead_id:
            continue
        due = next((c for c in callbacks_due(membership=agent.membership, limit=5) if c.lead_id), None)
        if due is not None:
            # A callback that is due comes before the campaign's next lead.
            AgentSession.objects.filter(pk=session.pk, current_lead__isnull=True).update(current_lead=due.lead)
            live.publish(f"agent:{agent.user_id}", {"lead": due.lead_id, "callback": due.pk})
            continue
        scope = record_scope(agent.membership)
        entries = campaign_next_leads(campaign=campaign, count=1, scope=scope, agent_id=agent.user_id)
        if entries:
            AgentSession.objects.filter(pk=session.pk, current_lead__isnull=True).update(current_lead=entries[0].lead)
            live.publish(f"agent:{agent.user_id}", {"lead": entries[0].lead_id, "campaign": campaign.pk})


def _recording(call: Call) -> tuple[bool, str]:
    settings = telephony_settings(call.organization_id)
    return settings.recording_enabled, recording_notice(settings, call.to_number)


def _looks_russian(text: str) -> bool:
    return sum("\u0400" <= ch <= "\u04ff" for ch in text) > len(text) // 4


def _mark_rep_not_connected(call_id: int) -> str:
    """The rep's phone did not join the answered call: on record (for a campaign call an abandoned one, as
    nobody took it), and the message the callee hears."""
    from insidesales.calls.services.config import abandon_message
    from insidesales.calls.services.events import ABANDONED, REP_NOT_CONNECTED, call_event_record

    call = Call.objects.select_related("organization").get(pk=call_id)
    call_event_record(call=call, kind=REP_NOT_CONNECTED)
    if call.campaign_id and not call.bridged_at:
        call_event_record(call=call, kind=ABANDONED, data={"message": True, "rep_not_connected": True})
    return abandon_message(call)


def _message_not_played(call_id: int) -> None:
    """The identifying message could not be played: the evidence says so (the compliance report shows it)."""
    from insidesales.calls.models import CallEvent

    CallEvent.objects.filter(call_id=call_id, kind="abandoned").update(data={"message": False, "play_failed": True})


def _set_provider_ids(pending: list[tuple[int, str]]) -> None:
    with transaction.atomic():
        for call_id, provider_id in pending:
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
