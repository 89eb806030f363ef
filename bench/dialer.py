"""Dialer pacing benchmark: the production pacers against the simulated carrier, on identical streams.

    python -m bench.dialer [--quick] [--days N] [--seed N] [--workers N] [--database-url URL] [--no-capacity]

A discrete-event simulation (`insidesales.calls.simulation`) of a calling floor runs each method —
preview, power 1:1, power 2:1, a re-implementation of VICIdial's ADAPT_TAPERED (`VicidialPacer`) and
ours (`PredictivePacer`) — over the same days, with the same carrier outcomes for the k-th call
placed and the same length for the j-th conversation. The main case is 20 agents, 20% of calls
answered by a person (15% by machines, 5% busy, the rest ringing out at 25 s), talk time exponential
with a 3-minute mean, 30 s wrap-up, 8-hour shifts, 30 days (`--quick`: 7). Also 5 and 100 agents
(ours and VICIdial only; fewer days).

Ours runs at its default abandonment target (2.5%), and once more holding the rate VICIdial reached in
the same run (`ours_matched`: the comparison at equal abandonment).

Reported per method: talk minutes per agent-hour, the worst abandonment rate over rolling 24-hour and
30-day windows (abandoned calls over live answers; the whole run when it is shorter than a window),
and the agents' average and 95th-percentile wait for a call. The ceiling is 60 × talk / (talk +
wrap-up) minutes: an agent who never waits.

Then `max_concurrent_attempts`: how many attempts one dialer worker process keeps ringing at once in
real time, the p99 event lag within 500 ms and every call right (`bench.dialer_capacity`, whose
docstring gives the method; per-level figures under `capacity_levels`).
The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict

from bench import dialer_capacity
from insidesales.calls.pacing import PowerPacer, PredictivePacer, PreviewPacer, VicidialPacer
from insidesales.calls.simulated import CarrierProfile, TalkTime
from insidesales.calls.simulation import Scenario, simulate

METHODS = ("preview", "power1", "power2", "vicidial", "ours")
TALK_MEAN, WRAP = 180.0, 30.0


def make_pacer(method: str):
    return {
        "preview": PreviewPacer,
        "power1": lambda: PowerPacer(1.0),
        "power2": lambda: PowerPacer(2.0),
        "vicidial": VicidialPacer,
        "ours": PredictivePacer,
    }[method]()


def run(job: tuple) -> dict:
    method, agents, days, seed, *target = job
    scenario = Scenario(
        agents=agents,
        profile=CarrierProfile(live_rate=0.20, machine_rate=0.15, busy_rate=0.05, talk=TalkTime(mean=TALK_MEAN)),
        wrap_seconds=WRAP,
        days=days,
        seed=seed,
    )
    started = time.perf_counter()
    pacer = PredictivePacer(target=target[0]) if target else make_pacer(method)
    result = asdict(simulate(pacer, scenario))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="7 simulated days instead of 30")
    parser.add_argument("--days", type=int, help="simulated days of the 20-agent case (overrides --quick)")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--database-url", help="PostgreSQL server for the worker capacity measurement (default: a SQLite file)"
    )
    parser.add_argument("--no-capacity", action="store_true", help="skip the worker capacity measurement")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    days = args.days or (7 if args.quick else 30)
    side_days = max(2, days // 3)
    jobs = [(method, 20, days, args.seed) for method in METHODS]
    jobs += [(method, agents, side_days, args.seed) for agents in (5, 100) for method in ("vicidial", "ours")]
    print(f"simulating {days} days of 20 agents ({', '.join(METHODS)}), {side_days} days of 5 and 100 agents…")
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run, jobs))
        # Ours again, holding the abandonment rate VICIdial reached in this run: talk at equal abandonment.
        vicidial = next(r for r in results if r["method"] == "vicidial" and r["agents"] == 20)
        matched_target = max(0.001, vicidial["abandon_pct"] / 100)
        matched = pool.submit(run, ("ours", 20, days, args.seed, matched_target)).result()
    matched["method"] = "ours_matched"
    results.append(matched)
    ceiling = 60 * TALK_MEAN / (TALK_MEAN + WRAP)
    out: dict = {"agents": 20, "days": days, "ceiling_talk_min_per_agent_hour": round(ceiling, 2)}
    print(
        f"{'method':>16} {'talk min/agent-h':>17} {'worst 24h %':>12} {'worst 30d %':>12} {'wait avg s':>11} "
        f"{'wait p95 s':>11} {'dials':>8} {'answers':>8} {'abandoned':>9} {'sim s':>6}"
    )
    for result in results:
        label = result["method"] if result["agents"] == 20 else f"{result['method']} ({result['agents']} agents)"
        print(
            f"{label:>16} {result['talk_min_per_agent_hour']:>17.2f} {result['worst_24h_abandon_pct']:>12.3f} "
            f"{result['worst_30d_abandon_pct']:>12.3f} {result['agent_wait_avg_s']:>11.1f} "
            f"{result['agent_wait_p95_s']:>11.1f} {result['dials']:>8} {result['live_answers']:>8} "
            f"{result['abandoned']:>9} {result['seconds']:>6}"
        )
        prefix = result["method"] if result["agents"] == 20 else f"agents{result['agents']}_{result['method']}"
        out[f"{prefix}_talk_min_per_agent_hour"] = result["talk_min_per_agent_hour"]
        out[f"{prefix}_worst_30d_abandon_pct"] = result["worst_30d_abandon_pct"]
        out[f"{prefix}_worst_24h_abandon_pct"] = result["worst_24h_abandon_pct"]
        out[f"{prefix}_agent_wait_avg_s"] = result["agent_wait_avg_s"]
        out[f"{prefix}_agent_wait_p95_s"] = result["agent_wait_p95_s"]
    out["ours_matched_target_abandon_pct"] = round(100 * matched_target, 3)
    out["ours_to_ceiling_ratio"] = round(out["ours_talk_min_per_agent_hour"] / ceiling, 3)
    # The comparison the goal asks for, at equal or lower abandonment: ours holding VICIdial's rate.
    out["ours_to_vicidial_talk_ratio"] = round(
        out["ours_matched_talk_min_per_agent_hour"] / out["vicidial_talk_min_per_agent_hour"], 3
    )
    # Ours at its default target (more abandonment than VICIdial reached, within the limit).
    out["ours_default_to_vicidial_talk_ratio"] = round(
        out["ours_talk_min_per_agent_hour"] / out["vicidial_talk_min_per_agent_hour"], 3
    )
    for agents in (5, 100):
        out[f"agents{agents}_ours_to_ceiling_ratio"] = round(
            out[f"agents{agents}_ours_talk_min_per_agent_hour"] / ceiling, 3
        )
    out["simulated_max_ringing"] = max(r["max_ringing"] for r in results)
    # What one real worker process sustains in real time (bench.dialer_capacity); null when skipped.
    out["max_concurrent_attempts"] = None
    if not args.no_capacity:
        print("one dialer worker against the simulated carrier in real time (bench.dialer_capacity)…", flush=True)
        capacity = dialer_capacity.measure(quick=args.quick, database_url=args.database_url)
        dialer_capacity.print_levels(capacity["levels"])
        out["max_concurrent_attempts"] = capacity["max_concurrent_attempts"]
        out["capacity_database"] = capacity["database"]
        out["capacity_levels"] = capacity["levels"]
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
