"""Reads of the web form settings: admins and managers see the organization's forms, their submissions and
spam counts; everyone else gets NotFound, as if forms did not exist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import NotFound
from insidesales.crm.models import Contact, CustomField, Lead, RecordType
from insidesales.inbound.models import RejectedSample, RejectionCount, RejectReason, Submission, WebForm
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import managed_team_ids, visible_records

VIEWERS = (Role.ADMIN, Role.MANAGER)
RECENT_DAYS = 7
SAMPLES_SHOWN = 50


def can_view_forms(membership: Membership | None) -> bool:
    return membership is not None and membership.role in VIEWERS


def _require_viewer(membership: Membership) -> None:
    if not can_view_forms(membership):
        raise NotFound()


def standard_fields() -> list[tuple[str, str]]:
    """The lead's own fields a form may ask for, with their labels in the current language."""
    return [
        ("first_name", _("First name")),
        ("last_name", _("Last name")),
        ("email", _("Email")),
        ("phone", _("Phone")),
        ("company_name", _("Company")),
        ("title", _("Job title")),
        ("country", _("Country")),
        ("notes", _("Notes")),
    ]


def field_catalog(*, membership: Membership) -> dict[str, str]:
    """Every field a form of this organization may have, key → label, in the order the editor offers them:
    the lead's own fields, then the organization's custom lead fields as "custom:<key>"."""
    catalog = dict(standard_fields())
    custom = CustomField.objects.filter(organization_id=membership.organization_id, record_type=RecordType.LEAD)
    for key, label in custom.order_by("position", "id").values_list("key", "label"):
        catalog[f"custom:{key}"] = label
    return catalog


def web_form_list(*, membership: Membership) -> QuerySet[WebForm]:
    """The organization's forms by name, each with `recent_submissions` (the last seven days)."""
    _require_viewer(membership)
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    return (
        WebForm.objects.filter(organization_id=membership.organization_id)
        .annotate(recent_submissions=Count("submissions", filter=Q(submissions__received_at__gte=since)))
        .order_by("name", "id")
    )


def web_form_queryset(*, membership: Membership) -> QuerySet[WebForm]:
    """The organization's forms, for the API's keyset pages."""
    _require_viewer(membership)
    return WebForm.objects.filter(organization_id=membership.organization_id)


def web_form_get(*, membership: Membership, form_id: Any, for_update: bool = False) -> WebForm:
    """One form of the organization; NotFound for other organizations' forms and for those who may not see
    forms at all (reps, agencies), whether it exists or not."""
    _require_viewer(membership)
    try:
        pk = int(form_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    queryset = WebForm.objects.filter(organization_id=membership.organization_id)
    if for_update:
        queryset = queryset.select_for_update()
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def web_form_submissions(*, membership: Membership, form: WebForm) -> QuerySet[Submission]:
    """The form's submissions the member may see (for keyset pages by `-received_at`): an admin all, a manager
    those routed to their teams or to themselves — what was sent names people whose records they may not see."""
    _require_viewer(membership)
    queryset = Submission.objects.filter(organization_id=membership.organization_id, form_id=form.pk)
    if membership.role != Role.ADMIN:
        queryset = queryset.filter(Q(team_id__in=managed_team_ids(membership)) | Q(owner_id=membership.user_id))
    return queryset


def visible_record_ids(*, membership: Membership, submissions: list[Submission]) -> tuple[set[int], set[int]]:
    """Which of the submissions' leads and contacts the member may open (the others are shown unnamed)."""
    lead_ids = {s.lead_id for s in submissions if s.lead_id}
    contact_ids = {s.contact_id for s in submissions if s.contact_id}
    leads = set(visible_records(Lead.objects.filter(pk__in=lead_ids), membership).values_list("pk", flat=True))
    contacts = set(visible_records(Contact.objects.filter(pk__in=contact_ids), membership).values_list("pk", flat=True))
    return leads, contacts


def web_form_rejections(*, membership: Membership, form: WebForm, now: dt.datetime | None = None) -> list[dict]:
    """Turned-away submissions per reason: {"reason", "label", "day", "week"} for every reason, in the
    reasons' order (zeros included, so the table always reads the same)."""
    _require_viewer(membership)
    now = now or timezone.now()
    day, week = now - dt.timedelta(hours=24), now - dt.timedelta(days=7)
    sums = (
        RejectionCount.objects.filter(organization_id=membership.organization_id, form_id=form.pk, hour__gte=week)
        .values("reason")
        .annotate(week=Sum("count"), day=Sum("count", filter=Q(hour__gte=day)))
    )
    by_reason = {row["reason"]: row for row in sums}
    return [
        {
            "reason": reason,
            "label": label,
            "day": (by_reason.get(reason) or {}).get("day") or 0,
            "week": (by_reason.get(reason) or {}).get("week") or 0,
        }
        for reason, label in RejectReason.choices
    ]


def web_form_rejected_samples(*, membership: Membership, form: WebForm, limit: int = SAMPLES_SHOWN):
    """The latest kept samples of turned-away submissions, newest first."""
    _require_viewer(membership)
    return list(
        RejectedSample.objects.filter(organization_id=membership.organization_id, form_id=form.pk).order_by(
            "-received_at", "-id"
        )[:limit]
    )
