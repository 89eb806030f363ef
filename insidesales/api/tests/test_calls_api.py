"""The calls API end to end with API keys: click-to-call and its refusals, hang-up, the disposition and its
callback, the do-not-call list and who may change it, callbacks, scoping, and idempotent retries."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from insidesales.api.tests.conftest import assert_problem
from insidesales.calls.models import Call, Callback, CallStatus, Disposition, DncEntry
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.tests import conftest as calls_conftest
from insidesales.crm.models import Activity, ActivityKind, Lead

# The calls app's world: an organization (US numbers) with a team, an agency and every role, always open for calls.
cw = calls_conftest.cw


def _lead(cw, member, phone="+14155552671", **extra) -> Lead:
    return cw.lead(by=member, phone=phone, owner_id=member.user_id, time_zone="America/Los_Angeles", **extra)


def _ended_call(api, lead) -> dict:
    """A call placed through the API to `lead`, then ended (as the dialer would report it)."""
    response = api.post("/calls", {"lead_id": lead.pk})
    assert response.status_code == 201, response.content
    Call.objects.filter(pk=response.json()["id"]).update(status=CallStatus.COMPLETED, ended_at=timezone.now())
    return response.json()


# --- placing a call --------------------------------------------------------------------------------


def test_rep_calls_a_lead_the_call_is_queued_and_on_the_timeline(cw, api_as):
    lead = _lead(cw, cw.rep, phone="(415) 555-2671")
    response = api_as(cw.rep).post("/calls", {"lead_id": lead.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["direction"] == "outbound"
    assert body["to_number"] == "+14155552671" and body["lead_id"] == lead.pk and body["contact_id"] is None
    assert body["agent"] == {"id": cw.rep.user_id, "name": "Rep"}
    assert body["disposition"] is None and body["ended_at"] is None and body["queued_at"].endswith("Z")
    call = Call.objects.get(pk=body["id"])
    assert call.status == CallStatus.QUEUED and call.agent_id == cw.rep.user_id
    entry = Activity.objects.get(lead=lead, kind=ActivityKind.CALL)
    assert entry.data["call_id"] == call.pk and entry.data["status"] == "queued"

    got = api_as(cw.rep).get(f"/calls/{call.pk}")
    assert got.status_code == 200 and got.json() == body


def test_a_do_not_call_number_is_refused_with_409_and_the_reason(cw, api_as):
    api = api_as(cw.rep)
    lead = _lead(cw, cw.rep)
    added = api.post("/do-not-call", {"number": "+1 415 555 2671", "reason": "asked on the phone"})
    assert added.status_code == 201 and added.json()["number"] == "+14155552671"
    problem = assert_problem(api.post("/calls", {"lead_id": lead.pk}), 409, "call_blocked")
    assert problem["reason"] == "do_not_call" and problem["next_allowed_at"] is None
    assert problem["detail"]
    assert not Call.objects.exists()


def test_a_call_outside_the_calling_window_says_when_it_opens(cw, api_as):
    zone = zoneinfo.ZoneInfo("America/Los_Angeles")
    today = timezone.now().astimezone(zone).date()
    settings = telephony_settings(cw.org.pk)
    settings.window_rules = {**calls_conftest.ALWAYS_OPEN, "blocked_dates": [today.isoformat()]}
    settings.save()
    lead = _lead(cw, cw.rep)
    problem = assert_problem(api_as(cw.rep).post("/calls", {"lead_id": lead.pk}), 409, "call_blocked")
    assert problem["reason"] == "blocked_date"
    opens = dt.datetime.fromisoformat(problem["next_allowed_at"])
    assert opens > timezone.now() and opens.astimezone(zone).date() == today + dt.timedelta(days=1)
    assert not Call.objects.exists()


def test_call_start_validation_problems(cw, api_as):
    api = api_as(cw.rep)
    lead = _lead(cw, cw.rep)
    both = assert_problem(api.post("/calls", {"lead_id": lead.pk, "contact_id": 1}), 422, "validation_error")
    neither = assert_problem(api.post("/calls", {}), 422, "validation_error")
    assert both["errors"] == neither["errors"] == {"body": ["Send one of lead_id, contact_id and company_id."]}
    assert "lead_id" in assert_problem(api.post("/calls", {"lead_id": "5"}), 422)["errors"]
    other = assert_problem(api.post("/calls", {"lead_id": lead.pk, "number": "+14155550000"}), 422)
    assert list(other["errors"]) == ["number"]
    no_phone = cw.lead(by=cw.rep, owner_id=cw.rep.user_id)
    assert "number" in assert_problem(api.post("/calls", {"lead_id": no_phone.pk}), 422)["errors"]
    assert not Call.objects.exists()


def test_idempotency_key_on_call_start_places_one_call(cw, api_as):
    api = api_as(cw.rep)
    lead = _lead(cw, cw.rep)
    first = api.post("/calls", {"lead_id": lead.pk}, **{"Idempotency-Key": "call-once-1"})
    again = api.post("/calls", {"lead_id": lead.pk}, **{"Idempotency-Key": "call-once-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Call.objects.count() == 1
    # Without the key a second click is a new request, refused while the first call is live.
    assert_problem(api.post("/calls", {"lead_id": lead.pk}), 409, "conflict")
    assert Call.objects.count() == 1


# --- hang-up and disposition ---------------------------------------------------------------------------


def test_hangup_asks_the_dialer_to_end_the_call(cw, api_as):
    lead = _lead(cw, cw.rep)
    call_id = api_as(cw.rep).post("/calls", {"lead_id": lead.pk}).json()["id"]
    assert_problem(api_as(cw.other_rep).post(f"/calls/{call_id}/hangup"), 404, "not_found")
    assert Call.objects.get(pk=call_id).hangup_requested_at is None
    response = api_as(cw.rep).post(f"/calls/{call_id}/hangup")
    assert response.status_code == 200, response.content
    assert response.json()["hangup_requested_at"] is not None
    assert Call.objects.get(pk=call_id).hangup_requested_at is not None


def test_disposition_with_a_callback_keeps_the_due_time_exactly(cw, api_as):
    api = api_as(cw.rep)
    lead = _lead(cw, cw.rep)
    call = _ended_call(api, lead)
    due = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0).astimezone(dt.timezone(dt.timedelta(hours=3)))
    response = api.post(
        f"/calls/{call['id']}/disposition",
        {"disposition": "callback", "note": "After lunch", "callback_at": due.isoformat(), "callback_for_team": True},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["disposition"] == {"key": "callback", "label": "Call back"} and body["note"] == "After lunch"
    callback = Callback.objects.get(lead=lead)
    assert callback.due_at == due and callback.assignee_id == cw.rep.user_id
    assert not callback.is_personal and callback.call_id == call["id"]
    assert Activity.objects.get(lead=lead, kind=ActivityKind.CALL).data["disposition"] == "callback"


def test_disposition_validation_problems(cw, api_as):
    api = api_as(cw.rep)
    call = _ended_call(api, _lead(cw, cw.rep))
    url = f"/calls/{call['id']}/disposition"
    missing_time = assert_problem(api.post(url, {"disposition": "callback"}), 422, "validation_error")
    assert list(missing_time["errors"]) == ["callback_at"]
    naive = assert_problem(api.post(url, {"disposition": "callback", "callback_at": "2030-01-01T10:00:00"}), 422)
    assert "callback_at" in naive["errors"]
    past = assert_problem(api.post(url, {"disposition": "callback", "callback_at": "2001-01-01T10:00:00Z"}), 422)
    assert "callback_at" in past["errors"]
    assert "disposition" in assert_problem(api.post(url, {"disposition": "bogus"}), 422)["errors"]
    assert "disposition" in assert_problem(api.post(url, {"note": "x"}), 422)["errors"]
    assert not Callback.objects.exists()
    assert Call.objects.get(pk=call["id"]).disposition_id is None


def test_another_reps_call_is_404_for_every_operation(cw, api_as):
    call = _ended_call(api_as(cw.rep), _lead(cw, cw.rep))
    other = api_as(cw.other_rep)
    assert_problem(other.get(f"/calls/{call['id']}"), 404)
    assert_problem(other.post(f"/calls/{call['id']}/disposition", {"disposition": "not_interested"}), 404)
    assert other.get("/calls").json()["items"] == []
    assert api_as(cw.manager).get(f"/calls/{call['id']}").status_code == 200  # the rep's manager
    assert Call.objects.get(pk=call["id"]).disposition_id is None


# --- lists -----------------------------------------------------------------------------------------


def test_agency_rep_lists_only_the_agency_calls(cw, api_as):
    ours = cw.lead(phone="+14155552671")
    Lead.objects.filter(pk=ours.pk).update(agency=cw.agency)
    agency_call = api_as(cw.agency_rep).post("/calls", {"lead_id": ours.pk}).json()
    _ended_call(api_as(cw.rep), _lead(cw, cw.rep, phone="+14155552672"))
    listed = api_as(cw.agency_rep).get("/calls").json()["items"]
    assert [c["id"] for c in listed] == [agency_call["id"]]
    assert len(api_as(cw.admin).get("/calls").json()["items"]) == 2


def test_call_list_filters_and_pages_newest_first(cw, api_as):
    lead = _lead(cw, cw.rep)
    base = timezone.now() - dt.timedelta(hours=1)
    calls = [
        Call.objects.create(
            organization=cw.org,
            provider="simulated",
            to_number=lead.phone,
            status=CallStatus.COMPLETED if i % 2 else CallStatus.NO_ANSWER,
            agent=cw.rep.user,
            lead=lead,
            owner_id=lead.owner_id,
            team_id=lead.team_id,
            queued_at=base + dt.timedelta(minutes=i),
        )
        for i in range(5)
    ]
    api = api_as(cw.rep)
    first = api.get("/calls", {"limit": 2}).json()
    second = api.get("/calls", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/calls", {"limit": 2, "cursor": second["next_cursor"]}).json()
    ids = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert ids == [c.pk for c in reversed(calls)] and third["next_cursor"] is None
    completed = api.get("/calls", {"status": "completed"}).json()["items"]
    assert [c["id"] for c in completed] == [calls[3].pk, calls[1].pk]
    window = {
        "since": (base + dt.timedelta(minutes=1)).isoformat(),
        "until": (base + dt.timedelta(minutes=3)).isoformat(),
    }
    assert [c["id"] for c in api.get("/calls", window).json()["items"]] == [calls[2].pk, calls[1].pk]
    assert api.get("/calls", {"lead_id": lead.pk + 1000}).json()["items"] == []
    assert api.get("/calls", {"agent_id": cw.rep.user_id, "direction": "outbound"}).json()["items"]
    assert "status" in assert_problem(api.get("/calls", {"status": "bogus"}), 422)["errors"]
    assert "since" in assert_problem(api.get("/calls", {"since": "2026-01-01T10:00:00"}), 422)["errors"]


def test_dispositions_are_created_with_the_defaults_on_first_use(cw, api_as):
    assert not Disposition.objects.filter(organization=cw.org).exists()
    listed = api_as(cw.rep).get("/dispositions").json()
    assert [d["key"] for d in listed][:3] == ["interested", "not_interested", "callback"]
    assert listed[2]["actions"] == {"callback": True} and listed[2]["label"] == "Call back"
    Disposition.objects.filter(organization=cw.org, key="voicemail").update(is_active=False)
    assert "voicemail" not in [d["key"] for d in api_as(cw.rep).get("/dispositions").json()]


# --- do-not-call -------------------------------------------------------------------------------------


def test_rep_adds_and_checks_numbers_but_neither_reads_the_list_nor_deletes(cw, api_as):
    rep, manager = api_as(cw.rep), api_as(cw.manager)
    added = rep.post("/do-not-call", {"number": "(415) 555-2671", "reason": "asked"})
    assert added.status_code == 201, added.content
    entry = added.json()
    assert entry["number"] == "+14155552671" and entry["source"] == "api" and entry["added_by"]["id"] == cw.rep.user_id
    assert rep.post("/do-not-call", {"number": "+14155552671"}).json()["id"] == entry["id"]  # already there
    assert rep.get("/do-not-call").json() == {"items": [], "next_cursor": None}
    assert [e["id"] for e in manager.get("/do-not-call").json()["items"]] == [entry["id"]]

    assert rep.get("/do-not-call/check", {"number": "415.555.2671"}).json() == {
        "number_e164": "+14155552671",
        "blocked": True,
    }
    assert api_as(cw.agency_rep).get("/do-not-call/check", {"number": "+14155552672"}).json()["blocked"] is False
    assert "number" in assert_problem(rep.get("/do-not-call/check", {"number": "12"}), 422)["errors"]
    assert "number" in assert_problem(rep.post("/do-not-call", {"number": "call me"}), 422)["errors"]

    assert_problem(rep.delete(f"/do-not-call/{entry['id']}"), 403, "permission_denied")
    assert DncEntry.objects.filter(pk=entry["id"]).exists()
    assert manager.delete(f"/do-not-call/{entry['id']}").status_code == 204
    assert not DncEntry.objects.filter(pk=entry["id"]).exists()
    assert_problem(manager.delete(f"/do-not-call/{entry['id']}"), 404)
    assert rep.get("/do-not-call/check", {"number": "+14155552671"}).json()["blocked"] is False


def test_import_reports_bad_numbers_and_keeps_the_good_ones(cw, api_as):
    DncEntry.objects.create(organization=cw.org, number="+14155552673")
    payload = {"numbers": ["not a number", "(415) 555-2671", "+14155552673", "12", "415 555 2672"], "reason": "list"}
    assert_problem(api_as(cw.rep).post("/do-not-call/import", payload), 403, "permission_denied")
    response = api_as(cw.manager).post("/do-not-call/import", payload)
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["added"] == 2 and report["already"] == 1
    assert [(bad["index"], bad["text"]) for bad in report["bad"]] == [(0, "not a number"), (3, "12")]
    numbers = set(DncEntry.objects.filter(organization=cw.org).values_list("number", flat=True))
    assert numbers == {"+14155552671", "+14155552672", "+14155552673"}
    assert "numbers" in assert_problem(api_as(cw.manager).post("/do-not-call/import", {"numbers": []}), 422)["errors"]


# --- callbacks ------------------------------------------------------------------------------------


def _callback(cw, member, due: dt.datetime) -> Callback:
    lead = _lead(cw, member, phone=None)
    return Callback.objects.create(
        organization=cw.org, lead=lead, due_at=due, assignee=member.user, team=member.team, created_by=member.user
    )


def test_callbacks_list_due_and_upcoming_and_complete(cw, api_as):
    now = timezone.now()
    overdue = _callback(cw, cw.rep, now - dt.timedelta(minutes=5))
    later = _callback(cw, cw.rep, now + dt.timedelta(days=1))
    theirs = _callback(cw, cw.other_rep, now - dt.timedelta(minutes=1))
    api = api_as(cw.rep)
    assert [c["id"] for c in api.get("/callbacks").json()["items"]] == [overdue.pk, later.pk]
    due = api.get("/callbacks", {"due": "true"}).json()["items"]
    assert [c["id"] for c in due] == [overdue.pk] and due[0]["assignee"]["id"] == cw.rep.user_id

    assert_problem(api.post(f"/callbacks/{theirs.pk}/complete"), 404)
    assert Callback.objects.get(pk=theirs.pk).done_at is None
    done = api.post(f"/callbacks/{overdue.pk}/complete")
    assert done.status_code == 200 and done.json()["done_at"] is not None
    assert [c["id"] for c in api.get("/callbacks").json()["items"]] == [later.pk]
    manager_sees = {c["id"] for c in api_as(cw.manager).get("/callbacks").json()["items"]}
    assert manager_sees == {later.pk, theirs.pk}


def test_a_company_is_called_by_its_main_number_through_the_api(db):
    """Exactly one record: a company's main number is called like a lead's or a contact's."""
    from insidesales.calls.models import Call
    from insidesales.calls.services.config import telephony_settings
    from insidesales.core.testing import factories as f
    from insidesales.crm.models import Company
    from insidesales.orgs.services import api_key_create

    org = f.OrganizationFactory(default_region="US")
    rep = f.InsideRepMembershipFactory(organization=org)
    settings = telephony_settings(org.pk)
    settings.window_rules = {"default": [{"start": "00:00", "end": "00:00"}]}
    settings.save()
    company = Company.objects.create(organization=org, name="Acme", phone="+14155550190", owner=rep.user)
    key = api_key_create(membership=rep, name="k")[1]
    from django.test import Client

    client = Client()
    headers = {"Authorization": f"Bearer {key}"}
    response = client.post(
        "/api/v1/calls", {"company_id": company.pk}, content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    assert response.json()["company_id"] == company.pk and Call.objects.get().company == company
    both = client.post(
        "/api/v1/calls", {"company_id": company.pk, "lead_id": 1}, content_type="application/json", headers=headers
    )
    assert both.status_code == 422
