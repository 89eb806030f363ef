"""The outbox: hands queued emails (sequence steps and one-off emails) to their mailboxes' SMTP servers.

A message moves queued → sending (claimed by one worker, with a token and a deadline) → handed (committed
just before the final "." of DATA) → sent (the server's 250). A worker killed while a message is
"sending" never finished its DATA, so the server threw it away: the claim expires and it goes out again,
with the same Message-ID. A "handed" message is never sent again. Daily caps and spacing per mailbox,
the suppression list and retries with back-off are applied here, for every send path.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from insidesales.calls.secrets import CredentialsUnreadable, decrypt_credentials
from insidesales.crm.models import Activity, ActivityKind, Contact, Lead
from insidesales.mail.compose import build_mime
from insidesales.mail.links import unsubscribe_url
from insidesales.mail.models import (
    EmailMessage,
    Enrollment,
    EnrollmentState,
    Mailbox,
    MailSettings,
    MessageStatus,
    StopReason,
    Suppression,
)
from insidesales.mail.smtp import Outgoing, SendFailure, SmtpEndpoint, SmtpSession, send_round

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
_wake = threading.Event()


def wake() -> None:
    """Tell a mailer worker in this process that there is mail to send (others notice within a second)."""
    _wake.set()


def wait_for_work(timeout: float) -> None:
    _wake.wait(timeout)
    _wake.clear()


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 240))


@dataclass
class SendResult:
    """What one outbox pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    errors: list[str] = field(default_factory=list)


class SessionPool:
    """Open SMTP connections per mailbox, reused across passes; idle ones are closed after a minute."""

    IDLE = 60.0

    def __init__(self, ssl_context=None) -> None:
        self.ssl_context = ssl_context
        self.sessions: dict[tuple, tuple[SmtpSession, float]] = {}

    def get(self, mailbox: Mailbox, slot: int = 0) -> SmtpSession:
        secrets = decrypt_credentials(mailbox.credentials)
        endpoint = SmtpEndpoint(
            host=mailbox.smtp_host,
            port=mailbox.smtp_port,
            security=mailbox.smtp_security,
            username=mailbox.smtp_username,
            password=secrets.get("smtp_password", ""),
        )
        key = (mailbox.pk, slot, endpoint)
        found = self.sessions.get(key)
        if found is not None:
            self.sessions[key] = (found[0], time.monotonic())
            return found[0]
        for old in [k for k in self.sessions if k[0] == mailbox.pk and k[1] == slot]:  # settings changed
            self.sessions.pop(old)[0].close()
        session = SmtpSession(endpoint, ssl_context=self.ssl_context)
        self.sessions[key] = (session, time.monotonic())
        return session

    def drop(self, mailbox: Mailbox) -> None:
        for key in [k for k in self.sessions if k[0] == mailbox.pk]:
            self.sessions.pop(key)[0].abort()

    def close_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, used) in self.sessions.items() if now - used > self.IDLE]:
            self.sessions.pop(key)[0].close()

    def close(self) -> None:
        for session, _ in self.sessions.values():
            session.close()
        self.sessions.clear()


def recover_abandoned(now: dt.datetime) -> int:
    """After a worker died: messages it had claimed but not handed over go back to the queue (the server
    threw the half message away); messages it had handed over count as sent (never sent twice). Both are
    index ranges of `email_claimed` (only claimed rows have a `claimed_until`)."""
    handed = list(EmailMessage.objects.filter(status=MessageStatus.HANDED, claimed_until__lt=now)[:1000])
    _mark_sent(handed, None)
    return len(handed) + EmailMessage.objects.filter(status=MessageStatus.SENDING, claimed_until__lt=now).update(
        status=MessageStatus.QUEUED, claim_token="", claimed_until=None
    )


def take_allowance(wanted: dict[int, int], now: dt.datetime) -> dict[int, int]:
    """Of `wanted` sends per mailbox, how many each may make now — reserved at once against its daily cap
    (a compare-and-set on the mailbox's counter for the day, so two workers never overshoot it), and at
    most one when the organization spaces a mailbox's emails."""
    mailboxes = Mailbox.objects.in_bulk(list(wanted))
    org_ids = {m.organization_id for m in mailboxes.values()}
    rules = {r.organization_id: r for r in MailSettings.objects.filter(organization_id__in=org_ids)}
    granted: dict[int, int] = {}
    for pk, mailbox in mailboxes.items():
        rule = rules.get(mailbox.organization_id) or MailSettings()
        want = wanted[pk]
        if not mailbox.is_active:
            want = 0
        elif rule.min_spacing_seconds:
            spacing = dt.timedelta(seconds=rule.min_spacing_seconds)
            want = min(want, 1 if mailbox.last_sent_at is None or mailbox.last_sent_at + spacing <= now else 0)
        granted[pk] = _reserve(mailbox, want, rule.daily_cap_per_mailbox, now.date()) if want else 0
    return granted


def _reserve(mailbox: Mailbox, want: int, cap: int, today: dt.date) -> int:
    day, count = mailbox.sent_day, mailbox.sent_count
    for _ in range(5):
        used = count if day == today else 0
        take = min(want, cap - used)
        if take <= 0:
            return 0
        if Mailbox.objects.filter(pk=mailbox.pk, sent_day=day, sent_count=count).update(
            sent_day=today, sent_count=used + take
        ):
            return take
        day, count = Mailbox.objects.filter(pk=mailbox.pk).values_list("sent_day", "sent_count").get()
    return 0


def claim(*, now: dt.datetime, limit: int) -> tuple[str, list[EmailMessage]]:
    # One simple query per kind of due row: each is an index range of a partial index (`email_queued`,
    # `email_scheduled`; SQLite's planner uses no partial index for an OR of them, and scanned every email).
    kinds = (
        Q(status=MessageStatus.QUEUED, scheduled_at__lte=now),
        Q(status=MessageStatus.QUEUED, scheduled_at=None),
        Q(status=MessageStatus.SCHEDULED, scheduled_at__lte=now),
    )
    due = kinds[0] | kinds[1] | kinds[2]
    found: list[tuple] = []
    for kind in kinds:
        found += (
            EmailMessage.objects.filter(kind)
            .order_by("scheduled_at", "pk")
            .values_list("scheduled_at", "pk", "mailbox_id")[: limit * 4]
        )
    found.sort(key=lambda row: (row[0] is not None, row[0] or now, row[1]))
    candidates = [(pk, mailbox_id) for _, pk, mailbox_id in found[: limit * 4]]
    token = uuid.uuid4().hex
    if not candidates:
        return token, []
    wanted: dict[int, int] = defaultdict(int)
    for _, mailbox_id in [c for c in candidates if c[1] is not None][:limit]:
        wanted[mailbox_id] += 1
    left = take_allowance(dict(wanted), now)
    picked: list[int] = []
    cancelled: list[int] = []
    for pk, mailbox_id in candidates:
        if mailbox_id is None:
            cancelled.append(pk)
        elif left.get(mailbox_id, 0) > 0:
            left[mailbox_id] -= 1
            picked.append(pk)
        if len(picked) >= limit:
            break
    if cancelled:
        waiting = [MessageStatus.QUEUED, MessageStatus.SCHEDULED]
        EmailMessage.objects.filter(pk__in=cancelled, status__in=waiting).update(
            status=MessageStatus.FAILED, error="no mailbox to send from"
        )
    if not picked:
        return token, []
    EmailMessage.objects.filter(pk__in=picked).filter(due).update(
        status=MessageStatus.SENDING,
        claim_token=token,
        claimed_until=now + dt.timedelta(seconds=settings.MAIL_CLAIM_SECONDS),
    )
    claimed = list(
        EmailMessage.objects.filter(pk__in=picked, claim_token=token, status=MessageStatus.SENDING)
        .select_related("mailbox")
        .order_by("mailbox_id", "pk")
    )
    return token, claimed


def send_pass(*, pool: SessionPool, now: dt.datetime | None = None, limit: int = 200) -> SendResult:
    """Claim up to `limit` due messages and hand them over, one connection per mailbox."""
    now = now or timezone.now()
    result = SendResult()
    result.recovered = recover_abandoned(now)
    token, messages = claim(now=now, limit=limit)
    if not messages:
        return result
    send_claimed(pool=pool, token=token, messages=messages, result=result)
    return result


def send_claimed(
    *, pool: SessionPool, token: str, messages: list[EmailMessage], result: SendResult | None = None
) -> SendResult:
    """Hand over messages this worker has claimed with `token` (checking the suppression list first)."""
    result = result or SendResult()
    if not messages:
        return result
    suppressed = set(
        Suppression.objects.filter(
            organization_id__in={m.organization_id for m in messages},
            email__in={a.lower() for m in messages for a in m.to_addresses},
        ).values_list("organization_id", "email")
    )
    by_mailbox: dict[int, list[EmailMessage]] = defaultdict(list)
    for message in messages:
        if any((message.organization_id, a.lower()) in suppressed for a in message.to_addresses):
            _finish(message, MessageStatus.CANCELLED, "address suppressed")
            result.cancelled += 1
            continue
        by_mailbox[message.mailbox_id].append(message)
    for group in by_mailbox.values():
        _send_group(pool, group, token, result)
    return result


def _send_group(pool: SessionPool, group: list[EmailMessage], token: str, result: SendResult) -> None:
    """Hand over one mailbox's messages in rounds, one message per connection in each round."""
    mailbox = group[0].mailbox
    width = max(1, settings.MAIL_CONNECTIONS_PER_MAILBOX)
    try:
        sessions = [pool.get(mailbox, slot) for slot in range(width)]
    except CredentialsUnreadable as exc:
        _retry_all(group, str(exc), result)
        return
    sent: list[EmailMessage] = []
    waiting = list(group)
    reconnected: set[int] = set()  # messages given a second connection after a lost one
    gave_up: list[EmailMessage] = []
    while waiting:
        batch, waiting = waiting[:width], waiting[width:]
        items = [
            Outgoing(
                sessions[slot],
                mailbox.email,
                list(message.to_addresses) + list(message.cc_addresses),
                build_mime(
                    message=message,
                    list_unsubscribe_url=(
                        unsubscribe_url(organization_id=message.organization_id, message_id=message.message_id)
                        if message.enrollment_id
                        else None
                    ),
                ),
            )
            for slot, message in enumerate(batch)
        ]
        send_round(items, lambda ready, batch=batch: _record_handed([batch[i] for i in ready], token, batch))
        for message, item in zip(batch, items, strict=False):
            failure = item.failure
            if failure is None:
                sent.append(message)
            elif failure.withdrawn:  # our claim expired and another worker has it now
                continue
            elif failure.handed and failure.code is None:
                sent.append(message)  # the end of data went out, the answer was lost: never sent twice
            elif failure.code is None:  # connection-level (closed while idle, refused...): once more
                if message.pk in reconnected:
                    gave_up.append(message)
                    Mailbox.objects.filter(pk=mailbox.pk).update(last_error=str(failure)[:500])
                else:
                    reconnected.add(message.pk)
                    waiting.insert(0, message)
            else:
                _failed(message, failure, result)
        if gave_up:
            _retry_all(gave_up + waiting, "connection lost", result, mailbox=mailbox)
            break
    _mark_sent(sent, mailbox)
    result.sent += len(sent)


def _record_handed(messages: list[EmailMessage], token: str, batch: list[EmailMessage]) -> set[int]:
    """Commit "handed" for the round's messages still claimed by us, in one statement, just before their
    end of data goes out; returns their indexes in `batch`."""
    if not messages:
        return set()
    now = timezone.now()
    table = connection.ops.quote_name(EmailMessage._meta.db_table)
    marks = ", ".join(["%s"] * len(messages))
    sql = (
        f"UPDATE {table} SET status = %s, sent_at = %s, attempts = attempts + 1"
        f" WHERE id IN ({marks}) AND claim_token = %s AND status = %s RETURNING id"
    )
    sent_at = EmailMessage._meta.get_field("sent_at").get_db_prep_save(now, connection)
    params = [MessageStatus.HANDED, sent_at, *[m.pk for m in messages], token, MessageStatus.SENDING]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        mine = {row[0] for row in cursor.fetchall()}
    for message in messages:
        if message.pk in mine:
            message.sent_at = now
    return {index for index, message in enumerate(batch) if message.pk in mine}


def _finish(message: EmailMessage, status: str, error: str) -> None:
    EmailMessage.objects.filter(pk=message.pk).update(
        status=status, error=error[:500], claim_token="", claimed_until=None
    )


def _retry_all(messages: list[EmailMessage], error: str, result: SendResult, mailbox: Mailbox | None = None) -> None:
    now = timezone.now()
    for message in messages:
        attempts = message.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            _finish(message, MessageStatus.FAILED, error)
            result.failed += 1
            continue
        # A message the server refused with 4xx at the end of data is "handed" but was not taken.
        EmailMessage.objects.filter(pk=message.pk, status__in=[MessageStatus.SENDING, MessageStatus.HANDED]).update(
            status=MessageStatus.QUEUED,
            attempts=attempts,
            scheduled_at=now + backoff(attempts),
            error=error[:500],
            claim_token="",
            claimed_until=None,
        )
        result.retried += 1
    if mailbox is not None:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_error=error[:500])


def _failed(message: EmailMessage, exc: SendFailure, result: SendResult) -> None:
    if exc.temporary:
        _retry_all([message], str(exc), result)
        return
    _finish(message, MessageStatus.FAILED, str(exc))
    result.failed += 1
    if message.enrollment_id:
        open_states = [EnrollmentState.ACTIVE, EnrollmentState.PAUSED]
        Enrollment.objects.filter(pk=message.enrollment_id, state__in=open_states).update(
            state=EnrollmentState.STOPPED,
            stop_reason=StopReason.SEND_FAILED,
            next_run_at=None,
            finished_at=timezone.now(),
        )


def _mark_sent(sent: list[EmailMessage], mailbox: Mailbox | None) -> None:
    """handed → sent, and the timeline entries, once per message (whoever gets the row first)."""
    if not sent:
        return
    now = timezone.now()
    with transaction.atomic():
        mine = set(
            EmailMessage.objects.select_for_update()
            .filter(pk__in=[m.pk for m in sent], status=MessageStatus.HANDED)
            .values_list("pk", flat=True)
        )
        EmailMessage.objects.filter(pk__in=mine).update(
            status=MessageStatus.SENT, claim_token="", claimed_until=None, error=""
        )
        if mailbox is not None:
            Mailbox.objects.filter(pk=mailbox.pk).update(last_sent_at=now, last_error="")
        timeline_log_sent([m for m in sent if m.pk in mine], now=now)


def timeline_log_sent(messages: list, *, now: dt.datetime) -> None:
    """One "email" entry per sent message on its record's timeline (rows written in one statement)."""
    from insidesales.core.bulk_insert import BulkWriter, allocate_ids, db_datetime

    shown = [m for m in messages if m.lead_id or m.contact_id or m.company_id]
    if shown:
        vendor = connection.vendor
        fields = ["id", "organization", "kind", "actor", "occurred_at", "subject", "body", "data"]
        fields += ["lead", "contact", "company"]
        ids = allocate_ids(Activity, len(shown))
        BulkWriter(Activity, fields).write(
            [
                (
                    pk,
                    m.organization_id,
                    ActivityKind.EMAIL,
                    m.created_by_id,
                    db_datetime(m.sent_at or now, vendor),
                    m.subject[:255],
                    m.body_text[:2000],
                    json.dumps({"email_id": m.pk, "direction": "out", "kind": m.kind, "to": m.to_addresses}),
                    m.lead_id,
                    m.contact_id,
                    m.company_id if not (m.lead_id or m.contact_id) else None,
                )
                for pk, m in zip(ids, shown, strict=True)
            ]
        )
    lead_ids = [m.lead_id for m in messages if m.lead_id]
    contact_ids = [m.contact_id for m in messages if m.contact_id]
    _first_touches(messages, now)
    if lead_ids:
        Lead.objects.filter(pk__in=lead_ids).update(last_activity_at=now)
    if contact_ids:
        Contact.objects.filter(pk__in=contact_ids).update(last_activity_at=now)


def _first_touches(messages: list, now: dt.datetime) -> None:
    """Emails a person wrote (not a sequence's automatic ones) answer inbound inquiries (speed to lead)."""
    from insidesales.inbound.speed import first_touch_record

    by_person: dict[int, list] = {}
    for m in messages:
        if m.created_by_id and not m.enrollment_id and (m.lead_id or m.contact_id):
            by_person.setdefault(m.created_by_id, []).append(m)
    for user_id, mine in by_person.items():
        first_touch_record(
            lead_ids=[m.lead_id for m in mine if m.lead_id],
            contact_ids=[m.contact_id for m in mine if m.contact_id],
            user_id=user_id,
            kind="email",
            at=min(m.sent_at or now for m in mine),
        )
