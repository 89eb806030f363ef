"""Campaign dialing end to end with a real dialer worker and the simulated carrier: preview, power and
predictive modes, connecting answers to agents, the 2-second rule, skipped leads and the reports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from insidesales.calls import reports
from insidesales.calls.models import (
    AgentSession,
    AgentState,
    Call,
    CallEvent,
    CallStatus,
    CampaignLead,
    CampaignLeadState,
)
from insidesales.calls.services import agents, campaigns, dialing, dnc
from insidesales.calls.services.config import dispositions_ensure, telephony_settings
from insidesales.calls.simulated import CarrierProfile, TalkTime, Triangular
from insidesales.calls.tests.dialer_thread import running_dialer, wait_for
from insidesales.core.errors import Conflict, NotFound, PermissionDenied
from insidesales.crm.models import Lead

EVERYONE_ANSWERS = CarrierProfile(
    live_rate=1.0, machine_rate=0.0, busy_rate=0.0, live_ring=Triangular(2, 3, 4), talk=TalkTime(3600, minimum=3600)
)
MACHINES = CarrierProfile(live_rate=0.0, machine_rate=1.0, busy_rate=0.0)


def leads(cw, count: int, **extra) -> list[Lead]:
    made = []
    for i in range(count):
        lead = cw.lead(by=cw.rep, last_name=f"Prospect {i}", phone=f"+1415555{2000 + i:04d}", **extra)
        made.append(lead)
    return made


def campaign(cw, targets, **data):
    values = {"name": "Spring push", "mode": "power", "lines_per_agent": 1, **data, "lead_ids": [t.pk for t in targets]}
    made = campaigns.campaign_create(membership=cw.manager, data=values)
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    return made


def test_reps_cannot_create_campaigns_and_agency_reps_see_only_theirs(cw):
    with pytest.raises(PermissionDenied):
        campaigns.campaign_create(membership=cw.rep, data={"name": "Mine"})
    team_campaign = campaigns.campaign_create(membership=cw.admin, data={"name": "East", "team_id": cw.team.pk})
    agency_campaign = campaigns.campaign_create(
        membership=cw.admin, data={"name": "Outsourced", "agency_id": cw.agency.pk}
    )
    from insidesales.calls.selectors import campaign_get, campaign_list

    assert list(campaign_list(membership=cw.agency_rep)) == [agency_campaign]
    assert set(campaign_list(membership=cw.rep)) == {team_campaign}
    with pytest.raises(NotFound):
        campaign_get(membership=cw.outsider_rep, campaign_id=team_campaign.pk)
    with pytest.raises(NotFound):
        campaign_get(membership=cw.rep, campaign_id=agency_campaign.pk)


@pytest.mark.django_db(transaction=True)
def test_power_dialing_connects_answers_to_ready_agents_and_agents_wrap_up(cw):
    targets = leads(cw, 4, owner_id=cw.rep.user_id)
    made = campaign(cw, targets)
    dispositions_ensure(cw.org.pk)
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    with running_dialer(EVERYONE_ANSWERS):
        wait_for(lambda: AgentSession.objects.get(user=cw.rep.user).state == AgentState.ON_CALL)
        session = AgentSession.objects.get(user=cw.rep.user)
        call = session.current_call
        wait_for(lambda: Call.objects.get(pk=call.pk).status == CallStatus.BRIDGED)
        call.refresh_from_db()
        assert (
            call.campaign_id == made.pk and call.agent_id == cw.rep.user_id and call.lead_id in {t.pk for t in targets}
        )
        assert (call.bridged_at - call.answered_at).total_seconds() < 2
        # One line per ready agent: nothing else rings while the rep talks.
        assert Call.objects.filter(campaign=made).exclude(pk=call.pk).exclude(status__in=["completed"]).count() == 0
        with pytest.raises(Conflict):
            agents.agent_state_set(membership=cw.rep, state="paused", pause_reason="break")
        dialing.call_hangup(membership=cw.rep, call_id=call.pk)
        wait_for(lambda: AgentSession.objects.get(user=cw.rep.user).state == AgentState.WRAP_UP)
        with pytest.raises(Conflict):  # the outcome first
            agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
        dialing.call_dispose(membership=cw.rep, call_id=call.pk, disposition_key="not_interested")
        # Ready again: the dialer connects the next answer.
        wait_for(lambda: Call.objects.filter(campaign=made, agent=cw.rep.user).count() == 2)
        agents.agent_state_set(membership=cw.rep, state="offline")
    entry = CampaignLead.objects.get(campaign=made, lead_id=call.lead_id)
    assert entry.attempts == 1 and entry.state == CampaignLeadState.DONE


def connected_history(cw, made, count: int) -> None:
    """`count` live answers of the last days that an agent took: room under the 3% limit."""
    start = timezone.now() - dt.timedelta(days=3)
    Call.objects.bulk_create(
        Call(
            organization=cw.org,
            provider="simulated",
            campaign=made,
            status=CallStatus.COMPLETED,
            answered_by="human",
            queued_at=start + dt.timedelta(minutes=i),
            answered_at=start + dt.timedelta(minutes=i),
            bridged_at=start + dt.timedelta(minutes=i, seconds=1),
        )
        for i in range(count)
    )


@pytest.mark.django_db(transaction=True)
def test_power_dialing_without_room_under_the_limit_dials_one_line_per_agent(cw):
    targets = leads(cw, 3, owner_id=cw.rep.user_id)
    made = campaign(cw, targets, lines_per_agent=3, name="Three lines, no history")
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    with running_dialer(EVERYONE_ANSWERS):
        wait_for(lambda: Call.objects.filter(campaign=made, status=CallStatus.BRIDGED).count() == 1)
        import time

        time.sleep(2.5)  # long enough for a second answer to have been abandoned, had one been placed
    assert Call.objects.filter(campaign=made).count() == 1
    assert not Call.objects.filter(campaign=made, abandoned=True).exists()


@pytest.mark.django_db(transaction=True)
def test_answer_no_agent_takes_in_two_seconds_is_abandoned_with_the_message_and_reported(cw):
    targets = leads(cw, 3, owner_id=cw.rep.user_id)
    made = campaign(cw, targets, lines_per_agent=3, name="Three lines")
    connected_history(cw, made, 200)  # 3% of 200 = 6 abandoned calls of room: three lines are allowed
    telephony_settings(cw.org.pk)
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    with running_dialer(EVERYONE_ANSWERS):
        wait_for(lambda: Call.objects.filter(campaign=made, status=CallStatus.ABANDONED).count() == 2, timeout=20)
    abandoned = list(Call.objects.filter(campaign=made, status=CallStatus.ABANDONED))
    connected = Call.objects.get(campaign=made, agent=cw.rep.user)
    assert connected.status == CallStatus.BRIDGED
    for call in abandoned:
        assert call.abandoned and call.agent_id is None and call.bridged_at is None
        assert CallEvent.objects.filter(call=call, kind="abandoned").exists()
        # Given up no sooner than 2 s after the answer (the message is played, then the call ends).
        marked = CallEvent.objects.get(call=call, kind="abandoned").occurred_at
        assert (marked - call.answered_at).total_seconds() >= 2.0
    now = timezone.now()
    rates = reports.abandonment(made.pk, now - dt.timedelta(days=30))
    assert (rates.answers, rates.abandoned) == (203, 2)
    rows = list(csv.reader(io.StringIO("".join(reports.compliance_csv(made, now - dt.timedelta(days=1), now)))))
    summary = {row[0]: row[1:] for row in rows[:7] if row}
    assert summary["live_answers"][:3] == ["3", "abandoned", "2"]
    # The worst 30-day window ending in the report's day counts the older answers too.
    assert summary["worst_rolling_30d_pct"][0] == str(round(100 * 2 / 203, 2))
    header = rows.index(next(r for r in rows if r and r[0] == "call_id"))
    calls = rows[header + 1 :]
    assert sorted(r[8] for r in calls) == ["no", "yes", "yes"]
    assert all(r[1].startswith("'+1415") for r in calls)  # a spreadsheet shows numbers, never runs them


@pytest.mark.django_db(transaction=True)
def test_answering_machines_are_hung_up_on_and_never_reach_an_agent(cw):
    targets = leads(cw, 2, owner_id=cw.rep.user_id)
    made = campaign(cw, targets)
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    with running_dialer(MACHINES):
        wait_for(lambda: Call.objects.filter(campaign=made, status=CallStatus.MACHINE).count() == 2)
    assert not Call.objects.filter(campaign=made, agent__isnull=False).exists()
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.READY
    # A machine is not a live answer: nothing counts toward abandonment.
    assert reports.abandonment(made.pk, timezone.now() - dt.timedelta(days=1)).answers == 0
    entry = CampaignLead.objects.get(campaign=made, lead=targets[0])
    assert entry.state == CampaignLeadState.PENDING and entry.attempts == 1 and entry.last_outcome == "machine"
    assert entry.next_attempt_at > timezone.now() + dt.timedelta(minutes=200)


def test_do_not_call_and_closed_window_leads_are_skipped_with_the_reason(cw):
    blocked, night, fine = leads(cw, 3, owner_id=cw.rep.user_id)
    dnc.dnc_add(membership=cw.manager, number=blocked.phone)
    Lead.objects.filter(pk=night.pk).update(phone="+61255501234", country="AU", time_zone="Australia/Sydney")
    settings = telephony_settings(cw.org.pk)
    settings.window_rules = {
        "default": [{"start": "00:00", "end": "00:00"}],
        "zones": {"Australia/Sydney": []},  # never open there
    }
    settings.save()
    made = campaign(cw, [blocked, night, fine])
    scope = __import__("insidesales.orgs.visibility", fromlist=["record_scope"]).record_scope(cw.rep)
    picked = campaigns.campaign_next_leads(campaign=made, count=3, scope=scope)
    assert [e.lead_id for e in picked] == [fine.pk]
    entries = {e.lead_id: e for e in CampaignLead.objects.filter(campaign=made)}
    assert entries[blocked.pk].state == CampaignLeadState.BLOCKED and entries[blocked.pk].skip_reason == "do_not_call"
    assert entries[night.pk].state == CampaignLeadState.BLOCKED and entries[night.pk].skip_reason == "no_window"


def test_agents_get_only_leads_they_may_see(cw):
    mine = leads(cw, 1, owner_id=cw.rep.user_id)[0]
    theirs = cw.lead(phone="+14155559999", last_name="Theirs")
    Lead.objects.filter(pk=theirs.pk).update(owner=cw.other_rep.user)
    made = campaigns.campaign_create(
        membership=cw.admin, data={"name": "All", "mode": "preview", "lead_ids": [mine.pk, theirs.pk]}
    )
    from insidesales.orgs.visibility import record_scope

    picked = campaigns.campaign_next_leads(campaign=made, count=5, scope=record_scope(cw.rep), agent_id=cw.rep.user_id)
    assert [e.lead_id for e in picked] == [mine.pk]
