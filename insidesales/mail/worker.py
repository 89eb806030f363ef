"""The mailer worker (`insidesales mailer`): runs due sequence steps, hands emails to SMTP and reads the
mailboxes' IMAP folders for replies and bounces.

Each round: the engine runs a batch of due steps (its emails are written already claimed by this
worker) and they are handed over at once; then whatever else is queued (one-off emails, retries,
emails another worker left behind). The IMAP polls that are due run in a thread of their own.
Several workers may run at once (claims keep them apart). Idle, it looks for work every second
(sooner when woken in-process).

(A second thread for sending was tried: on SQLite its "handed" commits wait for the engine's batch
transactions, and the pair was slower than one loop.)
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from insidesales.mail import engine, outbox
from insidesales.mail.models import Mailbox

log = logging.getLogger(__name__)
POLL_EVERY = dt.timedelta(seconds=60)


class Mailer:
    """One worker: `run_once` does one round, `run_forever` repeats them until `stop()`."""

    def __init__(self, *, step_batch: int = 200, send_batch: int = 200, idle_sleep: float = 1.0, ssl_context=None):
        self.step_batch = step_batch
        self.send_batch = send_batch
        self.idle_sleep = idle_sleep
        self.pool = outbox.SessionPool(ssl_context=ssl_context)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        outbox.wake()

    def run_once(self) -> int:
        """One round in this thread: steps and their emails, the rest of the queue, due IMAP polls."""
        return self._send_round() + self.poll_mailboxes()

    def _send_round(self) -> int:
        steps = engine.run_due_steps(limit=self.step_batch)
        sent = outbox.send_claimed(pool=self.pool, token=steps.send_token, messages=steps.to_send)
        rest = outbox.send_pass(pool=self.pool, limit=self.send_batch)
        done = sent.sent + sent.failed + sent.cancelled + sent.retried
        done += rest.sent + rest.retried + rest.failed + rest.cancelled
        return steps.claimed + done

    def poll_mailboxes(self) -> int:
        try:
            from insidesales.mail.imap import mailbox_poll
        except ImportError:  # reading mail is not installed in this build
            return 0
        due = timezone.now() - POLL_EVERY
        mailboxes = Mailbox.objects.filter(is_active=True).exclude(imap_host="")
        found = 0
        for mailbox in mailboxes.filter(last_polled_at__isnull=True) | mailboxes.filter(last_polled_at__lt=due):
            if self.stopping.is_set():
                break
            try:
                found += mailbox_poll(mailbox) or 0
            except Exception:  # one broken mailbox must not stop the others
                log.exception("polling mailbox %s failed", mailbox.pk)
        return found

    def _poll_forever(self) -> None:
        """Reading mailboxes in a thread of its own: a slow or stalling IMAP server never holds up sending."""
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    self.poll_mailboxes()
                except DatabaseError:
                    log.exception("polling mailboxes failed; retrying")
                self.stopping.wait(5.0)
        finally:
            connection.close()

    def run_forever(self) -> None:
        poller = threading.Thread(target=self._poll_forever, name="mailer-imap", daemon=True)
        poller.start()
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    work = self._send_round()
                except DatabaseError:
                    log.exception("mailer pass failed; retrying")
                    work = 0
                    time.sleep(self.idle_sleep)
                self.pool.close_idle()
                if not work:
                    outbox.wait_for_work(self.idle_sleep)
        finally:
            self.stopping.set()
            self.pool.close()
            connection.close()
            poller.join(timeout=5)


def run_forever() -> None:
    mailer = Mailer()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: mailer.stop())
    mailer.run_forever()
