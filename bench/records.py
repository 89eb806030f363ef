"""Records benchmark: list, deep page, global search and detail latency on a seeded database.

    python -m bench.records [--quick] [--database-url URL] [--requests N]

Seeds its own database (1,000,000 leads, or 100,000 with --quick; a tenth as many companies, about
three activities per lead), starts the real server (`insidesales serve`) in a subprocess, signs in
through /login/, creates an API key, and times HTTP requests with a keep-alive client. Targets are
rotated over a sample of real rows so no single cached row is measured. The last line of output is
one JSON object with p50/p95 in milliseconds per kind of request.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench.harness import Client, Timer, free_port, process_cpu_ms, start_server, stop_server

BENCH_DB = "bench_records"
BENCH_ORG = "bench"
TARGET_MS = {"list": 30, "detail": 30, "search": 50}
REPORTED = ("list_html", "list_api", "list_deep_page", "search_email", "search_phone", "search_name", "detail")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.records", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 leads instead of 1,000,000")
    parser.add_argument("--leads", type=int, help="seed this many leads (overrides --quick)")
    parser.add_argument(
        "--database-url",
        help=f"a PostgreSQL server URL; the database {BENCH_DB} on it is dropped and created (default: SQLite)",
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per kind first")
    parser.add_argument(
        "--data-dir",
        help="keep the data here, and the PostgreSQL database (default: a temporary directory; both removed after)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse the database an earlier run seeded (--data-dir)")
    parser.add_argument("--explain", action="store_true", help="also print the query plans of each kind")
    return parser.parse_args(argv)


def postgres_url(server_url: str, *, recreate: bool) -> str:
    """The URL of the bench database on `server_url`'s server, dropped and created unless reusing."""
    import psycopg

    parts = urlsplit(server_url)
    if recreate:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))


def drop_postgres(server_url: str) -> None:
    """Remove the bench database after a run that keeps nothing (no --data-dir)."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def configure(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    """Environment for this process and the server: own data directory and database, DEBUG off."""
    if args.database_url:
        database_url = postgres_url(args.database_url, recreate=not args.reuse)
    else:
        database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    env = {
        "INSIDESALES_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "INSIDESALES_ENV": "development",
        "DEBUG": "0",  # debug mode records every query and slows pages down
        "API_RATE_LIMIT_PER_MINUTE": "0",  # the benchmark is one client sending thousands of requests
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "insidesales.settings",
    }
    os.environ.update(env)
    return env


def seed(leads: int, *, reuse: bool) -> dict:
    from django.core.management import call_command

    from insidesales.crm.models import Lead
    from insidesales.orgs.models import Organization

    call_command("migrate", verbosity=0)
    org = Organization.objects.filter(slug=BENCH_ORG).first()
    if reuse and org is not None and Lead.objects.filter(organization=org).exists():
        print(f"reusing the seeded organization {BENCH_ORG}", flush=True)
        return {}
    started = time.monotonic()
    call_command("seed", leads=leads, companies=leads // 10, activities_per_lead=3, organization=BENCH_ORG)
    return {"seed_seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    leads = args.leads or (100_000 if args.quick else 1_000_000)
    temporary = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="insidesales-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    env = configure(args, data_dir)
    import django

    django.setup()
    from django.db import connection, connections

    database = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    result: dict = {"leads": leads, "database": database}
    server = None
    try:
        result.update(seed(leads, reuse=args.reuse))
        plan = collect_plan(random.Random(7))
        result["leads"] = plan.lead_count
        if args.explain:
            explain(plan)
        connections.close_all()
        port = free_port()
        server = start_server(env, port, data_dir / "server.log")
        client = Client("127.0.0.1", port)
        how = client.login(plan.admin_email, plan.password)
        print(f"signed in through {how} as {plan.admin_email}", flush=True)
        client.api_key = plan.api_key
        result.update(run_measurements(client, plan, args, server_pid=server.pid))
    finally:
        if server is not None:
            stop_server(server)
        connections.close_all()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
            if args.database_url:
                drop_postgres(args.database_url)
    for kind in REPORTED:  # a kind with nothing to ask (e.g. no deep page in tiny data) reports null
        result.setdefault(f"{kind}_p50_ms", None)
        result.setdefault(f"{kind}_p95_ms", None)
    result["requests_per_kind"] = args.requests
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.system(),
        # Other work on the machine inflates latencies; say how busy it was.
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    report(result)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def calibrate() -> float:
    """Milliseconds this machine takes for a fixed piece of pure-Python work, right now.

    Shared virtual machines change speed from one minute to the next; this figure, taken every 20
    rounds, tells a slow server from a slow moment (the report gives its median and maximum).
    """
    started = time.perf_counter()
    total = 0
    for i in range(200_000):
        total += i % 7
    return (time.perf_counter() - started) * 1000


def run_measurements(client: Client, plan, args: argparse.Namespace, *, server_pid: int) -> dict:
    """Time every kind of request; returns p50/p95 (and a few extras) per kind."""
    out: dict = {}
    n, warm = args.requests, args.warmup
    base = {"status": "working", "sort": "-last_activity_at"}

    def html_list(owner: int, cursor: str | None = None) -> str:
        return "/leads/?" + urlencode({"owner": owner, **base, **({"cursor": cursor} if cursor else {})})

    def api_list(owner: int, cursor: str | None = None) -> str:
        return "/api/v1/leads?" + urlencode({"owner": owner, **base, **({"cursor": cursor} if cursor else {})})

    owners = plan.owner_ids
    kinds = {
        "list_html": [(html_list(o), None) for o in owners],
        "list_api": [(api_list(o), "api") for o in owners],
    }
    print("collecting deep cursors (following next_cursor ~50 pages via the API)…", flush=True)
    deep = client.deep_cursors([api_list(o) for o in owners[:10]], pages=50)
    out["deep_page_depth"] = deep.depth
    reached = [(owner, cursor) for owner, cursor in zip(owners[:10], deep.cursors, strict=False) if cursor]
    kinds["list_deep_page"] = [(html_list(owner, cursor), None) for owner, cursor in reached]
    kinds["list_deep_page_api"] = [(api_list(owner, cursor), "api") for owner, cursor in reached]
    kinds["search_email"] = [("/search/?" + urlencode({"q": q}), expect) for q, expect in plan.emails]
    kinds["search_phone"] = [("/search/?" + urlencode({"q": q}), expect) for q, expect in plan.phones]
    kinds["search_name"] = [("/search/?" + urlencode({"q": q}), "/leads/") for q in plan.name_prefixes]
    kinds["detail"] = [(f"/leads/{pk}/", None) for pk in plan.lead_ids]
    for kind in [kind for kind, targets in kinds.items() if not targets]:
        print(f"{kind}: nothing to request", flush=True)
        del kinds[kind]
    # Warm every kind up, then take the timed requests in rounds (one of each kind per round), so that
    # a slow spell of a shared machine falls on all kinds alike instead of on whichever ran then.
    for targets in kinds.values():
        for index in range(warm):
            path, expect = targets[index % len(targets)]
            client.get(path, api=expect == "api")
    timers = {kind: Timer(server_cpu_ms=0.0) for kind in kinds}
    calibration = []
    for index in range(n):
        if index % 20 == 0:
            calibration.append(calibrate())
        for kind, targets in kinds.items():
            path, expect = targets[(warm + index) % len(targets)]
            cpu_before = process_cpu_ms(server_pid)
            elapsed, status, body = client.get(path, api=expect == "api")
            cpu_after = process_cpu_ms(server_pid)
            timer = timers[kind]
            timer.add(elapsed, ok=status == 200, found=None if expect in (None, "api") else expect in body)
            if cpu_before is None or cpu_after is None:
                timer.server_cpu_ms = None
            elif timer.server_cpu_ms is not None:
                timer.server_cpu_ms += (cpu_after - cpu_before) / n
    for kind, timer in timers.items():
        out.update(timer.summary(kind))
        print(timer.line(kind), flush=True)
    out["calibration_ms"] = round(statistics.median(calibration), 2)
    out["calibration_max_ms"] = round(max(calibration), 2)
    return out


@dataclass
class Plan:
    """What to ask for: real owners, leads, emails, phones and names sampled from the seeded data."""

    admin_email: str
    password: str
    api_key: str
    lead_count: int
    membership: object
    owner_ids: list[int] = field(default_factory=list)
    lead_ids: list[int] = field(default_factory=list)
    emails: list[tuple[str, str]] = field(default_factory=list)  # (query, text the page must contain)
    phones: list[tuple[str, str]] = field(default_factory=list)
    name_prefixes: list[str] = field(default_factory=list)


def collect_plan(rng: random.Random, size: int = 600) -> Plan:
    import phonenumbers
    from django.db.models import Max, Min

    from insidesales.core.seed_people import SEED_PASSWORD
    from insidesales.crm.models import Lead
    from insidesales.orgs.models import Membership, Role
    from insidesales.orgs.services import api_key_create

    members = Membership.objects.select_related("user", "organization").filter(organization__slug=BENCH_ORG)
    admin = members.filter(role=Role.ADMIN).first()
    if admin is None:
        raise SystemExit(f"no administrator in the organization {BENCH_ORG!r}")
    leads = Lead.objects.filter(organization=admin.organization)
    bounds = leads.aggregate(low=Min("pk"), high=Max("pk"))
    _, secret = api_key_create(membership=admin, name="bench")
    plan = Plan(
        admin_email=admin.user.email,
        password=SEED_PASSWORD,
        api_key=secret,
        lead_count=leads.count(),
        membership=admin,
    )
    owners = list(members.filter(role=Role.INSIDE_REP).values_list("user_id", flat=True))
    rng.shuffle(owners)
    plan.owner_ids = owners[:50]
    wanted = {rng.randint(bounds["low"], bounds["high"]) for _ in range(size)}
    rows = list(leads.filter(pk__in=wanted).values("pk", "email", "phone", "last_name"))
    rng.shuffle(rows)
    for row in rows:
        plan.lead_ids.append(row["pk"])
        if row["email"]:
            plan.emails.append((row["email"], row["email"]))
        if row["phone"]:
            # Typed the way a person reads it off a card: national format with punctuation.
            number = phonenumbers.parse(row["phone"])
            typed = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            plan.phones.append((typed, f"/leads/{row['pk']}/"))
        if len(row["last_name"]) >= 4:
            plan.name_prefixes.append(row["last_name"][: rng.choice((3, 4))])
    return plan


def explain(plan: Plan) -> None:
    """Print the SQL and plan of what each kind of request runs (the selectors, in this process)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from insidesales.crm import selectors
    from insidesales.crm.filters import LEAD_FILTERS
    from insidesales.crm.models import Lead

    membership = plan.membership
    filters = LEAD_FILTERS.clean({"owner": str(plan.owner_ids[0]), "status": "working"}, {})
    cursor = None
    for _ in range(50):
        page = selectors.record_list(membership=membership, model=Lead, filters=filters, cursor=cursor)
        cursor = page.next_cursor or cursor
    listing = {"membership": membership, "model": Lead, "filters": filters}
    cases = {
        "list": lambda: selectors.record_list(**listing),
        "list_deep_page": lambda: selectors.record_list(**listing, cursor=cursor),
        "search_email": lambda: selectors.global_search(membership=membership, text=plan.emails[0][0]),
        "search_phone": lambda: selectors.global_search(membership=membership, text=plan.phones[0][0]),
        "search_name": lambda: selectors.global_search(membership=membership, text=plan.name_prefixes[0]),
        "detail": lambda: selectors.timeline(
            membership=membership,
            record=selectors.record_get(membership=membership, model=Lead, record_id=plan.lead_ids[0]),
        ),
    }
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    for name, run in cases.items():
        with CaptureQueriesContext(connection) as captured:
            run()
        print(f"\n=== {name}: {len(captured.captured_queries)} queries")
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or "crm_" not in sql:
                continue
            print(f"-- {query['time']} s: {sql}")
            with connection.cursor() as db:
                db.execute(prefix + sql)
                for row in db.fetchall():
                    print("   ", " ".join(str(v) for v in row))


def report(result: dict) -> None:
    print()
    print(f"{result['leads']:,} leads on {result['database']}, {result.get('requests_per_kind')} requests per kind")
    for kind, group in (
        ("list_html", "list"),
        ("list_api", "list"),
        ("list_deep_page", "list"),
        ("search_email", "search"),
        ("search_phone", "search"),
        ("search_name", "search"),
        ("detail", "detail"),
    ):
        p95 = result.get(f"{kind}_p95_ms")
        if p95 is None:
            continue
        verdict = "ok" if p95 <= TARGET_MS[group] else f"over the {TARGET_MS[group]} ms target"
        cpu = result.get(f"{kind}_server_cpu_ms")
        cpu_text = f"   server CPU {cpu:>6.1f} ms" if cpu is not None else ""
        print(f"  {kind:<16} p50 {result[f'{kind}_p50_ms']:>7.1f} ms   p95 {p95:>7.1f} ms{cpu_text}   {verdict}")
    if "calibration_ms" in result:
        print(
            f"  machine speed: a fixed pure-Python loop took {result['calibration_ms']:.1f} ms (median), "
            f"{result['calibration_max_ms']:.1f} ms (slowest) during the run"
        )


if __name__ == "__main__":
    main()
