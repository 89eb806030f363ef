"""Agent desktop latency: from an answered call being connected to a rep until it shows on the rep's screen.

    python -m bench.desktop_events [--quick] [--database-url URL] [--data-dir DIR]

The real stack: `insidesales serve` (uvicorn, ASGI) on a throwaway database, Chromium (Playwright) with
a rep signed in at the agent desktop and ready on a campaign. For each sample, this process connects
an answered call to the rep exactly as the dialer worker does (the agent's session taken, the
provider's "bridged" event applied, which publishes the live event when it commits) and notes the
time just before; the page's own code receives the server-sent event, fetches the desk and swaps it
in, and a MutationObserver in the page notes when the call is on screen. Both clocks are this
machine's wall clock. Then the call ends and the rep records its outcome, ready for the next.

The goal (issue: "answered calls appear on the agent's screen through server-sent events within
500 ms") is checked on the p95. The last line is JSON: samples, p50_ms, p95_ms, max_ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import free_port, start_server, stop_server

BENCH_DB = "bench_desktop"
PASSWORD = "bench-password-1"
OBSERVER = """
window.__shown = {};
new MutationObserver(() => {
  const desk = document.getElementById("desk");
  const status = document.getElementById("desk-call-status");
  if (desk && status && desk.dataset.call && !(desk.dataset.call in window.__shown)) {
    window.__shown[desk.dataset.call] = Date.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 samples instead of 40")
    parser.add_argument("--samples", type=int)
    parser.add_argument("--database-url", help="a PostgreSQL server URL; database bench_desktop is recreated")
    parser.add_argument("--data-dir")
    return parser.parse_args(argv)


def configure(args, data_dir: Path) -> dict[str, str]:
    if args.database_url:
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        parts = urlsplit(args.database_url)
        database_url = urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", parts.query, parts.fragment))
    else:
        database_url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    env = {
        "INSIDESALES_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "insidesales.settings",
    }
    os.environ.update(env)
    return env


def setup_world():
    from django.core.management import call_command

    from insidesales.calls.services import agents, campaigns
    from insidesales.calls.services.config import dispositions_ensure, telephony_settings
    from insidesales.crm import services
    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add, organization_create

    call_command("migrate", verbosity=0)
    org = organization_create(name="Bench Desk", slug="bench-desk", default_region="US", time_zone="UTC")
    admin = member_add(actor=None, organization=org, email="admin@bench.test", role=Role.ADMIN, password=PASSWORD)
    rep = member_add(actor=None, organization=org, email="rep@bench.test", role=Role.INSIDE_REP, password=PASSWORD)
    settings = telephony_settings(org.pk)
    settings.window_rules = {"default": [{"start": "00:00", "end": "00:00"}]}
    settings.save()
    dispositions_ensure(org.pk)
    lead = services.lead_create(
        membership=rep, data={"first_name": "Ann", "last_name": "Lee", "phone": "+14155552671", "company_name": "Acme"}
    )
    campaign = campaigns.campaign_create(membership=admin, data={"name": "Bench", "mode": "power"})
    campaigns.campaign_set_status(membership=admin, campaign_id=campaign.pk, status="active")
    agents.agent_state_set(membership=rep, state="ready", campaign_id=campaign.pk)
    return rep, lead, campaign


def connect_one(rep, lead, campaign, index: int) -> tuple[int, float]:
    """An answered call connected to the rep as the dialer's floor does it; returns (call id, wall time)."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from insidesales.calls.models import AgentSession, AgentState, Call
    from insidesales.calls.providers.base import EventKind, ProviderEvent
    from insidesales.calls.services.events import call_event_apply

    sid = f"bench-{index}-{time.time_ns()}"
    call = Call.objects.create(
        organization_id=rep.organization_id,
        provider="simulated",
        provider_call_id=sid,
        to_number=lead.phone,
        campaign=campaign,
        lead=lead,
        owner_id=lead.owner_id,
        dispatched_at=timezone.now(),
    )

    def event(kind, **data):
        return ProviderEvent("simulated", sid, kind, timezone.now(), f"{sid}:{kind}", data=data)

    call_event_apply(event(EventKind.ANSWERED, answered_by="human"))
    started = time.time()
    with transaction.atomic():
        AgentSession.objects.filter(user=rep.user, state=AgentState.READY).update(
            state=AgentState.ON_CALL, state_since=timezone.now() - dt.timedelta(seconds=0), current_call=call
        )
        Call.objects.filter(pk=call.pk).update(agent=rep.user)
        call_event_apply(event(EventKind.BRIDGED))
    return call.pk, started


def finish_one(rep, call_id: int) -> None:
    from django.utils import timezone

    from insidesales.calls.models import Call
    from insidesales.calls.providers.base import EventKind, ProviderEvent
    from insidesales.calls.services.dialing import call_dispose
    from insidesales.calls.services.events import call_event_apply

    call = Call.objects.get(pk=call_id)
    sid = call.provider_call_id
    call_event_apply(ProviderEvent("simulated", sid, EventKind.COMPLETED, timezone.now(), f"{sid}:completed"))
    call_dispose(membership=rep, call_id=call_id, disposition_key="not_interested")


def main(argv=None) -> dict:
    args = parse_args(argv)
    samples = args.samples or (10 if args.quick else 40)
    temporary = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="insidesales-bench-desk-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    env = configure(args, data_dir)
    import django

    django.setup()
    from playwright.sync_api import sync_playwright

    rep, lead, campaign = setup_world()
    port = free_port()
    server = start_server(env, port, data_dir / "server.log")
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls beside Playwright's loop
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"), args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.add_init_script(OBSERVER)
            page.goto(base + "/login/")
            page.get_by_label("Email").fill("rep@bench.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/")
            page.goto(base + "/dialer/")
            page.wait_for_timeout(1000)  # the event stream is open
            for index in range(samples + 1):
                call_id, started = connect_one(rep, lead, campaign, index)
                page.wait_for_function(f"() => '{call_id}' in window.__shown", timeout=10_000)
                shown = page.evaluate(f"() => window.__shown['{call_id}']") / 1000.0
                if index:  # the first sample warms the server up
                    latencies.append((shown - started) * 1000)
                finish_one(rep, call_id)
                page.wait_for_timeout(300)
            browser.close()
    finally:
        stop_server(server)
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
        if args.database_url:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    latencies.sort()
    result = {
        "samples": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "max_ms": round(latencies[-1], 1),
    }
    print(
        f"answered call → on the rep's screen: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms "
        f"(goal ≤ 500 ms), max {result['max_ms']} ms over {result['samples']} samples",
        flush=True,
    )
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
