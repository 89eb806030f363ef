"""Speed to lead: the first call or email by a person after an inbound inquiry, and the report of how fast
that happened, per rep, team, source and hour of day.

`first_touch_record` is called by the phone and email apps when a person calls or emails a lead or
contact; it stops the inquiry's response clock. The report reads only inquiries the viewer may see.
"""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.crm.models import LeadSource, Task
from insidesales.inbound.models import Submission
from insidesales.orgs.models import Membership, Role, Team, User
from insidesales.orgs.visibility import managed_team_ids

FAST_SECONDS = 5 * 60
GROUPS = ("rep", "team", "source", "hour")
REPORT_LIMIT = 100_000


def first_touch_record(
    *,
    lead_ids: list[int] = (),  # type: ignore[assignment]
    contact_ids: list[int] = (),  # type: ignore[assignment]
    user_id: int | None,
    kind: str,
    at: dt.datetime,
) -> int:
    """A person (`user_id`) called or emailed these leads/contacts at `at`: their untouched inquiries
    received before then are answered. Returns how many inquiries this touched."""
    if not user_id or not (lead_ids or contact_ids):
        return 0
    scope = Q()
    if lead_ids:
        scope |= Q(lead_id__in=list(lead_ids))
    if contact_ids:
        scope |= Q(contact_id__in=list(contact_ids))
    touched = 0
    rows = Submission.objects.filter(scope, first_touch_at__isnull=True, received_at__lte=at).values_list(
        "pk", "received_at", "lead_id", "contact_id"
    )
    for pk, received, lead_id, contact_id in rows:
        done = Submission.objects.filter(pk=pk, first_touch_at__isnull=True).update(
            first_touch_at=at,
            first_touch_by_id=user_id,
            first_touch_kind=kind[:10],
            response_seconds=max(0, int((at - received).total_seconds())),
            sla_due_at=None,
        )
        touched += done
        if done and kind == "call":
            # The inquiry's "call back" task (due when it came in) is what this call did.
            record = {"lead_id": lead_id} if lead_id else {"contact_id": contact_id}
            Task.objects.filter(**record, due_at=received, completed_at__isnull=True).update(completed_at=at)
    return touched


def report_scope(membership: Membership):
    """The inquiries whose speed this member may see: admins all, managers their teams', others their own."""
    queryset = Submission.objects.filter(organization_id=membership.organization_id)
    if membership.role == Role.ADMIN:
        return queryset
    if membership.role == Role.MANAGER:
        teams = managed_team_ids(membership)
        return queryset.filter(
            Q(team_id__in=teams) | Q(owner_id=membership.user_id) | Q(first_touch_by_id=membership.user_id)
        )
    return queryset.filter(Q(owner_id=membership.user_id) | Q(first_touch_by_id=membership.user_id))


@dataclass
class Row:
    key: Any
    label: str
    inquiries: int = 0
    answered: int = 0
    fast: int = 0
    missed_deadline: int = 0
    seconds: list[int] = field(default_factory=list)

    @property
    def median_seconds(self) -> int | None:
        return int(statistics.median(self.seconds)) if self.seconds else None

    @property
    def p90_seconds(self) -> int | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]

    @property
    def fast_share(self) -> float | None:
        return self.fast / self.inquiries if self.inquiries else None

    @property
    def unanswered(self) -> int:
        return self.inquiries - self.answered

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "inquiries": self.inquiries,
            "answered": self.answered,
            "unanswered": self.unanswered,
            "answered_within_5_min": self.fast,
            "missed_deadline": self.missed_deadline,
            "median_seconds": self.median_seconds,
            "p90_seconds": self.p90_seconds,
        }


def speed_report(
    *, membership: Membership, group_by: str, days: int = 30, now: dt.datetime | None = None
) -> tuple[list[Row], Row]:
    """Rows per group (rep: who answered, else who had it; team; source; hour of day in the viewer's time
    zone) and a total, over inquiries received in the last `days` days."""
    if group_by not in GROUPS:
        group_by = "rep"
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    rows = (
        report_scope(membership)
        .filter(received_at__gte=since, received_at__lte=now)
        .order_by()
        .values_list(
            "owner_id", "first_touch_by_id", "team_id", "source", "received_at", "response_seconds", "sla_missed"
        )
    )[:REPORT_LIMIT]
    try:
        zone = zoneinfo.ZoneInfo(membership.user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    groups: dict[Any, Row] = {}
    total = Row(key=None, label=_("All"))
    for owner_id, touch_by, team_id, source, received, seconds, missed in rows:
        if group_by == "rep":
            key = touch_by or owner_id
        elif group_by == "team":
            key = team_id
        elif group_by == "source":
            key = source or ""
        else:
            key = received.astimezone(zone).hour
        for row in (groups.setdefault(key, Row(key=key, label="")), total):
            row.inquiries += 1
            row.missed_deadline += bool(missed)
            if seconds is not None:
                row.answered += 1
                row.seconds.append(seconds)
                row.fast += seconds <= FAST_SECONDS
    _label(groups, group_by, membership)
    ordered = sorted(
        groups.values(), key=lambda r: (r.key is None, r.key if group_by == "hour" else r.label.casefold())
    )
    return ordered, total


def _label(groups: dict[Any, Row], group_by: str, membership: Membership) -> None:
    if group_by == "rep":
        names = {u.pk: u.full_name or u.email for u in User.objects.filter(pk__in=[k for k in groups if k])}
        for key, row in groups.items():
            row.label = names.get(key, _("Unassigned")) if key else _("Unassigned")
    elif group_by == "team":
        names = dict(
            Team.objects.filter(
                organization_id=membership.organization_id, pk__in=[k for k in groups if k]
            ).values_list("pk", "name")
        )
        for key, row in groups.items():
            row.label = names.get(key, _("No team")) if key else _("No team")
    elif group_by == "source":
        labels = dict(LeadSource.choices)
        for key, row in groups.items():
            row.label = str(labels.get(key, key or _("Unknown")))
    else:
        for key, row in groups.items():
            row.label = f"{key:02d}:00–{(key + 1) % 24:02d}:00"


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(n)d s") % {"n": seconds}
    if seconds < 3600:
        return _("%(m)d min %(s)02d s") % {"m": seconds // 60, "s": seconds % 60}
    if seconds < 86400:
        return _("%(h)d h %(m)02d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}
    return _("%(d)d d %(h)d h") % {"d": seconds // 86400, "h": seconds % 86400 // 3600}
