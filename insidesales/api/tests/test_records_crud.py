"""Create, read, update (only the fields sent), list and delete each record type through the API."""

from __future__ import annotations

import pytest

from insidesales.api.tests.conftest import assert_problem
from insidesales.core.testing import factories as f
from insidesales.crm.models import Company, Contact, Deal, Lead

CREATE = {
    "leads": {"first_name": "Ann", "last_name": "Lee", "company_name": "Lee Co", "phone": "(415) 555-0101"},
    "contacts": {"first_name": "Bob", "last_name": "Stone", "email": "Bob@Stone.test", "phone": "+7 495 123-45-67"},
    "companies": {"name": "Stone Works", "domain": "https://www.stone.test/", "employees": 12},
    "deals": {"name": "Stone renewal", "amount": "1200.50", "expected_close": "2030-01-31"},
}
PATCH = {
    "leads": ("title", "Buyer"),
    "contacts": ("title", "CTO"),
    "companies": ("industry", "Mining"),
    "deals": ("amount", "99.00"),
}
UNCHANGED = {"leads": "last_name", "contacts": "last_name", "companies": "name", "deals": "name"}
MODELS = {"leads": Lead, "contacts": Contact, "companies": Company, "deals": Deal}


@pytest.mark.parametrize("plural", list(CREATE))
def test_record_lifecycle(admin_api, plural):
    created = admin_api.post(f"/{plural}", CREATE[plural])
    assert created.status_code == 201, created.content
    record = created.json()
    assert MODELS[plural].objects.filter(pk=record["id"]).exists()
    for name in ("owner", "tags", "custom", "created_at", "updated_at", "last_activity_at"):
        assert name in record
    assert record["created_at"].endswith("Z")

    fetched = admin_api.get(f"/{plural}/{record['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == record["id"]

    field, value = PATCH[plural]
    patched = admin_api.patch(f"/{plural}/{record['id']}", {field: value})
    assert patched.status_code == 200, patched.content
    assert patched.json()[field] == value
    keep = UNCHANGED[plural]
    assert patched.json()[keep] == record[keep]  # only the sent field changed

    listed = admin_api.get(f"/{plural}")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [record["id"]]
    assert listed.json()["next_cursor"] is None

    deleted = admin_api.delete(f"/{plural}/{record['id']}")
    assert deleted.status_code == 204
    assert not MODELS[plural].objects.filter(pk=record["id"]).exists()
    assert_problem(admin_api.get(f"/{plural}/{record['id']}"), 404, "not_found")


def test_lead_phone_is_stored_as_e164_with_the_raw_form_and_time_zone(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Ivanov", "phone": "+7 (495) 123-45-67"}).json()
    assert lead["phone"] == "+74951234567"
    assert lead["phone_raw"] == "+7 (495) 123-45-67"
    assert lead["country"] == "RU"
    assert lead["time_zone"] == "Europe/Moscow"


def test_contact_and_deal_show_their_company(admin_api):
    company = admin_api.post("/companies", {"name": "Acme"}).json()
    contact = admin_api.post("/contacts", {"last_name": "Roe", "company_id": company["id"]}).json()
    assert contact["company"] == {"id": company["id"], "name": "Acme"}
    deal = admin_api.post("/deals", {"name": "Acme deal", "company_id": company["id"]}).json()
    assert deal["company"] == {"id": company["id"], "name": "Acme"}
    assert deal["stage"]["kind"] == "open"
    assert deal["amount"] == "0.00"


def test_tags_and_custom_fields_round_trip(admin, admin_api):
    tag = f.TagFactory(organization=admin.organization, name="vip")
    f.CustomFieldFactory(organization=admin.organization, record_type="lead", key="budget", field_type="number")
    lead = admin_api.post("/leads", {"last_name": "Kim", "tag_ids": [tag.pk], "custom": {"budget": "1500"}}).json()
    assert lead["tags"] == [{"id": tag.pk, "name": "vip", "color": tag.color}]
    assert lead["custom"] == {"budget": 1500}
    patched = admin_api.patch(f"/leads/{lead['id']}", {"first_name": "Jo"}).json()
    assert patched["custom"] == {"budget": 1500}  # not sent, not touched
    assert patched["tags"] == lead["tags"]


def test_unknown_custom_field_is_refused(admin_api):
    body = assert_problem(admin_api.post("/leads", {"last_name": "Kim", "custom": {"nope": 1}}), 422)
    assert "custom.nope" in body["errors"]


def test_lead_status_cannot_change_through_patch(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Kim"}).json()
    body = assert_problem(admin_api.patch(f"/leads/{lead['id']}", {"status": "qualified"}), 422, "validation_error")
    assert "status" in body["errors"]
    assert Lead.objects.get(pk=lead["id"]).status == "new"


def test_deal_stage_cannot_change_through_patch(admin_api):
    deal = admin_api.post("/deals", {"name": "D"}).json()
    body = assert_problem(admin_api.patch(f"/deals/{deal['id']}", {"stage_id": deal["stage"]["id"] + 1}), 422)
    assert "stage" in body["errors"]


def test_unknown_body_fields_are_refused(admin_api):
    body = assert_problem(admin_api.post("/companies", {"name": "X", "colour": "red"}), 422)
    assert "colour" in body["errors"]


def test_rep_creating_a_lead_owns_it(world, api_as):
    lead = api_as(world.rep1).post("/leads", {"last_name": "Mine"}).json()
    assert lead["owner"] == {"id": world.rep1.user_id, "name": world.rep1.user.full_name}
    assert lead["team_id"] == world.team1.pk


def test_agency_rep_creating_a_lead_gives_it_to_the_agency(world, api_as):
    lead = api_as(world.agency_x_rep).post("/leads", {"last_name": "Outsourced"}).json()
    assert lead["agency_id"] == world.agency_x.pk


def test_rep_cannot_delete_someone_elses_pool_lead(world, api_as):
    assert_problem(api_as(world.rep1).delete(f"/leads/{world.lead_unassigned.pk}"), 403, "permission_denied")
    assert Lead.objects.filter(pk=world.lead_unassigned.pk).exists()
