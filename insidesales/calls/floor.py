"""One campaign's floor inside the dialer worker: the pacer, the calls ringing, live answers waiting for
an agent, and the 2-second rule.

Every tick the floor reads its agents (ready, on a call, in wrap-up) from the database, connects
waiting answers to the agents who have waited longest (and who may see the lead), abandons an answer
no agent took within `DROP_AFTER` seconds (the identifying message is played, the call is marked
abandoned), hangs up calls the pacer gives up on (after ringing at least 15 s), and places the
calls the pacer asks for. The pacer's rolling abandonment windows are loaded from the campaign's
call records when the floor starts, so a worker restart never forgets the last 30 days.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from insidesales.calls.models import (
    AgentSession,
    AgentState,
    Call,
    CallDirection,
    Campaign,
    CampaignLead,
    CampaignMode,
    CampaignStatus,
)
from insidesales.calls.pacing import (
    DROP_AFTER,
    LEGAL_LIMIT,
    WINDOWS,
    Floor,
    Pacer,
    PowerPacer,
    PredictivePacer,
    WindowCounts,
)
from insidesales.calls.services.agents import PRESENCE
from insidesales.calls.simulated import MIN_RING_SECONDS, Outcome
from insidesales.orgs.models import Membership
from insidesales.orgs.visibility import record_scope


class GuardedPowerPacer(PowerPacer):
    """Power dialing with more than one line per agent can abandon calls too: the same window guard as
    the predictive pacer — when the tightest rolling window has less than `reserve` abandoned calls of
    headroom left under the limit, one line per ready agent (which cannot abandon)."""

    def __init__(self, ratio: float, windows: WindowCounts, reserve: float = 2.0) -> None:
        super().__init__(ratio)
        self.windows = windows
        self.reserve = reserve

    def calls_to_place(self, floor: Floor) -> int:
        ratio = self.ratio
        if ratio > 1 and self.windows.headroom(LEGAL_LIMIT) < self.reserve:
            ratio = 1.0
        return max(0, math.floor(ratio * floor.ready) - len(floor.ringing_elapsed))

    def connected(self, now: float, waited: float) -> None:
        self.windows.add(now, False)

    def abandoned(self, now: float) -> None:
        self.windows.add(now, True)


def pacer_for(campaign: Campaign) -> Pacer:
    spans = dict(WINDOWS) if campaign.check_24h_window else {"30d": WINDOWS["30d"]}
    if campaign.mode == CampaignMode.PREDICTIVE:
        pacer = PredictivePacer()
        pacer.windows = WindowCounts(spans=spans)
        return pacer
    return GuardedPowerPacer(float(campaign.lines_per_agent), WindowCounts(spans=spans))


def load_history(campaign_id: int, windows: WindowCounts, now: dt.datetime) -> int:
    """Feed the campaign's live answers of the last 30 days (and whether each was abandoned) into the
    pacer's windows. Returns how many."""
    rows = (
        Call.objects.filter(
            campaign_id=campaign_id,
            answered_at__gte=now - dt.timedelta(days=30),
            answered_by="human",
        )
        .order_by("answered_at")
        .values_list("answered_at", "abandoned")
    )
    count = 0
    for answered_at, abandoned in rows:
        windows.add(answered_at.timestamp(), bool(abandoned))
        count += 1
    return count


@dataclass
class AgentView:
    user_id: int
    state: str
    since: float  # epoch seconds
    membership: Membership


@dataclass
class CampaignFloor:
    campaign_id: int
    organization_id: int
    mode: str
    pacer: Pacer
    ringing: dict[int, float] = field(default_factory=dict)  # our call id -> dialled at (epoch s)
    waiting: dict[int, float] = field(default_factory=dict)  # live answers -> answered at (epoch s)
    detecting: dict[int, tuple[float, float]] = field(default_factory=dict)  # answered, machine or not yet known
    connected_at: dict[int, float] = field(default_factory=dict)  # call -> connected at
    agents: dict[int, AgentView] = field(default_factory=dict)
    cancelled: set[int] = field(default_factory=set)


def floor_start(campaign: Campaign) -> CampaignFloor:
    pacer = pacer_for(campaign)
    load_history(campaign.pk, pacer.windows, timezone.now())
    return CampaignFloor(campaign.pk, campaign.organization_id, campaign.mode, pacer)


def active_campaign_ids() -> list[int]:
    """Campaigns that are active and have at least one agent signed in to them."""
    return list(
        Campaign.objects.filter(status=CampaignStatus.ACTIVE)
        .filter(
            pk__in=AgentSession.objects.filter(
                state__in=(AgentState.READY, AgentState.ON_CALL, AgentState.WRAP_UP)
            ).values("campaign_id")
        )
        .values_list("pk", flat=True)
    )


def read_agents(floor: CampaignFloor) -> dict[int, AgentView]:
    """The campaign's agents now; notices wrap-ups that ended since the last read (the pacer learns)."""
    now = time.time()
    sessions = (
        AgentSession.objects.filter(
            campaign_id=floor.campaign_id, state__in=(AgentState.READY, AgentState.ON_CALL, AgentState.WRAP_UP)
        )
        .select_related("user")
        .order_by("state_since", "id")
    )
    memberships = {
        m.user_id: m
        for m in Membership.objects.filter(
            organization_id=floor.organization_id, user_id__in=[s.user_id for s in sessions], is_active=True
        ).select_related("organization", "agency", "user")
    }
    seen: dict[int, AgentView] = {}
    for session in sessions:
        membership = memberships.get(session.user_id)
        if membership is None:
            continue
        if session.state == AgentState.READY and session.seen_at.timestamp() < now - PRESENCE.total_seconds():
            continue  # the desktop is gone (closed tab, lost network): no calls for them
        view = AgentView(session.user_id, session.state, session.state_since.timestamp(), membership)
        before = floor.agents.get(session.user_id)
        if before and before.state == AgentState.WRAP_UP and view.state == AgentState.READY:
            floor.pacer.wrap_ended(now, max(0.0, view.since - before.since))
        seen[session.user_id] = view
    floor.agents = seen
    return seen


def agents_scope(floor: CampaignFloor) -> Q | None:
    """Leads any of the campaign's working agents may see (an answered call must find one of them)."""
    scopes = [record_scope(a.membership) for a in floor.agents.values() if a.state != AgentState.PAUSED]
    scopes = [s for s in scopes if s is not None]
    if not scopes:
        return None
    combined = scopes[0]
    for scope in scopes[1:]:
        combined |= scope
    return combined


def floor_snapshot(floor: CampaignFloor) -> Floor:
    now = time.time()
    agents = floor.agents.values()
    return Floor(
        now=now,
        agents=len(floor.agents),
        ready=sum(1 for a in agents if a.state == AgentState.READY),
        queued=len(floor.waiting),
        wrap_elapsed=[now - a.since for a in agents if a.state == AgentState.WRAP_UP],
        talk_elapsed=[now - a.since for a in agents if a.state == AgentState.ON_CALL],
        ringing_elapsed=[now - t for t in floor.ringing.values()],
    )


def calls_to_cancel(floor: CampaignFloor) -> list[int]:
    """The calls the pacer gives up on: those that have rung longest, of those that rang 15 s or more."""
    count = floor.pacer.calls_to_cancel(floor_snapshot(floor))
    if count <= 0:
        return []
    now = time.time()
    old = sorted(
        (t, call_id)
        for call_id, t in floor.ringing.items()
        if now - t >= MIN_RING_SECONDS and call_id not in floor.cancelled
    )
    chosen = [call_id for _, call_id in old[:count]]
    floor.cancelled.update(chosen)
    return chosen


def create_campaign_calls(
    floor: CampaignFloor, entries: list[CampaignLead], caller_id: Callable[[str], str], provider: str
) -> list[Call]:
    """Call rows for reserved campaign leads, claimed by this worker at once (never queued for others)."""
    now = timezone.now()
    calls = []
    with transaction.atomic():
        for entry in entries:
            lead = entry.lead
            call = Call.objects.create(
                organization_id=floor.organization_id,
                direction=CallDirection.OUTBOUND,
                provider=provider,
                from_number=caller_id(lead.phone),
                to_number=lead.phone,
                campaign_id=floor.campaign_id,
                lead=lead,
                owner_id=lead.owner_id,
                team_id=lead.team_id,
                agency_id=lead.agency_id,
                queued_at=now,
                dispatched_at=now,
            )
            CampaignLead.objects.filter(pk=entry.pk).update(call=call)
            calls.append(call)
    return calls


def connect_agent(floor: CampaignFloor, call_id: int) -> int | None:
    """Give the answered call to the ready agent who has waited longest and may see its lead; returns the
    agent's user id, or None if nobody is free."""
    call = Call.objects.select_related("lead").filter(pk=call_id).first()
    if call is None:
        return None
    for agent in sorted(floor.agents.values(), key=lambda a: a.since):
        if agent.state != AgentState.READY:
            continue
        scope = record_scope(agent.membership)
        if scope is None or not type(call.lead).objects.filter(pk=call.lead_id).filter(scope).exists():
            continue
        with transaction.atomic():
            taken = AgentSession.objects.filter(
                organization_id=floor.organization_id, user_id=agent.user_id, state=AgentState.READY
            ).update(state=AgentState.ON_CALL, state_since=timezone.now(), current_call=call, current_lead=call.lead)
            if not taken:
                continue
            Call.objects.filter(pk=call.pk).update(agent_id=agent.user_id)
            CampaignLead.objects.filter(campaign_id=floor.campaign_id, lead_id=call.lead_id).update(
                agent_id=agent.user_id
            )
        agent.state = AgentState.ON_CALL
        agent.since = time.time()
        return agent.user_id
    return None


def outcome_of(kind: str) -> Outcome | None:
    return {
        "busy": Outcome.BUSY,
        "no_answer": Outcome.NO_ANSWER,
        "failed": Outcome.NO_ANSWER,
        "machine": Outcome.MACHINE,
    }.get(kind)


__all__ = [
    "DROP_AFTER",
    "CampaignFloor",
    "active_campaign_ids",
    "agents_scope",
    "calls_to_cancel",
    "connect_agent",
    "create_campaign_calls",
    "floor_snapshot",
    "floor_start",
    "outcome_of",
    "read_agents",
]
