"""`insidesales demo`: migrate, load the demo organization once, print the demo logins; --serve then serves."""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from insidesales.core.demo_loader import DEMO_NAME, DEMO_PASSWORD, demo_exists, demo_load, demo_logins


class Command(BaseCommand):
    help = (
        "Migrate the database, load the demo organization if it is missing, print the demo logins "
        f"(password {DEMO_PASSWORD}, demo data only); with --serve, then serve with the background worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--serve", action="store_true", help="then run `serve --with-worker`")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--leads", type=int, default=3000, help="size of the demo (leads)")

    def handle(self, *args, serve, host, port, leads, **options):
        verbosity = options.get("verbosity", 1)
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        if demo_exists():
            self.stdout.write(f"{DEMO_NAME} is already loaded.")
        else:
            self.stdout.write(f"Loading {DEMO_NAME}…")
            started = time.monotonic()
            demo_load(leads=leads, out=lambda message: self.stdout.write(f"  {message}"))
            self.stdout.write(self.style.SUCCESS(f"{DEMO_NAME} loaded in {time.monotonic() - started:.1f} s."))
        self.stdout.write(self.login_table(host, port))
        if serve:
            call_command("serve", host=host, port=port, with_worker=True)

    def login_table(self, host: str, port: int) -> str:
        rows = [("Email", "Role", "Password"), *demo_logins()]
        widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
        line = "+".join("-" * (w + 2) for w in widths)
        out = ["", "Demo logins (demo data only — never use this password for real accounts):", f"+{line}+"]
        for index, row in enumerate(rows):
            out.append("| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
            if index == 0:
                out.append(f"+{line}+")
        out.append(f"+{line}+")
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        out.append(f"Open http://{shown}:{port}/")
        return "\n".join(out)
