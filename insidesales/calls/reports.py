"""Numbers about calls, read from the call records: the supervisor wallboard and the abandonment
compliance report of a campaign (every live answer, whether an agent took it within 2 seconds, the
message played, and the rate over every rolling 24-hour and 30-day window)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.utils import timezone

from insidesales.calls.models import AgentSession, AgentShift, Call, CallEvent, CallStatus, Campaign
from insidesales.calls.pacing import DROP_AFTER, LEGAL_LIMIT
from insidesales.imports.csvsafe import neutralize
from insidesales.orgs.models import Membership
from insidesales.orgs.visibility import visible_user_ids

IN_PROGRESS = (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.ANSWERED, CallStatus.BRIDGED)


@dataclass
class Rates:
    answers: int
    abandoned: int

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.abandoned / self.answers, 2) if self.answers else None


def abandonment(campaign_id: int, since: dt.datetime, until: dt.datetime | None = None) -> Rates:
    qs = Call.objects.filter(campaign_id=campaign_id, answered_by="human", answered_at__gte=since)
    if until is not None:
        qs = qs.filter(answered_at__lt=until)
    return Rates(answers=qs.count(), abandoned=qs.filter(abandoned=True).count())


def agent_hours(*, organization_id: int, user_ids: list[int] | None, since: dt.datetime, now: dt.datetime) -> float:
    shifts = AgentShift.objects.filter(organization_id=organization_id).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=since)
    )
    if user_ids is not None:
        shifts = shifts.filter(user_id__in=user_ids)
    seconds = 0.0
    for started, ended in shifts.values_list("started_at", "ended_at"):
        seconds += max(0.0, ((ended or now) - max(started, since)).total_seconds())
    return seconds / 3600.0


def wallboard(*, membership: Membership, campaigns: list[Campaign], now: dt.datetime | None = None) -> dict:
    """Agents and their states, calls in progress, today's attempts, connects, talk minutes per agent-hour,
    and each campaign's abandonment over the compliance windows — for the people this member supervises."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    midnight = timezone.localtime(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    users = visible_user_ids(membership)
    sessions = AgentSession.objects.filter(organization_id=membership.organization_id).exclude(state="offline")
    calls_today = Call.objects.filter(organization_id=membership.organization_id, queued_at__gte=midnight)
    live = Call.objects.filter(organization_id=membership.organization_id, status__in=IN_PROGRESS)
    if users is not None:
        from insidesales.calls.selectors import call_scope

        # Calls the supervisor may see (their people's, their teams' records), never a whole shared campaign's.
        sessions = sessions.filter(user_id__in=users)
        scope = call_scope(membership) or Q(pk__in=[])
        calls_today = calls_today.filter(scope)
        live = live.filter(scope)
    connects = calls_today.filter(bridged_at__isnull=False)
    talk = connects.aggregate(s=Sum("duration_s"))["s"] or 0
    hours = agent_hours(organization_id=membership.organization_id, user_ids=users, since=midnight, now=now)
    per_campaign = []
    for campaign in campaigns:
        per_campaign.append(
            {
                "campaign": campaign,
                "attempts": calls_today.filter(campaign=campaign).count(),
                "connects": connects.filter(campaign=campaign).count(),
                "h24": abandonment(campaign.pk, now - dt.timedelta(hours=24)),
                "d30": abandonment(campaign.pk, now - dt.timedelta(days=30)),
            }
        )
    return {
        "sessions": list(sessions.select_related("user", "campaign", "current_lead").order_by("state", "state_since")),
        "live_calls": list(live.select_related("agent", "lead", "contact").order_by("queued_at")[:200]),
        "attempts": calls_today.count(),
        "connects": connects.count(),
        # Calls whose outcome counts as a conversation (the disposition's setting), not just a connection.
        "conversations": calls_today.filter(disposition__is_contact=True).count(),
        "talk_minutes": round(talk / 60.0, 1),
        "agent_hours": round(hours, 2),
        "talk_per_agent_hour": round((talk / 60.0) / hours, 1) if hours > 0 else None,
        "campaigns": per_campaign,
        "limit_pct": LEGAL_LIMIT * 100,
        "now": now,
    }


def worst_windows(campaign_id: int, since: dt.datetime, until: dt.datetime) -> dict[str, tuple[float | None, str]]:
    """The worst abandonment rate of any rolling 24-hour and 30-day window ending within [since, until]
    (evaluated at every live answer), with the window's end."""
    rows = list(
        Call.objects.filter(
            campaign_id=campaign_id,
            answered_by="human",
            answered_at__gte=since - dt.timedelta(days=30),
            answered_at__lt=until,
        )
        .order_by("answered_at")
        .values_list("answered_at", "abandoned")
    )
    out: dict[str, tuple[float | None, str]] = {}
    for name, span in (("24h", dt.timedelta(hours=24)), ("30d", dt.timedelta(days=30))):
        window: deque[tuple[dt.datetime, bool]] = deque()
        dropped = 0
        worst: tuple[float | None, str] = (None, "")
        for at, abandoned in rows:
            window.append((at, abandoned))
            dropped += abandoned
            while window and window[0][0] <= at - span:
                dropped -= window.popleft()[1]
            if at >= since:
                rate = 100.0 * dropped / len(window)
                if worst[0] is None or rate > worst[0]:
                    worst = (round(rate, 2), at.isoformat())
        out[name] = worst
    return out


def compliance_rows(campaign: Campaign, since: dt.datetime, until: dt.datetime) -> Iterator[list[str]]:
    """The campaign's compliance report as CSV rows: a summary, then every call placed."""
    windows = worst_windows(campaign.pk, since, until)
    overall = abandonment(campaign.pk, since, until)
    yield ["campaign", campaign.name]
    yield ["period_from", since.isoformat(), "period_to", until.isoformat()]
    yield ["rule", f"abandoned <= {LEGAL_LIMIT:.0%} of live answers; abandoned = not connected within {DROP_AFTER:g} s"]
    yield ["live_answers", str(overall.answers), "abandoned", str(overall.abandoned), "rate_pct", str(overall.pct)]
    yield ["worst_rolling_24h_pct", str(windows["24h"][0]), "at", windows["24h"][1]]
    yield ["worst_rolling_30d_pct", str(windows["30d"][0]), "at", windows["30d"][1]]
    yield []
    yield [
        "call_id",
        "to",
        "caller_id",
        "placed_at",
        "answered_at",
        "answered_by",
        "connected_at",
        "seconds_to_agent",
        "abandoned",
        "message_played",
        "ring_seconds",
        "ended_at",
        "status",
        "agent",
    ]
    played = {
        call_id: bool(data.get("message"))
        for call_id, data in CallEvent.objects.filter(
            call__campaign=campaign, kind="abandoned", call__queued_at__gte=since, call__queued_at__lt=until
        ).values_list("call_id", "data")
    }
    calls = (
        Call.objects.filter(campaign=campaign, queued_at__gte=since, queued_at__lt=until)
        .select_related("agent")
        .order_by("queued_at", "id")
    )
    for call in calls.iterator(chunk_size=2000):
        ring_end = call.answered_at or call.ended_at
        ring = (ring_end - call.started_at).total_seconds() if ring_end and call.started_at else None
        to_agent = (
            (call.bridged_at - call.answered_at).total_seconds() if call.bridged_at and call.answered_at else None
        )
        yield [
            str(call.pk),
            call.to_number,
            call.from_number,
            call.queued_at.isoformat(),
            call.answered_at.isoformat() if call.answered_at else "",
            call.answered_by,
            call.bridged_at.isoformat() if call.bridged_at else "",
            f"{to_agent:.2f}" if to_agent is not None else "",
            "yes" if call.abandoned else "no",
            ("yes" if played.get(call.pk) else "no") if call.abandoned else "",
            f"{ring:.1f}" if ring is not None else "",
            call.ended_at.isoformat() if call.ended_at else "",
            call.status,
            str(call.agent or ""),
        ]


def compliance_csv(campaign: Campaign, since: dt.datetime, until: dt.datetime) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in compliance_rows(campaign, since, until):
        writer.writerow([neutralize(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
