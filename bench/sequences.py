"""Sequence sending throughput against a bare smtplib loop, and the idle scheduler pass.

    python -m bench.sequences [--quick] [--enrollments N] [--database-url URL]

A fresh database (a SQLite file in a temporary directory, or the database `bench_sequences` on the
PostgreSQL server of `--database-url`, dropped and created) gets one organization, one rep with a
mailbox, N leads (100,000; `--quick`: 10,000) with English and Russian names, and a sequence
(email with merge fields → wait 3 days → follow-up in the same thread); all N leads are enrolled. An
SMTP sink (aiosmtpd, in its own process, on loopback) accepts everything and keeps the Message-IDs.

In one run:
(a) `bare_smtplib_per_s`: the same messages our engine sends (rendered and built to bytes beforehand,
    outside the timing), sent one after the other through `smtplib.SMTP.sendmail` over one connection;
    measured before and again after (b), the mean of both (`bare_before_per_s`, `bare_after_per_s`):
    a loop of single round trips on loopback swings with where the scheduler puts the two processes,
    and bracketing (b) keeps such drift out of the ratio;
(b) `engine_per_s`: the mailer worker as it runs (`insidesales.mail.worker.Mailer.run_forever`: claiming
    due enrollments, rendering the templates, writing step runs and messages, handing each message to
    SMTP with its "handed" commit, marking sent, the timeline) from the first pass until all N first
    emails are accepted by the sink; each exactly once (checked by the sink's Message-IDs);
Both rates are taken the same way, by the sink's own clock: accepted emails from the first to the last
of each phase, divided by the time between them (the sink is asked only for a count while the engine
runs, so watching it costs the sink next to nothing).
`engine_to_bare_ratio` = (b) / (a); goal ≥ 0.8.
`idle_pass_s`: then nothing is due (every enrollment waits three days): the median of 5 whole worker
passes (steps and outbox) over the N enrollments; goal ≤ 1 s.

The last line is JSON: enrollments, bare_smtplib_per_s, engine_per_s, engine_to_bare_ratio, idle_pass_s
(and both bare runs, the engine's processes, the database, the sink's counts).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import smtplib
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import free_port

BENCH_DB = "bench_sequences"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.MULTILINE | re.IGNORECASE)
BODY = """Hello {{ lead.first_name | default("there") }},

I noticed {{ lead.company | default("your team") }} has been growing, and teams like yours usually
spend a lot of time on manual follow-ups. We help inside-sales teams call, email and book meetings
from one place, so nobody falls through the cracks.

Would a 15-minute call next {{ "Tuesday" }} work to see whether it fits {{ lead.company | default("you") }}?

Best regards,
{{ sender.full_name }}
"""
FIRST_NAMES = ["Анна", "John", "Мария", "Emma", "Дмитрий", "Liam", "Ольга", "Noah"]
COMPANIES = ["Ромашка", "Acme", "Северсталь", "Globex", "", "Initech"]


# --- the SMTP sink, in its own process -------------------------------------------------------------


def _sink_main(port: int, ready, stop, results) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self) -> None:
            self.ids: list[bytes] = []
            self.first_at = self.last_at = 0.0

        async def handle_DATA(self, server, session, envelope) -> str:
            found = MESSAGE_ID.search(envelope.original_content or envelope.content)
            self.ids.append(found.group(1) if found else b"")
            # CLOCK_MONOTONIC: the same clock in every process of the machine
            self.last_at = time.monotonic()
            if len(self.ids) == 1:
                self.first_at = self.last_at
            return "250 2.0.0 Ok"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    ready.set()
    while True:
        command = stop.get()
        if command == "count":  # cheap: asked every few milliseconds while the engine runs
            results.put(len(handler.ids))
        elif command == "summary":  # received, distinct Message-IDs, seconds from the first to the last
            ids = handler.ids
            results.put((len(ids), len(set(ids)), handler.last_at - handler.first_at))
        elif command == "reset":
            handler.ids = []
            handler.first_at = handler.last_at = 0.0
            results.put("ok")
        else:
            break
    controller.stop()
    asyncio.set_event_loop(None)


class SinkProcess:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.ready, self.commands, self.results = context.Event(), context.Queue(), context.Queue()
        self.process = context.Process(target=_sink_main, args=(self.port, self.ready, self.commands, self.results))

    def __enter__(self) -> SinkProcess:
        self.process.start()
        if not self.ready.wait(30):
            raise SystemExit("the SMTP sink did not start")
        return self

    def count(self) -> int:
        self.commands.put("count")
        return self.results.get(timeout=30)

    def summary(self) -> tuple[int, int, float]:
        self.commands.put("summary")
        return self.results.get(timeout=30)

    def reset(self) -> None:
        self.commands.put("reset")
        self.results.get(timeout=30)

    def __exit__(self, *exc) -> None:
        self.commands.put("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


# --- the database ------------------------------------------------------------------------------------


def configure(database_url: str | None, data_dir: Path) -> str:
    if database_url:
        import psycopg

        from bench.records import postgres_url

        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        url = postgres_url(database_url, recreate=False).replace("bench_records", BENCH_DB)
    else:
        url = f"sqlite:///{data_dir / 'bench-sequences.sqlite3'}"
    os.environ.update(
        {
            "INSIDESALES_DATA_DIR": str(data_dir),
            "DATABASE_URL": url,
            "INSIDESALES_ENV": "development",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "insidesales.settings",
            "DATABASE_POOL": "0",
            "MAIL_ALLOWED_HOSTS": "127.0.0.1",  # the sink listens on loopback
        }
    )
    return url


def setup(n: int, smtp_port: int):
    """The organization, the rep's mailbox on the sink, the sequence and N enrolled leads."""
    import datetime as dt

    from insidesales.crm.models import Lead
    from insidesales.mail.models import Mailbox, MailSettings, Security, Sequence, SequenceStep, StepKind
    from insidesales.mail.services.sequences import enrollments_create
    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add, organization_create

    organization = organization_create(name="Bench Mail", slug="bench-mail")
    rep = member_add(
        actor=None, organization=organization, email="rep@bench.example", role=Role.INSIDE_REP, full_name="Rita Rep"
    )
    MailSettings.objects.update_or_create(
        organization=organization,
        defaults={
            "sending_start": dt.time(0, 0),
            "sending_end": dt.time(23, 59, 59),
            "sending_weekdays": [0, 1, 2, 3, 4, 5, 6],
            "min_spacing_seconds": 0,
            "daily_cap_per_mailbox": 10_000_000,
            "company_name": "Bench Mail Ltd",
            "physical_address": "1 Main St, Springfield",
        },
    )
    Mailbox.objects.create(
        organization=organization,
        user=rep.user,
        email="rep@bench.example",
        display_name="Rita Rep",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security=Security.NONE,
    )
    sequence = Sequence.objects.create(organization=organization, name="Bench outreach", owner=rep.user)
    SequenceStep.objects.create(
        sequence=sequence,
        position=0,
        kind=StepKind.AUTO_EMAIL,
        subject="{{ lead.first_name | default('Hello') }}, a question about {{ lead.company | default('your team') }}",
        body=BODY,
    )
    SequenceStep.objects.create(sequence=sequence, position=1, kind=StepKind.WAIT, wait_days=3)
    SequenceStep.objects.create(sequence=sequence, position=2, kind=StepKind.AUTO_EMAIL, body="Just following up.")
    leads = [
        Lead(
            organization=organization,
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=f"Prospect{i}",
            company_name=COMPANIES[i % len(COMPANIES)],
            email=f"lead{i}@example.org",
            owner=rep.user,
        )
        for i in range(n)
    ]
    Lead.objects.bulk_create(leads, batch_size=2000)
    leads = list(Lead.objects.filter(organization=organization).order_by("pk"))
    result = enrollments_create(actor=rep, sequence=sequence, leads=leads)
    assert len(result.enrolled) == n, result.skipped
    return organization, sequence


def rendered_like_the_engine(sequence, limit: int) -> list[tuple[str, str, bytes]]:
    """The first-step messages of the first `limit` enrollments, rendered and built as the engine does,
    without touching the queue (for the bare loop)."""
    from django.db import transaction

    from insidesales.mail import engine
    from insidesales.mail.compose import build_mime
    from insidesales.mail.links import unsubscribe_url
    from insidesales.mail.models import Enrollment

    enrollments = list(Enrollment.objects.filter(sequence=sequence).order_by("pk")[:limit])
    batch = engine._Batch(enrollments, engine.timezone.now())
    result = engine.PassResult()
    out = []
    with transaction.atomic():
        for enrollment in enrollments:
            engine._advance(batch, enrollment, result)
        transaction.set_rollback(True)
    for message in batch.messages:
        url = unsubscribe_url(organization_id=message.organization_id, message_id=message.message_id)
        data = build_mime(message=message, list_unsubscribe_url=url)
        out.append((message.from_address, message.to_addresses[0], data))
    return out


def rate_of(received: int, seconds: float) -> float:
    """Emails per second as the sink saw them: from the first accepted email to the last."""
    return (received - 1) / seconds if received > 1 and seconds > 0 else 0.0


def bare_loop(messages: list[tuple[str, str, bytes]], sink: SinkProcess) -> float:
    sink.reset()
    client = smtplib.SMTP("127.0.0.1", sink.port)
    client.ehlo()
    for sender, recipient, data in messages:
        client.sendmail(sender, [recipient], data)
    client.quit()
    received, _, seconds = sink.summary()
    if received != len(messages):
        raise SystemExit(f"the sink received {received} of the bare loop's {len(messages)} messages")
    return rate_of(received, seconds)


def engine_run(n: int, sink: SinkProcess, processes: int) -> tuple[float, int, int]:
    """`insidesales mailer --processes P` as a deployment runs it, on the bench database: the rate from the
    sink's first email to its N-th (the workers' start-up, a second of imports, is not the engine's speed),
    measured on both sides the same way, by the sink's own clock."""
    import subprocess
    import sys

    sink.reset()
    command = [sys.executable, "-m", "insidesales.cli", "mailer", "--processes", str(processes)]
    mailer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while sink.count() < n:
            time.sleep(0.02)
            if mailer.poll() is not None:
                raise SystemExit(f"the mailer stopped: {mailer.stderr.read().decode()[-2000:]}")
    finally:
        mailer.terminate()
        try:
            mailer.wait(60)
        except subprocess.TimeoutExpired:
            mailer.kill()
    received, distinct, seconds = sink.summary()
    return rate_of(received, seconds), received, distinct


def idle_pass(passes: int = 5) -> float:
    from insidesales.mail.worker import Mailer

    mailer = Mailer()
    mailer.poll_mailboxes = lambda: 0
    times = []
    for _ in range(passes):
        started = time.perf_counter()
        work = mailer.run_once()
        times.append(time.perf_counter() - started)
        assert work == 0, f"the idle pass found work: {work}"
    mailer.pool.close()
    return statistics.median(times)


def measure(*, n: int, database_url: str | None, processes: int) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="insidesales-bench-sequences-"))
    try:
        configure(database_url, data_dir)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from insidesales.mail.models import EmailMessage

        call_command("migrate", verbosity=0)
        with SinkProcess() as sink:
            print(f"setting up {n} enrollments ({connection.vendor})", flush=True)
            started = time.perf_counter()
            _, sequence = setup(n, sink.port)
            print(f"  set up in {time.perf_counter() - started:.1f} s", flush=True)
            messages = rendered_like_the_engine(sequence, n)
            bare_before = bare_loop(messages, sink)
            print(f"bare smtplib: {bare_before:.0f} messages/s", flush=True)
            engine, received, distinct = engine_run(n, sink, processes)
            ours = EmailMessage.objects.filter(step__sequence=sequence).count()
            print(f"engine: {engine:.0f}/s ({received} received, {distinct} distinct, {ours} stored)", flush=True)
            if not (received == distinct == ours == n):
                raise SystemExit("the engine did not send every step exactly once")
            bare_after = bare_loop(messages, sink)
            del messages
            bare = (bare_before + bare_after) / 2
            print(f"bare smtplib again: {bare_after:.0f} messages/s (mean {bare:.0f})", flush=True)
            idle = idle_pass()
            print(f"idle pass over {n} enrollments: {idle * 1000:.0f} ms", flush=True)
            database = connection.vendor
            connection.close()
        return {
            "enrollments": n,
            "bare_smtplib_per_s": round(bare, 1),
            "bare_before_per_s": round(bare_before, 1),
            "bare_after_per_s": round(bare_after, 1),
            "engine_per_s": round(engine, 1),
            "engine_to_bare_ratio": round(engine / bare, 3),
            "idle_pass_s": round(idle, 4),
            "engine_processes": processes,
            "database": database,
            "received": received,
            "distinct_message_ids": distinct,
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if database_url:
            import psycopg

            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 enrollments")
    parser.add_argument("--enrollments", type=int, default=None)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="mailer worker processes (default: the CPUs)"
    )
    args = parser.parse_args(argv)
    n = args.enrollments or (10_000 if args.quick else 100_000)
    result = measure(n=n, database_url=args.database_url, processes=args.processes)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
