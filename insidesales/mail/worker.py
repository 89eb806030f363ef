"""The mailer worker (`insidesales mailer`): runs due sequence steps, hands queued emails to SMTP and
reads the mailboxes' IMAP folders for replies and bounces, in one loop.

Several workers may run at once (claims keep them apart); one is enough for a team. It sleeps a second
between passes when there is nothing to do, less when woken in-process.
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
    """One worker's loop; `stop()` ends it after the pass in progress."""

    def __init__(self, *, step_batch: int = 500, send_batch: int = 200, idle_sleep: float = 1.0, ssl_context=None):
        self.step_batch = step_batch
        self.send_batch = send_batch
        self.idle_sleep = idle_sleep
        self.pool = outbox.SessionPool(ssl_context=ssl_context)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        outbox.wake()

    def run_once(self) -> int:
        """One round: steps, then sending, then due IMAP polls. Returns how much work it found."""
        work = 0
        steps = engine.run_due_steps(limit=self.step_batch)
        work += steps.claimed
        sent = outbox.send_pass(pool=self.pool, limit=self.send_batch)
        work += sent.sent + sent.retried + sent.failed + sent.cancelled
        work += self.poll_mailboxes()
        return work

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

    def run_forever(self) -> None:
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    work = self.run_once()
                except DatabaseError:
                    log.exception("mailer pass failed; retrying")
                    work = 0
                    time.sleep(self.idle_sleep)
                self.pool.close_idle()
                if not work:
                    outbox.wait_for_work(self.idle_sleep)
        finally:
            self.pool.close()
            connection.close()


def run_forever() -> None:
    mailer = Mailer()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: mailer.stop())
    mailer.run_forever()
