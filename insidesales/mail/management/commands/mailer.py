"""`insidesales mailer`: the mailer worker (sequence steps, sending, reading replies and bounces).

`--processes N` runs N workers side by side (claims keep them apart): while one waits for an SMTP
server's answers, another renders and writes the next batch, so a machine's cores are all used. The
parent restarts a worker that dies and stops them all on SIGTERM; workers die with the parent.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

CHILD = "INSIDESALES_MAILER_CHILD"


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the supervising parent goes away, even killed with -9."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent was already gone before prctl took effect
        os._exit(0)


class Command(BaseCommand):
    help = "Run the mailer worker: runs sequence steps, sends queued emails, reads replies and bounces."

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes",
            type=int,
            default=int(os.environ.get("MAIL_WORKER_PROCESSES", "1")),
            help="worker processes side by side (default 1, or MAIL_WORKER_PROCESSES)",
        )

    def handle(self, *args, processes: int, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s mailer %(levelname)s %(message)s")
        if os.environ.get(CHILD):
            _die_with_parent()
        if processes <= 1:
            from insidesales.mail.worker import run_forever

            self.stdout.write("mailer started")
            run_forever()
            self.stdout.write("mailer stopped")
            return
        self._supervise(processes)

    def _supervise(self, processes: int) -> None:
        command = [sys.executable, "-m", "insidesales.cli", "mailer", "--processes", "1"]
        env = {**os.environ, CHILD: "1"}
        children = [subprocess.Popen(command, env=env) for _ in range(processes)]
        self.stdout.write(f"mailer started ({processes} processes)")
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            time.sleep(0.5)
            for index, child in enumerate(children):
                if child.poll() is not None and not stopping:
                    time.sleep(1)  # a worker that keeps dying must not spin
                    children[index] = subprocess.Popen(command, env=env)
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("mailer stopped")
