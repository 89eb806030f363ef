"""The call campaigns API and the caller's dialer state end to end with API keys: creating and changing
campaigns, who sees which, queue counts and abandonment, status changes, leads, the talk track, the
compliance report, and going ready, paused and offline."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from django.utils import timezone

from insidesales.api.tests.conftest import ApiClient, assert_problem
from insidesales.calls.models import (
    AgentSession,
    AgentState,
    Call,
    CallStatus,
    Campaign,
    CampaignLead,
    CampaignLeadState,
    CampaignStatus,
    DncEntry,
)
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.tests import conftest as calls_conftest
from insidesales.crm.models import Lead
from insidesales.orgs.models import AuditLog

# The calls app's world: an organization (US numbers) with a team, an agency and every role, always open for calls.
cw = calls_conftest.cw


def _put(api: ApiClient, path: str, data: dict) -> object:
    return api.client.put(f"/api/v1{path}", json.dumps(data), content_type="application/json", headers=api.headers)


def _lead(cw, member, phone: str | None = "+14155552671") -> Lead:
    return cw.lead(by=member, phone=phone, owner_id=member.user_id, time_zone="America/Los_Angeles")


def _campaign(cw, name: str = "Spring push", **fields) -> Campaign:
    return Campaign.objects.create(organization=cw.org, name=name, **fields)


def _answered(campaign: Campaign, *, ago: dt.timedelta, abandoned: bool) -> Call:
    """A campaign call a person answered `ago` (abandoned: no rep was connected in time)."""
    at = timezone.now() - ago
    return Call.objects.create(
        organization=campaign.organization,
        provider="simulated",
        to_number="+14155550100",
        status=CallStatus.COMPLETED,
        campaign=campaign,
        queued_at=at,
        started_at=at,
        answered_at=at,
        answered_by="human",
        abandoned=abandoned,
        ended_at=at,
    )


# --- creating and changing ---------------------------------------------------------------------


def test_manager_creates_a_campaign_of_their_team_with_the_leads_they_see(cw, api_as):
    mine = _lead(cw, cw.rep)
    no_phone = _lead(cw, cw.rep, phone=None)
    hidden = _lead(cw, cw.outsider_rep, phone="+14155552672")  # another team's: the manager does not see it
    payload = {
        "name": "Spring push",
        "mode": "power",
        "lines_per_agent": 2.5,
        "max_attempts": 4,
        "order": "newest",
        "retry_minutes": {"busy": 10},
        "team_id": cw.team.pk,
        "check_24h_window": True,
        "talk_track": "Hello {{ lead.first_name }}",
        "lead_ids": [mine.pk, no_phone.pk, hidden.pk],
    }
    response = api_as(cw.manager).post("/campaigns", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["mode"] == "power" and body["lines_per_agent"] == 2.5
    assert body["max_attempts"] == 4 and body["order"] == "newest" and body["team_id"] == cw.team.pk
    assert body["retry_minutes"]["busy"] == 10 and body["retry_minutes"]["no_answer"] == 120
    assert body["check_24h_window"] is True and body["talk_track"] == "Hello {{ lead.first_name }}"
    assert body["created_by"] == {"id": cw.manager.user_id, "name": "Manager"}
    assert body["queue"] == {"pending": 1, "dialing": 0, "done": 0, "exhausted": 0, "blocked": 0}
    assert body["abandonment_24h"] == {"live_answers": 0, "abandoned": 0, "rate_pct": None}
    campaign = Campaign.objects.get(pk=body["id"])
    assert list(CampaignLead.objects.filter(campaign=campaign).values_list("lead_id", flat=True)) == [mine.pk]
    assert campaign.retry_minutes == {"busy": 10} and str(campaign.lines_per_agent) == "2.5"
    assert AuditLog.objects.filter(action="campaign.create", object_id=campaign.pk, actor=cw.manager.user).exists()


def test_create_validation_problems_and_who_may_create(cw, api_as):
    manager, admin = api_as(cw.manager), api_as(cw.admin)
    assert_problem(api_as(cw.rep).post("/campaigns", {"name": "Mine"}), 403, "permission_denied")
    blank = assert_problem(manager.post("/campaigns", {"name": "  "}), 422, "validation_error")
    assert blank["errors"] == {"name": ["Give the campaign a name."]}
    assert "name" in assert_problem(manager.post("/campaigns", {}), 422)["errors"]
    for field, value in (
        ("lines_per_agent", 7),
        ("lines_per_agent", "1.5"),
        ("lines_per_agent", 1.25),
        ("max_attempts", 0),
        ("mode", "robocall"),
        ("retry_minutes", {"busy": 0}),
        ("retry_minutes", {"voicemail": 10}),
        ("team_id", "5"),
    ):
        problem = assert_problem(manager.post("/campaigns", {"name": "X", field: value}), 422)
        assert {name.split(".")[0] for name in problem["errors"]} == {field}, (value, problem["errors"])
    # The service's own checks come back under the request's field names.
    other_team = assert_problem(manager.post("/campaigns", {"name": "X", "team_id": cw.other_team.pk}), 422)
    assert other_team["errors"] == {"team_id": ["Choose one of your teams."]}
    agency = assert_problem(manager.post("/campaigns", {"name": "X", "agency_id": cw.agency.pk}), 422)
    assert agency["errors"] == {"agency_id": ["Only admins run campaigns for agencies."]}
    both = admin.post("/campaigns", {"name": "X", "team_id": cw.team.pk, "agency_id": cw.agency.pk})
    assert list(assert_problem(both, 422)["errors"]) == ["agency_id"]
    no_view = admin.post("/campaigns", {"name": "X", "saved_view_id": 999999})
    assert list(assert_problem(no_view, 422)["errors"]) == ["saved_view_id"]
    assert not Campaign.objects.exists()


def test_patch_changes_only_the_fields_sent(cw, api_as):
    campaign = _campaign(cw, team=cw.team, max_attempts=5, retry_minutes={"busy": 15}, talk_track="Hi")
    manager = api_as(cw.manager)
    response = manager.patch(f"/campaigns/{campaign.pk}", {"name": "Renamed", "retry_minutes": {"machine": 60}})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Renamed" and body["max_attempts"] == 5 and body["talk_track"] == "Hi"
    assert body["retry_minutes"]["busy"] == 15 and body["retry_minutes"]["machine"] == 60
    assert body["team_id"] == cw.team.pk
    assert manager.patch(f"/campaigns/{campaign.pk}", {"team_id": None}).json()["team_id"] is None
    campaign.refresh_from_db()
    assert campaign.name == "Renamed" and campaign.team_id is None and campaign.status == CampaignStatus.DRAFT
    assert AuditLog.objects.filter(action="campaign.update", object_id=campaign.pk).count() == 2
    assert "status" in assert_problem(manager.patch(f"/campaigns/{campaign.pk}", {"status": "active"}), 422)["errors"]
    assert_problem(api_as(cw.rep).patch(f"/campaigns/{campaign.pk}", {"name": "Mine"}), 403)
    assert Campaign.objects.get(pk=campaign.pk).name == "Renamed"


# --- who sees which ----------------------------------------------------------------------------------


def test_campaign_lists_follow_the_team_and_the_agency(cw, api_as):
    east = _campaign(cw, "East", team=cw.team, status=CampaignStatus.ACTIVE)
    west = _campaign(cw, "West", team=cw.other_team)
    everyone = _campaign(cw, "Everyone", mode="predictive")
    agency = _campaign(cw, "Agency", agency=cw.agency)

    def listed(member, **params) -> list[int]:
        return [c["id"] for c in api_as(member).get("/campaigns", params).json()["items"]]

    assert listed(cw.admin) == [agency.pk, everyone.pk, west.pk, east.pk]
    assert listed(cw.rep) == [everyone.pk, east.pk]
    assert listed(cw.outsider_rep) == [everyone.pk, west.pk]
    assert listed(cw.manager) == [everyone.pk, east.pk]
    assert listed(cw.agency_rep) == [agency.pk]
    assert listed(cw.field_rep) == []
    assert listed(cw.admin, status="active") == [east.pk]
    assert listed(cw.admin, mode="predictive") == [everyone.pk]

    outsider = api_as(cw.outsider_rep)
    assert_problem(outsider.get(f"/campaigns/{east.pk}"), 404, "not_found")
    assert_problem(api_as(cw.agency_rep).get(f"/campaigns/{everyone.pk}"), 404)
    assert_problem(outsider.get(f"/campaigns/{east.pk}/compliance"), 404)
    assert api_as(cw.rep).get(f"/campaigns/{east.pk}").status_code == 200


def test_campaign_list_pages_newest_first(cw, api_as):
    made = [_campaign(cw, f"Campaign {i}") for i in range(5)]
    api = api_as(cw.admin)
    first = api.get("/campaigns", {"limit": 2}).json()
    second = api.get("/campaigns", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/campaigns", {"limit": 2, "cursor": second["next_cursor"]}).json()
    ids = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert ids == [c.pk for c in reversed(made)] and third["next_cursor"] is None
    assert "status" in assert_problem(api.get("/campaigns", {"status": "running"}), 422)["errors"]
    assert "cursor" in assert_problem(api.get("/campaigns", {"cursor": "bm90LWEtY3Vyc29y"}), 422)["errors"]


def test_detail_counts_the_queue_and_the_abandonment_windows(cw, api_as):
    campaign = _campaign(cw, team=cw.team)
    states = [CampaignLeadState.PENDING] * 3 + [CampaignLeadState.DONE] * 2 + [CampaignLeadState.BLOCKED]
    for i, state in enumerate(states):
        lead = _lead(cw, cw.rep, phone=f"+1415555{2600 + i}")
        CampaignLead.objects.create(campaign=campaign, lead=lead, state=state)
    _answered(campaign, ago=dt.timedelta(hours=1), abandoned=True)
    _answered(campaign, ago=dt.timedelta(hours=2), abandoned=False)
    _answered(campaign, ago=dt.timedelta(days=3), abandoned=False)
    _answered(campaign, ago=dt.timedelta(days=40), abandoned=True)  # outside both windows
    body = api_as(cw.rep).get(f"/campaigns/{campaign.pk}").json()
    assert body["queue"] == {"pending": 3, "dialing": 0, "done": 2, "exhausted": 0, "blocked": 1}
    assert body["abandonment_24h"] == {"live_answers": 2, "abandoned": 1, "rate_pct": 50.0}
    assert body["abandonment_30d"] == {"live_answers": 3, "abandoned": 1, "rate_pct": 33.33}
    assert body["abandonment_limit_pct"] == 3.0


# --- status, leads, talk track --------------------------------------------------------------------------


def test_status_change_is_audited_and_for_admins_and_managers(cw, api_as):
    campaign = _campaign(cw, team=cw.team)
    assert_problem(api_as(cw.rep).post(f"/campaigns/{campaign.pk}/status", {"status": "active"}), 403)
    manager = api_as(cw.manager)
    response = manager.post(f"/campaigns/{campaign.pk}/status", {"status": "active"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    entry = AuditLog.objects.get(action="campaign.status", object_id=campaign.pk)
    assert entry.changes == {"status": ["draft", "active"]} and entry.actor_id == cw.manager.user_id
    assert (
        "status"
        in assert_problem(manager.post(f"/campaigns/{campaign.pk}/status", {"status": "running"}), 422)["errors"]
    )
    assert manager.post(f"/campaigns/{campaign.pk}/status", {"status": "paused"}).json()["status"] == "paused"
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED
    assert AuditLog.objects.filter(action="campaign.status", object_id=campaign.pk).count() == 2


def test_adding_leads_takes_only_leads_the_caller_sees(cw, api_as):
    campaign = _campaign(cw, team=cw.team)
    first, second = _lead(cw, cw.rep), _lead(cw, cw.other_rep, phone="+14155552672")
    no_phone = _lead(cw, cw.rep, phone=None)
    hidden = _lead(cw, cw.outsider_rep, phone="+14155552673")
    manager = api_as(cw.manager)
    url = f"/campaigns/{campaign.pk}/leads"

    assert_problem(manager.post(url, {"lead_ids": [first.pk, hidden.pk]}), 404, "not_found")
    assert not CampaignLead.objects.filter(campaign=campaign).exists()
    assert_problem(api_as(cw.rep).post(url, {"lead_ids": [first.pk]}), 403, "permission_denied")
    assert "lead_ids" in assert_problem(manager.post(url, {"lead_ids": []}), 422)["errors"]

    response = manager.post(url, {"lead_ids": [first.pk, no_phone.pk]})
    assert response.status_code == 200, response.content
    assert response.json() == {"added": 1}  # a lead without a phone is not queued
    assert manager.post(url, {"lead_ids": [first.pk, second.pk]}).json() == {"added": 1}
    queued = set(CampaignLead.objects.filter(campaign=campaign).values_list("lead_id", flat=True))
    assert queued == {first.pk, second.pk}
    assert AuditLog.objects.filter(action="campaign.add_leads", object_id=campaign.pk).count() == 2


def test_a_rep_who_works_the_campaign_edits_its_talk_track(cw, api_as):
    campaign = _campaign(cw, team=cw.team, talk_track="Old words")
    url = f"/campaigns/{campaign.pk}/talk-track"
    response = _put(api_as(cw.rep), url, {"talk_track": "Hi {{ lead.first_name }}, a minute?"})
    assert response.status_code == 200, response.content
    assert response.json()["talk_track"] == "Hi {{ lead.first_name }}, a minute?"
    assert Campaign.objects.get(pk=campaign.pk).talk_track == "Hi {{ lead.first_name }}, a minute?"
    assert AuditLog.objects.filter(action="campaign.talk_track", object_id=campaign.pk, actor=cw.rep.user).exists()

    assert_problem(_put(api_as(cw.outsider_rep), url, {"talk_track": "Mine now"}), 404)
    assert_problem(_put(api_as(cw.field_rep), url, {"talk_track": "Mine now"}), 404)
    assert "talk_track" in assert_problem(_put(api_as(cw.rep), url, {}), 422)["errors"]
    assert Campaign.objects.get(pk=campaign.pk).talk_track == "Hi {{ lead.first_name }}, a minute?"


# --- compliance report -------------------------------------------------------------------------------


def test_compliance_report_is_a_csv_for_admins_and_the_teams_manager(cw, api_as):
    campaign = _campaign(cw, "Spring push", team=cw.team)
    dropped = _answered(campaign, ago=dt.timedelta(hours=1), abandoned=True)
    kept = _answered(campaign, ago=dt.timedelta(days=2), abandoned=False)
    old = _answered(campaign, ago=dt.timedelta(days=10), abandoned=False)
    manager = api_as(cw.manager)
    url = f"/campaigns/{campaign.pk}/compliance"

    response = manager.get(url, {"days": 7})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="campaign-{campaign.pk}-compliance.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["campaign", "Spring push"]
    assert rows[1][0] == "period_from" and rows[1][2] == "period_to"
    assert rows[3] == ["live_answers", "2", "abandoned", "1", "rate_pct", "50.0"]
    header = rows.index([]) + 1
    assert rows[header][:3] == ["call_id", "to", "caller_id"]
    listed = [row[0] for row in rows[header + 1 :]]
    assert listed == [str(kept.pk), str(dropped.pk)]  # in the order placed; the 10-day-old one is outside 7 days
    default = list(csv.reader(io.StringIO(b"".join(manager.get(url).streaming_content).decode())))
    assert str(old.pk) in [row[0] for row in default if row]  # 30 days by default

    assert_problem(api_as(cw.rep).get(url), 403, "permission_denied")
    # It lists every call of the campaign: a campaign for every team is the admins' to report on.
    everyone = _campaign(cw, "Everyone")
    assert_problem(manager.get(f"/campaigns/{everyone.pk}/compliance"), 403, "permission_denied")
    assert api_as(cw.admin).get(f"/campaigns/{everyone.pk}/compliance").status_code == 200
    for days in (0, 401, "many"):
        assert "days" in assert_problem(manager.get(url, {"days": days}), 422)["errors"]


# --- the caller at the dialer --------------------------------------------------------------------------


def test_agent_goes_ready_pauses_and_goes_offline(cw, api_as):
    rep = api_as(cw.rep)
    mine = _campaign(cw, "East", team=cw.team)
    theirs = _campaign(cw, "West", team=cw.other_team, status=CampaignStatus.ACTIVE)

    got = rep.get("/me/dialer")
    assert got.status_code == 200, got.content
    assert got.json()["state"] == "offline" and got.json()["campaign_id"] is None

    no_campaign = assert_problem(rep.post("/me/dialer/state", {"state": "ready"}), 422, "validation_error")
    assert no_campaign["errors"] == {"campaign_id": ["Choose a campaign to work."]}
    assert_problem(rep.post("/me/dialer/state", {"state": "ready", "campaign_id": mine.pk}), 409, "conflict")
    assert_problem(rep.post("/me/dialer/state", {"state": "ready", "campaign_id": theirs.pk}), 404)
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.OFFLINE

    api_as(cw.manager).post(f"/campaigns/{mine.pk}/status", {"status": "active"})
    ready = rep.post("/me/dialer/state", {"state": "ready", "campaign_id": mine.pk})
    assert ready.status_code == 200, ready.content
    assert ready.json()["state"] == "ready" and ready.json()["campaign_id"] == mine.pk
    assert ready.json()["state_since"].endswith("Z")

    no_reason = assert_problem(rep.post("/me/dialer/state", {"state": "paused"}), 422)
    assert list(no_reason["errors"]) == ["pause_reason"]
    unknown_reason = rep.post("/me/dialer/state", {"state": "paused", "pause_reason": "nap"})
    assert list(assert_problem(unknown_reason, 422)["errors"]) == ["pause_reason"]
    paused = rep.post("/me/dialer/state", {"state": "paused", "pause_reason": "lunch"}).json()
    assert paused["state"] == "paused" and paused["pause_reason"] == "lunch" and paused["campaign_id"] == mine.pk
    assert "state" in assert_problem(rep.post("/me/dialer/state", {"state": "on_call"}), 422)["errors"]
    assert rep.post("/me/dialer/state", {"state": "ready"}).json()["pause_reason"] == ""  # the same campaign

    AgentSession.objects.filter(user=cw.rep.user).update(state=AgentState.ON_CALL)
    assert_problem(rep.post("/me/dialer/state", {"state": "paused", "pause_reason": "break"}), 409, "conflict")
    assert rep.get("/me/dialer").json()["state"] == "on_call"
    offline = rep.post("/me/dialer/state", {"state": "offline"})
    assert offline.status_code == 200 and offline.json()["state"] == "offline"


def test_field_reps_have_no_dialer_state(cw, api_as):
    field = api_as(cw.field_rep)
    assert_problem(field.get("/me/dialer"), 403, "permission_denied")
    assert_problem(field.post("/me/dialer/state", {"state": "offline"}), 403, "permission_denied")
    assert_problem(_put(field, "/me/dialer/phone", {"endpoint": "+14155552671"}), 403, "permission_denied")
    assert not AgentSession.objects.filter(user=cw.field_rep.user).exists()


def test_phone_endpoint_is_on_the_organizations_pbx_a_client_or_a_number_of_its_country(cw, api_as):
    settings = telephony_settings(cw.org.pk)
    settings.provider_config = {"trunk_host": "sip.carrier.example", "from_domain": "pbx.example.com"}
    settings.save()
    DncEntry.objects.create(organization=cw.org, number="+14155550199")
    rep = api_as(cw.rep)
    for sent, stored in (
        ("sip:rep@pbx.example.com", "sip:rep@pbx.example.com"),
        ("client:rep_1", "client:rep_1"),
        ("(415) 555-2671", "+14155552671"),
    ):
        response = _put(rep, "/me/dialer/phone", {"endpoint": sent})
        assert response.status_code == 200, response.content
        assert response.json()["endpoint"] == stored
        assert AgentSession.objects.get(user=cw.rep.user).endpoint == stored
    assert AuditLog.objects.filter(action="agent.phone", actor=cw.rep.user).count() == 3
    for bad in ("not a phone", "sip:rep@elsewhere.example", "+442079460000", "+1 415 555 0199", "sip:no-host"):
        problem = assert_problem(_put(rep, "/me/dialer/phone", {"endpoint": bad}), 422, "validation_error")
        assert list(problem["errors"]) == ["endpoint"], bad
    assert "endpoint" in assert_problem(_put(rep, "/me/dialer/phone", {}), 422)["errors"]
    assert AgentSession.objects.get(user=cw.rep.user).endpoint == "+14155552671"
    assert _put(rep, "/me/dialer/phone", {"endpoint": ""}).json()["endpoint"] == ""
