"""The dialer capacity benchmark's arithmetic (`bench.dialer_capacity`): lag percentiles, attempts ringing at
once, the status each call should end in, and which level is the capacity."""

from __future__ import annotations

import pytest

from bench.dialer_capacity import (
    emitted_status,
    max_concurrent,
    percentile,
    ringing_in_window,
    ringing_intervals,
)
from bench.dialer_capacity_worker import drawn_status


def level(n: int, **changes) -> dict:
    figures = {
        "level": n,
        "events": 100,
        "lag_p99_ms": 40.0,
        "failed_events": 0,
        "wrong_calls": 0,
        "ringing_mean": float(n),
        "aborted": False,
    }
    return {**figures, **changes}


def test_percentile_is_nearest_rank_and_never_below_the_worst_one_percent():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([5.0, 900.0], 99) == 900.0  # two samples: the p99 is the slower one
    assert percentile([], 99) == 0.0


def test_ringing_runs_from_the_first_event_to_the_answer_or_the_end():
    records = [
        ("a", "a:initiated", "initiated", 0.0, 0.01, ""),
        ("a", "a:ringing", "ringing", 1.0, 1.01, ""),
        ("a", "a:answered", "answered", 20.0, 20.01, ""),
        ("a", "a:completed", "completed", 200.0, 200.01, ""),  # talking is not ringing
        ("b", "b:initiated", "initiated", 10.0, 10.01, ""),  # still ringing at the end of the records
        ("c", "c:initiated", "initiated", 16.0, 16.01, ""),
        ("c", "c:busy", "busy", 18.0, 18.01, ""),
    ]
    intervals = sorted(ringing_intervals(records))
    assert intervals == [(0.0, 20.0), (10.0, None), (16.0, 18.0)]
    mean, peak = ringing_in_window(intervals, 5.0, 15.0)
    assert mean == pytest.approx(1.5)  # a all 10 s, b 5 of them
    assert peak == 2
    mean, peak = ringing_in_window(intervals, 15.0, 25.0)
    assert mean == pytest.approx((5 + 10 + 2) / 10)
    assert peak == 3


def test_the_status_a_call_should_end_in():
    assert emitted_status(["initiated", "ringing", "answered", "machine", "completed"]) == "machine"
    assert emitted_status(["initiated", "ringing", "answered", "completed"]) == "completed"
    assert emitted_status(["initiated", "ringing", "no_answer"]) == "no_answer"
    assert emitted_status(["initiated", "ringing", "busy"]) == "busy"
    assert emitted_status(["initiated", "ringing"]) is None
    assert drawn_status("live", 9.0, 25.0) == "completed"
    assert drawn_status("machine", 14.0, 25.0) == "machine"
    assert drawn_status("machine", 27.0, 25.0) == "no_answer"  # recognised only after the ring timeout
    assert drawn_status("busy", 2.0, 25.0) == "busy"


def test_capacity_is_the_highest_level_that_passed_with_every_level_below_it():
    assert max_concurrent([level(50), level(100), level(200, lag_p99_ms=501.0), level(400)]) == 100
    assert max_concurrent([level(100), level(50)]) == 100
    assert max_concurrent([level(50, lag_p99_ms=500.0)]) == 50  # the budget itself is within it


@pytest.mark.parametrize(
    "failure",
    [
        {"wrong_calls": 1},
        {"failed_events": 1},
        {"ringing_mean": 80.0},  # the worker never got 90% of the level ringing
        {"aborted": True},
        {"events": 0},
    ],
)
def test_a_level_with_a_wrong_call_a_lost_event_or_not_reached_does_not_count(failure):
    assert max_concurrent([level(50), level(100, **failure)]) == 50
