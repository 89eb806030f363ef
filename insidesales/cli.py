"""The `insidesales` command: our own commands plus every Django management command."""

from __future__ import annotations

import os
import sys

OWN_COMMANDS = {
    "serve": "run the web server (ASGI) on 127.0.0.1:8000; --with-worker also runs the task, dialer and mailer workers",
    "worker": "run the background task worker",
    "dialer": "run the dialer worker (places calls, paces call campaigns)",
    "mailer": "run the mailer worker (sequence steps, sending email, reading replies and bounces)",
    "ingest-email": "read one email (RFC 5322) on standard input, as a mail server's pipe delivers it",
    "demo": "migrate, load the demo organization if missing, print demo logins; --serve then serves",
    "migrate": "create or update the database tables",
    "createadmin": "create an organization administrator",
    "seed": "bulk-generate realistic data for benchmarks (--leads N)",
    "import": "import leads from a CSV/XLSX file (FILE --map MAPPING), or --undo JOB",
}


def usage() -> str:
    lines = ["usage: insidesales <command> [options]", "", "Commands:"]
    lines += [f"  {name:<12} {text}" for name, text in OWN_COMMANDS.items()]
    lines += [
        "",
        "Any Django management command also works (e.g. `insidesales shell`, `insidesales check`).",
        "`insidesales <command> --help` shows a command's options.",
        "Settings come from the environment: DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS, REDIS_URL, EMAIL_*.",
    ]
    return "\n".join(lines)


def _schedule_recurring() -> None:
    """Recurring work is queued when a worker starts (each run queues its next): daily duplicate scans,
    the hourly purges of old Idempotency-Key answers, of import files and of merge copies that are due."""
    import django
    from django.db import DatabaseError

    django.setup()
    from insidesales.api.tasks import schedule_idempotency_purge
    from insidesales.imports.duplicates import schedule_all
    from insidesales.imports.tasks import schedule_expired_data_purge
    from insidesales.inbound.tasks import schedule_inbound_sweep
    from insidesales.inbound.tasks_webhooks import schedule_webhook_sweep

    try:
        schedule_all()
        schedule_idempotency_purge()
        schedule_expired_data_purge()
        schedule_webhook_sweep()  # webhook deliveries that are due, every minute
        schedule_inbound_sweep()  # missed response deadlines and unsent alert emails, every minute
    except DatabaseError as exc:  # not migrated yet: the worker still starts, the next start schedules
        print(f"recurring tasks not scheduled: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insidesales.settings")
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(usage())
        return
    if argv[1] == "ingest-email":
        argv[1] = "ingest_email"
    if argv[1] == "worker":
        argv[1] = "db_worker"
        _schedule_recurring()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["insidesales", *argv[1:]])


if __name__ == "__main__":
    main()
