"""Tasks, tags, custom fields, pipelines, saved views, search and /me."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.api.tests.conftest import assert_problem
from insidesales.core.testing import factories as f
from insidesales.crm.models import CustomField, SavedView, Task


def _soon(hours: float = 1) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).isoformat()


def test_task_lifecycle(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Callme"}).json()
    created = admin_api.post(
        "/tasks", {"title": "Call back", "due_at": _soon(), "record_type": "lead", "record_id": lead["id"]}
    )
    assert created.status_code == 201, created.content
    task = created.json()
    assert task["record"] == {"type": "lead", "id": lead["id"], "name": "Callme"}
    assert task["assignee"]["name"] == "Ada Admin"
    assert task["due_at"].endswith("Z")

    assert [t["id"] for t in admin_api.get("/tasks").json()["items"]] == [task["id"]]
    assert admin_api.get(f"/tasks/{task['id']}").json()["title"] == "Call back"
    patched = admin_api.patch(f"/tasks/{task['id']}", {"notes": "ask for Bob"}).json()
    assert (patched["notes"], patched["title"]) == ("ask for Bob", "Call back")
    done = admin_api.post(f"/tasks/{task['id']}/complete").json()
    assert done["completed_at"] is not None
    assert admin_api.get("/tasks").json()["items"] == []
    assert len(admin_api.get("/tasks", {"include_completed": "true"}).json()["items"]) == 1
    reopened = admin_api.post(f"/tasks/{task['id']}/complete", {"done": False}).json()
    assert reopened["completed_at"] is None
    assert admin_api.delete(f"/tasks/{task['id']}").status_code == 204
    assert not Task.objects.filter(pk=task["id"]).exists()


def test_due_times_in_other_zones_come_back_in_utc(admin_api):
    task = admin_api.post("/tasks", {"title": "Zoned", "due_at": "2030-01-01T12:00:00+03:00"}).json()
    assert task["due_at"] == "2030-01-01T09:00:00Z"


def test_tasks_today_are_mine_and_due_by_tonight(world, api_as):
    api = api_as(world.rep1)
    api.post("/tasks", {"title": "Overdue", "due_at": (timezone.now() - dt.timedelta(days=2)).isoformat()})
    api.post("/tasks", {"title": "Next week", "due_at": _soon(24 * 7)})
    titles = [t["title"] for t in api.get("/tasks/today").json()]
    assert "Overdue" in titles
    assert "Next week" not in titles
    assert all(t["assignee"]["id"] == world.rep1.user_id for t in api.get("/tasks/today").json())


def test_manager_may_assign_tasks_to_the_team_but_a_rep_may_not(world, api_as):
    created = api_as(world.manager).post("/tasks", {"title": "For rep", "assignee_id": world.rep1.user_id})
    assert created.json()["assignee"]["id"] == world.rep1.user_id
    refused = api_as(world.rep1).post("/tasks", {"title": "For rep2", "assignee_id": world.rep2.user_id})
    assert "assignee" in assert_problem(refused, 422)["errors"]


def test_record_type_and_id_go_together(admin_api):
    assert_problem(admin_api.post("/tasks", {"title": "Half", "record_type": "lead"}), 422)


def test_tags_list_and_create(admin_api):
    created = admin_api.post("/tags", {"name": "vip", "color": "#ff0000"})
    assert created.status_code == 201
    assert created.json()["name"] == "vip"
    assert [t["name"] for t in admin_api.get("/tags").json()] == ["vip"]
    assert_problem(admin_api.post("/tags", {"name": "bad", "color": "red"}), 422)


def test_custom_fields_are_listed_for_everyone_and_created_by_admins(world, api_as):
    created = api_as(world.admin).post(
        "/custom-fields", {"record_type": "lead", "label": "Tier", "field_type": "choice", "choices": ["gold"]}
    )
    assert created.status_code == 201, created.content
    assert created.json()["key"] == "tier"
    listed = api_as(world.rep1).get("/custom-fields", {"record_type": "lead"}).json()
    assert [c["key"] for c in listed] == ["tier"]
    assert api_as(world.rep1).get("/custom-fields", {"record_type": "deal"}).json() == []
    before = CustomField.objects.count()
    assert_problem(
        api_as(world.rep1).post("/custom-fields", {"record_type": "lead", "label": "X", "field_type": "text"}), 403
    )
    assert CustomField.objects.count() == before


def test_pipelines_come_with_their_stages(admin_api):
    pipelines = admin_api.get("/pipelines").json()
    assert pipelines[0]["is_default"]
    kinds = [s["kind"] for s in pipelines[0]["stages"]]
    assert {"open", "won", "lost"} <= set(kinds)


def test_saved_views_create_list_delete(world, api_as):
    api = api_as(world.rep1)
    created = api.post(
        "/saved-views",
        {"record_type": "lead", "name": "My hot", "filters": {"status": ["new"], "owner": "me"}, "sort": "-created_at"},
    )
    assert created.status_code == 201, created.content
    view = created.json()
    assert view["filters"] == {"status": ["new"], "owner": "me"}
    assert [v["id"] for v in api.get("/saved-views", {"record_type": "lead"}).json()] == [view["id"]]
    assert_problem(api_as(world.rep2).delete(f"/saved-views/{view['id']}"), 404)
    assert api.delete(f"/saved-views/{view['id']}").status_code == 204
    assert not SavedView.objects.filter(pk=view["id"]).exists()
    assert_problem(api.post("/saved-views", {"record_type": "lead", "name": "x", "filters": {"status": "x"}}), 422)


def test_search_finds_by_name_email_and_phone(world, api_as):
    api = api_as(world.rep1)
    lead = world.lead_rep1
    assert [h["id"] for h in api.get("/search", {"q": lead.last_name}).json()["leads"]] == [lead.pk]
    assert [h["id"] for h in api.get("/search", {"q": lead.email}).json()["leads"]] == [lead.pk]
    national = lead.phone.removeprefix("+1")
    assert lead.pk in [h["id"] for h in api.get("/search", {"q": national}).json()["leads"]]
    assert_problem(api.get("/search"), 422)


def test_me_tells_role_team_and_agency(world, api_as):
    me = api_as(world.agency_x_rep).get("/me").json()
    assert me["role"] == "agency_rep"
    assert me["agency"] == {"id": world.agency_x.pk, "name": "Agency X"}
    assert api_as(world.rep1).get("/me").json()["team"] == {"id": world.team1.pk, "name": "Team 1"}


def test_custom_field_values_filter_and_validate(admin, admin_api):
    f.CustomFieldFactory(organization=admin.organization, record_type="deal", key="seats", field_type="number")
    deal = admin_api.post("/deals", {"name": "Seats", "custom": {"seats": 12}}).json()
    assert deal["custom"] == {"seats": 12}
    assert [d["id"] for d in admin_api.get("/deals", {"custom.seats": "12"}).json()["items"]] == [deal["id"]]
    body = assert_problem(admin_api.patch(f"/deals/{deal['id']}", {"custom": {"seats": "many"}}), 422)
    assert "custom.seats" in body["errors"]


@pytest.mark.parametrize("when", [1893456000, 1893456000.5, True])
def test_dates_given_as_numbers_are_refused(admin_api, when):
    """A number could be seconds or milliseconds since 1970: the API asks for ISO 8601 text instead."""
    response = admin_api.post("/tasks", {"title": "Epoch", "due_at": when})
    assert response.status_code == 422
    assert "ISO 8601" in response.content.decode()
    deal = admin_api.post("/deals", {"name": "Epoch deal", "expected_close": 1893456000})
    assert deal.status_code == 422
