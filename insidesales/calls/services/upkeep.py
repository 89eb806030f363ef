"""Housekeeping the dialer worker runs every minute: overdue personal callbacks go to the team, live
events and accepted-callback keys past their time are deleted, and calls a stopped worker left
behind are closed so no lead stays stuck "being called"."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from insidesales.calls.models import (
    FINAL_CALL_STATUSES,
    Call,
    CallbackReplay,
    CampaignLead,
    CampaignLeadState,
)
from insidesales.calls.services.agents import agents_sign_out_away
from insidesales.calls.services.callbacks import callbacks_release_overdue
from insidesales.core import live

# A call no event has touched for this long was left by a worker that stopped (calls are cut at 4 h).
ORPHAN_AFTER = dt.timedelta(hours=5)
# A lead reserved for a call that was never placed (the worker stopped between the two).
STUCK_RESERVATION = dt.timedelta(minutes=10)


def close_orphaned_calls(now: dt.datetime) -> int:
    from insidesales.calls.services.events import BLOCKED, call_event_record

    closed = 0
    stale = Call.objects.exclude(status__in=FINAL_CALL_STATUSES).filter(updated_at__lt=now - ORPHAN_AFTER)
    for call in stale[:500]:
        call_event_record(call=call, kind=BLOCKED, data={"reason": "no news from the telephony provider"})
        closed += 1
    return closed


def release_stuck_leads(now: dt.datetime) -> int:
    return (
        CampaignLead.objects.filter(state=CampaignLeadState.DIALING)
        .filter(Q(call__isnull=True, agent__isnull=True) | Q(call__status__in=FINAL_CALL_STATUSES))
        .filter(next_attempt_at__lt=now - STUCK_RESERVATION)
        .update(state=CampaignLeadState.PENDING, call=None)
    )


def upkeep(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {
        "callbacks_released": callbacks_release_overdue(now=now),
        "live_events_deleted": live.prune(now),
        "replay_keys_deleted": CallbackReplay.objects.filter(keep_until__lt=now).delete()[0],
        "orphaned_calls_closed": close_orphaned_calls(now),
        "stuck_leads_released": release_stuck_leads(now),
        "agents_signed_out": agents_sign_out_away(now),
    }
