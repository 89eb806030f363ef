"""Dialer pacing: how many calls to place now, so agents talk instead of waiting, within the law.

Pacing knows nothing of transports: the dialer (or the simulation in `calls.simulation`) gives a
pacer a snapshot of the floor — agents ready, in wrap-up, on calls, calls ringing, answered calls
waiting for an agent — and tells it what happened to each call; the pacer answers with a number of
calls to place. The same code runs in production and in the discrete-event simulation that
benchmarks it (`python -m bench.dialer`).

Methods:
- `PreviewPacer`: the rep looks at the lead and dials it; no call waits for an agent, ever.
- `PowerPacer(ratio)`: `ratio` lines per ready agent (1:1 never abandons; 2:1 may).
- `VicidialPacer`: a re-implementation of VICIdial's documented ADAPT_TAPERED predictive method,
  the yardstick.
- `PredictivePacer`: ours. It predicts how many agents will be free when the calls it places now
  are answered — ready agents, agents finishing wrap-up, agents whose calls will end (from the
  talk and wrap-up times it has seen, not from assumptions) — and how many of the calls already
  ringing will be answered by then (from the answer delays it has seen), and dials the difference,
  biased by a controller that holds abandonment at a target below the legal limit. A guard keeps
  every rolling 24-hour and 30-day window under the limit whatever the controller does.

An abandoned call is a live answer no agent took within `DROP_AFTER` seconds (2 s: US FTC
Telemarketing Sales Rule, UK Ofcom); the rate is abandoned calls over live answers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from insidesales.calls.simulated import MIN_RING_SECONDS, Outcome

DROP_AFTER = 2.0  # seconds a live answer may wait for an agent before it counts as abandoned
LEGAL_LIMIT = 0.03  # abandoned share of live answers allowed in every window
DAY = 86_400.0
WINDOWS = {"24h": DAY, "30d": 30 * DAY}
EVER = 10_000.0  # "within any time": until the call is resolved


@dataclass
class Floor:
    """The campaign's floor at `now` (seconds)."""

    now: float
    agents: int  # logged in and not paused
    ready: int  # waiting for a call
    queued: int  # live answers waiting for an agent
    wrap_elapsed: Sequence[float] = ()  # per agent in wrap-up: seconds since it began
    talk_elapsed: Sequence[float] = ()  # per agent on a call: seconds since it was connected
    ringing_elapsed: Sequence[float] = ()  # per call placed and not yet resolved: seconds since dialled


class Pacer:
    """What every method gets told; `calls_to_place` is its decision."""

    name = "pacer"
    tick: float | None = None  # seconds between decisions besides those after every event
    reserves_agent = False  # the agent dials for itself (preview)

    def calls_to_place(self, floor: Floor) -> int:
        raise NotImplementedError

    def calls_to_cancel(self, floor: Floor) -> int:
        """How many unanswered calls to hang up now (the dialer takes those that have rung longest, of
        those that rang at least the legal minimum)."""
        return 0

    def resolved(self, now: float, outcome: Outcome, seconds: float) -> None:
        """A placed call's outcome, `seconds` after it was dialled."""

    def cancelled(self, now: float, seconds: float) -> None:
        """A call the pacer asked to cancel was hung up unanswered after ringing `seconds`."""

    def connected(self, now: float, waited: float) -> None:
        """A live answer got an agent after waiting `waited` seconds."""

    def abandoned(self, now: float) -> None:
        """A live answer got no agent in time."""

    def talk_ended(self, now: float, seconds: float) -> None:
        pass

    def wrap_ended(self, now: float, seconds: float) -> None:
        pass


class PreviewPacer(Pacer):
    """The rep dials each lead after looking at it; the simulation gives each ready agent one call."""

    name = "preview"
    reserves_agent = True

    def __init__(self, preview_seconds: float = 5.0) -> None:
        self.preview_seconds = preview_seconds

    def calls_to_place(self, floor: Floor) -> int:
        return 0  # the agents place their own calls


class PowerPacer(Pacer):
    """Progressive dialing: `ratio` lines per ready agent."""

    def __init__(self, ratio: float = 1.0) -> None:
        self.ratio = ratio
        self.name = f"power{ratio:g}"

    def calls_to_place(self, floor: Floor) -> int:
        return max(0, math.floor(self.ratio * floor.ready) - len(floor.ringing_elapsed))


class VicidialPacer(Pacer):
    """VICIdial's ADAPT_TAPERED, as documented: every 15 seconds the dial level becomes
    level × (1 + (average ready agents − average waiting calls) / average agents), clamped to
    1.0–3.0, and halved when more than half of the last minute's answered calls dropped; the level
    used tapers toward 1.0 as the day's drop rate nears the limit (from half the limit on, reaching
    1.0 at the limit). Calls placed: level × ready agents − calls ringing."""

    name = "vicidial"
    tick = 1.0
    INTERVAL = 15.0

    def __init__(self, limit: float = LEGAL_LIMIT, *, day_length: float = DAY) -> None:
        self.limit = limit
        self.day_length = day_length
        self.level = 1.0
        self._samples = 0
        self._ready_sum = self._waiting_sum = self._agents_sum = 0.0
        self._next_adapt: float | None = None
        self._last_sample = -1.0
        self._minute: deque[tuple[float, bool]] = deque()  # (when, dropped) of live answers
        self._day = -1
        self._day_answers = self._day_drops = 0

    def _sample(self, floor: Floor) -> None:
        if floor.now - self._last_sample < 1.0:
            return
        self._last_sample = floor.now
        self._samples += 1
        self._ready_sum += floor.ready
        self._waiting_sum += floor.queued
        self._agents_sum += floor.agents

    def _adapt(self, now: float) -> None:
        if self._samples and self._agents_sum:
            ready, waiting = self._ready_sum / self._samples, self._waiting_sum / self._samples
            agents = self._agents_sum / self._samples
            self.level *= 1 + (ready - waiting) / agents
        while self._minute and self._minute[0][0] < now - 60:
            self._minute.popleft()
        drops = sum(1 for _when, dropped in self._minute if dropped)
        if self._minute and drops > len(self._minute) / 2:
            self.level /= 2
        self.level = min(3.0, max(1.0, self.level))
        self._samples = 0
        self._ready_sum = self._waiting_sum = self._agents_sum = 0.0

    def used_level(self) -> float:
        drop_rate = self._day_drops / self._day_answers if self._day_answers else 0.0
        taper = min(1.0, max(0.0, (self.limit - drop_rate) / (self.limit / 2)))
        return 1.0 + (self.level - 1.0) * taper

    def calls_to_place(self, floor: Floor) -> int:
        self._roll_day(floor.now)
        self._sample(floor)
        if self._next_adapt is None:
            self._next_adapt = floor.now + self.INTERVAL
        while floor.now >= self._next_adapt:
            self._adapt(self._next_adapt)
            self._next_adapt += self.INTERVAL
        return max(0, math.floor(self.used_level() * floor.ready) - len(floor.ringing_elapsed))

    def _roll_day(self, now: float) -> None:
        day = int(now // self.day_length)
        if day != self._day:
            self._day, self._day_answers, self._day_drops = day, 0, 0

    def connected(self, now: float, waited: float) -> None:
        self._roll_day(now)
        self._day_answers += 1
        self._minute.append((now, False))

    def abandoned(self, now: float) -> None:
        self._roll_day(now)
        self._day_answers += 1
        self._day_drops += 1
        self._minute.append((now, True))


class Durations:
    """An empirical distribution of durations (1-second bins), for conditional end probabilities:
    given that something has lasted `elapsed` seconds, how likely it ends within `within` more.
    Starts from a few pseudo-observations of `prior` seconds so the first decisions are sane."""

    def __init__(self, *, prior: float, prior_weight: int = 5, limit: int = 7200) -> None:
        self.limit = limit
        self.counts = [0.0] * (limit + 2)
        self.total = 0.0
        self._survival: list[float] | None = None
        self._array: np.ndarray | None = None
        self._array_of: list[float] | None = None
        self._since = 0
        bin_ = min(limit, int(prior))
        self.counts[bin_] += prior_weight
        self.total += prior_weight

    def add(self, seconds: float) -> None:
        self.counts[min(self.limit, max(0, int(seconds)))] += 1
        self.total += 1
        self._since += 1
        if self._since >= 25:
            self._survival = None

    def survival(self) -> list[float]:
        """s[i]: the share lasting at least i seconds."""
        if self._survival is None:
            remaining, out = self.total, []
            for count in self.counts:
                out.append(remaining / self.total)
                remaining -= count
            self._survival = out
            self._since = 0
        return self._survival

    def ends_within(self, elapsed: float, within: float) -> float:
        if within <= 0:
            return 0.0
        survival = self.survival()
        start = min(self.limit, int(elapsed))
        end = min(self.limit + 1, int(elapsed + within))
        alive = survival[start]
        if alive <= 0:
            return 1.0  # longer than anything seen: about to end
        return max(0.0, min(1.0, (alive - survival[end]) / alive))

    def ends_within_all(self, elapsed: Sequence[float], within: float) -> float:
        """The expected number of these (lasting `elapsed` seconds each) that end within `within` more."""
        if within <= 0 or not elapsed:
            return 0.0
        if self._array is None or self._array_of is not self.survival():
            self._array_of = self.survival()
            self._array = np.asarray(self._array_of)
        survival = self._array
        start = np.minimum(self.limit, np.asarray(elapsed, dtype=np.int64))
        end = np.minimum(self.limit + 1, (np.asarray(elapsed) + within).astype(np.int64))
        alive = survival[start]
        ending = np.where(alive > 0, (alive - survival[end]) / np.where(alive > 0, alive, 1.0), 1.0)
        return float(np.clip(ending, 0.0, 1.0).sum())

    def median(self) -> float:
        survival = self.survival()
        for seconds, share in enumerate(survival):
            if share <= 0.5:
                return float(seconds)
        return float(self.limit)


class AnswerModel:
    """When placed calls are answered by a person: per second since dialling, how many live answers,
    how many other outcomes, and how many calls were hung up unanswered by the dialer (censored:
    they were still ringing then, and what would have come of them is unknown). Kaplan–Meier
    estimates give the chance that a call still ringing after `elapsed` seconds is answered by a
    person within `within` more."""

    def __init__(self, *, limit: int = 120) -> None:
        self.limit = limit
        self.live = [0.0] * (limit + 2)
        self.other = [0.0] * (limit + 2)
        self.censored = [0.0] * (limit + 2)
        # A prior of 20 calls: 4 answered by a person around 8 s, the rest ringing out at 25 s.
        self.live[8] = 4.0
        self.other[25] = 16.0
        self._cache: tuple[list[float], list[float]] | None = None
        self._since = 0

    def _bin(self, seconds: float) -> int:
        return min(self.limit, max(0, int(seconds)))

    def add(self, outcome: Outcome, seconds: float) -> None:
        if outcome == Outcome.LIVE:
            self.live[self._bin(seconds)] += 1
        else:
            self.other[self._bin(seconds)] += 1
        self._touched()

    def censor(self, seconds: float) -> None:
        self.censored[self._bin(seconds)] += 1
        self._touched()

    def _touched(self) -> None:
        self._since += 1
        if self._since >= 25:
            self._cache = None

    def _cumulative(self) -> tuple[list[float], list[float]]:
        """(live answers within i seconds, calls resolved within i seconds), as shares of all calls."""
        if self._cache is None:
            at_risk = sum(self.live) + sum(self.other) + sum(self.censored)
            unresolved, live_sum, resolved_sum = 1.0, 0.0, 0.0
            live_by, resolved_by = [], []
            for live, other, censored in zip(self.live, self.other, self.censored, strict=True):
                if at_risk > 0:
                    live_share = unresolved * live / at_risk
                    resolved_share = unresolved * (live + other) / at_risk
                    live_sum += live_share
                    resolved_sum += resolved_share
                    unresolved -= resolved_share
                live_by.append(live_sum)
                resolved_by.append(resolved_sum)
                at_risk -= live + other + censored
            self._cache = (live_by, resolved_by)
            self._since = 0
        return self._cache

    def live_within(self, elapsed: float, within: float) -> float:
        live_by, resolved_by = self._cumulative()
        start = min(self.limit, int(elapsed)) - 1
        end = min(self.limit, int(elapsed + within))
        before_live = live_by[start] if start >= 0 else 0.0
        unresolved = 1.0 - (resolved_by[start] if start >= 0 else 0.0)
        if unresolved <= 1e-12:
            return 0.0
        return max(0.0, (live_by[end] - before_live) / unresolved)

    def live_share(self) -> float:
        return self._cumulative()[0][-1]

    def median_live_delay(self) -> float:
        live_by, _resolved = self._cumulative()
        half = live_by[-1] / 2
        for seconds, share in enumerate(live_by):
            if share >= half:
                return float(seconds)
        return float(self.limit)


@dataclass
class WindowCounts:
    """Live answers and abandoned calls per rolling window (24 hours, 30 days)."""

    spans: dict[str, float] = field(default_factory=lambda: dict(WINDOWS))
    events: deque[tuple[float, bool]] = field(default_factory=deque)
    answers: dict[str, int] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    _starts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.spans:
            self.answers[name] = self.drops[name] = self._starts[name] = 0
        self._offset = 0  # events popped from the left of the deque

    def add(self, now: float, dropped: bool) -> None:
        self.events.append((now, dropped))
        for name in self.spans:
            self.answers[name] += 1
            self.drops[name] += dropped
        self.expire(now)

    def expire(self, now: float) -> None:
        for name, span in self.spans.items():
            index = self._starts[name]
            while index - self._offset < len(self.events) and self.events[index - self._offset][0] <= now - span:
                self.answers[name] -= 1
                self.drops[name] -= self.events[index - self._offset][1]
                index += 1
            self._starts[name] = index
        oldest = min(self._starts.values())
        while self._offset < oldest:
            self.events.popleft()
            self._offset += 1

    def headroom(self, limit: float) -> float:
        """How many more abandoned calls the tightest window allows now, at this limit."""
        return min(limit * self.answers[name] - self.drops[name] for name in self.spans)


class PredictivePacer(Pacer):
    """Ours: match the calls' expected answers, second by second over the next half minute, to the
    agents expected free by then, with a margin an abandonment controller sets; under a window guard.

    For every second t ahead, the live answers expected by t — from the calls ringing (each by how
    long it has rung) and from n new calls — must not exceed the agents free by t + DROP_AFTER
    (ready now, finishing wrap-up, finishing calls and then wrap-up; from the durations seen) plus the
    margin; n is the largest number of new calls that keeps this at every t. All distributions are
    learned from the campaign's own calls as they happen.

    - `target`: the abandonment rate the controller holds (below the legal limit, leaving room for
      chance); each live answer moves the margin: up by `step` × target / (1 − target) when an agent
      took it, down by `step` when it was abandoned, so it settles where the rate is the target.
    - `guard`: the rate no rolling 24-hour or 30-day window may exceed; when the tightest window has
      less than `guard_reserve` abandoned calls of headroom left, the pacer places a line per free
      agent only (power 1:1, which cannot abandon).
    - `cancel_late`: a call that has rung the legal minimum (15 s) may be hung up unanswered — that
      is not an abandoned call — when the calls ringing would bring more answers than agents (with
      the margin moved by `cancel_margin` standard deviations: negative hangs up less than the
      placement rule would). New calls then need to fit only until they can be hung up. Calls hung
      up are censored in the answer model (what would have come of them is unknown).
    """

    name = "ours"
    tick = 1.0
    SLOTS = 40  # seconds ahead considered (longer than any ring timeout we allow + DROP_AFTER)
    RING_ROWS = 64  # rows of the ringing table: elapsed seconds 0..63

    def __init__(
        self,
        *,
        target: float = 0.025,
        guard: float = LEGAL_LIMIT,
        guard_reserve: float = 2.0,
        step: float = 0.1,
        max_lines_per_agent: float = 8.0,
        cancel_late: bool = True,
        cancel_margin: float = -1.0,
    ) -> None:
        self.target = target
        self.cancel_late = cancel_late
        self.cancel_margin = cancel_margin
        self.guard = guard
        self.guard_reserve = guard_reserve
        self.step = step
        self.max_lines_per_agent = max_lines_per_agent
        self.safety = 2.0  # standard deviations of answers kept below the free agents
        self.talk = Durations(prior=120.0)
        self.wrap = Durations(prior=30.0)
        self.answers = AnswerModel()
        self.windows = WindowCounts()
        self._ring_table: np.ndarray | None = None
        self._wrap_rows: dict[int, np.ndarray] = {}
        self._wrap_version = -1

    # -- learning -----------------------------------------------------------------------------

    def resolved(self, now: float, outcome: Outcome, seconds: float) -> None:
        cached = self.answers._cache
        self.answers.add(outcome, seconds)
        if cached is not None and self.answers._cache is None:
            self._ring_table = None

    def cancelled(self, now: float, seconds: float) -> None:
        cached = self.answers._cache
        self.answers.censor(seconds)
        if cached is not None and self.answers._cache is None:
            self._ring_table = None

    def connected(self, now: float, waited: float) -> None:
        self.windows.add(now, False)
        self.safety = max(-3.0, self.safety - self.step * self.target / (1 - self.target))

    def abandoned(self, now: float) -> None:
        self.windows.add(now, True)
        self.safety = min(6.0, self.safety + self.step)

    def talk_ended(self, now: float, seconds: float) -> None:
        self.talk.add(seconds)

    def wrap_ended(self, now: float, seconds: float) -> None:
        self.wrap.add(seconds)

    # -- the tables -----------------------------------------------------------------------------

    def ring_table(self) -> np.ndarray:
        """row e, column t: the chance that a call unresolved after e seconds is answered by a person
        within t more seconds."""
        if self._ring_table is None:
            live_by, resolved_by = self.answers._cumulative()
            live = np.asarray(live_by)
            resolved = np.asarray(resolved_by)
            total = 1.0  # shares of all calls
            limit = len(live) - 1
            table = np.zeros((self.RING_ROWS, self.SLOTS))
            for elapsed in range(self.RING_ROWS):
                before_live = live[elapsed - 1] if elapsed else 0.0
                unresolved = total - (resolved[elapsed - 1] if elapsed else 0.0)
                if unresolved <= 0:
                    continue
                ends = np.minimum(limit, elapsed + np.arange(self.SLOTS))
                table[elapsed] = np.clip((live[ends] - before_live) / unresolved, 0.0, 1.0)
            self._ring_table = table
        return self._ring_table

    def wrap_row(self, elapsed: float) -> np.ndarray:
        """column t: the chance that a wrap-up that has lasted `elapsed` seconds ends within t more."""
        survival = self.wrap.survival()
        if self._wrap_version != id(survival):
            self._wrap_rows, self._wrap_version = {}, id(survival)
        key = int(elapsed)
        row = self._wrap_rows.get(key)
        if row is None:
            row = np.array([self.wrap.ends_within(key, t) for t in range(self.SLOTS)])
            self._wrap_rows[key] = row
        return row

    # -- deciding -----------------------------------------------------------------------------

    def free_by(self, floor: Floor) -> np.ndarray:
        """column t: agents expected free (and not taken by a waiting call) within t seconds."""
        free = np.full(self.SLOTS, float(floor.ready - floor.queued))
        for elapsed in floor.wrap_elapsed:
            free += self.wrap_row(elapsed)
        if floor.talk_elapsed:
            # A call that ends goes through wrap-up first: only calls ending `wrap` before t count.
            wrap = self.wrap.median()
            span = self.SLOTS - 1 - wrap
            if span > 0:
                ending = self.talk.ends_within_all(floor.talk_elapsed, span)
                ramp = np.clip((np.arange(self.SLOTS) - wrap) / span, 0.0, 1.0)
                free += ending * ramp
        return free

    def _assess(self, floor: Floor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(each ringing call's chance of a live answer by t, the answers allowed by t, the rows of the
        ringing table for new calls' answers by t) — None when the guard holds the pacer to one
        line per free agent."""
        self.windows.expire(floor.now)
        if self.windows.headroom(self.guard) < self.guard_reserve:
            return None
        table = self.ring_table()
        lag = int(DROP_AFTER)
        rows = np.minimum(self.RING_ROWS - 1, np.asarray(floor.ringing_elapsed, dtype=np.int64))
        each = table[rows][:, :-lag] if len(rows) else np.zeros((0, self.SLOTS - lag))
        free = self.free_by(floor)[lag:]  # agents free by t + lag, for the answers by t
        # Answers by t are about Poisson: keep their count plus `safety` standard deviations within
        # the free agents — x + z·√x ≤ F, i.e. √x ≤ (√(z² + 4F) − z) / 2.
        z = self.safety
        root = np.sqrt(np.maximum(0.0, z * z + 4 * free))
        allowed = np.where(free > 0, ((root - z) / 2) ** 2, 0.0)
        if z < 0:
            allowed = np.maximum(allowed, free)  # aggressive: at least the expected free agents
        return each, allowed, table[0][:-lag], rows

    def calls_to_cancel(self, floor: Floor) -> int:
        """Calls that have rung the legal minimum and would bring more answers than agents: hung up,
        longest ringing first, until the expected answers fit (an unanswered call hung up is not an
        abandoned call; one answered with no agent is)."""
        if not self.cancel_late or floor.agents <= 0:
            return 0
        assessed = self._assess(floor)
        if assessed is None:
            return 0
        each, allowed, _fresh, _rows = assessed
        if self.cancel_margin:
            free = self.free_by(floor)[int(DROP_AFTER) :]
            z = self.safety + self.cancel_margin
            root = np.sqrt(np.maximum(0.0, z * z + 4 * free))
            allowed = np.where(free > 0, ((root - z) / 2) ** 2, 0.0)
        answered = each.sum(axis=0)
        over = answered - allowed
        if float(over.max(initial=0.0)) <= 0:
            return 0
        order = sorted(
            (index for index, elapsed in enumerate(floor.ringing_elapsed) if elapsed >= MIN_RING_SECONDS),
            key=lambda index: -floor.ringing_elapsed[index],
        )
        count = 0
        for index in order:
            answered = answered - each[index]
            count += 1
            if float((answered - allowed).max(initial=0.0)) <= 0:
                break
        return count

    def calls_to_place(self, floor: Floor) -> int:
        if floor.agents <= 0:
            return 0
        assessed = self._assess(floor)
        if assessed is None:
            # Too close to the limit in some window: a line per free agent, as power 1:1 (no
            # answered call can then find every agent busy).
            return max(0, floor.ready - floor.queued - len(floor.ringing_elapsed))
        each, allowed, fresh, _rows = assessed
        room = allowed - each.sum(axis=0)
        usable = fresh > 0.005
        if self.cancel_late:
            # A call placed now can be hung up unanswered once it has rung the legal minimum: only
            # the answers before then cannot be taken back.
            usable[int(MIN_RING_SECONDS) + 1 :] = False
        if not usable.any():
            return 0
        calls = math.floor(float(np.min(room[usable] / fresh[usable])))
        cap = math.floor(self.max_lines_per_agent * floor.agents) - len(floor.ringing_elapsed)
        return max(0, min(calls, cap))
