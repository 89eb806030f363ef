"""Inbound web forms under load: latency from a form post to its rep's notification, losses and duplicates.

From a form post to the lead assigned and its rep notified, and whether any acknowledged post is lost or
doubled while the worker is killed and the server restarted.

    python -m bench.inbound [--quick] [--database-url URL] [--data-dir DIR]

The real stack on a throwaway database (a SQLite file in a temporary directory, or the database
`bench_inbound_<pid>` created on the PostgreSQL server of `--database-url` and dropped at the end):
`insidesales serve` (one uvicorn process) and `insidesales worker` (one task worker), with the same
environment. One organization, a team of 8 inside reps, a round-robin rule for the team that skips reps
who are offline, and a web form whose spam limits are raised so a load test is not refused as a flood
(`per_ip_per_hour`, `per_form_per_minute`; the honeypot, the fill-time token and the Origin check stay on).

Every rep has their app open: one notification stream (`/notifications/stream/`, server-sent events) per
rep, signed in with a session of their own, read for the whole run and reopened with Last-Event-ID when
the server goes away. That is what keeps them "online" for routing, and the arrival of a submission's
notification frame on its rep's stream is "assigned and notified".

The load is open-loop: posts are started at a fixed rate whatever the server does (so a slow server shows
up as latency, not as a lower rate), each on a keep-alive connection of its own while in flight. A post is
the form as a browser sends it (form-encoded fields, a start token `_t` signed as the form page signs it,
with a unique nonce; Accept: application/json; Origin: one of the form's sites). `200 {"ok": true}` is the
acknowledgement; a 5xx, a broken connection or a timeout means "not known to be stored": the SAME body
(same nonce) is sent again every 0.25 s until acknowledged, for at most 30 s (after that it is an error).

Phases (60 s each; 20 s with `--quick`):
1. steady: 100 posts/s. Latency per post = its notification frame's arrival - the moment the post was
   first sent (both on this process's monotonic clock); p50/p99 over every acknowledged post.
2. chaos: the same load while the worker is killed with SIGKILL and started again (at 1/3) and the server
   is stopped with SIGTERM (SIGKILL if it has not exited within 10 s) and started again (at 2/3).
3. ramp: steps of 10 s (5 s with `--quick`) at 10, 20, 40, 60, 80, 90, 100, 110, 120, 140, 160, 200, 300, 400, 600,
   800 posts/s until a step misses p99 ≤ 1 s, falls below 90% of its rate, or has an error, a loss or a
   duplicate; `max_sustained_per_s` is the last step that met all of it.
Between phases the bench waits until the server is idle (what it still had queued is done).

After each phase the database is checked against what was acknowledged (by the nonce in
`Submission.dedupe_key`): `lost` = acknowledged but not stored, or stored without an owner (submission or
lead), or without a Notification row, or without a frame on the rep's stream; `duplicated` = extra
submissions for one nonce plus extra leads for one email; `notified_twice` = more than one Notification row
or more than one frame for one submission.

The last line is JSON: submissions, rate_per_s, p50_ms, p99_ms, errors, lost, duplicated, notified_twice,
max_sustained_per_s, the same with a chaos_ prefix, the ramp's steps, database and goals_met.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench.harness import free_port, process_cpu_ms, start_server
from bench.inbound_client import Connections, Frame, LoopThread, NotificationStream, Post, drain, open_loop

REPS = 8
RATE = 100
RAMP_STEPS = (10, 20, 40, 60, 80, 90, 100, 110, 120, 140, 160, 200, 300, 400, 600, 800)
P99_GOAL_MS = 1000.0
EMAIL_DOMAIN = "load.bench.example"
PHONES = itertools.count()


# --- the database and the processes -------------------------------------------------------------------


def configure(database_url: str | None, data_dir: Path) -> tuple[dict[str, str], str | None]:
    """The environment shared by this process, the server and the worker; (env, bench database name)."""
    name = None
    if database_url:
        import psycopg

        name = f"bench_inbound_{os.getpid()}"
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        parts = urlsplit(database_url)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    else:
        url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    env = {
        "INSIDESALES_DATA_DIR": str(data_dir),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-inbound-" + os.urandom(16).hex(),
        "INSIDESALES_ENV": "development",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "insidesales.settings",
        # The worker emails every alert; a bench has nobody to email (and no mail server).
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    os.environ.update(env)
    return env, name


def drop_database(database_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Stack:
    """The server and the worker as subprocesses, with the restarts the chaos phase needs."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env, self.data_dir = env, data_dir
        self.port = free_port()
        self.server: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def start_server(self) -> None:
        self.server = start_server(self.env, self.port, self.data_dir / "server.log")

    def start_worker(self) -> None:
        log = open(self.data_dir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the process
        command = [sys.executable, "-m", "insidesales.cli", "worker"]
        self.worker = subprocess.Popen(command, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT)

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait()

    def stop_server(self, grace: float = 10.0) -> tuple[float, bool]:
        """SIGTERM, then SIGKILL after `grace` seconds; (seconds until it was gone, whether it was killed)."""
        started, killed = time.monotonic(), False
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
                killed = True
        return time.monotonic() - started, killed

    def wait_idle(self, limit: float = 120.0) -> float:
        """Wait until the server has (next to) nothing left to do: under 15% of a CPU over a second (the
        reps' open streams poll for events). Returns how long that took."""
        started = time.monotonic()
        if self.server is None:
            return 0.0
        before = process_cpu_ms(self.server.pid)
        while before is not None and time.monotonic() - started < limit:
            time.sleep(1.0)
            after = process_cpu_ms(self.server.pid)
            if after is None or after - before < 150:
                break
            before = after
        return time.monotonic() - started

    def stop(self) -> None:
        for process in (self.server, self.worker):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.server, self.worker):
            if process is None:
                continue
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def setup_world() -> dict:
    """Organization, team of reps with sessions, round-robin rule, the web form."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from insidesales.inbound.models import AssignTo, RoutingRule, WebForm
    from insidesales.orgs.models import Role, Team
    from insidesales.orgs.services import member_add, organization_create

    organization = organization_create(name="Bench Inbound", slug="bench-inbound")
    member_add(actor=None, organization=organization, email="admin@bench.example", role=Role.ADMIN, full_name="Ada")
    team = Team.objects.create(organization=organization, name="Inbound")
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    reps = []
    for i in range(REPS):
        membership = member_add(
            actor=None,
            organization=organization,
            email=f"rep{i}@bench.example",
            role=Role.INSIDE_REP,
            full_name=f"Rep {i}",
            team=team,
        )
        user = membership.user
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store["organization_id"] = organization.pk
        store.create()
        reps.append((user.pk, store.session_key))
    RoutingRule.objects.create(
        organization=organization,
        name="Inbound team",
        is_default=True,
        assign_to=AssignTo.ROUND_ROBIN,
        team=team,
        skip_offline=True,
        prefer_account_owner=False,
    )
    form = WebForm.objects.create(
        organization=organization,
        name="Contact us",
        fields=[
            {"key": "first_name"},
            {"key": "last_name", "required": True},
            {"key": "email", "required": True},
            {"key": "phone"},
        ],
        consent_required=False,
        allowed_domains=["bench.example"],
        min_fill_seconds=2,
        per_ip_per_hour=10_000_000,
        per_form_per_minute=1_000_000,
    )
    return {"organization": organization.pk, "form": form.pk, "key": form.public_key, "reps": reps}


def wait_online(organization_id: int, rep_ids: list[int], timeout: float = 15.0) -> bool:
    """Have the streams marked every rep as seen (online for routing)?"""
    from django.db import close_old_connections

    from insidesales.inbound.models import RepAvailability

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = RepAvailability.objects.filter(
            organization_id=organization_id, user_id__in=rep_ids, seen_at__isnull=False
        ).count()
        close_old_connections()
        if seen == len(rep_ids):
            return True
        time.sleep(0.2)
    return False


# --- the load ---------------------------------------------------------------------------------------------


def make_posts(form_pk: int, prefix: str, count: int) -> list[Post]:
    """Form bodies as a browser sends them, each with its own start token (nonce) and email."""
    from django.core import signing

    from insidesales.inbound import spam

    shown = time.time() - 5  # the visitor opened the form five seconds ago (min fill time: 2 s)
    posts = []
    for i in range(count):
        nonce = f"{prefix}-{i}"
        token = signing.dumps({"f": form_pk, "t": shown, "n": nonce}, salt=spam.TOKEN_SALT, compress=False)
        fields = {
            "first_name": "Load",
            "last_name": f"Tester {prefix} {i}",
            "email": f"{nonce}@{EMAIL_DOMAIN}",
            "phone": f"+1212{2_000_000 + next(PHONES)}",  # unique: a shared phone joins a lead
            spam.TOKEN_FIELD: token,
        }
        posts.append(Post(nonce=nonce, body=urlencode(fields).encode()))
    return posts


# --- checking what was stored against what was acknowledged ------------------------------------------------


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def check(world: dict, prefix: str, posts: list[Post], frames: list[Frame]) -> dict:
    """Compare the acknowledged posts of one phase with the database and the frames the reps received."""
    from django.db import close_old_connections
    from django.db.models import Count

    from insidesales.crm.models import Lead
    from insidesales.inbound.models import Notification, Submission

    key_prefix = f"form:{world['form']}:{prefix}-"
    rows = list(
        Submission.objects.filter(organization_id=world["organization"], dedupe_key__startswith=key_prefix).values_list(
            "id", "dedupe_key", "owner_id", "lead_id", "lead__owner_id"
        )
    )
    notes = dict(
        Notification.objects.filter(submission__dedupe_key__startswith=key_prefix, submission__form_id=world["form"])
        .values("submission_id")
        .annotate(n=Count("id"))
        .values_list("submission_id", "n")
    )
    emailed = Notification.objects.filter(
        submission__dedupe_key__startswith=key_prefix, submission__form_id=world["form"], emailed_at__isnull=False
    ).count()
    extra_leads = sum(
        n - 1
        for n in Lead.objects.filter(organization_id=world["organization"], email__startswith=f"{prefix}-")
        .values("email")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("n", flat=True)
    )
    close_old_connections()
    per_key = Counter(row[1] for row in rows)
    by_key = {row[1]: row for row in rows}
    frames_of: dict[int, list[float]] = {}
    for frame in frames:
        if frame.submission is not None:
            frames_of.setdefault(frame.submission, []).append(frame.at)
    acked = [p for p in posts if p.acked_at]
    acked_keys = {key_prefix + p.nonce.removeprefix(f"{prefix}-") for p in acked}
    missing = unassigned = unnotified = no_frame = twice_rows = twice_frames = 0
    latencies = []
    for post in acked:
        row = by_key.get(key_prefix + post.nonce.removeprefix(f"{prefix}-"))
        if row is None:
            missing += 1
            continue
        submission_id, _, owner_id, _, lead_owner_id = row
        arrivals = frames_of.get(submission_id, [])
        unassigned += owner_id is None or lead_owner_id is None
        unnotified += notes.get(submission_id, 0) == 0
        no_frame += not arrivals
        twice_rows += notes.get(submission_id, 0) > 1
        twice_frames += len(arrivals) > 1
        if arrivals:
            latencies.append((min(arrivals) - post.first_sent) * 1000)
    lost_ids = {
        p.nonce
        for p in acked
        if (row := by_key.get(key_prefix + p.nonce.removeprefix(f"{prefix}-"))) is None
        or row[2] is None
        or row[4] is None
        or notes.get(row[0], 0) == 0
        or not frames_of.get(row[0])
    }
    twice_ids = {
        p.nonce
        for p in acked
        if (row := by_key.get(key_prefix + p.nonce.removeprefix(f"{prefix}-"))) is not None
        and (notes.get(row[0], 0) > 1 or len(frames_of.get(row[0], [])) > 1)
    }
    first = min((p.first_sent for p in posts), default=0.0)
    last_ack = max((p.acked_at for p in acked), default=0.0)
    errors = [p for p in posts if not p.acked_at]
    return {
        "submissions": len(acked),
        "sent": len(posts),
        "rate_per_s": round(len(acked) / (last_ack - first), 1) if last_ack > first else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "errors": len(errors),
        "lost": len(lost_ids),
        "duplicated": sum(n - 1 for n in per_key.values()) + extra_leads,
        "notified_twice": len(twice_ids),
        "lost_missing": missing,
        "lost_unassigned": unassigned,
        "lost_unnotified": unnotified,
        "lost_no_frame": no_frame,
        "notification_rows_twice": twice_rows,
        "frames_twice": twice_frames,
        "stored_not_acked": sum(1 for key in per_key if key not in acked_keys),
        "retried_posts": sum(1 for p in posts if p.attempts > 1),
        "emailed": emailed,
        "error_samples": sorted({p.error for p in errors})[:3],
    }


# --- the phases -----------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, world: dict, stack: Stack, loop: LoopThread) -> None:
        self.world, self.stack, self.loop = world, stack, loop
        self.frames: list[Frame] = []
        self.streams: list[NotificationStream] = []
        self.conns: Connections | None = None
        self.path = f"/f/{world['key']}/submit/"

    def open_streams(self) -> None:
        async def go():
            self.conns = Connections("127.0.0.1", self.stack.port)
            for rep_id, session_key in self.world["reps"]:
                stream = NotificationStream("127.0.0.1", self.stack.port, rep_id, session_key, self.frames)
                stream.start()
                self.streams.append(stream)
            try:
                await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in self.streams)), timeout=15)
            except TimeoutError:
                refused = Counter()
                for s in self.streams:
                    refused.update(s.stats.refused)
                raise SystemExit(f"the notification streams did not open (answers: {dict(refused)})") from None

        self.loop.run(go())

    def close(self) -> None:
        async def go():
            for stream in self.streams:
                await stream.stop()
            if self.conns is not None:
                self.conns.close()

        self.loop.run(go())

    def phase(self, prefix: str, rate: float, seconds: float, events=()) -> dict:
        posts = make_posts(self.world["form"], prefix, max(1, int(rate * seconds)))
        start_index = len(self.frames)
        server_cpu = process_cpu_ms(self.stack.server.pid) if self.stack.server else None
        own_cpu = time.process_time()

        lag = self.loop.run(open_loop(self.conns, self.path, posts, rate, events))
        # Posts given up on are still in the server's queue: let it finish them, then let the last frames in.
        idle_after = self.stack.wait_idle()
        self.loop.run(drain(self.frames, start_index, sum(1 for p in posts if p.acked_at)))
        result = check(self.world, prefix, posts, self.frames)
        result["target_per_s"] = rate
        result["sender_lag_ms"] = round(lag * 1000, 1)
        result["server_busy_after_s"] = round(idle_after, 1)
        server_after = process_cpu_ms(self.stack.server.pid) if self.stack.server else None
        if server_cpu is not None and server_after is not None and not events and result["submissions"]:
            result["server_cpu_ms_per_submission"] = round((server_after - server_cpu) / result["submissions"], 2)
        result["bench_cpu_ms_per_submission"] = round((time.process_time() - own_cpu) * 1000 / len(posts), 2)
        return result


def line(name: str, r: dict) -> str:
    text = (
        f"{name}: {r['submissions']}/{r['sent']} acknowledged at {r['rate_per_s']}/s (target {r['target_per_s']}/s), "
        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms; errors {r['errors']}, lost {r['lost']}, "
        f"duplicated {r['duplicated']}, notified twice {r['notified_twice']}, retried {r['retried_posts']}"
    )
    if "server_cpu_ms_per_submission" in r:
        text += f"; server CPU {r['server_cpu_ms_per_submission']} ms/submission"
    if r["error_samples"]:
        text += f"; e.g. {r['error_samples'][0]}"
    return text


def met(r: dict) -> bool:
    return (
        r["p99_ms"] <= P99_GOAL_MS
        and r["errors"] == r["lost"] == r["duplicated"] == r["notified_twice"] == 0
        and r["submissions"] > 0
    )


def run(args: argparse.Namespace, data_dir: Path) -> dict:
    env, db_name = configure(args.database_url, data_dir)
    stack = Stack(env, data_dir)
    loop = LoopThread()
    bench = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        database = connection.vendor
        world = setup_world()
        connection.close()
        print(f"database: {database}; server on port {stack.port}; data in {data_dir}", flush=True)
        stack.start_worker()
        stack.start_server()
        bench = Bench(world, stack, loop)
        bench.open_streams()
        rep_ids = [rep for rep, _ in world["reps"]]
        if not wait_online(world["organization"], rep_ids):
            raise SystemExit("the notification streams did not mark the reps online")
        print(f"{len(rep_ids)} reps online (notification streams open)", flush=True)
        warm = bench.phase("w", 10, 2)
        print(line("warm-up", warm), flush=True)

        seconds = args.seconds or (20 if args.quick else 60)
        steady = bench.phase("s", RATE, seconds)
        print(line(f"steady {RATE}/s for {seconds} s", steady), flush=True)

        chaos_log: dict = {}

        def kill_worker():
            stack.kill_worker()
            chaos_log["worker_killed_at_s"] = round(time.monotonic() - chaos_started, 1)
            time.sleep(1)
            stack.start_worker()

        def restart_server():
            chaos_log["server_stop_at_s"] = round(time.monotonic() - chaos_started, 1)
            took, killed = stack.stop_server()
            chaos_log["server_stop_s"], chaos_log["server_needed_sigkill"] = round(took, 1), killed
            stack.start_server()
            chaos_log["server_down_s"] = round(time.monotonic() - chaos_started - chaos_log["server_stop_at_s"], 1)

        chaos_started = time.monotonic()
        chaos = bench.phase("c", RATE, seconds, events=[(seconds / 3, kill_worker), (2 * seconds / 3, restart_server)])
        print(line("chaos (worker SIGKILL, server restart)", chaos), flush=True)
        print(f"  {chaos_log}", flush=True)

        step_seconds = args.step_seconds or (5 if args.quick else 10)
        steps, best = [], 0
        for number, rate in enumerate(RAMP_STEPS):
            r = bench.phase(f"r{number}", rate, step_seconds)
            ok = met(r) and r["rate_per_s"] >= 0.9 * rate
            print(line(f"ramp {rate}/s" + ("" if ok else " (missed)"), r), flush=True)
            steps.append({k: r[k] for k in ("target_per_s", "rate_per_s", "p50_ms", "p99_ms", "errors", "lost")})
            if not ok:
                break
            best = rate
        result = {
            "submissions": steady["submissions"],
            "rate_per_s": steady["rate_per_s"],
            "p50_ms": steady["p50_ms"],
            "p99_ms": steady["p99_ms"],
            "max_ms": steady["max_ms"],
            "errors": steady["errors"],
            "lost": steady["lost"],
            "duplicated": steady["duplicated"],
            "notified_twice": steady["notified_twice"],
            "max_sustained_per_s": best,
            "server_cpu_ms_per_submission": steady.get("server_cpu_ms_per_submission"),
            "bench_cpu_ms_per_submission": steady["bench_cpu_ms_per_submission"],
            "seconds": seconds,
        }
        for key in ("submissions", "rate_per_s", "p50_ms", "p99_ms", "max_ms", "errors", "lost", "duplicated"):
            result[f"chaos_{key}"] = chaos[key]
        result["chaos_notified_twice"] = chaos["notified_twice"]
        result["chaos_retried_posts"] = chaos["retried_posts"]
        result.update({f"chaos_{k}": v for k, v in chaos_log.items()})
        result["ramp"] = steps
        result["database"] = database
        result["goals_met"] = (
            met(steady)
            and steady["rate_per_s"] >= 0.95 * RATE
            and chaos["errors"] == chaos["lost"] == chaos["duplicated"] == chaos["notified_twice"] == 0
        )
        return result
    finally:
        if bench is not None:
            try:
                bench.close()
            except Exception:  # noqa: BLE001 - shutting down anyway
                pass
        loop.close()
        stack.stop()
        if db_name:
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url, db_name)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 s phases, 5 s ramp steps")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--seconds", type=float, help="length of the steady and chaos phases")
    parser.add_argument("--step-seconds", type=float, help="length of each ramp step")
    parser.add_argument("--data-dir", default=None, help="keep the data directory (database file, logs) here")
    args = parser.parse_args(argv)
    # A SIGTERM runs the clean-up like Ctrl-C does (the server and worker go down with the bench).
    # Every post in flight holds a connection on both sides: allow as many open files as the system lets
    # (the server and the worker inherit the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="insidesales-bench-inbound-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args, data_dir)
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
