"""Click-to-call end to end: the checks before a call leaves, the dialer worker placing it through the
simulated carrier, the timeline entry, hang-up, and the disposition with its actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.calls.models import Call, Callback, CallStatus, DncEntry
from insidesales.calls.services import dialing, dnc
from insidesales.calls.services.config import dispositions_ensure, telephony_settings
from insidesales.calls.simulated import CarrierProfile, TalkTime, Triangular
from insidesales.calls.tests.dialer_thread import running_dialer, wait_for
from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.crm.models import Activity, ActivityKind, Lead

ALWAYS_LIVE = CarrierProfile(
    live_rate=1.0,
    machine_rate=0.0,
    busy_rate=0.0,
    live_ring=Triangular(3, 4, 5),
    talk=TalkTime(mean=3600, minimum=3600),
)
ALWAYS_BUSY = CarrierProfile(live_rate=0.0, machine_rate=0.0, busy_rate=1.0)


@pytest.mark.django_db(transaction=True)
def test_rep_calls_a_lead_talks_hangs_up_and_schedules_a_callback(cw):
    lead = cw.lead(by=cw.rep, phone="+1 415 555 2671", owner_id=cw.rep.user_id, time_zone="America/Los_Angeles")
    call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    assert call.status == CallStatus.QUEUED and call.to_number == "+14155552671"
    entry = Activity.objects.get(lead=lead, kind=ActivityKind.CALL)
    assert entry.data["status"] == "queued" and entry.actor_id == cw.rep.user_id

    dispositions_ensure(cw.org.pk)
    with running_dialer(ALWAYS_LIVE):
        wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.BRIDGED)
        call.refresh_from_db()
        assert call.provider == "simulated" and call.provider_call_id.startswith("sim-")
        assert call.started_at and call.ringing_at and call.answered_at and call.bridged_at
        with pytest.raises(Conflict, match="Hang up"):
            dialing.call_dispose(membership=cw.rep, call_id=call.pk, disposition_key="not_interested")
        with pytest.raises(NotFound):  # another rep does not even see it
            dialing.call_hangup(membership=cw.other_rep, call_id=call.pk)
        dialing.call_hangup(membership=cw.rep, call_id=call.pk)
        wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.COMPLETED)
    call.refresh_from_db()
    assert call.ended_at >= call.answered_at and call.duration_s is not None
    with pytest.raises(ValidationError) as missing:
        dialing.call_dispose(membership=cw.rep, call_id=call.pk, disposition_key="callback")
    assert "callback_at" in missing.value.fields
    due = timezone.now() + dt.timedelta(days=1)
    dialing.call_dispose(
        membership=cw.rep, call_id=call.pk, disposition_key="callback", note="Call after lunch", callback_at=due
    )
    callback = Callback.objects.get(lead=lead)
    assert callback.assignee_id == cw.rep.user_id and callback.due_at == due and callback.is_personal
    entry.refresh_from_db()
    assert entry.data["status"] == "completed"
    assert entry.data["disposition"] == "callback"
    assert entry.body == "Call after lunch"
    assert entry.data["answered_at"] and entry.data["ended_at"]


@pytest.mark.django_db(transaction=True)
def test_busy_line_ends_the_call_without_a_rep(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552672", owner_id=cw.rep.user_id)
    call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    with running_dialer(ALWAYS_BUSY):
        wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.BUSY)
    call.refresh_from_db()
    assert call.bridged_at is None and call.duration_s == 0


def test_do_not_call_number_is_never_queued(cw):
    lead = cw.lead(by=cw.rep, phone="(415) 555-2671", owner_id=cw.rep.user_id)
    dnc.dnc_add(membership=cw.rep, number="+1 415 555 2671", reason="asked on the phone")
    with pytest.raises(dialing.CallBlocked) as blocked:
        dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    assert blocked.value.refusal.code == "do_not_call"
    assert not Call.objects.exists()
    # The attempt is on record (the refusal rolls back nothing it should keep).
    from insidesales.orgs.models import AuditLog

    blocked_row = AuditLog.objects.get(action="call.blocked", object_id=lead.pk)
    assert blocked_row.actor_id == cw.rep.user_id and blocked_row.changes["reason"] == [None, "do_not_call"]


def test_lead_outside_its_calling_window_is_not_called_and_the_next_opening_is_given(cw):
    settings = telephony_settings(cw.org.pk)
    settings.window_rules = {"default": [{"start": "08:00", "end": "21:00"}]}
    settings.save()
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id, time_zone="America/Los_Angeles")
    now = timezone.now()
    local_hour = now.astimezone(dt.timezone(dt.timedelta(hours=-8))).hour  # roughly; the check is exact
    try:
        dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    except dialing.CallBlocked as exc:
        assert exc.refusal.code == "outside_window"
        assert exc.refusal.next_allowed_at > now
        assert not Call.objects.exists()
    else:
        assert 7 <= local_hour <= 21  # it was open: a call was queued
        assert Call.objects.count() == 1


def test_nobody_calls_a_lead_they_cannot_see(cw):
    lead = cw.lead(phone="+14155552671")
    Lead.objects.filter(pk=lead.pk).update(owner=cw.other_rep.user, team=cw.team)
    for member in (cw.rep, cw.outsider_rep, cw.agency_rep, cw.field_rep):
        with pytest.raises(NotFound):
            dialing.call_start(membership=member, record_type="lead", record_id=lead.pk)
    assert not Call.objects.exists()


def test_agency_rep_calls_only_the_agency_leads(cw):
    ours = cw.lead(phone="+14155552671")
    Lead.objects.filter(pk=ours.pk).update(agency=cw.agency)
    theirs = cw.lead(phone="+14155552672")
    with pytest.raises(NotFound):
        dialing.call_start(membership=cw.agency_rep, record_type="lead", record_id=theirs.pk)
    call = dialing.call_start(membership=cw.agency_rep, record_type="lead", record_id=ours.pk)
    assert call.agency_id == cw.agency.pk


def test_a_disposition_that_adds_to_the_do_not_call_list(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.COMPLETED)
    dispositions_ensure(cw.org.pk)
    dialing.call_dispose(membership=cw.rep, call_id=call.pk, disposition_key="do_not_call")
    assert DncEntry.objects.filter(organization=cw.org, number="+14155552671", source="disposition").exists()
    with pytest.raises(dialing.CallBlocked):
        dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)


@pytest.mark.django_db(transaction=True)
def test_a_queued_call_whose_number_went_on_the_list_meanwhile_is_not_dialled(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552673", owner_id=cw.rep.user_id)
    call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    dnc.dnc_add(membership=cw.rep, number=lead.phone, reason="asked while we were dialling")
    with running_dialer(ALWAYS_LIVE):
        wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.FAILED)
    call.refresh_from_db()
    assert call.provider_call_id == "" and call.answered_at is None
    assert "do-not-call" in call.failure_reason


@pytest.mark.django_db(transaction=True)
def test_a_call_hung_up_before_the_worker_took_it_never_rings(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552674", owner_id=cw.rep.user_id)
    call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
    dialing.call_hangup(membership=cw.rep, call_id=call.pk)
    with running_dialer(ALWAYS_LIVE):
        wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.CANCELED)
    call.refresh_from_db()
    assert call.provider_call_id == ""


def test_a_companys_main_number_is_called_from_its_page_and_the_call_is_on_its_timeline(cw):
    from django.test import Client

    from insidesales.crm.models import Company

    company = Company.objects.create(organization=cw.org, name="Acme Freight", phone="+14155550190", owner=cw.rep.user)
    client = Client()
    client.force_login(cw.rep.user)
    assert f'action="/calls/dial/company/{company.pk}/"' in client.get(f"/companies/{company.pk}/").content.decode()
    response = client.post(f"/calls/dial/company/{company.pk}/")
    call = Call.objects.get(company=company)
    assert response.status_code == 302 and response["Location"] == f"/calls/{call.pk}/"
    assert call.to_number == "+14155550190" and call.lead_id is None and call.owner_id == cw.rep.user_id
    entry = Activity.objects.get(company=company, kind=ActivityKind.CALL)
    assert entry.data["call_id"] == call.pk
    other = Client()
    other.force_login(cw.outsider_rep.user)
    assert other.post(f"/calls/dial/company/{company.pk}/").status_code == 404


def test_a_number_put_on_the_list_in_its_international_form_blocks_the_lead(cw):
    lead = cw.lead(by=cw.rep, phone="+44 20 7946 0958", owner_id=cw.rep.user_id)
    dnc.dnc_add(membership=cw.manager, number="0044 20 7946 0958")  # as most of the world writes it
    with pytest.raises(dialing.CallBlocked):
        dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
