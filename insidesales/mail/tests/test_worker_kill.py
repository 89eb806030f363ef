"""Kill -9 a mailer worker in the middle of a batch, start another: every due step is sent exactly once,
as counted by the Message-IDs the SMTP server received."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

from insidesales.core.testing.databases import url_of_test_database
from insidesales.mail.models import EmailMessage, StepRun
from insidesales.mail.services.sequences import enrollments_create
from insidesales.mail.tests.conftest import build_mail_world, email_step

LEADS = 240


def _start_worker(tmp_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url_of_test_database(),
        "INSIDESALES_DATA_DIR": str(tmp_path),
        "DATABASE_POOL": "0",
        "MAIL_CLAIM_SECONDS": "3",  # claims of the killed worker expire quickly
    }
    return subprocess.Popen(
        [sys.executable, "-m", "insidesales.cli", "mailer"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(condition, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the worker exited: {process.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_every_step_is_sent_exactly_once_across_a_kill_9(transactional_db, smtp_sink, tmp_path):
    mw = build_mail_world(smtp_sink)

    def slow(data: bytes) -> None:
        time.sleep(0.01)  # a server taking its time: the kill lands in the middle of a batch

    mw.sink.answer = slow
    sequence = mw.sequence(email_step("Hello {{ lead.first_name }}", "Body for {{ lead.first_name }}"))
    leads = [mw.lead(first_name=f"Lead{i}", email=f"lead{i}@example.org") for i in range(LEADS)]
    enrollments_create(actor=mw.rep, sequence=sequence, leads=leads)

    first = _start_worker(tmp_path)
    try:
        _wait(lambda: len(mw.sink.received) >= 40, 60, first)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    at_kill = len(mw.sink.received)
    assert at_kill < LEADS, "the batch was over before the kill: make the server slower"

    second = _start_worker(tmp_path)
    try:
        _wait(lambda: len(mw.sink.received) >= LEADS, 90, second)
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()

    received = collections.Counter(mw.sink.message_ids())
    assert [mid for mid, n in received.items() if n > 1] == []
    ours = set(EmailMessage.objects.filter(step__sequence=sequence).values_list("message_id", flat=True))
    assert set(received) == ours and len(ours) == LEADS
    assert StepRun.objects.filter(step__sequence=sequence).count() == LEADS
    assert set(EmailMessage.objects.values_list("status", flat=True)) == {"sent"}
