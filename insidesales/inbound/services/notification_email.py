"""The email copy of each alert: sent by the worker soon after the alert was committed.

Alerts are claimed in batches (their `emailed_at` set) before their emails are handed to the mail server,
so two workers never send the same one; a worker killed in between loses those emails, never the alerts
themselves (which the reps see in the app). Enqueued at most twice a second per process (`schedule_soon`):
each run sends everything waiting, and the worker's start and a once-a-minute sweep pick up whatever a
crash left.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from insidesales.inbound.models import Notification

BATCH = 200
COALESCE_SECONDS = 0.5
_lock = threading.Lock()
_next_free = 0.0
_trailing_at = 0.0


def schedule_soon() -> None:
    """Make sure a sending run starts after now (and at most one per half second from this process)."""
    global _next_free, _trailing_at
    from insidesales.inbound.tasks import send_notification_emails

    now = time.monotonic()
    with _lock:
        if now >= _next_free:
            _next_free = now + COALESCE_SECONDS
            run_after = None
        elif _trailing_at < _next_free:
            _trailing_at = _next_free
            run_after = timezone.now() + timezone.timedelta(seconds=_next_free - now)
        else:
            return
    if run_after is None:
        send_notification_emails.enqueue()
    else:
        send_notification_emails.using(run_after=run_after).enqueue()


def notification_emails_send(*, limit: int = 2000) -> int:
    sent = 0
    while sent < limit:
        batch = _claim(BATCH)
        if not batch:
            break
        sent += sum(_send(note) for note in batch)
    return sent


def _claim(size: int) -> list[Notification]:
    """Take up to `size` alerts not emailed yet, in one short write (the web server writes the alerts
    themselves: a write per alert from here would keep taking the database's one write lock from it)."""
    with transaction.atomic():
        waiting = Notification.objects.filter(emailed_at__isnull=True).order_by("id")
        if connection.vendor == "postgresql":
            waiting = waiting.select_for_update(skip_locked=True)
        ids = list(waiting.values_list("id", flat=True)[:size])
        if not ids:
            return []
        Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return list(Notification.objects.select_related("user").filter(pk__in=ids).order_by("id"))


def _send(note: Notification) -> int:
    if not note.user.is_active or not note.user.email:
        return 0
    base = (getattr(settings, "PUBLIC_URL", "") or "").rstrip("/")
    with override(note.user.language or "en"):
        lines = [note.title, note.body] if note.body else [note.title]
        if note.link:
            lines += ["", _("Open: %(url)s") % {"url": f"{base}{note.link}"}]
        subject = " ".join(note.title.split())  # what a visitor typed never breaks the header
        try:
            send_mail(subject=subject, message="\n".join(lines), from_email=None, recipient_list=[note.user.email])
        except (OSError, ValueError):
            return 0
    return 1
