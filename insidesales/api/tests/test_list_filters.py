"""List filters (the same FilterSet as the list pages) and cursor pagination."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.api.tests.conftest import assert_problem
from insidesales.core.testing import factories as f


@pytest.fixture
def leads(admin):
    """Five leads of the admin's organization with distinct statuses, owners, tags and custom values."""
    org = admin.organization
    rep = f.InsideRepMembershipFactory(organization=org, user=f.UserFactory(full_name="Rita Rep"))
    tag = f.TagFactory(organization=org, name="hot")
    f.CustomFieldFactory(organization=org, record_type="lead", key="tier", field_type="choice")
    now = timezone.now()
    rows = {
        "new_mine": f.LeadFactory(owned_by=admin, status="new", first_name="Alpha", country="US"),
        "working_rep": f.LeadFactory(owned_by=rep, status="working", first_name="Bravo", tags=[tag]),
        "qualified_pool": f.LeadFactory(organization=org, status="qualified", first_name="Charlie", country="DE"),
        "gold": f.LeadFactory(organization=org, status="new", first_name="Delta", custom={"tier": "gold"}),
        "old": f.LeadFactory(organization=org, status="disqualified", first_name="Echo"),
    }
    for index, lead in enumerate(rows.values()):
        lead.last_activity_at = now - dt.timedelta(minutes=index)
        lead.save(update_fields=["last_activity_at"])
    type(rows["old"]).objects.filter(pk=rows["old"].pk).update(created_at=now - dt.timedelta(days=30))
    f.LeadFactory(organization=f.OrganizationFactory(), first_name="Foreign")  # never listed
    return {"rep": rep, "tag": tag, **rows}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["first_name"] for item in response.json()["items"]]


def test_default_order_is_latest_activity_first(admin_api, leads):
    assert names(admin_api.get("/leads")) == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]


def test_status_filter_takes_a_repeated_or_comma_separated_list(admin_api, leads):
    assert names(admin_api.get("/leads", {"status": ["new", "qualified"]})) == ["Alpha", "Charlie", "Delta"]
    assert names(admin_api.get("/leads?status=new,qualified")) == ["Alpha", "Charlie", "Delta"]
    assert names(admin_api.get("/leads", {"status": "working"})) == ["Bravo"]


def test_owner_filter_takes_me_none_or_an_id(admin_api, leads):
    assert names(admin_api.get("/leads", {"owner": "me"})) == ["Alpha"]
    assert names(admin_api.get("/leads", {"owner": str(leads["rep"].user_id)})) == ["Bravo"]
    assert names(admin_api.get("/leads", {"owner": "none"})) == ["Charlie", "Delta", "Echo"]


def test_search_tag_country_created_and_custom_filters(admin_api, leads):
    assert names(admin_api.get("/leads", {"q": "char"})) == ["Charlie"]
    assert names(admin_api.get("/leads", {"tag": leads["tag"].pk})) == ["Bravo"]
    assert names(admin_api.get("/leads", {"country": "DE"})) == ["Charlie"]
    thirty_days_ago = (timezone.now() - dt.timedelta(days=29)).date().isoformat()
    assert names(admin_api.get("/leads", {"created_to": thirty_days_ago})) == ["Echo"]
    assert "Echo" not in names(admin_api.get("/leads", {"created_from": thirty_days_ago}))
    assert names(admin_api.get("/leads", {"custom.tier": "gold"})) == ["Delta"]


def test_sort_by_name(admin_api, leads):
    assert names(admin_api.get("/leads", {"sort": "-name_key"})) == ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]


def test_cursor_pages_through_everything_once(admin_api, leads):
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = admin_api.get("/leads", params)
        seen += names(response)
        cursor = response.json()["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    assert pages == 3


def test_lists_have_no_count(admin_api, leads):
    assert set(admin_api.get("/leads").json()) == {"items", "next_cursor"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"sort": "email"}, "sort"),
        ({"owner": "someone"}, "owner"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"team": "x"}, "team"),
    ],
)
def test_invalid_filters_answer_422_naming_the_field(admin_api, leads, params, field):
    body = assert_problem(admin_api.get("/leads", params), 422, "validation_error")
    assert field in body["errors"]


def test_a_garbled_cursor_is_a_422(admin_api, leads):
    body = assert_problem(admin_api.get("/leads", {"cursor": "bm9wZQ"}), 422)
    assert "cursor" in body["errors"]


def test_deal_filters(admin, admin_api):
    won = f.DealFactory(organization=admin.organization, name="Won one")
    won.stage = won.pipeline.stages.get(kind="won")
    won.save()
    f.DealFactory(organization=admin.organization, name="Open one")
    response = admin_api.get("/deals", {"stage_kind": "won"})
    assert [d["name"] for d in response.json()["items"]] == ["Won one"]
    assert_problem(admin_api.get("/deals", {"stage_kind": "maybe"}), 422)


def test_timeline_is_cursor_paginated(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Chatty"}).json()
    for index in range(4):
        assert admin_api.post(f"/leads/{lead['id']}/notes", {"body": f"note {index}"}).status_code == 201
    first = admin_api.get(f"/leads/{lead['id']}/timeline", {"limit": 3}).json()
    assert [a["body"] for a in first["items"]][:1] == ["note 3"]
    rest = admin_api.get(f"/leads/{lead['id']}/timeline", {"limit": 3, "cursor": first["next_cursor"]}).json()
    bodies = [a["body"] for a in first["items"] + rest["items"]]
    assert len(bodies) == len(set(a["id"] for a in first["items"] + rest["items"]))
    assert {"note 0", "note 1", "note 2", "note 3"} <= set(bodies)
    assert rest["next_cursor"] is None
