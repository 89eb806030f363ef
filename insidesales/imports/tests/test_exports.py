"""Exports: every visible matching row, safe for spreadsheets, audited, and importable back."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from insidesales.crm.models import Lead
from insidesales.imports import services
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("http://evil.example","click")'


def client_for(world, member: str) -> Client:
    client = Client()
    client.force_login(world.members[member].user)
    return client


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Excel reads the Cyrillic right with a BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize("plural", ["leads", "contacts", "companies", "deals"])
@pytest.mark.parametrize("member", ["rep1", "manager", "agency_x_rep", "field_rep", "admin_b"])
def test_exports_hold_exactly_the_visible_records(world, plural, member):
    from insidesales.crm.views.kinds import RECORD_KINDS

    kind = next(k for k in RECORD_KINDS.values() if k.plural == plural)
    response = client_for(world, member).get(f"/{plural}/export/")
    assert response.status_code == 200
    rows = csv_rows(response)
    exported = {int(row[0]) for row in rows[1:]}
    visible = {world.slots[s].record(kind.model).pk for s in world.visible_slots(member)}
    assert exported == visible


def test_csv_export_follows_the_filters_and_neutralizes_formulas(world):
    lead = world.lead_rep1
    lead.notes, lead.first_name = FORMULA, "-1+1"
    lead.save()
    response = client_for(world, "admin").get(f"/leads/export/?owner={world.rep1.user_id}")
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["ID", "First name", "Last name"]
    assert [int(r[0]) for r in body] == list(
        Lead.objects.filter(organization=world.org, owner=world.rep1.user)
        .order_by("-last_activity_at", "-id")
        .values_list("id", flat=True)
    )
    row = next(r for r in body if int(r[0]) == lead.pk)
    assert row[header.index("Notes")] == "'" + FORMULA and row[1] == "'-1+1"
    assert row[header.index("Owner")] == world.rep1.user.email
    audit = AuditLog.objects.get(action="lead.export")
    assert audit.actor_id == world.admin.user_id and audit.changes["filters"][1] == {"owner": world.rep1.user_id}


def test_xlsx_export_writes_text_cells_nothing_evaluates(world):
    lead = world.lead_rep1
    lead.notes = FORMULA
    lead.save()
    response = client_for(world, "rep1").get("/leads/export/?format=xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == str(lead.pk))
    notes = row[header.index("Notes")]
    assert notes.value == "'" + FORMULA and notes.data_type == "s"  # text, and still text once edited


def test_an_export_imports_back_unchanged(world, settings, tmp_path, world_db_state):
    settings.DATA_DIR = tmp_path
    lead = world.lead_rep1
    lead.notes = FORMULA
    lead.email, lead.phone, lead.phone_raw = "round@example.com", "+14155550123", "(415) 555-0123"
    lead.save()
    admin = client_for(world, "admin")

    def import_export() -> object:
        data = b"".join(admin.get("/leads/export/").streaming_content)
        job = services.import_upload(membership=world.admin, file_name="export.csv", chunks=[data])
        assert job.mapping[job.headers.index("Notes")] == "notes"
        assert job.mapping[job.headers.index("Owner")] == "owner"
        return services.import_start(
            membership=world.admin, job_id=job.pk, mapping=job.mapping, duplicate_policy="update", run_now=True
        )

    import_export()  # the first pass may only fill gaps (a country worked out from a phone)
    lead.refresh_from_db()
    assert (lead.notes, lead.phone_raw, lead.email) == (FORMULA, "(415) 555-0123", "round@example.com")
    before = world_db_state()
    job = import_export()
    assert job.created_count == 0 and job.updated_count == 0  # every row is already there, as it is
    after = world_db_state()
    after.pop("orgs.AuditLog"), before.pop("orgs.AuditLog")
    assert after == before
