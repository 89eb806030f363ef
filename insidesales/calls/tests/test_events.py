"""Provider events applied to call records: repeated and out-of-order deliveries give the same record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidesales.calls.models import Call, CallEvent, CallStatus
from insidesales.calls.providers.base import EventKind, ProviderEvent
from insidesales.calls.services.events import UnknownCall, call_event_apply

T0 = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


def ev(kind, seconds, seq=None, call_id="CA1", **data) -> ProviderEvent:
    return ProviderEvent(
        provider="twilio",
        provider_call_id=call_id,
        kind=kind,
        occurred_at=T0 + dt.timedelta(seconds=seconds),
        event_id=f"{call_id}:{kind}:{seq}",
        sequence=seq,
        data=data,
    )


ANSWERED_HISTORY = [
    ev(EventKind.INITIATED, 0, 0),
    ev(EventKind.RINGING, 2, 1),
    ev(EventKind.ANSWERED, 9, 2, answered_by="human"),
    ev(EventKind.BRIDGED, 10, 3),
    ev(EventKind.RECORDING, 200, 4, recording_url="https://recordings.example/RE1"),
    ev(EventKind.COMPLETED, 199, 5, duration_s=190),
]


def outbound_call(cw, **extra) -> Call:
    lead = cw.lead(phone="+14155552671", owner_id=cw.rep.user_id)
    return Call.objects.create(
        organization=cw.org,
        provider="twilio",
        provider_call_id="CA1",
        to_number=lead.phone,
        agent=cw.rep.user,
        lead=lead,
        owner_id=lead.owner_id,
        **extra,
    )


FIELDS = ("status", "started_at", "ringing_at", "answered_at", "bridged_at", "ended_at", "duration_s", "answered_by")


def snapshot(call: Call) -> dict:
    call.refresh_from_db()
    return {name: getattr(call, name) for name in (*FIELDS, "recording_url", "abandoned")}


def test_answered_call_history_in_order(cw):
    call = outbound_call(cw)
    for event in ANSWERED_HISTORY:
        call_event_apply(event)
    got = snapshot(call)
    assert got["status"] == CallStatus.COMPLETED
    assert got["answered_at"] == T0 + dt.timedelta(seconds=9)
    assert got["ended_at"] == T0 + dt.timedelta(seconds=199)
    assert got["duration_s"] == 190
    assert got["recording_url"] == "https://recordings.example/RE1"
    assert got["answered_by"] == "human"
    # The timeline entry shows it, with the provider's id and the agent.
    call.refresh_from_db()
    assert call.activity.data["status"] == "completed"
    assert call.activity.data["provider_call_id"] == "CA1"
    assert call.activity.data["agent_id"] == cw.rep.user_id
    assert call.activity.lead_id == call.lead_id


@pytest.mark.django_db(transaction=False)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(ANSWERED_HISTORY))), repeats=st.lists(st.integers(0, 5), max_size=6))
def test_any_order_and_repeats_give_the_same_record(cw, order, repeats):
    expected = None
    try:
        with transaction.atomic():
            call = outbound_call(cw)
            for event in ANSWERED_HISTORY:
                call_event_apply(event)
            expected = snapshot(call)
            raise _Rollback
    except _Rollback:
        pass
    with transaction.atomic():
        call = outbound_call(cw)
        deliveries = [ANSWERED_HISTORY[i] for i in order] + [ANSWERED_HISTORY[i] for i in repeats]
        news = [call_event_apply(event)[1] for event in deliveries]
        assert sum(news) == len(ANSWERED_HISTORY)  # each event stored once
        assert CallEvent.objects.filter(call=call).count() == len(ANSWERED_HISTORY)
        assert snapshot(call) == expected
        transaction.set_rollback(True)


class _Rollback(Exception):
    pass


def test_late_ringing_does_not_reopen_a_busy_call(cw):
    call = outbound_call(cw)
    call_event_apply(ev(EventKind.BUSY, 3, 2))
    call_event_apply(ev(EventKind.INITIATED, 0, 0))
    call_event_apply(ev(EventKind.RINGING, 1, 1))
    call.refresh_from_db()
    assert call.status == CallStatus.BUSY
    assert call.duration_s == 0
    assert call.ended_at == T0 + dt.timedelta(seconds=3)


def test_answer_racing_our_cancel_is_a_completed_call(cw):
    call = outbound_call(cw)
    call_event_apply(ev(EventKind.RINGING, 1))
    call_event_apply(ev(EventKind.CANCELED, 25))
    call_event_apply(ev(EventKind.ANSWERED, 25))
    call_event_apply(ev(EventKind.COMPLETED, 26))
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED
    assert call.duration_s == 1


def test_machine_answer_ends_as_machine(cw):
    call = outbound_call(cw)
    call_event_apply(ev(EventKind.ANSWERED, 8, answered_by="unknown"))
    call_event_apply(ev(EventKind.MACHINE, 11))
    call_event_apply(ev(EventKind.COMPLETED, 12))
    call.refresh_from_db()
    assert call.status == CallStatus.MACHINE
    assert call.answered_by == "machine"


def test_event_found_by_our_reference_before_the_provider_id_is_known(cw):
    call = outbound_call(cw)
    Call.objects.filter(pk=call.pk).update(provider_call_id="")
    event = ProviderEvent(
        provider="twilio",
        provider_call_id="CA77",
        kind=EventKind.RINGING,
        occurred_at=T0,
        event_id="CA77:ringing",
        reference=str(call.pk),
    )
    call_event_apply(event)
    call.refresh_from_db()
    assert call.provider_call_id == "CA77"
    assert call.status == CallStatus.RINGING


def test_event_of_an_unknown_call_is_refused(cw):
    outbound_call(cw)
    with pytest.raises(UnknownCall):
        call_event_apply(ev(EventKind.RINGING, 1, call_id="CA-not-ours"))
    # A reference to a call of another provider does not attach either.
    with pytest.raises(UnknownCall):
        call_event_apply(
            ProviderEvent(
                provider="sip",
                provider_call_id="x",
                kind=EventKind.RINGING,
                occurred_at=T0,
                event_id="x",
                reference=str(Call.objects.get().pk),
            )
        )
