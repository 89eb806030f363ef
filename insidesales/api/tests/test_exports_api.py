"""`GET /<records>/export`: the same files as the web export, from the API."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from insidesales.core.testing import factories as f
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_holds_every_visible_lead_and_nothing_else(world, api_as):
    f.LeadFactory(owned_by=world.rep1, first_name="=HYPERLINK(1)", last_name="Formula")
    response = api_as(world.rep1).get("/leads/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    rows = rows_of(response)
    emails = {row["Email"] for row in rows}
    assert {world.lead_rep1.email, world.lead_unassigned.email} <= emails
    assert world.lead_rep2.email not in emails and world.lead_org_b.email not in emails
    assert len(rows) == 3
    assert any(row["First name"] == "'=HYPERLINK(1)" for row in rows)  # neutralized
    assert AuditLog.objects.filter(action="lead.export", actor=world.rep1.user).exists()


def test_filters_sort_and_saved_views_apply(world, api_as):
    client = api_as(world.admin)
    rows = rows_of(client.get("/deals/export", {"owner": world.rep1.user_id}))
    assert [row["ID"] for row in rows] == [str(world.deal_rep1.pk)]
    view = f.SavedViewFactory(
        organization=world.org, owner=world.admin.user, record_type="lead", filters={"owner": [str(world.rep2.user_id)]}
    )
    rows = rows_of(client.get("/leads/export", {"view": view.pk}))
    assert [row["ID"] for row in rows] == [str(world.lead_rep2.pk)]


def test_a_saved_view_out_of_scope_is_404(world, api_as):
    others = f.SavedViewFactory(organization=world.org, owner=world.rep2.user, record_type="lead")
    response = api_as(world.rep1).get("/leads/export", {"view": others.pk})
    assert response.status_code == 404


def test_bad_filters_are_a_422(world, api_as):
    response = api_as(world.rep1).get("/leads/export", {"status": "bogus"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"status": ["Invalid value."]}


def test_xlsx_opens_with_the_visible_rows(world, api_as):
    response = api_as(world.rep1).get("/contacts/export", {"format": "xlsx"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    emails = {row[header.index("Email")] for row in rows}
    assert world.contact_rep1.email in emails and world.contact_rep2.email not in emails
