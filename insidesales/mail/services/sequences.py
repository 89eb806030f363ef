"""Enrolling leads and contacts in sequences, and stopping, pausing and resuming them.

The steps themselves are run by the mailer worker (`insidesales.mail.engine`). Here: who may be enrolled
(an address, not suppressed, not converted or disqualified, at most one open sequence unless allowed),
and the reactions to what comes back (a reply stops, an out-of-office pauses, a hard bounce stops).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.crm.models import Contact, Lead, LeadStatus
from insidesales.inbound.webhook_events import emit_email_replied
from insidesales.mail.models import (
    EmailMessage,
    Enrollment,
    EnrollmentState,
    InboundKind,
    Mailbox,
    Sequence,
    SequenceStatus,
    StepKind,
    StopReason,
)
from insidesales.mail.services.suppression import normalize_address, suppressed_among
from insidesales.orgs.models import Membership

OPEN_STATES = (EnrollmentState.ACTIVE, EnrollmentState.PAUSED)
# How long an out-of-office reply pauses a lead's sequences before they go on by themselves.
OUT_OF_OFFICE_PAUSE = dt.timedelta(days=3)
CLOSED_LEAD_STATUSES = {LeadStatus.CONVERTED: StopReason.CONVERTED, LeadStatus.DISQUALIFIED: StopReason.DISQUALIFIED}

SKIP_MESSAGES = {
    "no_address": _("no email address"),
    "suppressed": _("address on the suppression list"),
    "closed": _("lead converted or disqualified"),
    "already": _("already in this sequence"),
    "other_sequence": _("already in another active sequence"),
}


@dataclass
class EnrollResult:
    """What a bulk enrollment did: the new enrollments and, per reason, how many records were skipped."""

    enrolled: list[Enrollment] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def skipped_text(self) -> str:
        return ", ".join(f"{SKIP_MESSAGES.get(reason, reason)}: {count}" for reason, count in self.skipped.items())


def _sends_email(sequence: Sequence) -> bool:
    return sequence.steps.filter(kind=StepKind.AUTO_EMAIL).exists()


def sender_mailbox(*, organization_id: int, owner_id: int | None, actor_user_id: int | None) -> Mailbox | None:
    """The mailbox a lead's sequence emails go out from: its owner's, else the enrolling user's."""
    for user_id in (owner_id, actor_user_id):
        if user_id is None:
            continue
        mailbox = (
            Mailbox.objects.filter(organization_id=organization_id, user_id=user_id, is_active=True)
            .order_by("id")
            .first()
        )
        if mailbox is not None:
            return mailbox
    return None


def _check_sequence(actor: Membership, sequence: Sequence) -> None:
    if sequence.organization_id != actor.organization_id:
        raise NotFound()
    if sequence.status != SequenceStatus.ACTIVE:
        raise Conflict(_("The sequence “%(name)s” is not active.") % {"name": sequence.name})


def enrollments_create(
    *,
    actor: Membership,
    sequence: Sequence,
    leads: Iterable[Lead] = (),
    contacts: Iterable[Contact] = (),
    now: dt.datetime | None = None,
) -> EnrollResult:
    """Enroll records the caller has already scoped to `actor`. Records that cannot be enrolled are
    counted in `skipped` by reason; the rest start at the first step, due now."""
    _check_sequence(actor, sequence)
    now = now or timezone.now()
    organization_id = actor.organization_id
    records: list[Lead | Contact] = [*leads, *contacts]
    result = EnrollResult()
    if not records:
        return result
    settings_parallel = _organization_allows_parallel(organization_id)
    addresses = [normalize_address(r.email) for r in records]
    suppressed = suppressed_among(organization_id=organization_id, emails=addresses)
    lead_ids = [r.pk for r in records if isinstance(r, Lead)]
    contact_ids = [r.pk for r in records if isinstance(r, Contact)]
    open_here, open_elsewhere = _open_enrollments(sequence, lead_ids, contact_ids)
    needs_mailbox = _sends_email(sequence)
    mailboxes: dict[int | None, Mailbox | None] = {}
    rows = []
    for record, address in zip(records, addresses, strict=True):
        key = ("lead" if isinstance(record, Lead) else "contact", record.pk)
        if key in open_here:
            result.skipped["already"] += 1
            continue
        if key in open_elsewhere and not (sequence.allow_parallel or settings_parallel):
            result.skipped["other_sequence"] += 1
            continue
        if isinstance(record, Lead) and record.status in CLOSED_LEAD_STATUSES:
            result.skipped["closed"] += 1
            continue
        if not address or "@" not in address:
            result.skipped["no_address"] += 1
            continue
        if address in suppressed:
            result.skipped["suppressed"] += 1
            continue
        if record.owner_id not in mailboxes:
            mailboxes[record.owner_id] = sender_mailbox(
                organization_id=organization_id, owner_id=record.owner_id, actor_user_id=actor.user_id
            )
        mailbox = mailboxes[record.owner_id]
        if needs_mailbox and mailbox is None:
            raise ValidationError(
                _("Connect a mailbox first (Settings → Mailboxes): this sequence sends emails."),
                fields={"mailbox": [_("No mailbox to send from.")]},
            )
        rows.append(
            Enrollment(
                organization_id=organization_id,
                sequence=sequence,
                lead=record if isinstance(record, Lead) else None,
                contact=record if isinstance(record, Contact) else None,
                email=address,
                mailbox=mailbox,
                owner_id=record.owner_id,
                team_id=record.team_id,
                agency_id=record.agency_id,
                enrolled_by_id=actor.user_id,
                state=EnrollmentState.ACTIVE,
                position=0,
                next_run_at=now,
            )
        )
    try:
        with transaction.atomic():
            result.enrolled = Enrollment.objects.bulk_create(rows, batch_size=2000)
    except IntegrityError as exc:  # enrolled by a concurrent request in the meantime
        raise Conflict(_("Some of these records were just enrolled by someone else; try again.")) from exc
    return result


def enrollment_create(
    *, actor: Membership, sequence: Sequence, lead: Lead | None = None, contact: Contact | None = None
) -> Enrollment:
    """Enroll one record, or say clearly why it cannot be."""
    result = enrollments_create(
        actor=actor, sequence=sequence, leads=[lead] if lead else [], contacts=[contact] if contact else []
    )
    if result.enrolled:
        return result.enrolled[0]
    reason = next(iter(result.skipped), "no_address")
    raise Conflict(_("Not enrolled: %(why)s.") % {"why": SKIP_MESSAGES[reason]}, extra={"reason": reason})


def _organization_allows_parallel(organization_id: int) -> bool:
    from insidesales.mail.models import MailSettings

    return bool(
        MailSettings.objects.filter(organization_id=organization_id)
        .values_list("allow_parallel_sequences", flat=True)
        .first()
    )


def _open_enrollments(
    sequence: Sequence, lead_ids: list[int], contact_ids: list[int]
) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """(records open in this sequence, records open in another sequence that does not allow parallels)."""
    here: set[tuple[str, int]] = set()
    elsewhere: set[tuple[str, int]] = set()
    for kind, ids in (("lead", lead_ids), ("contact", contact_ids)):
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            rows = Enrollment.objects.filter(
                organization_id=sequence.organization_id, state__in=OPEN_STATES, **{f"{kind}_id__in": chunk}
            ).values_list(f"{kind}_id", "sequence_id", "sequence__allow_parallel")
            for record_id, sequence_id, parallel in rows:
                if sequence_id == sequence.pk:
                    here.add((kind, record_id))
                elif not parallel:
                    elsewhere.add((kind, record_id))
    return here, elsewhere


# --- stopping, pausing, resuming -------------------------------------------------------------------


def _close(qs, *, state: str, reason: str, now: dt.datetime) -> int:
    return qs.filter(state__in=OPEN_STATES).update(
        state=state, stop_reason=reason, next_run_at=None, finished_at=now, claimed_until=None, updated_at=now
    )


def enrollment_stop(*, actor: Membership, enrollment: Enrollment, reason: str = StopReason.MANUAL) -> Enrollment:
    if enrollment.organization_id != actor.organization_id:
        raise NotFound()
    if not enrollment.is_open:
        raise Conflict(_("This enrollment has already ended."))
    now = timezone.now()
    _close(Enrollment.objects.filter(pk=enrollment.pk), state=EnrollmentState.STOPPED, reason=reason, now=now)
    enrollment.refresh_from_db()
    return enrollment


def enrollment_pause(*, actor: Membership, enrollment: Enrollment) -> Enrollment:
    if enrollment.organization_id != actor.organization_id:
        raise NotFound()
    updated = Enrollment.objects.filter(pk=enrollment.pk, state=EnrollmentState.ACTIVE).update(
        state=EnrollmentState.PAUSED, next_run_at=None, claimed_until=None, updated_at=timezone.now()
    )
    if not updated:
        raise Conflict(_("Only an active enrollment can be paused."))
    enrollment.refresh_from_db()
    return enrollment


def enrollment_resume(*, actor: Membership, enrollment: Enrollment) -> Enrollment:
    if enrollment.organization_id != actor.organization_id:
        raise NotFound()
    now = timezone.now()
    updated = Enrollment.objects.filter(pk=enrollment.pk, state=EnrollmentState.PAUSED).update(
        state=EnrollmentState.ACTIVE, stop_reason="", next_run_at=now, updated_at=now
    )
    if not updated:
        raise Conflict(_("Only a paused enrollment can be resumed."))
    enrollment.refresh_from_db()
    return enrollment


def enrollments_stop_for_record(*, lead: Lead | None = None, contact: Contact | None = None, reason: str) -> int:
    """Stop every open enrollment of a record (a meeting booked, a lead converted or disqualified)."""
    if lead is None and contact is None:
        return 0
    qs = Enrollment.objects.filter(lead=lead) if lead is not None else Enrollment.objects.filter(contact=contact)
    return _close(qs, state=EnrollmentState.STOPPED, reason=reason, now=timezone.now())


def enrollments_stop_for_address(*, organization_id: int, email: str, reason: str) -> int:
    address = normalize_address(email)
    if not address:
        return 0
    qs = Enrollment.objects.filter(organization_id=organization_id, email=address)
    return _close(qs, state=EnrollmentState.STOPPED, reason=reason, now=timezone.now())


def enrollments_react_to_inbound(*, message: EmailMessage) -> None:
    """What a newly received message does to sequences: a hard bounce stops the failed address's
    enrollments; an out-of-office reply pauses the sender's for a few days; any other message from the
    lead's address, from the record, or in the thread of a sequence email stops them (replied)."""
    now = timezone.now()
    organization_id = message.organization_id
    if message.kind == InboundKind.BOUNCE:
        # Only hard failures of addresses one of our emails went to (checked when the bounce was stored):
        # a forged bounce naming someone else stops nothing.
        for address in (message.bounce or {}).get("verified_hard", []):
            enrollments_stop_for_address(organization_id=organization_id, email=address, reason=StopReason.BOUNCED)
        return
    match = Q(email=normalize_address(message.from_address))
    if message.lead_id:
        match |= Q(lead_id=message.lead_id)
    if message.contact_id:
        match |= Q(contact_id=message.contact_id)
    thread_ids = {message.thread_root, message.in_reply_to, *message.references.split()} - {""}
    if thread_ids:
        match |= Q(thread_root__in=thread_ids) | Q(last_message_id__in=thread_ids)
    qs = Enrollment.objects.filter(organization_id=organization_id).filter(match)
    if message.kind == InboundKind.AUTO_REPLY:
        qs.filter(state=EnrollmentState.ACTIVE).update(
            state=EnrollmentState.PAUSED,
            stop_reason=StopReason.OUT_OF_OFFICE,
            next_run_at=now + OUT_OF_OFFICE_PAUSE,
            claimed_until=None,
            updated_at=now,
        )
        return
    _close(qs, state=EnrollmentState.STOPPED, reason=StopReason.REPLIED, now=now)
    if message.lead_id or message.contact_id:
        emit_email_replied(message)
