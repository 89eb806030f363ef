"""Reads of sequences and enrollments, always scoped to the acting member, and the per-sequence report.

Sequences are seen like call campaigns: admins all; managers their teams' and those for everyone; inside and
field reps their team's and those for everyone; agency reps their agency's. Enrollments carry the owner, team
and agency of their lead or contact and are seen like the record. The report counts only the enrollments the
member sees, in a handful of grouped queries (a sequence may have 100,000 enrollments).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from insidesales.core.errors import one_or_not_found
from insidesales.core.pagination import Page, paginate
from insidesales.crm.filters import CONTACT_FILTERS, LEAD_FILTERS
from insidesales.crm.models import Contact, Lead, SavedView
from insidesales.mail.models import (
    Direction,
    EmailMessage,
    Enrollment,
    EnrollmentState,
    InboundKind,
    MessageStatus,
    Sequence,
    SequenceStatus,
    SequenceStep,
    StepRun,
    StopReason,
)
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import managed_team_ids, record_scope, visible_records

STEP_OUTCOMES = ("sent", "queued", "task", "callback", "waited", "skipped", "failed")
SENT_STATUSES = (MessageStatus.SENT, MessageStatus.HANDED)


# --- sequences -------------------------------------------------------------------------------------


def sequence_scope(membership: Membership) -> Q | None:
    if not membership.is_active:
        return None
    role = membership.role
    if role == Role.ADMIN:
        return Q()
    if role == Role.AGENCY_REP:
        if membership.agency_id is None or not membership.agency.is_active:
            return None
        return Q(agency_id=membership.agency_id)
    if role == Role.MANAGER:
        return Q(agency__isnull=True) & (Q(team__isnull=True) | Q(team_id__in=managed_team_ids(membership)))
    if role in (Role.INSIDE_REP, Role.FIELD_REP):
        team = Q(team__isnull=True)
        if membership.team_id:
            team |= Q(team_id=membership.team_id)
        return Q(agency__isnull=True) & team
    return None


def sequence_list(*, membership: Membership) -> QuerySet[Sequence]:
    qs = Sequence.objects.filter(organization_id=membership.organization_id)
    scope = sequence_scope(membership)
    return qs.none() if scope is None else qs.filter(scope)


def sequence_get(*, membership: Membership, sequence_id: Any) -> Sequence:
    return one_or_not_found(sequence_list(membership=membership), sequence_id)


def sequences_to_enroll(*, membership: Membership) -> QuerySet[Sequence]:
    """The active sequences a member may enroll records in, by name."""
    return sequence_list(membership=membership).filter(status=SequenceStatus.ACTIVE).order_by("name", "id")


def step_list(*, sequence: Sequence) -> list[SequenceStep]:
    return list(SequenceStep.objects.filter(sequence=sequence).select_related("template").order_by("position"))


def step_get(*, membership: Membership, sequence_id: Any, step_id: Any) -> SequenceStep:
    sequence = sequence_get(membership=membership, sequence_id=sequence_id)
    return one_or_not_found(SequenceStep.objects.filter(sequence=sequence).select_related("sequence"), step_id)


# --- enrollments -----------------------------------------------------------------------------------


def enrollment_list(
    *, membership: Membership, sequence: Sequence | None = None, state: str | None = None
) -> QuerySet[Enrollment]:
    qs = Enrollment.objects.filter(organization_id=membership.organization_id)
    scope = record_scope(membership)
    if scope is None:
        return qs.none()
    qs = qs.filter(scope)
    if sequence is not None:
        qs = qs.filter(sequence=sequence)
    if state:
        qs = qs.filter(state=state)
    return qs


def enrollment_page(
    *,
    membership: Membership,
    sequence: Sequence | None = None,
    state: str | None = None,
    lead_id: int | None = None,
    contact_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Newest first, by id (the primary key orders enrollments as they were made)."""
    qs = enrollment_list(membership=membership, sequence=sequence, state=state)
    if lead_id is not None:
        qs = qs.filter(lead_id=lead_id)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    qs = qs.select_related("sequence", "lead", "contact", "owner")
    return paginate(qs, order="-id", cursor=cursor, limit=limit)


def enrollment_get(*, membership: Membership, enrollment_id: Any) -> Enrollment:
    visible = enrollment_list(membership=membership).select_related("sequence", "lead", "contact")
    return one_or_not_found(visible, enrollment_id)


def record_enrollments(*, membership: Membership, lead: Lead | None = None, contact: Contact | None = None) -> list:
    """A record's enrollments, open ones first (the caller has already checked the record is visible)."""
    qs = enrollment_list(membership=membership).select_related("sequence")
    qs = qs.filter(lead=lead) if lead is not None else qs.filter(contact=contact)
    return sorted(qs.order_by("-id")[:50], key=lambda e: not e.is_open)


# --- saved views -----------------------------------------------------------------------------------

FILTERSETS = {"lead": (Lead, LEAD_FILTERS), "contact": (Contact, CONTACT_FILTERS)}


def saved_view_records(*, membership: Membership, view: SavedView) -> QuerySet:
    """The leads or contacts a saved view shows this member, in its order (as call campaigns read them)."""
    model, filterset = FILTERSETS[view.record_type]
    errors: dict[str, list[str]] = {}
    cleaned = filterset.clean(view.filters or {}, errors)
    qs = filterset.apply(visible_records(model.objects.all(), membership), {} if errors else cleaned, membership)
    sort = view.sort if view.sort.lstrip("-") in filterset.sorts else filterset.default_sort
    return qs.order_by(sort, "-id" if sort.startswith("-") else "id")


# --- the report ------------------------------------------------------------------------------------


def _prefixed(scope: Q, prefix: str) -> Q:
    """A record-scope Q (owner_id=..., team_id=...) applied through a relation (`enrollment__`)."""
    out = Q()
    out.connector, out.negated = scope.connector, scope.negated
    for child in scope.children:
        out.children.append(_prefixed(child, prefix) if isinstance(child, Q) else (f"{prefix}{child[0]}", child[1]))
    return out


def _answered(kind: str) -> Exists:
    """Whether a sent step email got a received message of `kind` in answer: one whose In-Reply-To is
    its Message-ID, or one later in its thread before the enrollment's next email."""
    later_email = EmailMessage.objects.filter(
        enrollment_id=OuterRef(OuterRef("enrollment_id")),
        direction=Direction.OUT,
        created_at__gt=OuterRef(OuterRef("created_at")),
        created_at__lt=OuterRef("received_at"),
    )
    answers = EmailMessage.objects.filter(
        organization_id=OuterRef("organization_id"), direction=Direction.IN, kind=kind
    ).filter(
        Q(in_reply_to=OuterRef("message_id"))
        | (Q(thread_root=OuterRef("thread_root"), received_at__gt=OuterRef("sent_time")) & ~Exists(later_email))
    )
    return Exists(answers)


def sequence_report(*, membership: Membership, sequence: Sequence) -> dict[str, Any]:
    """Enrollments by state and stop reason, meetings, and per step: runs by outcome, emails sent, replies
    and bounces. Only what this member sees is counted."""
    scope = record_scope(membership)
    enrollments = Enrollment.objects.filter(sequence=sequence)
    if scope is None:
        enrollments = enrollments.none()
        through = Q(pk__in=[])
    else:
        enrollments = enrollments.filter(scope)
        through = _prefixed(scope, "enrollment__")
    by_state: Counter = Counter()
    stopped: Counter = Counter()
    for state, reason, n in (
        enrollments.order_by()
        .values("state", "stop_reason")
        .annotate(n=Count("id"))
        .values_list("state", "stop_reason", "n")
    ):
        by_state[state] += n
        if state == EnrollmentState.STOPPED:
            stopped[reason or StopReason.MANUAL] += n
    enrolled = sum(by_state.values())
    steps = step_list(sequence=sequence)
    runs: dict[int, Counter] = {step.pk: Counter() for step in steps}
    for step_id, outcome, n in (
        StepRun.objects.filter(step__sequence=sequence, enrollment__sequence=sequence)
        .filter(through)
        .order_by()
        .values("step_id", "outcome")
        .annotate(n=Count("id"))
        .values_list("step_id", "outcome", "n")
    ):
        runs.setdefault(step_id, Counter())[outcome] += n
    emails = (
        EmailMessage.objects.filter(
            organization_id=sequence.organization_id,
            step__sequence=sequence,
            direction=Direction.OUT,
            status__in=SENT_STATUSES,
        )
        .filter(through)
        .annotate(sent_time=Coalesce("sent_at", "created_at"))
        .annotate(replied=_answered(InboundKind.MESSAGE), bounced=_answered(InboundKind.BOUNCE))
        .order_by()
        .values("step_id")
        .annotate(
            sent=Count("id"),
            replies=Count("id", filter=Q(replied=True)),
            bounces=Count("id", filter=Q(bounced=True)),
        )
        .values_list("step_id", "sent", "replies", "bounces")
    )
    mail: dict[int, tuple[int, int, int]] = {step_id: (s, r, b) for step_id, s, r, b in emails}
    step_rows = []
    for step in steps:
        sent, replies, bounces = mail.get(step.pk, (0, 0, 0))
        outcomes = runs.get(step.pk, Counter())
        step_rows.append(
            {
                "step": step,
                "id": step.pk,
                "position": step.position,
                "kind": step.kind,
                "runs": {outcome: outcomes.get(outcome, 0) for outcome in STEP_OUTCOMES},
                "runs_total": sum(outcomes.values()),
                "emails_sent": sent,
                "replies": replies,
                "bounces": bounces,
                "reply_rate": _pct(replies, sent),
            }
        )
    replied = stopped.get(StopReason.REPLIED, 0)
    return {
        "enrolled": enrolled,
        "active": by_state.get(EnrollmentState.ACTIVE, 0),
        "paused": by_state.get(EnrollmentState.PAUSED, 0),
        "finished": by_state.get(EnrollmentState.FINISHED, 0),
        "stopped": by_state.get(EnrollmentState.STOPPED, 0),
        "stopped_by_reason": dict(stopped),
        "replied": replied,
        "replied_pct": _pct(replied, enrolled),
        "bounced": stopped.get(StopReason.BOUNCED, 0),
        "unsubscribed": stopped.get(StopReason.UNSUBSCRIBED, 0),
        "meetings": stopped.get(StopReason.MEETING, 0),
        "steps": step_rows,
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def sequence_summaries(*, membership: Membership, sequences: list[Sequence]) -> dict[int, dict[str, Any]]:
    """For a list page: per sequence, enrolled, active and replied (count and share) among the visible
    enrollments, in one grouped query."""
    scope = record_scope(membership)
    out = {s.pk: {"enrolled": 0, "active": 0, "replied": 0, "replied_pct": None} for s in sequences}
    if scope is None or not sequences:
        return out
    rows = (
        Enrollment.objects.filter(sequence_id__in=list(out))
        .filter(scope)
        .order_by()
        .values("sequence_id")
        .annotate(
            enrolled=Count("id"),
            active=Count("id", filter=Q(state=EnrollmentState.ACTIVE)),
            replied=Count("id", filter=Q(state=EnrollmentState.STOPPED, stop_reason=StopReason.REPLIED)),
        )
        .values_list("sequence_id", "enrolled", "active", "replied")
    )
    for sequence_id, enrolled, active, replied in rows:
        out[sequence_id] = {
            "enrolled": enrolled,
            "active": active,
            "replied": replied,
            "replied_pct": _pct(replied, enrolled),
        }
    return out
