"""The sequence engine: runs the due steps of enrollments, in batches, exactly once each.

A pass claims due enrollments (a conditional UPDATE with a token, so two workers never take the same
one), then in ONE transaction per batch writes, for every enrollment, the step's `StepRun` (unique per
enrollment and step), what the step makes (a queued email with its Message-ID, a task, a callback) and
the enrollment's next position and due time. A worker that dies mid-batch leaves nothing half done: its
claims expire and the batch runs again. Emails are then handed to SMTP by `insidesales.mail.outbox`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from insidesales.crm.models import Activity, ActivityKind, Contact, Lead
from insidesales.mail import rendering
from insidesales.mail.compose import new_message_id
from insidesales.mail.links import unsubscribe_url
from insidesales.mail.manual_steps import make_task
from insidesales.mail.models import (
    Direction,
    EmailMessage,
    Enrollment,
    EnrollmentState,
    Mailbox,
    MailSettings,
    MessageStatus,
    SequenceStep,
    StepKind,
    StepRun,
    StopReason,
    Suppression,
    SuppressionReason,
)
from insidesales.mail.rows import EmailRow, RunRow, insert_emails, insert_runs
from insidesales.mail.schedule import add_days, next_send_time, zone_of
from insidesales.mail.services.sequences import CLOSED_LEAD_STATUSES, sender_mailbox

log = logging.getLogger(__name__)
SUPPRESSION_STOP = {
    SuppressionReason.UNSUBSCRIBED: StopReason.UNSUBSCRIBED,
    SuppressionReason.HARD_BOUNCE: StopReason.BOUNCED,
}


@dataclass
class PassResult:
    """What one pass did."""

    claimed: int = 0
    emails: int = 0
    tasks: int = 0
    stopped: int = 0
    finished: int = 0
    deferred: int = 0
    resumed: int = 0
    details: list[str] = field(default_factory=list)
    # Emails written already claimed for sending (within their mailbox's allowance), for the caller
    # to hand over at once with `outbox.send_claimed`; the rest wait in the queue.
    send_token: str = ""
    to_send: list[EmailRow] = field(default_factory=list)


# --- claiming -------------------------------------------------------------------------------------


def resume_out_of_office(now: dt.datetime) -> int:
    """Enrollments paused by an out-of-office reply go on once their pause is over."""
    return Enrollment.objects.filter(state=EnrollmentState.PAUSED, next_run_at__lte=now).update(
        state=EnrollmentState.ACTIVE, stop_reason="", updated_at=now
    )


def claim_due(*, now: dt.datetime, limit: int) -> tuple[str, list[int]]:
    token = uuid.uuid4().hex
    due = (
        Enrollment.objects.filter(state=EnrollmentState.ACTIVE, next_run_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_run_at")
        .values("pk")[:limit]
    )
    ids = list(due.values_list("pk", flat=True))
    if not ids:
        return token, []
    Enrollment.objects.filter(pk__in=ids, state=EnrollmentState.ACTIVE).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ).update(claimed_until=now + dt.timedelta(seconds=settings.MAIL_CLAIM_SECONDS), claim_token=token)
    return token, list(Enrollment.objects.filter(pk__in=ids, claim_token=token).values_list("pk", flat=True))


# --- one pass -------------------------------------------------------------------------------------


LEAD_COLUMNS = (
    "organization_id",
    "team_id",
    "agency_id",
    "first_name",
    "last_name",
    "title",
    "company_name",
    "email",
    "phone",
    "country",
    "time_zone",
    "status",
    "custom",
    "converted_company",
)


class _Batch:
    """Everything a batch reads in bulk and writes in one transaction."""

    def __init__(self, enrollments: list[Enrollment], now: dt.datetime) -> None:
        self.now = now
        self.enrollments = enrollments
        self.steps: dict[int, list[SequenceStep]] = {}
        sequence_ids = {e.sequence_id for e in enrollments}
        for step in SequenceStep.objects.filter(sequence_id__in=sequence_ids).select_related("template"):
            self.steps.setdefault(step.sequence_id, []).append(step)
        for steps in self.steps.values():
            steps.sort(key=lambda s: s.position)
        self.rules: dict[int, MailSettings] = {}
        org_ids = {e.organization_id for e in enrollments}
        for rules in MailSettings.objects.filter(organization_id__in=org_ids):
            self.rules[rules.organization_id] = rules
        for org_id in org_ids - set(self.rules):
            self.rules[org_id] = MailSettings(organization_id=org_id)
        from insidesales.orgs.models import Organization

        self.organizations = {o.pk: o for o in Organization.objects.filter(pk__in=org_ids)}
        lead_ids = [e.lead_id for e in enrollments if e.lead_id]
        contact_ids = [e.contact_id for e in enrollments if e.contact_id]
        # Only what the merge fields, the zone and the stop checks read (leads carry search keys and notes).
        self.leads = Lead.objects.select_related("owner").only(*LEAD_COLUMNS, "owner").in_bulk(lead_ids)
        self.contacts = Contact.objects.select_related("owner", "company").in_bulk(contact_ids)
        addresses = {e.email for e in enrollments}
        self.suppressed = dict(
            Suppression.objects.filter(organization_id__in=org_ids, email__in=addresses).values_list("email", "reason")
        )
        earliest = min(e.created_at for e in enrollments)
        meetings = Activity.objects.filter(kind=ActivityKind.MEETING, occurred_at__gte=earliest).filter(
            Q(lead_id__in=lead_ids) | Q(contact_id__in=contact_ids)
        )
        self.meetings = {
            (("lead", a.lead_id) if a.lead_id else ("contact", a.contact_id)): a.occurred_at for a in meetings
        }
        last_ids = [e.last_message_id for e in enrollments if e.last_message_id]
        self.previous = {
            m.message_id: m
            for m in EmailMessage.objects.filter(
                organization_id__in=org_ids, direction=Direction.OUT, message_id__in=last_ids
            ).only("message_id", "subject", "references", "thread_root")
        }
        mailbox_ids = {e.mailbox_id for e in enrollments if e.mailbox_id}
        self.mailboxes = Mailbox.objects.select_related("user").in_bulk(list(mailbox_ids))
        self.runs: list[RunRow] = []
        self.messages: list[EmailRow] = []
        self.tasks: list[tuple[Enrollment, SequenceStep, RunRow, tuple[str, str] | None]] = []
        self.changed: list[Enrollment] = []


def run_due_steps(*, now: dt.datetime | None = None, limit: int = 500) -> PassResult:
    """One scheduler pass: resume paused-by-auto-reply enrollments, claim up to `limit` due ones, run them."""
    now = now or timezone.now()
    result = PassResult()
    result.resumed = resume_out_of_office(now)
    token, ids = claim_due(now=now, limit=limit)
    result.claimed = len(ids)
    if not ids:
        return result
    enrollments = list(Enrollment.objects.filter(pk__in=ids, claim_token=token).order_by("pk"))
    batch = _Batch(enrollments, now)
    for enrollment in enrollments:
        _advance(batch, enrollment, result)
    _commit(batch, token, result)
    return result


def _record(batch: _Batch, e: Enrollment) -> Lead | Contact | None:
    return batch.leads.get(e.lead_id) if e.lead_id else batch.contacts.get(e.contact_id)


def _stop(e: Enrollment, reason: str, now: dt.datetime, result: PassResult) -> None:
    e.state, e.stop_reason, e.next_run_at, e.finished_at = EnrollmentState.STOPPED, reason, None, now
    result.stopped += 1


def _stop_reason(batch: _Batch, e: Enrollment, record: Lead | Contact | None) -> str | None:
    if record is None:
        return StopReason.MANUAL
    if isinstance(record, Lead) and record.status in CLOSED_LEAD_STATUSES:
        return CLOSED_LEAD_STATUSES[record.status]
    suppressed = batch.suppressed.get(e.email)
    if suppressed:
        return SUPPRESSION_STOP.get(suppressed, StopReason.SUPPRESSED)
    key = ("lead", e.lead_id) if e.lead_id else ("contact", e.contact_id)
    if key in batch.meetings and batch.meetings[key] >= e.created_at:
        return StopReason.MEETING
    return None


def _advance(batch: _Batch, e: Enrollment, result: PassResult) -> None:
    now = batch.now
    batch.changed.append(e)
    record = _record(batch, e)
    reason = _stop_reason(batch, e, record)
    if reason:
        _stop(e, reason, now, result)
        return
    steps = batch.steps.get(e.sequence_id, [])
    zone = zone_of(getattr(record, "time_zone", "") or batch.organizations[e.organization_id].time_zone)
    rules = batch.rules[e.organization_id]
    emailed = False
    while True:
        if e.position >= len(steps):
            e.state, e.next_run_at, e.finished_at = EnrollmentState.FINISHED, None, now
            result.finished += 1
            return
        step = steps[e.position]
        if step.kind == StepKind.WAIT:
            batch.runs.append(RunRow(e.organization_id, e.pk, step.pk, "waited"))
            e.position += 1
            e.next_run_at = add_days(now, zone, max(step.wait_days, 0), business=step.business_days)
            return
        if emailed:  # one email per enrollment and pass: the next email step waits for the next pass
            e.next_run_at = now
            return
        if step.kind == StepKind.AUTO_EMAIL:
            when = next_send_time(now, zone, rules, step)
            if when > now:
                e.next_run_at = when
                result.deferred += 1
                return
            if not _queue_email(batch, e, step, record, result):
                return
            emailed = True
            e.position += 1
            continue
        # Manual email, call and generic task: made for the rep; the sequence waits until it is done.
        run = RunRow(e.organization_id, e.pk, step.pk, "task")
        batch.runs.append(run)
        batch.tasks.append(
            (e, step, run, _draft(batch, e, step, record) if step.kind == StepKind.MANUAL_EMAIL else None)
        )
        e.position += 1
        e.waiting_for_task = True
        e.next_run_at = None
        result.tasks += 1
        return


def _draft(batch: _Batch, e: Enrollment, step: SequenceStep, record: Any) -> tuple[str, str] | None:
    """A manual email step's draft for the rep: its template (in the recipient's language) or its own
    subject and body, with the merge fields filled in; None when it cannot be filled in."""
    subject, body = step.subject, step.body
    if step.template_id:
        variant = rendering.template_variant_for(step.template, rendering.language_for(record))
        if variant is not None:
            subject, body = variant.subject, variant.body
    mailbox = batch.mailboxes.get(e.mailbox_id) if e.mailbox_id else None
    context = rendering.merge_context(
        organization=batch.organizations[e.organization_id],
        lead=record if isinstance(record, Lead) else None,
        contact=record if isinstance(record, Contact) else None,
        sender=mailbox,
    )
    try:
        rendered = rendering.render_email(subject=subject, body=body, context=context)
    except rendering.MergeTemplateError:
        return None
    return rendered.subject, rendered.text


def _queue_email(batch: _Batch, e: Enrollment, step: SequenceStep, record: Any, result: PassResult) -> bool:
    mailbox = batch.mailboxes.get(e.mailbox_id) if e.mailbox_id else None
    if mailbox is None or not mailbox.is_active:
        mailbox = sender_mailbox(organization_id=e.organization_id, owner_id=e.owner_id, actor_user_id=e.enrolled_by_id)
        if mailbox is None:
            e.state, e.stop_reason, e.next_run_at = EnrollmentState.PAUSED, StopReason.NO_MAILBOX, None
            result.details.append(f"enrollment {e.pk}: no mailbox")
            return False
        e.mailbox = mailbox
    organization = batch.organizations[e.organization_id]
    language = rendering.language_for(record)
    subject, body = step.subject, step.body
    if step.template_id:
        variant = rendering.template_variant_for(step.template, language)
        if variant is not None:
            subject, body = variant.subject, variant.body
            language = variant.language
    previous = batch.previous.get(e.last_message_id) if e.last_message_id else None
    threaded = step.reply_in_thread and previous is not None
    if threaded and not subject.strip():
        subject = previous.subject if previous.subject.lower().startswith("re:") else f"Re: {previous.subject}"
    context = rendering.merge_context(
        organization=organization,
        lead=record if isinstance(record, Lead) else None,
        contact=record if isinstance(record, Contact) else None,
        sender=mailbox.user,
    )
    try:
        rendered = rendering.render_email(subject=subject, body=body, context=context)
    except rendering.MergeTemplateError as exc:
        batch.runs.append(RunRow(e.organization_id, e.pk, step.pk, "failed", detail=str(exc)[:500]))
        e.state, e.stop_reason, e.next_run_at = EnrollmentState.PAUSED, StopReason.SEND_FAILED, None
        return False
    domain = mailbox.email.rpartition("@")[2] or "localhost"
    message_id = new_message_id(domain=domain)
    text, html = rendered.text, rendered.html
    footer_text, footer_html = _footer(batch.rules[e.organization_id], organization, e, message_id, language)
    references = ""
    if threaded:
        references = " ".join([*previous.references.split(), previous.message_id][-20:])
    message = EmailRow(
        organization_id=e.organization_id,
        mailbox_id=mailbox.pk,
        direction=Direction.OUT,
        status=MessageStatus.QUEUED,
        message_id=message_id,
        in_reply_to=previous.message_id if threaded else "",
        references=references,
        thread_root=(previous.thread_root if threaded else "") or message_id,
        from_address=mailbox.email,
        from_name=mailbox.display_name or mailbox.user.get_full_name(),
        to_addresses=[e.email],
        subject=rendered.subject[:998],
        body_text=text + footer_text,
        body_html=html + footer_html,
        lead_id=e.lead_id,
        contact_id=e.contact_id,
        company_id=getattr(record, "company_id", None),
        owner_id=e.owner_id,
        team_id=e.team_id,
        agency_id=e.agency_id,
        template_id=step.template_id,
        enrollment_id=e.pk,
        step_id=step.pk,
        scheduled_at=batch.now,
        mailbox=mailbox,
    )
    batch.messages.append(message)
    run = RunRow(e.organization_id, e.pk, step.pk, "sent", message=message)
    batch.runs.append(run)
    e.last_message_id = message_id
    if not e.thread_root:
        e.thread_root = message.thread_root
    result.emails += 1
    return True


def _footer(rules: MailSettings, organization, e: Enrollment, message_id: str, language: str) -> tuple[str, str]:
    """The footer of a sequence email: who sends it (company, postal address) and the unsubscribe link."""
    from django.utils.html import escape

    url = unsubscribe_url(organization_id=e.organization_id, message_id=message_id)
    text, html = _footer_parts(rules.company_name or organization.name, rules.physical_address, language)
    return text.replace("\x00URL\x00", url), html.replace("\x00URL\x00", escape(url))


@lru_cache(maxsize=256)
def _footer_parts(company: str, address: str, language: str) -> tuple[str, str]:
    from django.utils.html import escape

    with translation.override(language):
        sender = ", ".join(x for x in (company, address) if x)
        line = _("Do not want these emails? Unsubscribe: %(url)s") % {"url": "\x00URL\x00"}
        link = _('Do not want these emails? <a href="%(url)s">Unsubscribe</a>') % {"url": "\x00URL\x00"}
    return f"\n\n--\n{sender}\n{line}\n", f'\n<hr><p style="font-size:12px;color:#666">{escape(sender)}<br>{link}</p>\n'


def _commit(batch: _Batch, token: str, result: PassResult) -> None:
    """Write the batch atomically; enrollments stopped meanwhile (a reply) or claimed by another worker
    (our claim expired) are dropped from it, and an already existing step run skips its enrollment."""
    with transaction.atomic():
        live = set(
            Enrollment.objects.select_for_update()
            .filter(pk__in=[e.pk for e in batch.changed], claim_token=token, state=EnrollmentState.ACTIVE)
            .values_list("pk", flat=True)
        )
        changed = [e for e in batch.changed if e.pk in live]
        runs = [r for r in batch.runs if r.enrollment_id in live]
        wanted = {(r.enrollment_id, r.step_id) for r in runs}
        done = set(StepRun.objects.filter(enrollment_id__in=live).values_list("enrollment_id", "step_id")) & wanted
        if done:  # another worker ran these steps: leave those enrollments as they are
            skip = {enrollment_id for enrollment_id, _ in done}
            changed = [e for e in changed if e.pk not in skip]
            runs = [r for r in runs if r.enrollment_id not in skip]
            live -= skip
        messages = [m for m in batch.messages if m.enrollment_id in live]
        _claim_for_sending(messages, batch.now, result)
        insert_emails(messages, batch.now)
        for e, step, run, draft in batch.tasks:
            if e.pk in live:
                make_task(e, step, run, draft=draft)
        insert_runs(runs, batch.now)
        _save_enrollments(changed, batch.now)
    if len(result.to_send) < len(messages):
        from insidesales.mail.outbox import wake

        transaction.on_commit(wake)


def _claim_for_sending(messages: list[EmailRow], now: dt.datetime, result: PassResult) -> None:
    """Write the emails their mailboxes may send now already claimed by this worker (saves the outbox
    a round of reading and claiming them again); the others are queued."""
    from insidesales.mail.outbox import take_allowance

    if not messages:
        return
    wanted: dict[int, int] = {}
    for message in messages:
        wanted[message.mailbox_id] = wanted.get(message.mailbox_id, 0) + 1
    left = take_allowance(wanted, now)
    token = result.send_token = result.send_token or uuid.uuid4().hex
    until = now + dt.timedelta(seconds=settings.MAIL_CLAIM_SECONDS)
    for message in messages:
        if left.get(message.mailbox_id, 0) > 0:
            left[message.mailbox_id] -= 1
            message.status, message.claim_token, message.claimed_until = MessageStatus.SENDING, token, until
            result.to_send.append(message)


ENROLLMENT_FIELDS = (
    "state",
    "stop_reason",
    "position",
    "next_run_at",
    "finished_at",
    "thread_root",
    "last_message_id",
    "mailbox",
    "waiting_for_task",
)


def _save_enrollments(changed: list[Enrollment], now: dt.datetime) -> None:
    """Write the batch's enrollments back and release their claims (`bulk_update`'s CASE expressions cost
    milliseconds per row at this size): on PostgreSQL one UPDATE joined to the rows as arrays (one round
    trip), on SQLite one prepared UPDATE run for every row (in-process, no round trips to save)."""
    if not changed:
        return
    from insidesales.core.bulk_insert import db_datetime

    quote = connection.ops.quote_name
    table = quote(Enrollment._meta.db_table)
    fields = [Enrollment._meta.get_field(name) for name in ENROLLMENT_FIELDS]
    vendor = connection.vendor
    times = [isinstance(f, models.DateTimeField) for f in fields]
    attnames = [f.attname for f in fields]
    rows = []
    updated = db_datetime(now, vendor)
    for e in changed:
        values = [getattr(e, name) for name in attnames]
        for index, is_time in enumerate(times):
            if is_time and values[index] is not None:
                values[index] = db_datetime(values[index], vendor)
        rows.append([*values, e.pk])
        e.claimed_until, e.claim_token, e.updated_at = None, "", now
    released = "claimed_until = NULL, claim_token = '', updated_at = %s"
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
            names = ", ".join(quote(f.column) for f in fields)
            columns = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
            cursor.execute(
                f"UPDATE {table} AS t SET {columns}, {released}"
                f" FROM unnest({arrays}, %s::bigint[]) AS v({names}, id) WHERE t.id = v.id",
                [updated, *(list(column) for column in zip(*rows, strict=True))],
            )
        else:
            columns = ", ".join(f"{quote(f.column)} = %s" for f in fields)
            sql = f"UPDATE {table} SET {columns}, {released} WHERE id = %s"
            cursor.executemany(sql, [[*row[:-1], updated, row[-1]] for row in rows])
