"""`/duplicates/contacts`, `/duplicates/companies`, `/contacts/{id}/merge`, `/companies/{id}/merge` and
`/merges/contacts|companies/{id}/undo` through the API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insidesales.api.tests.conftest import assert_problem
from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Deal, Task
from insidesales.imports import duplicates
from insidesales.imports.models import CompanyMerge, CompanyPair, ContactMerge, ContactPair, PairStatus

pytestmark = pytest.mark.django_db


def _scan(world) -> None:
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=world.org.pk).pk)


def _pair_ids(client, path: str) -> set[int]:
    response = client.get(path)
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def contact_twins(world):
    """Two contacts of rep1 that are one person; the second has a note, a task and a deal."""
    vega = f.CompanyFactory(owned_by=world.rep1, name="Vega Logistics", domain="vega.example")
    a = f.ContactFactory(
        owned_by=world.rep1, first_name="Anna", last_name="Kuznetsova", email="anna@vega.example", company=vega
    )
    b = f.ContactFactory(owned_by=world.rep1, first_name="Ana", last_name="Kuznetsova", email="anna@vega.example")
    Activity.objects.create(organization=world.org, kind=ActivityKind.NOTE, contact=b, body="met at the fair")
    f.TaskFactory(organization=world.org, title="Send the offer", assignee=world.rep1.user, contact=b)
    f.DealFactory(owned_by=world.rep1, name="Vega pilot", contact=b)
    _scan(world)
    return a, b


@pytest.fixture
def company_twins(world):
    """Two companies of rep1 that are one account; the second has a contact and a deal."""
    a = f.CompanyFactory(owned_by=world.rep1, name="Orion Freight", domain="orion.example", city="Austin")
    b = f.CompanyFactory(owned_by=world.rep1, name="Orion Freight LLC", domain="orion.example", city="Dallas")
    f.ContactFactory(owned_by=world.rep1, first_name="Ivan", last_name="Petrov", company=b)
    f.DealFactory(owned_by=world.rep1, name="Orion pilot", company=b)
    _scan(world)
    return a, b


# --- lists ------------------------------------------------------------------------------------------


def test_contact_list_shows_scored_pairs_with_reasons(world, contact_twins, api_as):
    a, b = contact_twins
    body = api_as(world.rep1).get("/duplicates/contacts").json()
    pair = next(item for item in body["items"] if item["left"]["id"] == a.pk)
    assert pair["right"]["id"] == b.pk
    assert 0.5 <= pair["score"] <= 1
    assert set(pair["reasons"]) == {"similar_name", "same_email"}
    assert pair["status"] == "open"
    assert pair["left"] == {
        "id": a.pk,
        "full_name": "Anna Kuznetsova",
        "company_name": "Vega Logistics",
        "email": "anna@vega.example",
        "phone": a.phone,
        "owner_id": world.rep1.user_id,
    }
    assert pair["right"]["company_name"] is None
    assert body["next_cursor"] is None


def test_company_list_shows_pairs_with_company_reasons(world, company_twins, api_as):
    a, b = company_twins
    items = api_as(world.rep1).get("/duplicates/companies").json()["items"]
    pair = next(item for item in items if item["left"]["id"] == a.pk)
    assert pair["right"]["id"] == b.pk
    assert "same_domain" in pair["reasons"]
    assert pair["left"] == {
        "id": a.pk,
        "name": "Orion Freight",
        "domain": "orion.example",
        "phone": a.phone,
        "city": "Austin",
        "owner_id": world.rep1.user_id,
    }


def test_lists_show_only_pairs_whose_both_records_the_caller_sees(world, api_as):
    rep1_contact, rep2_contact = world.contact_rep1, world.contact_rep2
    mixed = ContactPair.objects.create(
        organization=world.org, left=rep1_contact, right=rep2_contact, score=0.9, reasons=["same_phone"]
    )
    own = ContactPair.objects.create(
        organization=world.org, left=rep1_contact, right=world.contact_unassigned, score=0.8, reasons=["same_phone"]
    )
    companies = CompanyPair.objects.create(
        organization=world.org, left=world.company_rep1, right=world.company_rep2, score=0.9, reasons=["same_city"]
    )
    assert _pair_ids(api_as(world.rep1), "/duplicates/contacts") == {own.pk}
    assert _pair_ids(api_as(world.manager), "/duplicates/contacts") == {own.pk}  # rep2 is in another team
    assert _pair_ids(api_as(world.rep2), "/duplicates/contacts") == set()
    assert _pair_ids(api_as(world.admin), "/duplicates/contacts") == {mixed.pk, own.pk}
    assert _pair_ids(api_as(world.admin_b), "/duplicates/contacts") == set()
    assert _pair_ids(api_as(world.rep1), "/duplicates/companies") == set()
    assert _pair_ids(api_as(world.admin), "/duplicates/companies") == {companies.pk}


def test_an_agency_user_sees_its_agencys_pairs_but_not_another_agencys(world, api_as):
    def twin(slot: str):
        record = world.slots[slot].contact
        copy = f.ContactFactory(organization=world.org, agency=record.agency, last_name=record.last_name)
        return ContactPair.objects.create(
            organization=world.org, left=record, right=copy, score=0.9, reasons=["similar_name"]
        )

    x, y = twin("agency_x"), twin("agency_y")
    assert _pair_ids(api_as(world.agency_x_rep), "/duplicates/contacts") == {x.pk}
    assert _pair_ids(api_as(world.agency_y_rep), "/duplicates/contacts") == {y.pk}
    assert_problem(api_as(world.agency_y_rep).post(f"/duplicates/contacts/{x.pk}/dismiss"), 404)
    assert ContactPair.objects.get(pk=x.pk).status == PairStatus.OPEN


def test_field_reps_review_contact_and_company_duplicates_but_not_lead_ones(world, api_as):
    client = api_as(world.field_rep)
    assert client.get("/duplicates/contacts").status_code == 200
    assert client.get("/duplicates/companies").status_code == 200
    assert_problem(client.get("/duplicates"), 403, "permission_denied")


def test_contact_pair_list_costs_the_same_queries_for_one_pair_or_twenty(world, api_as):
    client = api_as(world.manager)
    client.get("/me")

    def add_pairs(count: int) -> None:
        for _ in range(count):
            left = f.ContactFactory(owned_by=world.manager, company=world.company_manager)
            right = f.ContactFactory(owned_by=world.rep1, company=world.company_rep1)
            ContactPair.objects.create(organization=world.org, left=left, right=right, score=0.7, reasons=[])

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get("/duplicates/contacts").status_code == 200
        return len(context.captured_queries)

    add_pairs(1)
    one = queries()
    add_pairs(19)
    assert len(client.get("/duplicates/contacts").json()["items"]) == 20
    assert queries() == one


# --- dismiss ----------------------------------------------------------------------------------------


def test_dismissed_contact_pair_is_listed_no_more(world, contact_twins, api_as):
    a, b = contact_twins
    client = api_as(world.rep1)
    pair = ContactPair.objects.get(left=a, right=b)
    response = client.post(f"/duplicates/contacts/{pair.pk}/dismiss")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == PairStatus.DISMISSED
    assert response.json()["left"]["id"] == a.pk
    assert pair.pk not in _pair_ids(client, "/duplicates/contacts")
    assert ContactPair.objects.get(pk=pair.pk).decided_by_id == world.rep1.user_id
    assert_problem(client.post(f"/duplicates/contacts/{pair.pk}/dismiss"), 404)


def test_dismissed_company_pair_is_listed_no_more(world, company_twins, api_as):
    a, b = company_twins
    client = api_as(world.rep1)
    pair = CompanyPair.objects.get(left=a, right=b)
    response = client.post(f"/duplicates/companies/{pair.pk}/dismiss")
    assert response.status_code == 200 and response.json()["status"] == PairStatus.DISMISSED
    assert pair.pk not in _pair_ids(client, "/duplicates/companies")


def test_a_pair_id_of_another_kind_or_out_of_scope_is_404(world, contact_twins, api_as):
    a, b = contact_twins
    pair = ContactPair.objects.get(left=a, right=b)
    assert not CompanyPair.objects.filter(pk=pair.pk).exists()  # ids are per kind
    assert_problem(api_as(world.rep1).post(f"/duplicates/companies/{pair.pk}/dismiss"), 404, "not_found")
    assert_problem(api_as(world.rep2).post(f"/duplicates/contacts/{pair.pk}/dismiss"), 404, "not_found")
    assert_problem(api_as(world.admin_b).post(f"/duplicates/contacts/{pair.pk}/dismiss"), 404, "not_found")
    assert ContactPair.objects.get(pk=pair.pk).status == PairStatus.OPEN


# --- merge and undo ---------------------------------------------------------------------------------


def test_contact_merge_moves_timeline_tasks_and_deals_and_undo_brings_them_back(world, contact_twins, api_as):
    a, b = contact_twins
    client = api_as(world.rep1)
    pair = ContactPair.objects.get(left=a, right=b)
    merged = client.post(f"/contacts/{a.pk}/merge", {"other_id": b.pk, "choices": {"first_name": "other"}})
    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert body["survivor_id"] == a.pk and body["merged_id"] == b.pk
    assert body["merged_name"] == "Ana Kuznetsova"
    assert body["changes"]["first_name"] == ["Anna", "Ana"]
    assert body["moved"] == {"crm.activity.contact": 1, "crm.task.contact": 1, "crm.deal.contact": 1}
    assert body["undoable"] is True and body["undone_at"] is None and body["erased_at"] is None
    assert not Contact.objects.filter(pk=b.pk).exists()
    assert not ContactPair.objects.filter(pk=pair.pk).exists()
    assert Activity.objects.filter(contact=a, body="met at the fair").exists()
    assert Task.objects.get(title="Send the offer").contact_id == a.pk
    assert Deal.objects.get(name="Vega pilot").contact_id == a.pk
    assert Contact.objects.get(pk=a.pk).first_name == "Ana"
    assert ContactMerge.objects.filter(pk=body["id"], survivor=a).exists()

    undone = client.post(f"/merges/contacts/{body['id']}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] and undone.json()["undoable"] is False
    restored = Contact.objects.get(pk=b.pk)
    assert restored.activities.filter(body="met at the fair").exists()
    assert Task.objects.get(title="Send the offer").contact_id == b.pk
    assert Deal.objects.get(name="Vega pilot").contact_id == b.pk
    assert Contact.objects.get(pk=a.pk).first_name == "Anna"
    assert_problem(client.post(f"/merges/contacts/{body['id']}/undo"), 409, "conflict")


def test_company_merge_moves_contacts_and_deals_and_undo_brings_them_back(world, company_twins, api_as):
    a, b = company_twins
    client = api_as(world.rep1)
    merged = client.post(f"/companies/{a.pk}/merge", {"other_id": b.pk, "choices": {"city": "other"}})
    assert merged.status_code == 200, merged.content
    body = merged.json()
    assert body["survivor_id"] == a.pk and body["merged_id"] == b.pk
    assert body["merged_name"] == "Orion Freight LLC"
    assert body["changes"]["city"] == ["Austin", "Dallas"]
    assert body["moved"] == {"crm.contact.company": 1, "crm.deal.company": 1}
    assert not Company.objects.filter(pk=b.pk).exists()
    assert Contact.objects.get(last_name="Petrov").company_id == a.pk
    assert Deal.objects.get(name="Orion pilot").company_id == a.pk
    assert Company.objects.get(pk=a.pk).city == "Dallas"
    assert CompanyMerge.objects.filter(pk=body["id"], survivor=a).exists()

    undone = client.post(f"/merges/companies/{body['id']}/undo")
    assert undone.status_code == 200, undone.content
    assert Company.objects.get(pk=b.pk).name == "Orion Freight LLC"
    assert Contact.objects.get(last_name="Petrov").company_id == b.pk
    assert Deal.objects.get(name="Orion pilot").company_id == b.pk
    assert Company.objects.get(pk=a.pk).city == "Austin"


def test_a_field_rep_merges_their_own_contacts(world, api_as):
    a = f.ContactFactory(owned_by=world.field_rep, first_name="Oleg", last_name="Sokolov", email="oleg@sokol.example")
    b = f.ContactFactory(owned_by=world.field_rep, first_name="Oleg", last_name="Sokolov", email="oleg@sokol.example")
    response = api_as(world.field_rep).post(f"/contacts/{a.pk}/merge", {"other_id": b.pk})
    assert response.status_code == 200, response.content
    assert not Contact.objects.filter(pk=b.pk).exists()


@pytest.mark.parametrize(
    ("choices", "field"),
    [
        ({"email": "both"}, "email"),  # "both" is for a lead's notes only
        ({"email": "mine"}, "email"),
        ({"owner": "other"}, "owner"),
        ({"notes": "other"}, "notes"),  # contacts have no notes to choose
    ],
)
def test_contact_merge_refuses_bad_choices_with_field_errors(world, contact_twins, api_as, choices, field):
    a, b = contact_twins
    response = api_as(world.rep1).post(f"/contacts/{a.pk}/merge", {"other_id": b.pk, "choices": choices})
    body = assert_problem(response, 422, "validation_error")
    assert any(field in key for key in body["errors"]), body
    assert Contact.objects.filter(pk=b.pk).exists()


def test_company_merge_refuses_an_unknown_field_and_unknown_body_keys(world, company_twins, api_as):
    a, b = company_twins
    client = api_as(world.rep1)
    response = client.post(f"/companies/{a.pk}/merge", {"other_id": b.pk, "choices": {"title": "other"}})
    body = assert_problem(response, 422)
    assert "title" in body["errors"]
    assert_problem(client.post(f"/companies/{a.pk}/merge", {"other_id": b.pk, "keep": "all"}), 422)
    assert_problem(client.post(f"/companies/{a.pk}/merge", {"other_id": str(b.pk)}), 422)
    assert Company.objects.filter(pk=b.pk).exists()


def test_a_record_cannot_be_merged_with_itself(world, contact_twins, company_twins, api_as):
    client = api_as(world.rep1)
    contact, company = contact_twins[0], company_twins[0]
    problem = assert_problem(client.post(f"/contacts/{contact.pk}/merge", {"other_id": contact.pk}), 422)
    assert problem["detail"] == "A contact cannot be merged with itself."
    problem = assert_problem(client.post(f"/companies/{company.pk}/merge", {"other_id": company.pk}), 422)
    assert problem["detail"] == "A company cannot be merged with itself."


def test_merge_with_a_record_out_of_scope_is_404_and_changes_nothing(world, contact_twins, company_twins, api_as):
    client = api_as(world.rep1)
    contact, company = contact_twins[0], company_twins[0]
    assert_problem(client.post(f"/contacts/{contact.pk}/merge", {"other_id": world.contact_rep2.pk}), 404)
    assert_problem(client.post(f"/contacts/{world.contact_rep2.pk}/merge", {"other_id": contact.pk}), 404)
    assert_problem(client.post(f"/companies/{company.pk}/merge", {"other_id": world.company_org_b.pk}), 404)
    assert Contact.objects.filter(pk=world.contact_rep2.pk).exists()
    assert Company.objects.filter(pk=world.company_org_b.pk).exists()
    assert not ContactMerge.objects.exists() and not CompanyMerge.objects.exists()


def test_undo_of_a_merge_out_of_scope_or_of_another_kind_is_404(world, contact_twins, api_as):
    a, b = contact_twins
    body = api_as(world.rep1).post(f"/contacts/{a.pk}/merge", {"other_id": b.pk}).json()
    assert_problem(api_as(world.rep2).post(f"/merges/contacts/{body['id']}/undo"), 404)
    assert_problem(api_as(world.agency_x_rep).post(f"/merges/contacts/{body['id']}/undo"), 404)
    assert not CompanyMerge.objects.filter(pk=body["id"]).exists()  # ids are per kind
    assert_problem(api_as(world.rep1).post(f"/merges/companies/{body['id']}/undo"), 404)
    assert ContactMerge.objects.get(pk=body["id"]).undone_at is None
    assert not Contact.objects.filter(pk=b.pk).exists()


def test_a_contact_merge_past_its_undo_period_answers_409(world, contact_twins, api_as, settings):
    import datetime as dt

    from insidesales.imports import merge

    a, b = contact_twins
    client = api_as(world.rep1)
    body = client.post(f"/contacts/{a.pk}/merge", {"other_id": b.pk}).json()
    settings.MERGE_UNDO_KEEP_DAYS = 30
    assert merge.merge_copies_erase(now=timezone.now() + dt.timedelta(days=31)) == 1
    problem = assert_problem(client.post(f"/merges/contacts/{body['id']}/undo"), 409, "conflict")
    assert "older than 30 days" in problem["detail"]
