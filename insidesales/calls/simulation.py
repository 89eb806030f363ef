"""A discrete-event simulation of a calling floor: agents, a pacer, the simulated carrier.

Each simulated day is a shift: agents log in ready, the pacer (the production code in
`calls.pacing`) decides after every event and on its ticks how many calls to place, the carrier
(`calls.simulated`) says what becomes of each call, and answered calls go to the agent ready longest
— or wait up to `DROP_AFTER` seconds and are abandoned. Talk time counts up to the end of the shift;
calls answered after it still get agents (or count as abandoned). Nothing here is a stand-in for
production code: only the clock and the carrier are simulated.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass, field

from insidesales.calls.pacing import DAY, DROP_AFTER, Floor, Pacer, PreviewPacer
from insidesales.calls.simulated import MIN_RING_SECONDS, CarrierProfile, Outcome, SimulatedCarrier

READY, TALK, WRAP, DIALING = "ready", "talk", "wrap", "dialing"
# Event kinds, in the order events at the same moment are handled.
RESULT, DROP, TALK_END, WRAP_END, PREVIEW, TICK = range(6)


@dataclass(frozen=True)
class Scenario:
    agents: int = 20
    profile: CarrierProfile = field(default_factory=CarrierProfile)
    wrap_seconds: float = 30.0
    shift_hours: float = 8.0
    days: int = 30
    seed: int = 20261129


@dataclass
class Result:
    method: str
    agents: int
    days: int
    talk_min_per_agent_hour: float
    worst_24h_abandon_pct: float
    worst_30d_abandon_pct: float
    abandon_pct: float
    agent_wait_avg_s: float
    agent_wait_p95_s: float
    dials: int
    cancelled: int  # unanswered calls the pacer hung up after the legal minimum of ringing
    live_answers: int
    abandoned: int
    max_ringing: int


@dataclass
class _Agent:
    index: int
    state: str = READY
    since: float = 0.0  # when the current state began
    ready_since: float = 0.0  # when it last became ready (its wait runs from here)


class _Totals:
    def __init__(self) -> None:
        self.talk = 0.0
        self.waits: list[float] = []
        self.answers: list[tuple[float, bool]] = []  # (when, abandoned) of every live answer
        self.dials = 0
        self.cancelled = 0
        self.max_ringing = 0


class _Shift:
    """One day's shift: the agents, the calls, the event queue."""

    def __init__(self, pacer: Pacer, scenario: Scenario, carrier: SimulatedCarrier, totals: _Totals, day: int):
        self.pacer, self.scenario, self.carrier, self.totals = pacer, scenario, carrier, totals
        self.start = day * DAY
        self.end = self.start + scenario.shift_hours * 3600
        self.preview = isinstance(pacer, PreviewPacer)
        self.agents = [_Agent(i, READY, self.start, self.start) for i in range(scenario.agents)]
        self.ready: deque[int] = deque() if self.preview else deque(range(scenario.agents))  # longest ready first
        self.ringing: dict[int, tuple[float, int | None]] = {}  # call → (dialled at, agent it is for)
        self.outcomes: dict[int, Outcome] = {}
        self.queued: deque[tuple[int, float]] = deque()  # answered calls waiting: (call, answered at)
        self.events: list[tuple[float, int, int, int]] = []
        self.sequence = itertools.count()
        self.call_ids = itertools.count()

    def push(self, when: float, kind: int, subject: int) -> None:
        heapq.heappush(self.events, (when, kind, next(self.sequence), subject))

    def place(self, now: float, agent: int | None) -> None:
        call = next(self.call_ids)
        result = self.carrier.dial()
        self.ringing[call] = (now, agent)
        self.outcomes[call] = result.outcome
        self.totals.dials += 1
        self.totals.max_ringing = max(self.totals.max_ringing, len(self.ringing))
        self.push(now + result.seconds, RESULT, call)

    def connect(self, now: float, agent_index: int) -> None:
        agent = self.agents[agent_index]
        self.totals.waits.append(now - agent.ready_since)
        agent.state, agent.since = TALK, now
        talk = self.carrier.talk_seconds()
        self.totals.talk += max(0.0, min(now + talk, self.end) - now)
        self.push(now + talk, TALK_END, agent_index)

    def become_ready(self, now: float, agent_index: int, *, fresh: bool = True) -> None:
        agent = self.agents[agent_index]
        agent.state, agent.since = READY, now
        if fresh:
            agent.ready_since = now
        if self.preview:
            agent.state = DIALING  # looking at the next lead, then dialling it
            if now < self.end:
                self.push(now + self.pacer.preview_seconds, PREVIEW, agent_index)
        else:
            self.ready.append(agent_index)

    def floor(self, now: float) -> Floor:
        wrap, talk = [], []
        for agent in self.agents:
            if agent.state == WRAP:
                wrap.append(now - agent.since)
            elif agent.state == TALK:
                talk.append(now - agent.since)
        return Floor(
            now=now,
            agents=self.scenario.agents,
            ready=len(self.ready),
            queued=len(self.queued),
            wrap_elapsed=wrap,
            talk_elapsed=talk,
            ringing_elapsed=[now - dialled for dialled, _agent in self.ringing.values()],
        )

    def answered(self, now: float, call: int, agent: int) -> None:
        self.pacer.connected(now, 0.0)
        self.totals.answers.append((now, False))
        self.connect(now, agent)

    def run(self) -> None:
        pacer, totals = self.pacer, self.totals
        if self.preview:
            for agent in self.agents:
                agent.state = DIALING
                self.push(self.start + pacer.preview_seconds, PREVIEW, agent.index)
        self.push(self.start, TICK, 0)  # the first decision of the shift (and the first of a pacer's ticks)
        while self.events:
            now, kind, _seq, subject = heapq.heappop(self.events)
            if kind == RESULT:
                if subject not in self.ringing:
                    continue  # cancelled while ringing
                dialled, for_agent = self.ringing.pop(subject)
                outcome = self.outcomes.pop(subject)
                pacer.resolved(now, outcome, now - dialled)
                if outcome == Outcome.LIVE:
                    if for_agent is not None:
                        self.answered(now, subject, for_agent)
                    elif self.ready:
                        self.answered(now, subject, self.ready.popleft())
                    else:
                        self.queued.append((subject, now))
                        self.push(now + DROP_AFTER, DROP, subject)
                elif for_agent is not None:  # preview: the agent takes the next lead
                    self.become_ready(now, for_agent, fresh=False)
            elif kind == DROP:
                for position, (call, answered) in enumerate(self.queued):
                    if call == subject:
                        del self.queued[position]
                        pacer.abandoned(now)
                        totals.answers.append((answered, True))
                        break
            elif kind == TALK_END:
                agent = self.agents[subject]
                pacer.talk_ended(now, now - agent.since)
                agent.state, agent.since = WRAP, now
                self.push(now + self.scenario.wrap_seconds, WRAP_END, subject)
            elif kind == WRAP_END:
                agent = self.agents[subject]
                pacer.wrap_ended(now, now - agent.since)
                if self.queued:
                    _call, answered = self.queued.popleft()
                    agent.ready_since = now
                    pacer.connected(now, now - answered)
                    totals.answers.append((answered, False))
                    self.connect(now, subject)
                else:
                    self.become_ready(now, subject)
            elif kind == PREVIEW:
                if now < self.end:
                    self.place(now, subject)
            elif kind == TICK:
                if pacer.tick and now + pacer.tick < self.end:
                    self.push(now + pacer.tick, TICK, 0)
            if not self.preview and now < self.end:
                state = self.floor(now)
                cancel = pacer.calls_to_cancel(state)
                if cancel:
                    self.cancel(now, cancel)
                    state = self.floor(now)
                for _ in range(pacer.calls_to_place(state)):
                    self.place(now, None)

    def cancel(self, now: float, count: int) -> None:
        """Hang up the `count` calls that have rung longest, of those that rang the legal minimum."""
        eligible = sorted(
            (dialled, call)
            for call, (dialled, agent) in self.ringing.items()
            if agent is None and now - dialled >= MIN_RING_SECONDS
        )
        for dialled, call in eligible[:count]:
            del self.ringing[call]
            self.outcomes.pop(call)
            self.pacer.cancelled(now, now - dialled)
            self.totals.cancelled += 1


def simulate(pacer: Pacer, scenario: Scenario) -> Result:
    carrier = SimulatedCarrier(scenario.profile, scenario.seed)
    totals = _Totals()
    for day in range(scenario.days):
        _Shift(pacer, scenario, carrier, totals, day).run()
    answers = sorted(totals.answers)
    waits = totals.waits
    hours = scenario.agents * scenario.days * scenario.shift_hours
    abandoned = sum(1 for _when, dropped in answers if dropped)
    return Result(
        method=pacer.name,
        agents=scenario.agents,
        days=scenario.days,
        talk_min_per_agent_hour=round(totals.talk / 60 / hours, 2),
        worst_24h_abandon_pct=round(100 * worst_window(answers, DAY), 3),
        worst_30d_abandon_pct=round(100 * worst_window(answers, 30 * DAY), 3),
        abandon_pct=round(100 * abandoned / len(answers), 3) if answers else 0.0,
        agent_wait_avg_s=round(sum(waits) / len(waits), 2) if waits else 0.0,
        agent_wait_p95_s=round(percentile(waits, 95), 2),
        dials=totals.dials,
        cancelled=totals.cancelled,
        live_answers=len(answers),
        abandoned=abandoned,
        max_ringing=totals.max_ringing,
    )


def worst_window(answers: list[tuple[float, bool]], span: float) -> float:
    """The highest abandoned share of live answers over every full rolling window of `span` seconds
    (windows ending at each answer, once `span` has passed since the first); the whole run when it is
    shorter than one window."""
    if not answers:
        return 0.0
    first, last = answers[0][0], answers[-1][0]
    if last - first <= span:
        return sum(dropped for _when, dropped in answers) / len(answers)
    worst, low, drops = 0.0, 0, 0
    for high, (when, dropped) in enumerate(answers):
        drops += dropped
        while answers[low][0] < when - span:
            drops -= answers[low][1]
            low += 1
        if when - first >= span:
            worst = max(worst, drops / (high - low + 1))
    return worst


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[rank]
