"""The verbs: lead status changes and conversion, deal stages, assignment, notes, bulk actions."""

from __future__ import annotations

from insidesales.api.tests.conftest import assert_problem
from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, Company, Contact, Deal, Lead


def test_qualify_then_convert_returns_the_new_ids(admin_api):
    lead = admin_api.post(
        "/leads", {"first_name": "Ann", "last_name": "Lee", "company_name": "Lee Corp", "email": "ann@leecorp.test"}
    ).json()
    qualified = admin_api.post(f"/leads/{lead['id']}/qualify", {"note": "budget confirmed"})
    assert qualified.status_code == 200
    assert qualified.json()["status"] == "qualified"

    converted = admin_api.post(
        f"/leads/{lead['id']}/convert", {"deal_name": "Lee Corp pilot", "deal_amount": "2500.00"}
    )
    assert converted.status_code == 200, converted.content
    result = converted.json()
    assert result["status"] == "converted"
    assert result["lead_id"] == lead["id"]
    assert result["contact_created"] and result["company_created"]
    contact = Contact.objects.get(pk=result["contact_id"])
    assert contact.company_id == result["company_id"]
    assert Company.objects.get(pk=result["company_id"]).name == "Lee Corp"
    deal = Deal.objects.get(pk=result["deal_id"])
    assert (deal.name, str(deal.amount)) == ("Lee Corp pilot", "2500.00")
    assert Lead.objects.get(pk=lead["id"]).status == "converted"

    again = admin_api.post(f"/leads/{lead['id']}/convert")
    assert_problem(again, 409, "conflict")


def test_convert_without_a_deal(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Solo", "email": "solo@gmail.com"}).json()
    result = admin_api.post(f"/leads/{lead['id']}/convert", {"create_deal": False}).json()
    assert result["deal_id"] is None
    assert result["company_id"] is None  # a free-mail domain makes no company


def test_disqualify_needs_a_known_reason_and_start_working_reopens(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Nope"}).json()
    assert_problem(admin_api.post(f"/leads/{lead['id']}/disqualify", {"reason": "boredom"}), 422)
    response = admin_api.post(f"/leads/{lead['id']}/disqualify", {"reason": "no_budget", "note": "next year"})
    assert response.json()["status"] == "disqualified"
    assert response.json()["disqualify_reason"] == "no_budget"
    assert_problem(admin_api.post(f"/leads/{lead['id']}/qualify"), 409, "conflict")
    assert admin_api.post(f"/leads/{lead['id']}/start-working").json()["status"] == "working"


def test_deal_move_stage_won_and_lost(admin_api):
    deal = admin_api.post("/deals", {"name": "Big one"}).json()
    stages = {s["name"]: s for s in admin_api.get("/pipelines").json()[0]["stages"]}
    moved = admin_api.post(f"/deals/{deal['id']}/move-stage", {"stage_id": stages["Demo"]["id"]}).json()
    assert moved["stage"]["name"] == "Demo"
    assert moved["closed_at"] is None
    body = assert_problem(admin_api.post(f"/deals/{deal['id']}/move-stage", {"stage_id": stages["Lost"]["id"]}), 422)
    assert "lost_reason" in body["errors"]
    lost = admin_api.post(f"/deals/{deal['id']}/lost", {"reason": "price"}).json()
    assert (lost["stage"]["kind"], lost["lost_reason"]) == ("lost", "price")
    assert lost["closed_at"] is not None
    won = admin_api.post(f"/deals/{deal['id']}/won").json()
    assert won["stage"]["kind"] == "won"
    assert won["lost_reason"] == ""


def test_move_stage_refuses_a_stage_of_another_pipeline(admin, admin_api):
    other_org_stage = f.DealFactory().stage
    deal = admin_api.post("/deals", {"name": "D"}).json()
    assert_problem(admin_api.post(f"/deals/{deal['id']}/move-stage", {"stage_id": other_org_stage.pk}), 422)


def test_assign_to_a_user_to_an_agency_and_back_to_the_pool(admin, admin_api):
    rep = f.InsideRepMembershipFactory(organization=admin.organization)
    agency = f.AgencyFactory(organization=admin.organization)
    lead = admin_api.post("/leads", {"last_name": "Moving"}).json()
    to_rep = admin_api.post(f"/leads/{lead['id']}/assign", {"owner_id": rep.user_id}).json()
    assert to_rep["owner"]["id"] == rep.user_id
    to_agency = admin_api.post(f"/leads/{lead['id']}/assign", {"agency_id": agency.pk}).json()
    assert (to_agency["owner"], to_agency["agency_id"]) == (None, agency.pk)
    pool = admin_api.post(f"/leads/{lead['id']}/assign", {"owner_id": None, "agency_id": None}).json()
    assert (pool["owner"], pool["agency_id"], pool["team_id"]) == (None, None, None)
    assert_problem(admin_api.post(f"/leads/{lead['id']}/assign", {"owner_id": 10**12}), 422)


def test_rep_cannot_assign_to_someone_else(world, api_as):
    response = api_as(world.rep1).post(f"/leads/{world.lead_rep1.pk}/assign", {"owner_id": world.rep2.user_id})
    assert_problem(response, 422)
    assert Lead.objects.get(pk=world.lead_rep1.pk).owner_id == world.rep1.user_id


def test_notes_land_on_the_timeline(admin_api):
    company = admin_api.post("/companies", {"name": "Noted"}).json()
    note = admin_api.post(f"/companies/{company['id']}/notes", {"body": "Met at the fair"})
    assert note.status_code == 201
    assert note.json()["kind"] == "note"
    assert note.json()["actor"]["name"] == "Ada Admin"
    timeline = admin_api.get(f"/companies/{company['id']}/timeline").json()
    assert "Met at the fair" in [a["body"] for a in timeline["items"]]
    assert_problem(admin_api.post(f"/companies/{company['id']}/notes", {"body": ""}), 422)


def test_bulk_assign_tag_status_and_delete(admin, admin_api):
    rep = f.InsideRepMembershipFactory(organization=admin.organization)
    tag = f.TagFactory(organization=admin.organization)
    ids = [f.LeadFactory(organization=admin.organization).pk for _ in range(3)]
    assert admin_api.post("/leads/bulk", {"action": "assign", "ids": ids, "owner_id": rep.user_id}).json() == {
        "affected": 3
    }
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {rep.user_id}
    assert admin_api.post("/leads/bulk", {"action": "tag", "ids": ids, "tag_id": tag.pk}).json()["affected"] == 3
    assert Lead.objects.filter(tags=tag).count() == 3
    admin_api.post("/leads/bulk", {"action": "untag", "ids": ids[:1], "tag_id": tag.pk})
    assert Lead.objects.filter(tags=tag).count() == 2
    admin_api.post("/leads/bulk", {"action": "status", "ids": ids, "status": "disqualified", "reason": "duplicate"})
    assert set(Lead.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"disqualified"}
    assert admin_api.post("/leads/bulk", {"action": "delete", "ids": ids}).json()["affected"] == 3
    assert not Lead.objects.filter(pk__in=ids).exists()


def test_bulk_refuses_actions_the_type_does_not_have(admin, admin_api):
    company = f.CompanyFactory(organization=admin.organization)
    assert_problem(admin_api.post("/companies/bulk", {"action": "status", "ids": [company.pk]}), 422)
    assert_problem(admin_api.post("/companies/bulk", {"action": "tag", "ids": [company.pk]}), 422)


def test_bulk_with_one_hidden_id_changes_nothing(world, api_as):
    ids = [world.lead_rep1.pk, world.lead_rep2.pk]
    response = api_as(world.rep1).post("/leads/bulk", {"action": "delete", "ids": ids})
    assert_problem(response, 404, "not_found")
    assert Lead.objects.filter(pk__in=ids).count() == 2


def test_verbs_leave_a_timeline_entry(admin_api):
    lead = admin_api.post("/leads", {"last_name": "History"}).json()
    admin_api.post(f"/leads/{lead['id']}/start-working")
    assert Activity.objects.filter(lead_id=lead["id"], kind="status_change").exists()


def test_timeline_summaries_are_in_the_request_language(admin, admin_api):
    """Entries the services wrote (status changes, assignments...) come with a summary in the language
    the client asks for; `subject` stays as stored."""
    rep = f.InsideRepMembershipFactory(organization=admin.organization, user__full_name="Rita Rep")
    lead = admin_api.post("/leads", {"last_name": "Summarized"}).json()
    admin_api.post(f"/leads/{lead['id']}/start-working")
    admin_api.post(f"/leads/{lead['id']}/assign", {"owner_id": rep.user_id})
    english = admin_api.get(f"/leads/{lead['id']}/timeline", **{"Accept-Language": "en"}).json()["items"]
    russian = admin_api.get(f"/leads/{lead['id']}/timeline", **{"Accept-Language": "ru"}).json()["items"]
    by_kind_en = {a["kind"]: a["summary"] for a in english}
    by_kind_ru = {a["kind"]: a["summary"] for a in russian}
    assert by_kind_en["status_change"] == "Status: New → Working"
    assert by_kind_ru["status_change"] == "Статус: Новый → В работе"
    assert by_kind_en["assignment"] == "Assigned to Rita Rep"
    assert by_kind_ru["assignment"].endswith("Rita Rep") and by_kind_ru["assignment"] != by_kind_en["assignment"]
