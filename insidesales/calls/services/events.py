"""Provider events in, call records out.

Every event is stored once (`CallEvent`, unique per call and event id) and the call's status and
times are then recomputed from all of its events, so a repeated or late event changes nothing that
a complete, ordered history would not. Final states win over progress (a "ringing" arriving after
"completed" does not reopen the call); among several finals, an answered call's completion wins
over the cancel it raced with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from insidesales.calls.models import FINAL_CALL_STATUSES, AgentSession, AgentState, Call, CallEvent, CallStatus
from insidesales.calls.providers.base import EventKind, ProviderEvent
from insidesales.core import live
from insidesales.inbound.webhook_events import emit_call_completed

# Our own events, recorded next to the provider's so the evidence is in one place.
ABANDONED = "abandoned"  # a live answer no agent took within 2 s of the greeting (the abandonment notice played)
BLOCKED = "blocked"  # the call was stopped before it left (do-not-call, calling window)
REP_NOT_CONNECTED = "rep_not_connected"  # answered, but the rep's phone did not join: the callee was let go

_PROGRESS = {
    EventKind.INITIATED: CallStatus.QUEUED,
    EventKind.RINGING: CallStatus.RINGING,
    EventKind.ANSWERED: CallStatus.ANSWERED,
    EventKind.BRIDGED: CallStatus.BRIDGED,
}
_PROGRESS_RANK = {CallStatus.QUEUED: 0, CallStatus.RINGING: 1, CallStatus.ANSWERED: 2, CallStatus.BRIDGED: 3}
_FINAL = {
    EventKind.BUSY: CallStatus.BUSY,
    EventKind.NO_ANSWER: CallStatus.NO_ANSWER,
    EventKind.CANCELED: CallStatus.CANCELED,
    EventKind.FAILED: CallStatus.FAILED,
    EventKind.COMPLETED: CallStatus.COMPLETED,
    BLOCKED: CallStatus.FAILED,
}


class UnknownCall(Exception):
    """No call of ours matches the event (not ours, or from before a database restore)."""


def _find_call(event: ProviderEvent) -> Call:
    # The condition repeats the unique index's (it is partial: provider ids are unique where set), which
    # is what lets SQLite use that index instead of scanning every call.
    call = (
        Call.objects.select_for_update()
        .filter(provider=event.provider, provider_call_id=event.provider_call_id)
        .exclude(provider_call_id="")
        .first()
    )
    if call is not None and event.reference and str(call.pk) != event.reference:
        # The event names our call (a signed callback URL's reference, a SIP header we set) and the provider
        # id belongs to another one: someone replays one organization's id under another's reference.
        call = None
    elif call is None and event.reference.isascii() and event.reference.isdigit():
        call = Call.objects.select_for_update().filter(pk=int(event.reference), provider=event.provider).first()
        if call is not None and call.provider_call_id not in ("", event.provider_call_id):
            call = None  # the reference names another provider call: not this one
    if call is None:
        raise UnknownCall(f"{event.provider} call {event.provider_call_id!r}")
    return call


@transaction.atomic
def call_event_apply(event: ProviderEvent) -> tuple[Call, bool]:
    """Store `event` on its call and bring the call record up to date. Returns (call, new) where `new` is
    False for an event already stored (nothing changes then)."""
    call = _find_call(event)
    if not call.provider_call_id:
        call.provider_call_id = event.provider_call_id
        call.save(update_fields=["provider_call_id", "updated_at"])
    return call, _store_and_fold(call, event.event_id, str(event.kind), event.occurred_at, event.sequence, event.data)


def call_event_record(
    *, call: Call, kind: str, occurred_at: dt.datetime | None = None, data: dict | None = None
) -> bool:
    """Record one of our own events (abandoned, blocked) on a call; idempotent per kind."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        new = _store_and_fold(locked, f"internal:{kind}", kind, occurred_at or timezone.now(), None, data or {})
    call.refresh_from_db()
    return new


def _store_and_fold(call: Call, event_id: str, kind: str, occurred_at, sequence, data) -> bool:
    try:
        with transaction.atomic():
            CallEvent.objects.create(
                call=call, event_id=event_id[:200], kind=kind, occurred_at=occurred_at, sequence=sequence, data=data
            )
    except IntegrityError:
        return False
    before = call.status
    fold_events(call, call.events.all())
    call.save()
    from insidesales.calls.services.timeline import call_timeline_sync

    call_timeline_sync(call)
    if call.status != before and call.status in FINAL_CALL_STATUSES:
        _after_final(call)
    if call.status != before:
        live.publish(f"call:{call.pk}", {"call": call.pk, "status": call.status})
        if call.agent_id:
            live.publish(f"agent:{call.agent_id}", {"call": call.pk, "status": call.status})
        live.publish(f"org:{call.organization_id}:calls", {"call": call.pk, "status": call.status})
    return True


def _after_final(call: Call) -> None:
    """The rep on the call goes to wrap-up (the disposition is due); a campaign counts the attempt;
    webhook subscribers hear that the call ended."""
    emit_call_completed(call)
    if call.agent_id:
        AgentSession.objects.filter(
            organization_id=call.organization_id, user_id=call.agent_id, current_call=call, state=AgentState.ON_CALL
        ).update(state=AgentState.WRAP_UP, state_since=timezone.now())
    if call.campaign_id:
        from insidesales.calls.services.campaigns import campaign_lead_finished

        campaign_lead_finished(call=call)


def _order(event: CallEvent) -> tuple:
    # Provider sequence numbers first where given; then time.
    return (event.sequence if event.sequence is not None else -1, event.occurred_at, event.id or 0)


def fold_events(call: Call, events: Iterable[CallEvent]) -> None:
    """Set `call`'s status, times, duration and flags from its events (any order, any repeats)."""
    ordered = sorted(events, key=_order)
    first: dict[str, dt.datetime] = {}
    for event in ordered:
        at = event.occurred_at
        if event.kind not in first or at < first[event.kind]:
            first[event.kind] = at
    progress = CallStatus.QUEUED
    final: str | None = None
    duration = None
    recording = call.recording_url
    answered_by = ""
    reason = ""
    for event in ordered:
        kind = event.kind
        if kind in _PROGRESS and _PROGRESS_RANK[_PROGRESS[kind]] > _PROGRESS_RANK[progress]:
            progress = _PROGRESS[kind]
        if kind == EventKind.MACHINE:
            answered_by = "machine"
        elif kind == EventKind.ANSWERED and not answered_by:
            answered_by = event.data.get("answered_by") or "human"
        if kind == EventKind.RECORDING or event.data.get("recording_url"):
            url = str(event.data.get("recording_url") or "")
            if url.startswith("https://"):  # a link reps open: never javascript:, data: or plain http
                recording = url
        if kind in _FINAL:
            # An answered completion beats the cancel / no-answer it raced with.
            if final is None or final in (EventKind.CANCELED, EventKind.NO_ANSWER) and kind == EventKind.COMPLETED:
                final = kind
                reason = event.data.get("reason", "") or reason
            if kind == EventKind.COMPLETED and event.data.get("duration_s") is not None:
                duration = int(event.data["duration_s"])
    answered_at = min((first[k] for k in (EventKind.ANSWERED, EventKind.MACHINE) if k in first), default=None)
    call.started_at = min(first.values(), default=None)
    call.ringing_at = first.get(EventKind.RINGING)
    call.answered_at = answered_at
    call.bridged_at = first.get(EventKind.BRIDGED)
    call.answered_by = answered_by
    call.recording_url = recording[:500]
    call.abandoned = ABANDONED in first
    if final is not None:
        call.ended_at = first[final]
        call.status = _FINAL[final]
        if final == EventKind.COMPLETED:
            if call.abandoned:
                call.status = CallStatus.ABANDONED
            elif answered_by == "machine" and not call.bridged_at:
                call.status = CallStatus.MACHINE
        if duration is None and answered_at is not None and final == EventKind.COMPLETED:
            duration = max(0, round((call.ended_at - answered_at).total_seconds()))
        call.duration_s = duration if final == EventKind.COMPLETED else 0
        if not reason and REP_NOT_CONNECTED in first:
            reason = "the rep's phone did not answer"
        call.failure_reason = str(reason)[:255]
    else:
        call.status = progress
        call.ended_at = None
        call.duration_s = None
