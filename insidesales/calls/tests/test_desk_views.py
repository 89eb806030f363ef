"""The agent desktop, the wallboard and the campaign pages through the web UI."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from django.test import AsyncClient, Client
from django.utils import timezone

from insidesales.calls.desk_views import talk_track_html
from insidesales.calls.models import AgentSession, AgentShift, AgentState, Call, CallStatus, Campaign
from insidesales.calls.services import agents, campaigns
from insidesales.calls.services.upkeep import upkeep
from insidesales.core import live
from insidesales.crm.models import Lead


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_talk_track_fills_lead_fields_and_escapes_everything(cw):
    lead = cw.lead(first_name="<b>Ann</b>", last_name="Lee", company_name="Acme & Co")
    html = talk_track_html(
        "Hi {{ lead.first_name }} from {{lead.company_name}}!\n<script>x</script> {{ lead.secret }}", lead
    )
    assert '<mark class="merge">&lt;b&gt;Ann&lt;/b&gt;</mark>' in html
    assert '<mark class="merge">Acme &amp; Co</mark>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "{{ lead.secret }}" in html  # unknown fields stay as written
    assert "<br>" in html


def test_desktop_ready_pause_and_offline_with_shift_hours(cw):
    made = campaigns.campaign_create(membership=cw.manager, data={"name": "Preview", "mode": "preview"})
    client = client_for(cw.rep)
    page = client.get("/dialer/")
    assert page.status_code == 200 and "No campaign is running" in page.content.decode()
    response = client.post("/dialer/state/", {"state": "ready", "campaign": made.pk}, follow=True)
    assert "This campaign is not running." in response.content.decode()
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    client.post("/dialer/state/", {"state": "ready", "campaign": made.pk})
    session = AgentSession.objects.get(user=cw.rep.user)
    assert session.state == AgentState.READY and session.campaign_id == made.pk
    assert AgentShift.objects.filter(user=cw.rep.user, ended_at__isnull=True).count() == 1
    response = client.post("/dialer/state/", {"state": "paused", "pause_reason": "nap"}, follow=True)
    assert "Say why you pause." in response.content.decode()
    client.post("/dialer/state/", {"state": "paused", "pause_reason": "lunch"})
    assert AgentSession.objects.get(user=cw.rep.user).pause_reason == "lunch"
    client.post("/dialer/state/", {"state": "offline"})
    assert not AgentShift.objects.filter(user=cw.rep.user, ended_at__isnull=True).exists()


def test_preview_desktop_shows_the_lead_and_the_talk_track_then_dials(cw):
    lead = cw.lead(by=cw.rep, first_name="Olga", last_name="Ivanova", phone="+14155552671", owner_id=cw.rep.user_id)
    made = campaigns.campaign_create(
        membership=cw.manager,
        data={"name": "Preview", "mode": "preview", "lead_ids": [lead.pk], "talk_track": "Ask {{ lead.first_name }}"},
    )
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    from insidesales.calls.dialer import preview_offer
    from insidesales.calls.floor import CampaignFloor, read_agents
    from insidesales.calls.pacing import PowerPacer

    floor = CampaignFloor(made.pk, cw.org.pk, "preview", PowerPacer())
    read_agents(floor)
    preview_offer(floor)
    body = client_for(cw.rep).get("/dialer/").content.decode()
    assert "Olga Ivanova" in body and '<mark class="merge">Olga</mark>' in body and 'id="desk-dial"' in body
    client_for(cw.rep).post("/dialer/dial/")
    call = Call.objects.get(lead=lead)
    assert call.campaign_id == made.pk and call.agent_id == cw.rep.user_id and call.status == CallStatus.QUEUED
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.ON_CALL


@pytest.mark.django_db(transaction=True)
def test_desktop_events_stream_only_the_members_own_topic(cw):
    async def first_event(membership):
        client = AsyncClient()
        await client.aforce_login(membership.user)
        response = await client.get("/dialer/events/")
        assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk)
            if b"event: desk" in chunk:
                break
        return b"".join(chunks).decode()

    async def scenario():
        from asgiref.sync import sync_to_async

        task = asyncio.create_task(first_event(cw.rep))
        await asyncio.sleep(0.3)
        await sync_to_async(
            lambda: live.LiveEvent.objects.create(topic=f"agent:{cw.other_rep.user_id}", payload={"x": "theirs"})
        )()
        await sync_to_async(
            lambda: live.LiveEvent.objects.create(topic=f"agent:{cw.rep.user_id}", payload={"x": "mine"})
        )()
        return await asyncio.wait_for(task, 5)

    text = asyncio.run(scenario())
    assert '"mine"' in text and "theirs" not in text


def test_wallboard_is_for_supervisors_and_shows_only_their_people(cw):
    east = campaigns.campaign_create(membership=cw.manager, data={"name": "East calls", "team_id": cw.team.pk})
    west = campaigns.campaign_create(membership=cw.admin, data={"name": "West calls", "team_id": cw.other_team.pk})
    for campaign in (east, west):
        campaigns.campaign_set_status(membership=cw.admin, campaign_id=campaign.pk, status="active")
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=east.pk)
    agents.agent_state_set(membership=cw.outsider_rep, state="ready", campaign_id=west.pk)
    assert client_for(cw.rep).get("/dialer/wallboard/").status_code == 403
    board = client_for(cw.manager).get("/dialer/wallboard/").content.decode()
    assert "Rep" in board and "East calls" in board
    assert "Outsider Rep" not in board and "West calls" not in board
    admin_board = client_for(cw.admin).get("/dialer/wallboard/").content.decode()
    assert "Outsider Rep" in admin_board and "West calls" in admin_board


def test_campaign_pages_and_compliance_export(cw):
    client = client_for(cw.manager)
    response = client.post(
        "/campaigns/new/",
        {
            "name": "",
            "mode": "power",
            "lines_per_agent": "9",
            "max_attempts": "3",
            "order": "view",
            "retry_busy": 30,
            "retry_no_answer": 120,
            "retry_machine": 240,
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "This field is required." in body or "Give the campaign a name." in body
    response = client.post(
        "/campaigns/new/",
        {
            "name": "Q4 <push>",
            "mode": "predictive",
            "lines_per_agent": "1",
            "max_attempts": "4",
            "order": "view",
            "retry_busy": 15,
            "retry_no_answer": 60,
            "retry_machine": 240,
            "team": cw.team.pk,
        },
    )
    made = Campaign.objects.get(name="Q4 <push>")
    assert response.status_code == 302 and made.max_attempts == 4 and made.retry_minutes["busy"] == 15
    detail = client.get(f"/campaigns/{made.pk}/").content.decode()
    assert "Q4 &lt;push&gt;" in detail and "<push>" not in detail
    client.post(f"/campaigns/{made.pk}/status/", {"status": "active"})
    made.refresh_from_db()
    assert made.status == "active"
    export = client.get(f"/campaigns/{made.pk}/compliance.csv")
    text = b"".join(export.streaming_content).decode()
    assert export["Content-Type"].startswith("text/csv") and "live_answers,0" in text
    assert client_for(cw.rep).get(f"/campaigns/{made.pk}/compliance.csv").status_code == 403
    assert client_for(cw.rep).get("/campaigns/new/").status_code == 403


def test_upkeep_closes_orphaned_calls_and_releases_overdue_personal_callbacks(cw):
    cw.org.reps_see_unassigned = True  # the team's pool, which every rep of it may call
    cw.org.save()
    lead = cw.lead(by=cw.rep, phone="+14155552671")
    Lead.objects.filter(pk=lead.pk).update(owner=None, team=cw.team)
    call = Call.objects.create(organization=cw.org, provider="simulated", lead=lead, status=CallStatus.RINGING)
    Call.objects.filter(pk=call.pk).update(updated_at=timezone.now() - dt.timedelta(hours=6))
    from insidesales.calls.services.callbacks import callback_schedule

    callback = callback_schedule(membership=cw.rep, record=lead, due_at=timezone.now() + dt.timedelta(minutes=1))
    from insidesales.calls.models import Callback

    Callback.objects.filter(pk=callback.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    done = upkeep()
    assert done["orphaned_calls_closed"] == 1 and done["callbacks_released"] == 1
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED
    # Released: another rep of the team now finds it among callbacks due.
    from insidesales.calls.services.callbacks import callbacks_due

    assert [c.pk for c in callbacks_due(membership=cw.other_rep)] == [callback.pk]
    # A teammate who may not see the lead is not shown the callback (nor its note).
    Lead.objects.filter(pk=lead.pk).update(owner=cw.rep.user)
    from insidesales.orgs.directory import forget_all

    forget_all()
    assert callbacks_due(membership=cw.other_rep) == []
    assert [c.pk for c in callbacks_due(membership=cw.rep)] == [callback.pk]


def test_outcome_saved_at_the_desktop_returns_to_the_desktop(cw):
    from insidesales.calls.services.config import dispositions_ensure

    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    call = Call.objects.create(
        organization=cw.org, provider="simulated", lead=lead, agent=cw.rep.user, status=CallStatus.COMPLETED
    )
    dispositions_ensure(cw.org.pk)
    client = client_for(cw.rep)
    response = client.post(f"/calls/{call.pk}/dispose/", {"disposition": "not_interested", "next": "desktop"})
    assert response.status_code == 302 and response["Location"] == "/dialer/"
    response = client.post(f"/calls/{call.pk}/dispose/", {"disposition": "not_interested"})
    assert response["Location"] == f"/leads/{lead.pk}/"


def test_hang_up_at_the_desktop_returns_to_the_desktop(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    call = Call.objects.create(
        organization=cw.org, provider="simulated", lead=lead, agent=cw.rep.user, status="bridged"
    )
    client = client_for(cw.rep)
    response = client.post(f"/calls/{call.pk}/hangup/", {"next": "desktop"})
    assert response.status_code == 302 and response["Location"] == "/dialer/"
    call.refresh_from_db()
    assert call.hangup_requested_at is not None


def test_rep_sets_where_calls_ring_for_them(cw):
    from insidesales.calls.services import dnc
    from insidesales.calls.services.config import telephony_settings
    from insidesales.orgs.models import AuditLog

    settings = telephony_settings(cw.org.pk)
    settings.provider_config = {"trunk_host": "sip.carrier.example", "from_domain": "pbx.example.com"}
    settings.save()
    dnc.dnc_add(membership=cw.manager, number="+14155550199")
    client = client_for(cw.rep)
    for typed, problem in (
        ("not a phone", "Enter a SIP address"),
        ("sip:me@attacker.example", "phone system (pbx.example.com, sip.carrier.example)"),
        ("+44 20 7946 0958", "a phone number in your organization"),  # premium and abroad: not the rep's phone
        ("(415) 555-0199", "on the do-not-call list"),
    ):
        response = client.post("/dialer/phone/", {"endpoint": typed}, follow=True)
        assert problem in response.content.decode(), typed
        assert AgentSession.objects.get(user=cw.rep.user).endpoint == ""
    for typed, stored in (
        ("sip:jessica@pbx.example.com", "sip:jessica@pbx.example.com"),
        ("client:jessica", "client:jessica"),
        ("(415) 555-0111", "+14155550111"),
        ("", ""),
    ):
        client.post("/dialer/phone/", {"endpoint": typed})
        assert AgentSession.objects.get(user=cw.rep.user).endpoint == stored
    assert AuditLog.objects.filter(action="agent.phone", actor=cw.rep.user).count() == 4


def test_a_ready_rep_whose_desktop_is_gone_gets_no_calls_and_is_signed_out_later(cw):
    from insidesales.calls.floor import CampaignFloor, read_agents
    from insidesales.calls.pacing import PowerPacer
    from insidesales.calls.services.agents import agents_sign_out_away

    made = campaigns.campaign_create(membership=cw.manager, data={"name": "Power", "mode": "power"})
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    floor = CampaignFloor(made.pk, cw.org.pk, "power", PowerPacer())
    assert set(read_agents(floor)) == {cw.rep.user_id}
    AgentSession.objects.filter(user=cw.rep.user).update(seen_at=timezone.now() - dt.timedelta(minutes=2))
    assert read_agents(floor) == {}
    assert agents_sign_out_away(timezone.now()) == 0  # not yet
    AgentSession.objects.filter(user=cw.rep.user).update(seen_at=timezone.now() - dt.timedelta(minutes=11))
    assert agents_sign_out_away(timezone.now()) == 1
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.OFFLINE
    assert not AgentShift.objects.filter(user=cw.rep.user, ended_at__isnull=True).exists()


def test_campaign_page_names_only_skipped_leads_the_viewer_may_see(cw):
    from insidesales.calls.models import CampaignLead

    mine = cw.lead(by=cw.rep, last_name="Mine-Skipped", phone="+14155550001", owner_id=cw.rep.user_id)
    theirs = cw.lead(last_name="Theirs-Skipped", phone="+14155550002")
    Lead.objects.filter(pk=theirs.pk).update(owner=cw.other_rep.user, team=cw.team)
    made = campaigns.campaign_create(
        membership=cw.manager, data={"name": "East", "team_id": cw.team.pk, "lead_ids": [mine.pk, theirs.pk]}
    )
    CampaignLead.objects.filter(campaign=made).update(skip_reason="do_not_call", skip_message="On a do-not-call list")
    page = client_for(cw.rep).get(f"/campaigns/{made.pk}/").content.decode()
    assert "Mine-Skipped" in page and "Theirs-Skipped" not in page
    page = client_for(cw.manager).get(f"/campaigns/{made.pk}/").content.decode()
    assert "Mine-Skipped" in page and "Theirs-Skipped" in page


def test_the_recording_notice_of_the_callees_country_is_on_the_reps_screen(cw):
    from insidesales.calls.services.config import recording_notice, telephony_settings

    settings = telephony_settings(cw.org.pk)
    settings.recording_enabled = True
    settings.recording_notices = {"US": "This call may be recorded.", "*": "Разговор записывается."}
    settings.save()
    assert recording_notice(settings, "+14155552671") == "This call may be recorded."
    assert recording_notice(settings, "+74955550106") == "Разговор записывается."
    lead = cw.lead(by=cw.rep, first_name="Olga", phone="+14155552671", owner_id=cw.rep.user_id)
    made = campaigns.campaign_create(
        membership=cw.manager, data={"name": "P", "mode": "preview", "lead_ids": [lead.pk]}
    )
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    AgentSession.objects.filter(user=cw.rep.user).update(current_lead=lead)
    page = client_for(cw.rep).get("/dialer/").content.decode()
    assert "This call may be recorded." in page
    settings.recording_enabled = False
    settings.save()
    assert recording_notice(settings, "+14155552671") == ""
    assert "This call may be recorded." not in client_for(cw.rep).get("/dialer/").content.decode()


def test_manager_adds_selected_leads_to_a_campaign_from_the_leads_list(cw):
    from insidesales.calls.models import CampaignLead

    mine = cw.lead(by=cw.rep, last_name="A", phone="+14155550001", owner_id=cw.rep.user_id)
    other = cw.lead(by=cw.rep, last_name="B", phone="+14155550002", owner_id=cw.rep.user_id)
    made = campaigns.campaign_create(membership=cw.manager, data={"name": "East", "team_id": cw.team.pk})
    client = client_for(cw.manager)
    assert "Add to call campaign" in client.get("/leads/").content.decode()
    assert "Add to call campaign" not in client_for(cw.rep).get("/leads/").content.decode()
    page = client.post("/leads/bulk/", {"action": "campaign", "ids": [mine.pk, other.pk], "next": "/leads/"})
    assert page.status_code == 200 and "East" in page.content.decode()
    response = client.post(
        "/leads/bulk/", {"action": "campaign", "ids": [mine.pk, other.pk], "campaign": made.pk, "next": "/leads/"}
    )
    assert response.status_code == 302
    assert set(CampaignLead.objects.filter(campaign=made).values_list("lead_id", flat=True)) == {mine.pk, other.pk}
    hidden = cw.lead(last_name="Hidden", phone="+14155550003")
    Lead.objects.filter(pk=hidden.pk).update(owner=cw.outsider_rep.user, team=cw.other_team)
    response = client.post("/leads/bulk/", {"action": "campaign", "ids": [hidden.pk], "campaign": made.pk})
    assert response.status_code == 404
    assert CampaignLead.objects.filter(campaign=made).count() == 2


def test_compliance_report_of_a_campaign_without_the_managers_team_is_for_admins(cw):
    shared = campaigns.campaign_create(membership=cw.admin, data={"name": "Everyone"})
    east = campaigns.campaign_create(membership=cw.admin, data={"name": "East", "team_id": cw.team.pk})
    assert client_for(cw.manager).get(f"/campaigns/{shared.pk}/compliance.csv").status_code == 403
    assert client_for(cw.manager).get(f"/campaigns/{east.pk}/compliance.csv").status_code == 200
    assert client_for(cw.admin).get(f"/campaigns/{shared.pk}/compliance.csv").status_code == 200


def test_going_ready_again_checks_the_campaign_is_still_running(cw):
    made = campaigns.campaign_create(membership=cw.manager, data={"name": "P", "mode": "preview"})
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    agents.agent_state_set(membership=cw.rep, state="paused", pause_reason="break")
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="paused")
    from insidesales.core.errors import Conflict

    with pytest.raises(Conflict):
        agents.agent_state_set(membership=cw.rep, state="ready")
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.PAUSED


def test_a_ready_rep_with_nothing_to_call_sees_why_and_when(cw):
    from insidesales.calls.models import CampaignLead

    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    made = campaigns.campaign_create(
        membership=cw.manager, data={"name": "P", "mode": "preview", "lead_ids": [lead.pk]}
    )
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    CampaignLead.objects.filter(campaign=made).update(next_attempt_at=timezone.now() + dt.timedelta(hours=3))
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    page = client_for(cw.rep).get("/dialer/").content.decode()
    assert "1 lead waits for its calling window or its next try" in page


def test_a_due_callback_comes_before_the_campaigns_next_lead_and_is_done_when_dialled(cw):
    from insidesales.calls.dialer import preview_offer
    from insidesales.calls.floor import CampaignFloor, read_agents
    from insidesales.calls.models import Callback
    from insidesales.calls.pacing import PowerPacer
    from insidesales.calls.services.callbacks import callback_schedule

    queued = cw.lead(by=cw.rep, last_name="Queued", phone="+14155550001", owner_id=cw.rep.user_id)
    promised = cw.lead(by=cw.rep, last_name="Promised", phone="+14155550002", owner_id=cw.rep.user_id)
    made = campaigns.campaign_create(
        membership=cw.manager, data={"name": "P", "mode": "preview", "lead_ids": [queued.pk]}
    )
    campaigns.campaign_set_status(membership=cw.manager, campaign_id=made.pk, status="active")
    callback = callback_schedule(membership=cw.rep, record=promised, due_at=timezone.now() + dt.timedelta(minutes=1))
    Callback.objects.filter(pk=callback.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    agents.agent_state_set(membership=cw.rep, state="ready", campaign_id=made.pk)
    floor = CampaignFloor(made.pk, cw.org.pk, "preview", PowerPacer())
    read_agents(floor)
    preview_offer(floor)
    assert AgentSession.objects.get(user=cw.rep.user).current_lead == promised
    # Skipped: it comes back later, and the campaign's lead is offered now.
    agents.agent_skip_lead(membership=cw.rep)
    preview_offer(floor)
    assert AgentSession.objects.get(user=cw.rep.user).current_lead == queued
    agents.agent_skip_lead(membership=cw.rep)
    Callback.objects.filter(pk=callback.pk).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    preview_offer(floor)
    assert AgentSession.objects.get(user=cw.rep.user).current_lead == promised
    call = agents.agent_dial_current(membership=cw.rep)
    callback.refresh_from_db()
    assert callback.done_at is not None and callback.call == call


def test_the_next_call_waits_for_the_outcome_of_the_last_conversation(cw):
    from insidesales.calls.services import dialing
    from insidesales.core.errors import Conflict

    first = cw.lead(by=cw.rep, phone="+14155550001", owner_id=cw.rep.user_id)
    second = cw.lead(by=cw.rep, phone="+14155550002", owner_id=cw.rep.user_id)
    call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=first.pk)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.COMPLETED, answered_at=timezone.now())
    with pytest.raises(Conflict, match="outcome of your last call"):
        dialing.call_start(membership=cw.rep, record_type="lead", record_id=second.pk)
    from insidesales.calls.services.config import dispositions_ensure

    dispositions_ensure(cw.org.pk)
    dialing.call_dispose(membership=cw.rep, call_id=call.pk, disposition_key="not_interested")
    assert dialing.call_start(membership=cw.rep, record_type="lead", record_id=second.pk).lead == second


def test_a_campaigns_own_do_not_call_list_stops_only_that_campaign(cw):
    from insidesales.calls.models import DncEntry
    from insidesales.orgs.visibility import record_scope

    lead = cw.lead(by=cw.rep, phone="+14155550001", owner_id=cw.rep.user_id)
    first = campaigns.campaign_create(membership=cw.manager, data={"name": "First", "lead_ids": [lead.pk]})
    second = campaigns.campaign_create(membership=cw.manager, data={"name": "Second", "lead_ids": [lead.pk]})
    client = client_for(cw.manager)
    page = client.get(f"/do-not-call/?campaign={first.pk}").content.decode()
    assert "Do-not-call list: First" in page
    response = client.post("/do-not-call/", {"number": "(415) 555-0001", "campaign": first.pk})
    assert response.status_code == 302 and response["Location"] == f"/do-not-call/?campaign={first.pk}"
    assert DncEntry.objects.get(number="+14155550001").campaign == first
    client.get(f"/do-not-call/?campaign={first.pk}")  # shows (and so clears) the "added" message
    assert "+14155550001" not in client.get("/do-not-call/").content.decode()  # not the organization's list
    scope = record_scope(cw.manager)
    assert campaigns.campaign_next_leads(campaign=first, count=1, scope=scope) == []
    assert [e.lead_id for e in campaigns.campaign_next_leads(campaign=second, count=1, scope=scope)] == [lead.pk]
    other = campaigns.campaign_create(membership=cw.admin, data={"name": "West", "team_id": cw.other_team.pk})
    assert client.get(f"/do-not-call/?campaign={other.pk}").status_code == 404  # not the manager's
