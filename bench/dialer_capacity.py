"""Dialer capacity: how many call attempts one dialer worker process keeps ringing at once, in real time.

    python -m bench.dialer_capacity [--quick] [--database-url URL] [--levels 50,100,200] [--window S]

One worker process (a child of this one) runs the real `calls.dialer.Dialer` with the real
`SimulatedProvider` at speed 1.0 — no time compression — against the bench's own database: a SQLite
file in a temporary directory, or the database `bench_dialer` on the PostgreSQL server given by
`--database-url` (dropped and created, dropped again at the end), migrated. This process plays the web
process and the pacer: it queues campaign calls (`Call` rows not yet dispatched, one per lead of a list,
in one transaction every 0.1 s) and the worker claims, places and records them as it does in production.

The list answers like `bench.dialer`'s: 20% people (after 3–24 s), 15% answering machines (recognised
2–5 s after picking up, then recording for a minute), 5% busy, the rest ring out at 25 s: about 20 s of
ringing per attempt; people talk for an exponential 3 minutes on average.

The load is ramped. Level N is N attempts ringing at once (placed, not yet answered or ended): calls are
queued at N / (mean ringing time) per second (Little's law). After 25 s of warm-up — every attempt then
ringing was placed at this level's rate — a window is measured (60 s; `--quick`: 20 s). Calls answered
earlier keep talking across levels, so their ends load the worker too. Per level:

- event lag: for each event the carrier emits in the window, from its `occurred_at` (stamped by the
  carrier as it emits) to the return of the worker's event handler, after the transaction that applied
  it committed (a wrapper around the provider's event sink, here in the bench only); p50, p95, p99,
  max, and the part spent waiting before the database work began (`CallEvent.received_at` − `occurred_at`);
- the attempts actually ringing at once (time-weighted mean and peak, from the events), the delay from
  queueing a call to its first event, the worker process's CPU (user + system over wall time; 100% is
  one core) and the lag of its event loop;
- correctness, checked after the run has drained (calls still talking are hung up through
  `hangup_requested_at`, as a supervisor does; ringing ones ring out): every call queued in the level
  was placed and reached a final state, has exactly the events the carrier emitted for it stored, and
  its status is the one both those events and the carrier's draw for it mean (busy, no answer, machine,
  completed); no event handler failed.

`max_concurrent_attempts` is the highest level reached (mean ringing ≥ 90% of N) with the p99 lag at
most 500 ms — the agent desktop's latency budget — and every call right, all lower levels passing too.
The ramp stops after the first level that fails, at once when an event has waited 5 s. The last line is
JSON: `max_concurrent_attempts`, `levels` (the figures per level), `database`, `machine`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.dialer_capacity_worker import Collector, profile, worker_main

BENCH_DB = "bench_dialer"
BENCH_ORG = "bench-dialer"
LAG_BUDGET_MS = 500.0
REACHED_SHARE = 0.9  # a level counts only if this share of N was actually ringing on average
OVERLOAD_S = 5.0  # an event waiting this long ends the ramp at once
WARMUP_S = 25.0  # the longest an attempt rings: after this, every ringing attempt is of the new rate
FEED_TICK_S = 0.1
LEVELS = (50, 100, 200, 400, 800, 1600, 3200)
QUICK_LEVELS = (100, 300, 600)
HISTORY_CALLS = 100_000  # finished calls already in the table (about a week of a small floor's dialling)
RING_ENDS = frozenset({"answered", "machine", "busy", "no_answer", "canceled", "failed", "completed"})


# --- figures from the records (pure functions) ------------------------------------------------------


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (the value below which q% of the values lie, never interpolated)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def emitted_status(kinds) -> str | None:
    """The final status a call's emitted events mean (None: it has not ended)."""
    kinds = set(kinds)
    if "completed" in kinds:
        return "machine" if "machine" in kinds else "completed"
    for kind in ("busy", "no_answer", "canceled", "failed"):
        if kind in kinds:
            return kind
    return None


def ringing_intervals(records) -> list[tuple[float, float | None]]:
    """(start, end) of each attempt's ringing — from its first event to its answer or end — by emit time."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for call, _event_id, kind, emitted, *_ in records:
        if kind == "initiated":
            starts[call] = min(emitted, starts.get(call, emitted))
        elif kind in RING_ENDS:
            ends[call] = min(emitted, ends.get(call, emitted))
    return [(start, ends.get(call)) for call, start in starts.items()]


def ringing_in_window(intervals, start: float, end: float) -> tuple[float, int]:
    """Time-weighted mean and peak of the attempts ringing during [start, end]."""
    edges = []
    covered = 0.0
    for began, ended in intervals:
        ended = end if ended is None else ended
        low, high = max(began, start), min(ended, end)
        if high > low:
            covered += high - low
            edges += [(low, 1), (high, -1)]
    ringing = peak = 0
    for _at, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        ringing += step
        peak = max(peak, ringing)
    return (covered / (end - start) if end > start else 0.0), peak


def lag_figures(lags_ms) -> dict:
    return {
        "lag_p50_ms": round(percentile(lags_ms, 50), 1),
        "lag_p95_ms": round(percentile(lags_ms, 95), 1),
        "lag_p99_ms": round(percentile(lags_ms, 99), 1),
        "lag_max_ms": round(max(lags_ms, default=0.0), 1),
    }


def level_passes(level: dict) -> bool:
    return (
        not level.get("aborted")
        and level["events"] > 0
        and level["lag_p99_ms"] <= LAG_BUDGET_MS
        and level["failed_events"] == 0
        and level["wrong_calls"] == 0
        and level["ringing_mean"] >= REACHED_SHARE * level["level"]
    )


def max_concurrent(levels: list[dict]) -> int:
    """The highest level that passed with every level below it passing too (0: none did)."""
    best = 0
    for level in sorted(levels, key=lambda level: level["level"]):
        if not level_passes(level):
            break
        best = level["level"]
    return best


def mean_ring_seconds(ring_timeout: float, draws: int = 20000) -> float:
    """How long an attempt rings on average with the bench's list (by drawing from the carrier)."""
    from insidesales.calls.simulated import Outcome, SimulatedCarrier

    carrier = SimulatedCarrier(profile(), seed=1)
    total = 0.0
    for _ in range(draws):
        result = carrier.dial()
        total += ring_timeout if result.outcome == Outcome.NO_ANSWER else min(result.seconds, ring_timeout)
    return total / draws


# --- this process: the database, the feed, the checks -----------------------------------------------


def configure(database_url: str | None, data_dir: Path) -> str:
    if database_url:
        from bench.records import postgres_url

        _postgres(database_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {BENCH_DB}")
        url = postgres_url(database_url, recreate=False).replace("bench_records", BENCH_DB)
    else:
        url = f"sqlite:///{data_dir / 'bench-dialer.sqlite3'}"
    os.environ.update(
        {
            "INSIDESALES_DATA_DIR": str(data_dir),
            "DATABASE_URL": url,
            "INSIDESALES_ENV": "development",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "insidesales.settings",
        }
    )
    return url


def _postgres(server_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def setup_list(leads: int) -> dict:
    """An organization, its admin, an active predictive campaign and `leads` leads to call."""
    from insidesales.calls.models import Campaign, CampaignMode, CampaignStatus
    from insidesales.calls.services.config import telephony_settings
    from insidesales.crm.services import lead_create
    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add, organization_create

    org = organization_create(name="Bench dialer", slug=BENCH_ORG, default_region="US")
    admin = member_add(
        actor=None, organization=org, email="admin@bench-dialer.example", full_name="Admin", role=Role.ADMIN
    )
    telephony_settings(org.pk)
    campaign = Campaign.objects.create(
        organization=org, name="Capacity", mode=CampaignMode.PREDICTIVE, status=CampaignStatus.ACTIVE
    )
    people = []
    for index in range(leads):
        lead = lead_create(
            membership=admin, data={"last_name": f"Callee {index}", "phone": f"+1 415 555 {1000 + index:04d}"}
        )
        people.append((lead.pk, lead.phone, lead.owner_id, lead.team_id, lead.agency_id))
    return {"organization_id": org.pk, "campaign_id": campaign.pk, "leads": people, "next": 0}


def setup_history(world: dict, calls: int) -> None:
    """Finished calls from before the run, as a worker that has been dialling for a while sees in its tables."""
    from django.db import transaction
    from django.utils import timezone

    from insidesales.calls.models import Call, CallStatus, ProviderKind

    long_ago = timezone.now() - dt.timedelta(days=7)
    statuses = (CallStatus.NO_ANSWER, CallStatus.NO_ANSWER, CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.MACHINE)
    for first in range(0, calls, 5000):
        with transaction.atomic():
            Call.objects.bulk_create(
                Call(
                    organization_id=world["organization_id"],
                    provider=ProviderKind.SIMULATED,
                    provider_call_id=f"history-{index}",
                    status=statuses[index % len(statuses)],
                    to_number="+14155550199",
                    queued_at=long_ago + dt.timedelta(seconds=index),
                    dispatched_at=long_ago + dt.timedelta(seconds=index),
                    ended_at=long_ago + dt.timedelta(seconds=index + 25),
                )
                for index in range(first, min(calls, first + 5000))
            )


def queue_calls(world: dict, count: int) -> list[int]:
    """Queue `count` campaign calls, as the pacer would: rows the worker claims by `dispatched_at`."""
    from django.db import transaction
    from django.utils import timezone

    from insidesales.calls.models import Call, CallDirection, ProviderKind

    now, calls, leads = timezone.now(), [], world["leads"]
    for _ in range(count):
        lead_id, phone, owner_id, team_id, agency_id = leads[world["next"] % len(leads)]
        world["next"] += 1
        calls.append(
            Call(
                organization_id=world["organization_id"],
                direction=CallDirection.OUTBOUND,
                provider=ProviderKind.SIMULATED,
                from_number="+14155550100",
                to_number=phone,
                campaign_id=world["campaign_id"],
                lead_id=lead_id,
                owner_id=owner_id,
                team_id=team_id,
                agency_id=agency_id,
                queued_at=now,
            )
        )
    with transaction.atomic():
        return [call.pk for call in Call.objects.bulk_create(calls)]


def feed(world: dict, collector: Collector, rate: float, until: float, queued: list[int]) -> bool:
    """Queue calls at `rate` per second until `until`; False when the worker fell `OVERLOAD_S` behind."""
    due, last = 0.0, time.time()
    while (now := time.time()) < until:
        due += rate * (now - last)
        last = now
        if due >= 1:
            queued += queue_calls(world, int(due))
            due -= int(due)
        collector.poll()
        if collector.oldest_pending is not None and time.time() - collector.oldest_pending > OVERLOAD_S:
            return False
        time.sleep(max(0.0, FEED_TICK_S - (time.time() - now)))
    return True


def settle(collector: Collector, until: float, world: dict, rate: float, queued: list[int]) -> None:
    """Keep the level's rate until every event emitted before `until` has been applied (≤ OVERLOAD_S)."""
    deadline = time.time() + OVERLOAD_S
    while time.time() < deadline:
        collector.poll()
        if (
            collector.cpu
            and collector.cpu[-1][0] > until
            and (collector.oldest_pending is None or collector.oldest_pending > until)
        ):
            return
        feed(world, collector, rate, time.time() + 0.5, queued)


def drain(world: dict, collector: Collector, timeout: float) -> bool:
    """No new calls; hang up the answered ones; wait until every call has ended."""
    from django.utils import timezone

    from insidesales.calls.models import FINAL_CALL_STATUSES, Call, CallStatus

    deadline = time.time() + timeout
    open_calls = Call.objects.filter(campaign_id=world["campaign_id"]).exclude(status__in=FINAL_CALL_STATUSES)
    while time.time() < deadline:
        collector.poll()
        talking = (CallStatus.ANSWERED, CallStatus.BRIDGED)
        open_calls.filter(status__in=talking, hangup_requested_at__isnull=True).update(
            hangup_requested_at=timezone.now()
        )
        if not open_calls.exists():
            return True
        time.sleep(0.5)
    return False


def level_figures(level: dict, collector: Collector, intervals, stored: dict, placed: dict, wrong: set) -> dict:
    start, end = level["window"]
    in_window = [record for record in collector.records if start <= record[3] < end]
    lags = [(record[4] - record[3]) * 1000 for record in in_window if not record[5]]
    waits = [stored[record[1]] for record in in_window if record[1] in stored]
    ringing_mean, ringing_peak = ringing_in_window(intervals, start, end)
    level_calls = level.pop("calls")
    out = {
        "level": level["level"],
        "calls_per_s": round(level["rate"], 2),
        "calls": len(level_calls),
        "ringing_mean": round(ringing_mean, 1),
        "ringing_peak": ringing_peak,
        "events": len(in_window),
        "events_per_s": round(len(in_window) / (end - start), 1),
        **lag_figures(lags),
        "wait_before_db_p99_ms": round(percentile(waits, 99), 1),
        "place_p99_ms": round(percentile([placed[pk] for pk in level_calls if pk in placed], 99), 1),
        "worker_cpu_pct": collector.cpu_percent(start, end),
        "loop_lag_p99_ms": round(percentile([lag for at, lag in collector.loop_lags if start <= at < end], 99), 1),
        "failed_events": sum(1 for record in collector.records if record[5] and level["span"][0] <= record[3] < end),
        "wrong_calls": sum(1 for pk in level_calls if pk in wrong),
        "aborted": level["aborted"],
    }
    out["passed"] = level_passes(out)
    return out


def check_calls(world: dict, collector: Collector) -> tuple[dict, dict, set, list[str]]:
    """Every call against what the carrier drew and emitted for it (a call hung up while talking still ends
    completed, or machine). Returns (wait before the database work per event id, ms; queue-to-first-event
    per call, ms; wrong call ids; why)."""
    from insidesales.calls.models import FINAL_CALL_STATUSES, Call, CallEvent

    emitted: dict[str, dict[str, str]] = defaultdict(dict)
    first_event: dict[str, float] = {}
    for call, event_id, kind, at, _applied, _error in collector.records:
        emitted[call][event_id] = kind
        first_event[call] = min(at, first_event.get(call, at))
    stored_ids: dict[int, set[str]] = defaultdict(set)
    waits = {}
    events = CallEvent.objects.filter(call__campaign_id=world["campaign_id"])
    for call_id, event_id, occurred_at, received_at in events.values_list(
        "call_id", "event_id", "occurred_at", "received_at"
    ):
        stored_ids[call_id].add(event_id)
        waits[event_id] = (received_at - occurred_at).total_seconds() * 1000
    placed, wrong, why = {}, set(), []
    calls = Call.objects.filter(campaign_id=world["campaign_id"])
    for pk, provider_id, status, dispatched_at, queued_at in calls.values_list(
        "pk", "provider_call_id", "status", "dispatched_at", "queued_at"
    ):
        problem = ""
        if dispatched_at is None or not provider_id:
            problem = "never placed"
        elif status not in FINAL_CALL_STATUSES:
            problem = f"not ended ({status})"
        elif stored_ids[pk] != set(emitted[provider_id]):
            problem = f"events stored {sorted(stored_ids[pk])} != emitted {sorted(emitted[provider_id])}"
        elif status != emitted_status(emitted[provider_id].values()):
            problem = f"status {status} but the events mean {emitted_status(emitted[provider_id].values())}"
        elif status != collector.drawn.get(provider_id):
            problem = f"status {status} but the carrier drew {collector.drawn.get(provider_id)}"
        if provider_id in first_event:
            placed[pk] = (first_event[provider_id] - queued_at.timestamp()) * 1000
        if problem:
            wrong.add(pk)
            why.append(f"call {pk}: {problem}")
    return waits, placed, wrong, why


def measure(
    *,
    quick: bool = False,
    database_url: str | None = None,
    levels=None,
    window_s: float | None = None,
    history: int = HISTORY_CALLS,
) -> dict:
    """Run the ramp in a fresh database and worker process; the figures (see the module docstring)."""
    import multiprocessing

    data_dir = Path(tempfile.mkdtemp(prefix="insidesales-bench-dialer-"))
    configure(database_url, data_dir)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from insidesales.calls.dialer import RING_TIMEOUT_S

    levels = tuple(levels or (QUICK_LEVELS if quick else LEVELS))
    window_s = window_s or (20.0 if quick else 60.0)
    ring_s = mean_ring_seconds(RING_TIMEOUT_S)
    result: dict = {
        "database": connection.vendor,
        "window_s": window_s,
        "mean_ring_s": round(ring_s, 2),
        "history_calls": history,
    }
    context = multiprocessing.get_context("spawn")
    worker = None
    try:
        call_command("migrate", verbosity=0)
        world = setup_list(leads=200 if quick else 1000)
        setup_history(world, history)
        connection.close()
        queue, stop = context.Queue(), context.Event()
        worker = context.Process(
            target=worker_main, args=(queue, stop, 20261130, os.environ.get("BENCH_DIALER_PROFILE", ""))
        )
        worker.start()
        collector = Collector(queue)
        collector.wait("ready", timeout=60)
        ran = []
        for level in levels:
            rate = level / ring_s
            started, queued = time.time(), []
            window = (started + WARMUP_S, started + WARMUP_S + window_s)
            print(f"level {level}: {rate:.1f} calls/s; {WARMUP_S:.0f} s warm-up, {window_s:.0f} s measured", flush=True)
            finished = feed(world, collector, rate, window[1], queued)
            if finished:
                settle(collector, window[1], world, rate, queued)
            ran.append(
                {
                    "level": level,
                    "rate": rate,
                    "span": (started, time.time()),
                    "window": window,
                    "calls": queued,
                    "aborted": not finished,
                }
            )
            lags = [(r[4] - r[3]) * 1000 for r in collector.records if window[0] <= r[3] < window[1] and not r[5]]
            ringing, _peak = ringing_in_window(ringing_intervals(collector.records), *window)
            print(f"  p99 lag {percentile(lags, 99):.0f} ms over {len(lags)} events, {ringing:.0f} ringing", flush=True)
            failed = any(r[5] for r in collector.records) or ringing < REACHED_SHARE * level
            if not finished or failed or percentile(lags, 99) > LAG_BUDGET_MS:
                break
        print("draining: hanging up the calls still talking, letting the ringing ones ring out…", flush=True)
        result["drained"] = drain(world, collector, timeout=120)
        stop.set()
        collector.wait("done", timeout=120)
        worker.join(30)
        waits, placed, wrong, why = check_calls(world, collector)
        intervals = ringing_intervals(collector.records)
        result["levels"] = [level_figures(level, collector, intervals, waits, placed, wrong) for level in ran]
        result["calls"] = sum(level["calls"] for level in result["levels"])
        result["wrong_calls"] = len(wrong)
        result["wrong_call_examples"] = why[:5]
        result["failed_event_examples"] = sorted({r[5] for r in collector.records if r[5]})[:5]
        # Each level's own calls are checked (a passing level has none wrong); the level that failed may leave
        # a backlog behind (calls the worker refuses to place 2 minutes after they were queued, attempts still
        # ringing when the drain gives up), which `drained` reports but which says nothing of the levels below.
        result["max_concurrent_attempts"] = max_concurrent(result["levels"])
    finally:
        if worker is not None and worker.is_alive():
            worker.kill()
        connection.close()
        if database_url:
            _postgres(database_url, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def print_levels(levels: list[dict]) -> None:
    print(
        f"{'level':>6} {'calls/s':>8} {'ringing':>8} {'peak':>6} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'wait p99':>9} {'place p99':>10} {'cpu %':>6} {'loop p99':>9} {'wrong':>6} {'ok':>3}"
    )
    for level in levels:
        print(
            f"{level['level']:>6} {level['calls_per_s']:>8.1f} {level['ringing_mean']:>8.1f} "
            f"{level['ringing_peak']:>6} {level['events_per_s']:>9.1f} {level['lag_p50_ms']:>7.0f} "
            f"{level['lag_p99_ms']:>7.0f} {level['lag_max_ms']:>7.0f} {level['wait_before_db_p99_ms']:>9.0f} "
            f"{level['place_p99_ms']:>10.0f} {level['worker_cpu_pct']:>6.0f} {level['loop_lag_p99_ms']:>9.0f} "
            f"{level['wrong_calls'] + level['failed_events']:>6} {'yes' if level['passed'] else 'no':>3}"
        )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"levels {QUICK_LEVELS}, 20 s windows")
    parser.add_argument("--database-url", help=f"a PostgreSQL server URL; database {BENCH_DB} is recreated")
    parser.add_argument("--levels", help="comma-separated levels instead of the default ramp")
    parser.add_argument("--window", type=float, help="seconds measured per level (after 25 s of warm-up)")
    parser.add_argument("--history", type=int, default=HISTORY_CALLS, help="finished calls in the table before the run")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")] if args.levels else None
    started = time.perf_counter()
    result = measure(
        quick=args.quick, database_url=args.database_url, levels=levels, window_s=args.window, history=args.history
    )
    print_levels(result["levels"])
    for problem in result["wrong_call_examples"] + result["failed_event_examples"]:
        print(f"  {problem}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


if __name__ == "__main__":
    main()
