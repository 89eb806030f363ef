"""Bulk actions on list pages: assign, tag, status, delete (with a confirm step); out-of-scope ids → 404."""

from __future__ import annotations

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm.models import Company, Lead
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def test_bulk_assign_gives_every_selected_lead_to_the_member(ui, ui_login):
    leads = [ui.lead(last_name=f"Bulk{n}") for n in range(3)]
    untouched = ui.lead(last_name="Untouched")
    response = ui_login(ui.manager).post(
        "/leads/bulk/",
        {
            "ids": [str(lead.pk) for lead in leads],
            "action": "assign",
            "target": f"user:{ui.rep.user_id}",
            "next": "/leads/?status=new",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/leads/?status=new"
    assert set(Lead.objects.filter(owner_id=ui.rep.user_id).values_list("pk", flat=True)) == {x.pk for x in leads}
    untouched.refresh_from_db()
    assert untouched.owner_id is None


def test_bulk_assign_to_an_agency(ui, ui_login):
    leads = [ui.lead(last_name=f"Out{n}") for n in range(2)]
    ui_login(ui.admin).post(
        "/leads/bulk/", {"ids": [lead.pk for lead in leads], "action": "assign", "target": f"agency:{ui.agency.pk}"}
    )
    assert set(Lead.objects.values_list("agency_id", "owner_id")) == {(ui.agency.pk, None)}


def test_bulk_assign_refused_for_rep_to_someone_else_changes_nothing(ui, ui_login):
    lead = ui.lead(by=ui.rep, last_name="Mine")
    client = ui_login(ui.rep)
    response = client.post(
        "/leads/bulk/", {"ids": [lead.pk], "action": "assign", "target": f"user:{ui.other_rep.user_id}"}, follow=True
    )
    assert "You can only assign records to yourself." in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner_id == ui.rep.user_id


def test_bulk_tag_and_status(ui, ui_login):
    tag = f.TagFactory(organization=ui.org, name="hot")
    leads = [ui.lead(last_name=f"Tagged{n}") for n in range(2)]
    client = ui_login(ui.admin)
    ids = [lead.pk for lead in leads]
    client.post("/leads/bulk/", {"ids": ids, "action": "tag", "tag": tag.pk})
    assert all(list(lead.tags.all()) == [tag] for lead in leads)
    client.post("/leads/bulk/", {"ids": ids, "action": "status", "status": "disqualified", "reason": "no_budget"})
    assert set(Lead.objects.values_list("status", "disqualify_reason")) == {("disqualified", "no_budget")}


def test_bulk_status_disqualify_without_reason_is_refused(ui, ui_login):
    lead = ui.lead(last_name="Reasonless")
    response = ui_login(ui.admin).post(
        "/leads/bulk/", {"ids": [lead.pk], "action": "status", "status": "disqualified"}, follow=True
    )
    assert "Choose a reason." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "new"


def test_bulk_delete_asks_for_confirmation_first(ui, ui_login):
    leads = [ui.lead(last_name=f"Doomed{n}") for n in range(2)]
    client = ui_login(ui.admin)
    ids = [str(lead.pk) for lead in leads]
    confirm = client.post("/leads/bulk/", {"ids": ids, "action": "delete", "next": "/leads/"})
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert 'name="confirm" value="yes"' in body and "Delete 2 selected records" in body
    assert Lead.objects.count() == 2
    done = client.post("/leads/bulk/", {"ids": ids, "action": "delete", "confirm": "yes", "next": "/leads/"})
    assert done.status_code == 302 and done["Location"] == "/leads/"
    assert not Lead.objects.exists()


def test_bulk_delete_with_an_out_of_scope_id_is_404_and_deletes_nothing(ui, ui_login):
    mine = ui.lead(by=ui.rep, last_name="Mine")
    foreign = ui.lead(by=ui.other_rep, last_name="Foreign")
    audit_rows = AuditLog.objects.count()
    response = ui_login(ui.rep).post(
        "/leads/bulk/", {"ids": [mine.pk, foreign.pk], "action": "delete", "confirm": "yes"}
    )
    assert response.status_code == 404
    assert set(Lead.objects.values_list("pk", flat=True)) == {mine.pk, foreign.pk}
    assert AuditLog.objects.count() == audit_rows


def test_bulk_assign_with_an_unknown_id_is_404_and_changes_nothing(ui, ui_login):
    lead = ui.lead(last_name="Kept")
    response = ui_login(ui.manager).post(
        "/leads/bulk/", {"ids": [lead.pk, 987654], "action": "assign", "target": f"user:{ui.rep.user_id}"}
    )
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.owner_id is None


def test_bulk_on_companies_uses_the_same_view(ui, ui_login):
    companies = f.CompanyFactory.create_batch(2, organization=ui.org)
    ui_login(ui.admin).post(
        "/companies/bulk/",
        {"ids": [c.pk for c in companies], "action": "assign", "target": f"user:{ui.manager.user_id}"},
    )
    assert set(Company.objects.values_list("owner_id", flat=True)) == {ui.manager.user_id}


def test_bulk_redirect_refuses_foreign_next_url(ui, ui_login):
    lead = ui.lead(last_name="Safe")
    response = ui_login(ui.admin).post(
        "/leads/bulk/",
        {"ids": [lead.pk], "action": "assign", "target": "none", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/leads/"
