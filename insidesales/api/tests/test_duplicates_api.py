"""`/duplicates`, `/leads/{id}/merge`, `/merges/{id}/undo` through the API."""

from __future__ import annotations

import pytest

from insidesales.api.tests.conftest import assert_problem
from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, ActivityKind, Lead
from insidesales.imports import duplicates
from insidesales.imports.models import DuplicatePair, DuplicateScan, PairStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(world):
    a = f.LeadFactory(owned_by=world.rep1, first_name="Anna", last_name="Kuznetsova", email="anna@vega.example")
    b = f.LeadFactory(owned_by=world.rep1, first_name="Ana", last_name="Kuznetsova", email="anna@vega.example")
    Activity.objects.create(organization=world.org, kind=ActivityKind.NOTE, lead=b, body="met at the fair")
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=world.org.pk).pk)
    return a, b


def test_list_shows_scored_pairs_with_reasons(world, twins, api_as):
    a, b = twins
    body = api_as(world.rep1).get("/duplicates").json()
    pair = next(item for item in body["items"] if item["left"]["id"] == a.pk)
    assert pair["right"]["id"] == b.pk
    assert 0.5 <= pair["score"] <= 1
    assert set(pair["reasons"]) == {"similar_name", "same_email"}
    assert pair["status"] == "open"
    assert all(item["left"]["id"] != a.pk for item in api_as(world.rep2).get("/duplicates").json()["items"])


def test_scan_now_answers_202_and_the_latest_scan(world, api_as):
    client = api_as(world.manager)
    response = client.post("/duplicates/scan")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert client.get("/duplicates/scan").json()["id"] == response.json()["id"]
    assert DuplicateScan.objects.filter(organization=world.org, status="queued").count() == 1
    # Field reps review contacts and companies, which a scan looks at too: they may ask for one, and
    # see it without the organization's counts.
    field = api_as(world.field_rep)
    assert field.post("/duplicates/scan").status_code == 202
    seen = field.get("/duplicates/scan").json()
    assert seen["id"] == response.json()["id"] and seen["leads_count"] is None


def test_dismiss_then_merge_then_undo(world, twins, api_as):
    a, b = twins
    client = api_as(world.rep1)
    pair = DuplicatePair.objects.get(left=a, right=b)
    merged = client.post(f"/leads/{a.pk}/merge", {"other_id": b.pk, "choices": {"first_name": "other"}})
    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert body["survivor_id"] == a.pk and body["merged_id"] == b.pk
    assert body["changes"]["first_name"] == ["Anna", "Ana"]
    assert body["moved"] == {"crm.activity.lead": 1}
    assert body["undoable"] is True and body["erased_at"] is None
    assert not Lead.objects.filter(pk=b.pk).exists()
    assert not DuplicatePair.objects.filter(pk=pair.pk).exists()
    undone = client.post(f"/merges/{body['id']}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert Lead.objects.get(pk=b.pk).activities.filter(body="met at the fair").exists()
    assert Lead.objects.get(pk=a.pk).first_name == "Anna"
    assert_problem(client.post(f"/merges/{body['id']}/undo"), 409, "conflict")


def test_a_merge_past_its_undo_period_answers_409_saying_why(world, twins, api_as, settings):
    import datetime as dt

    from insidesales.imports import merge

    a, b = twins
    client = api_as(world.rep1)
    body = client.post(f"/leads/{a.pk}/merge", {"other_id": b.pk}).json()
    settings.MERGE_UNDO_KEEP_DAYS = 30
    assert merge.merge_copies_erase(now=dt.datetime.fromisoformat(body["created_at"]) + dt.timedelta(days=31)) == 1
    problem = assert_problem(client.post(f"/merges/{body['id']}/undo"), 409, "conflict")
    assert "older than 30 days" in problem["detail"]
    assert not Lead.objects.filter(pk=b.pk).exists()


def test_dismissed_pair_is_listed_no_more(world, twins, api_as):
    a, b = twins
    client = api_as(world.rep1)
    pair = DuplicatePair.objects.get(left=a, right=b)
    response = client.post(f"/duplicates/{pair.pk}/dismiss")
    assert response.status_code == 200 and response.json()["status"] == PairStatus.DISMISSED
    assert all(item["id"] != pair.pk for item in client.get("/duplicates").json()["items"])
    assert_problem(client.post(f"/duplicates/{pair.pk}/dismiss"), 404)


def test_merge_refuses_bad_choices_with_field_errors(world, twins, api_as):
    a, b = twins
    response = api_as(world.rep1).post(f"/leads/{a.pk}/merge", {"other_id": b.pk, "choices": {"owner": "other"}})
    body = assert_problem(response, 422)
    assert "owner" in str(body)
    assert Lead.objects.filter(pk=b.pk).exists()


def test_merge_of_a_lead_out_of_scope_is_404(world, twins, api_as):
    a, _ = twins
    assert_problem(api_as(world.rep1).post(f"/leads/{a.pk}/merge", {"other_id": world.lead_rep2.pk}), 404)
    assert Lead.objects.filter(pk=world.lead_rep2.pk).exists()
