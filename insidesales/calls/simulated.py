"""The simulated carrier: a built-in telephone network for the demo and the pacing simulation.

It answers a dialled number the way a real list does, in proportions and delays you configure: a
person picks up after some rings, an answering machine picks up (and is recognised a few seconds
later), the line is busy, or nobody answers before the ring timeout. A person who picks up talks
for a time drawn from the talk-time distribution. It is a product feature (the demo dials through
it with no telephony account; the UI labels it as simulated) and the customers' side of the pacing
benchmark; it never stands in for the SIP or Twilio adapters in their tests.

Outcomes and talk times come from two separate seeded streams, so the k-th call dialled and the
j-th conversation are the same whichever dialing method asked for them (`bench.dialer` compares
methods on identical streams).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

# US FTC and UK Ofcom: a call is let ring at least 15 seconds before it is given up.
MIN_RING_SECONDS = 15.0


class Outcome(StrEnum):
    LIVE = "live"  # a person answered
    MACHINE = "machine"  # an answering machine answered (recognised, then hung up on)
    BUSY = "busy"
    NO_ANSWER = "no_answer"  # rang until the ring timeout


@dataclass(frozen=True)
class Triangular:
    """Seconds drawn from a triangular distribution (low, most likely, high)."""

    low: float
    mode: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.triangular(self.low, self.high, self.mode)


@dataclass(frozen=True)
class TalkTime:
    """Conversation length: exponential (`shape` 1) or gamma-shaped with the given mean, at least
    `minimum` seconds."""

    mean: float = 180.0
    shape: float = 1.0
    minimum: float = 5.0

    def draw(self, rng: random.Random) -> float:
        if self.shape == 1.0:
            value = rng.expovariate(1.0 / self.mean)
        else:
            value = rng.gammavariate(self.shape, self.mean / self.shape)
        return max(self.minimum, value)


@dataclass(frozen=True)
class CarrierProfile:
    """How a list answers. The rates are shares of dialled calls; the rest ring out."""

    live_rate: float = 0.20
    machine_rate: float = 0.15
    busy_rate: float = 0.05
    live_ring: Triangular = Triangular(3.0, 9.0, 24.0)  # seconds until a person answers
    machine_ring: Triangular = Triangular(6.0, 12.0, 24.0)  # until a machine answers
    machine_detect: Triangular = Triangular(2.0, 3.0, 5.0)  # then until it is recognised
    busy_signal: Triangular = Triangular(1.0, 2.0, 4.0)
    ring_timeout: float = 25.0
    talk: TalkTime = TalkTime()

    def __post_init__(self) -> None:
        rates = (self.live_rate, self.machine_rate, self.busy_rate)
        if any(rate < 0 for rate in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError("answer, machine and busy rates must be shares that add up to at most 1")
        if self.ring_timeout < MIN_RING_SECONDS:
            raise ValueError(f"calls must ring at least {MIN_RING_SECONDS:g} seconds")
        if max(self.live_ring.high, self.machine_ring.high) > self.ring_timeout:
            raise ValueError("people and machines must answer before the ring timeout")


@dataclass(frozen=True)
class DialResult:
    outcome: Outcome
    seconds: float  # from dialling until the outcome is known (a person on the line, a machine recognised...)


class SimulatedCarrier:
    """Outcomes of dialled calls and lengths of conversations, from two seeded streams."""

    def __init__(self, profile: CarrierProfile, seed: int) -> None:
        self.profile = profile
        self._dials = random.Random(f"dials:{seed}")
        self._talks = random.Random(f"talks:{seed}")

    def dial(self) -> DialResult:
        profile, rng = self.profile, self._dials
        roll = rng.random()
        # Every call draws the same number of values, so streams stay aligned across outcomes.
        ring, detect = rng.random(), rng.random()
        if roll < profile.live_rate:
            return DialResult(Outcome.LIVE, _triangular(profile.live_ring, ring))
        roll -= profile.live_rate
        if roll < profile.machine_rate:
            seconds = _triangular(profile.machine_ring, ring) + _triangular(profile.machine_detect, detect)
            return DialResult(Outcome.MACHINE, seconds)
        roll -= profile.machine_rate
        if roll < profile.busy_rate:
            return DialResult(Outcome.BUSY, _triangular(profile.busy_signal, ring))
        return DialResult(Outcome.NO_ANSWER, profile.ring_timeout)

    def talk_seconds(self) -> float:
        return self.profile.talk.draw(self._talks)


def _triangular(shape: Triangular, u: float) -> float:
    """The triangular distribution's quantile at u (what `random.triangular` draws, from a given u)."""
    low, mode, high = shape.low, shape.mode, shape.high
    if high <= low:
        return low
    split = (mode - low) / (high - low)
    if u < split:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1 - u) * (high - low) * (high - mode))
