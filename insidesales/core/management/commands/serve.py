"""`insidesales serve`: uvicorn serving the ASGI app, optionally with the task worker beside it."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Command(BaseCommand):
    help = "Serve the app over HTTP (ASGI, uvicorn); --with-worker also runs the background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
        parser.add_argument("--with-worker", action="store_true", help="also start the background task worker")
        parser.add_argument("--reload", action="store_true")

    def handle(self, *args, host, port, workers, with_worker, reload, **options):
        import uvicorn
        from django.conf import settings

        if settings.PRODUCTION:
            call_command("collectstatic", interactive=False, verbosity=0)
        helpers: list[subprocess.Popen] = []
        if with_worker:
            # The task worker, the dialer worker (calls and campaigns) and the mailer, one process each.
            for name in ("worker", "dialer", "mailer"):
                process = subprocess.Popen([sys.executable, "-m", "insidesales.cli", name], env=os.environ.copy())
                self.stdout.write(f"{name} started (pid {process.pid})")
                helpers.append(process)
                # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which skips `finally`
                # blocks; atexit and an explicit SIGTERM handler make sure the helpers go down with us.
                atexit.register(_stop, process)
            previous = signal.getsignal(signal.SIGTERM)

            def on_term(signum, frame):
                for process in helpers:
                    _stop(process)
                if callable(previous):
                    previous(signum, frame)
                else:
                    raise SystemExit(143)

            signal.signal(signal.SIGTERM, on_term)
        try:
            uvicorn.run(
                "insidesales.asgi:application",
                host=host,
                port=port,
                workers=workers if not reload else 1,
                reload=reload,
                log_level="info",
                proxy_headers=True,
                lifespan="off",
                # Live streams stay open for long: a restart closes them after this long (browsers reconnect).
                timeout_graceful_shutdown=5,
            )
        finally:
            for process in helpers:
                _stop(process)
