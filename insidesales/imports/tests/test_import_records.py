"""Contacts and companies as import targets: cleaning, duplicates, company linking, update, undo, scope."""

from __future__ import annotations

import pytest

from insidesales.crm.models import Activity, Company, Contact, Deal
from insidesales.imports import services
from insidesales.imports.fields import suggest_mapping
from insidesales.imports.models import ImportJob, ImportStatus
from insidesales.imports.rows import normalize_domain
from insidesales.imports.tests.test_services import csv_file, report_rows
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db

COMPANY_HEADERS = ["Company name", "Website", "Industry", "Employees", "Phone", "Country", "City", "Owner"]
CONTACT_HEADERS = ["First name", "Last name", "Job title", "Company", "Website", "Email", "Phone"]


@pytest.fixture
def settings_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def run(membership, data: bytes, record_type: str, *, policy="skip") -> ImportJob:
    job = services.import_upload(membership=membership, file_name="list.csv", chunks=[data], record_type=record_type)
    return services.import_start(
        membership=membership, job_id=job.pk, mapping=job.mapping, duplicate_policy=policy, run_now=True
    )


def test_headers_are_suggested_per_record_type():
    assert suggest_mapping("company", COMPANY_HEADERS, []) == [
        "name",
        "domain",
        "industry",
        "employees",
        "phone",
        "country",
        "city",
        "owner",
    ]
    assert suggest_mapping("contact", CONTACT_HEADERS, []) == [
        "first_name",
        "last_name",
        "title",
        "company_name",
        "company_domain",
        "email",
        "phone",
    ]
    assert suggest_mapping("company", ["Название компании", "Сайт", "Отрасль", "Город"], []) == [
        "name",
        "domain",
        "industry",
        "city",
    ]


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("acme.co.uk", "acme.co.uk"),
        ("WWW.EXAMPLE.RU/", "example.ru"),
        ("sales@acme.com", "acme.com"),
        ("http://пример.рф", "пример.рф"),
    ],
)
def test_websites_are_stored_as_domains(text, domain):
    assert normalize_domain(text) == domain


def test_companies_are_imported_checked_and_matched_against_existing_ones(world, settings_dir):
    existing = world.company_rep1  # "Rep1 Industries", rep1-industries.test
    rows = [
        ["Globex LLC", "https://www.globex.example/", "Manufacturing", "1 200", "+1 (646) 555-0142", "", "SF", ""],
        ["ООО «Ромашка»", "romashka.example", "Retail", "", "8 (495) 123-45-67", "RU", "Москва", ""],
        ["", "nameless.example", "", "", "", "", "", ""],  # no name
        ["Bad Size", "", "", "many", "", "", "", ""],  # employees not a number
        ["Bad Site", "not a site", "", "", "", "", "", ""],
        ["Rep1 Industries Inc.", "", "", "", "", "", "", ""],  # the existing company, by name (legal form aside)
        ["Another name", "http://rep1-industries.test", "", "", "", "", "", ""],  # the existing one, by domain
        ["Globex", "", "", "", "", "", "", ""],  # the first row again, by name, in the same file
        ["Owned", "owned.example", "", "", "", "", "", world.rep2.user.email],
    ]
    job = run(world.admin, csv_file(rows, COMPANY_HEADERS), "company")
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.skipped_count, job.rejected_count) == (3, 3, 3)
    globex = Company.objects.get(organization=world.org, domain="globex.example")
    assert (globex.name, globex.industry, globex.employees, globex.phone, globex.country, globex.city) == (
        "Globex LLC",
        "Manufacturing",
        1200,
        "+16465550142",
        "US",
        "SF",
    )
    assert globex.name_key and Company.objects.filter(organization=world.org, name_key=globex.name_key).count() == 1
    romashka = Company.objects.get(organization=world.org, domain="romashka.example")
    assert (romashka.phone, romashka.country) == ("+74951234567", "RU")
    owned = Company.objects.get(organization=world.org, domain="owned.example")
    assert owned.owner_id == world.rep2.user_id and owned.team_id == world.rep2.team_id
    assert Activity.objects.filter(company=globex, subject="Imported").count() == 1
    reasons = {row[0] or row[1]: row[-1] for row in report_rows(job)[1:]}
    assert "Company name" in reasons["nameless.example"]
    assert "Employees" in reasons["Bad Size"] and "many" in reasons["Bad Size"]
    assert "not a site" in reasons["Bad Site"]
    existing.refresh_from_db()
    assert existing.name == "Rep1 Industries"
    # "Create and flag": the companies are made and go on the companies' duplicates page at once.
    from insidesales.imports.models import CompanyPair

    flagged = run(world.admin, csv_file(rows[5:7], COMPANY_HEADERS), "company", policy="create")
    assert (flagged.created_count, flagged.flagged_count) == (2, 2)
    pairs = CompanyPair.objects.filter(organization=world.org, from_import=True, left=existing)
    assert sorted(pair.reasons for pair in pairs) == [["same_domain", "import"], ["same_name", "import"]]


def test_updating_companies_and_undoing_it(world, settings_dir):
    existing = world.company_rep1
    before = (existing.name, existing.industry, existing.city, existing.phone)
    rows = [["Rep1 Industries Group", "rep1-industries.test", "Aerospace", "50", "+1 (646) 555-0177", "", "Kazan", ""]]
    job = run(world.admin, csv_file(rows, COMPANY_HEADERS), "company", policy="update")
    assert (job.created_count, job.updated_count) == (0, 1)
    existing.refresh_from_db()
    assert (existing.name, existing.industry, existing.employees, existing.city, existing.phone) == (
        "Rep1 Industries Group",
        "Aerospace",
        50,
        "Kazan",
        "+16465550177",
    )
    again = run(world.admin, csv_file(rows, COMPANY_HEADERS), "company", policy="update")
    assert (again.updated_count, again.skipped_count) == (0, 1)  # idempotent
    services.import_undo(membership=world.admin, job_id=job.pk)
    existing.refresh_from_db()
    assert (existing.name, existing.industry, existing.city, existing.phone) == before
    assert existing.employees is None
    assert Company.objects.filter(organization=world.org, name_key=existing.name_key).count() == 1  # keys restored


def test_contacts_are_linked_to_companies_by_domain_email_or_name_and_new_ones_are_created_once(world, settings_dir):
    rows = [
        ["Ann", "Lee", "CTO", "", "http://rep1-industries.test", "ann@gmail.com", ""],  # by website
        ["Bob", "Stone", "", "", "", "bob@rep1-industries.test", ""],  # by the domain of a work email
        ["Cid", "Moss", "", "Rep1 Industries LLC", "", "", "+1 (646) 555-0143"],  # by name
        ["Dan", "Rowe", "", "Initech", "initech.example", "dan@initech.example", ""],  # a new company...
        ["Eve", "Holt", "", "Initech, Inc.", "", "eve@yahoo.com", ""],  # ...the same one, by name
        ["Fay", "Dunn", "", "", "initech.example", "", ""],  # ...and by website
        ["Gus", "Ward", "", "", "", "gus@unknown-domain.example", ""],  # only a work email: no company made
        ["Hal", "", "", "Initech", "", "", ""],  # no last name
    ]
    job = run(world.admin, csv_file(rows, CONTACT_HEADERS), "contact")
    assert (job.created_count, job.rejected_count, job.linked_count) == (7, 1, 1)
    company = world.company_rep1

    def linked(last_name):
        return Contact.objects.get(organization=world.org, last_name=last_name).company_id

    assert linked("Lee") == linked("Stone") == linked("Moss") == company.pk
    initech = Company.objects.get(organization=world.org, domain="initech.example")
    assert initech.name == "Initech"
    assert linked("Rowe") == linked("Holt") == linked("Dunn") == initech.pk
    assert linked("Ward") is None
    assert Contact.objects.get(last_name="Moss").phone == "+16465550143"
    assert "Last name" in report_rows(job)[1][-1]
    assert Activity.objects.filter(company=initech, subject="Imported").exists()


def test_a_rep_links_only_to_companies_they_can_see(world, settings_dir):
    hidden = world.company_rep2  # rep1 cannot see rep2's company
    rows = [["Ann", "Lee", "", "Rep2 Industries", hidden.domain, "", ""]]
    job = run(world.rep1, csv_file(rows, CONTACT_HEADERS), "contact")
    contact = Contact.objects.get(organization=world.org, last_name="Lee")
    assert contact.company_id != hidden.pk
    assert contact.company.owner_id == world.rep1.user_id and contact.owner_id == world.rep1.user_id
    assert job.linked_count == 1


def test_contacts_duplicates_by_email_and_phone(world, settings_dir):
    existing = world.contact_rep1
    rows = [
        ["Contact", "Rep1contact", "VP", "", "", existing.email.upper(), ""],
        ["New", "Person", "", "", "", "new@example.com", ""],
        ["New", "Again", "", "", "", "NEW@example.com", ""],
        ["Same", "Phone", "", "", "", "", existing.phone.replace("+1", "+1 ")],
    ]
    job = run(world.admin, csv_file(rows, CONTACT_HEADERS), "contact")
    assert (job.created_count, job.skipped_count) == (1, 3)
    assert not Contact.objects.filter(organization=world.org, last_name="Phone").exists()
    flagged = run(world.admin, csv_file(rows[:1], CONTACT_HEADERS), "contact", policy="create")
    assert (flagged.created_count, flagged.flagged_count) == (1, 1)
    updated = run(world.admin, csv_file(rows[:1], CONTACT_HEADERS), "contact", policy="update")
    assert updated.updated_count == 1
    existing.refresh_from_db()
    assert existing.title == "VP"


def test_undo_removes_the_contacts_and_the_companies_made_for_them_unless_used_since(world, settings_dir):
    rows = [
        ["Dan", "Rowe", "", "Initech", "initech.example", "", ""],
        ["Ivy", "Park", "", "Umbrella", "umbrella.example", "", ""],
        ["Cid", "Moss", "", "Rep1 Industries", "", "", ""],  # linked to an existing company
    ]
    job = run(world.admin, csv_file(rows, CONTACT_HEADERS), "contact")
    assert job.linked_count == 2
    umbrella = Company.objects.get(organization=world.org, domain="umbrella.example")
    Deal.objects.create(
        organization=world.org,
        name="Umbrella deal",
        company=umbrella,
        pipeline=world.deal_rep1.pipeline,
        stage=world.deal_rep1.stage,
    )
    services.import_undo(membership=world.admin, job_id=job.pk)
    assert not Contact.objects.filter(organization=world.org, last_name__in=["Rowe", "Park", "Moss"]).exists()
    assert not Company.objects.filter(organization=world.org, domain="initech.example").exists()
    assert Company.objects.filter(pk=umbrella.pk).exists()  # a deal uses it now: kept
    audit = AuditLog.objects.filter(action="import.undo").latest("id")
    assert audit.changes["removed"] == [None, 3]
    assert audit.changes["companies_removed"] == [None, 1] and audit.changes["companies_kept"] == [None, 1]


def test_unknown_record_types_are_refused(world, settings_dir):
    from insidesales.core.errors import ValidationError

    with pytest.raises(ValidationError):
        services.import_upload(membership=world.admin, file_name="x.csv", chunks=[csv_file([])], record_type="deal")


def test_companies_with_one_name_and_different_websites_are_two_companies(world, settings_dir):
    rows = [
        ["Rep1 Industries", "other-rep1.example", "", "", "", "", "", ""],  # the existing one has another site
        ["Field Industries", "", "", "", "", "", "", ""],  # no site in the row: the same company
    ]
    job = run(world.admin, csv_file(rows, COMPANY_HEADERS), "company", policy="update")
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 1)
    world.company_rep1.refresh_from_db()
    assert world.company_rep1.domain == "rep1-industries.test"
    assert Company.objects.get(organization=world.org, domain="other-rep1.example").name == "Rep1 Industries"


def test_updating_contacts_moves_them_only_to_a_company_the_row_names_and_undo_moves_them_back(world, settings_dir):
    contact = world.contact_rep1
    home = contact.company_id
    rows = [
        ["Contact", "Rep1contact", "Director", "", "", contact.email, ""],  # title only: stays where it is
    ]
    run(world.admin, csv_file(rows, CONTACT_HEADERS), "contact", policy="update")
    contact.refresh_from_db()
    assert (contact.title, contact.company_id) == ("Director", home)
    moved = run(
        world.admin,
        csv_file([["Contact", "Rep1contact", "", "Field Industries", "", contact.email, ""]], CONTACT_HEADERS),
        "contact",
        policy="update",
    )
    contact.refresh_from_db()
    assert contact.company_id == world.company_field.pk
    services.import_undo(membership=world.admin, job_id=moved.pk)
    contact.refresh_from_db()
    assert contact.company_id == home


def test_a_work_email_joins_the_company_made_for_a_later_row_of_the_same_batch(world, settings_dir):
    rows = [
        ["Gus", "Ward", "", "", "", "gus@initech.example", ""],
        ["Dan", "Rowe", "", "Initech", "initech.example", "", ""],
    ]
    run(world.admin, csv_file(rows, CONTACT_HEADERS), "contact")
    initech = Company.objects.get(organization=world.org, domain="initech.example")
    assert set(Contact.objects.filter(company=initech).values_list("last_name", flat=True)) == {"Ward", "Rowe"}


@pytest.mark.parametrize("use", ["note", "task", "edit", "tag"])
def test_undo_keeps_a_company_made_for_the_contacts_once_someone_used_it(world, settings_dir, use):
    import datetime as dt

    from django.utils import timezone

    from insidesales.crm.models import Task

    rows = [["Dan", "Rowe", "", "Initech", "initech.example", "", ""]]
    job = run(world.admin, csv_file(rows, CONTACT_HEADERS), "contact")
    initech = Company.objects.get(organization=world.org, domain="initech.example")
    if use == "note":
        Activity.objects.create(organization=world.org, company=initech, kind="note", body="Met at the fair")
    elif use == "task":
        Task.objects.create(
            organization=world.org,
            title="Call Initech",
            company=initech,
            assignee=world.admin.user,
            due_at=timezone.now() + dt.timedelta(days=1),
        )
    elif use == "edit":
        initech.owner = world.rep2.user
        initech.save()
    else:
        initech.tags.add(world.tag)
    services.import_undo(membership=world.admin, job_id=job.pk)
    assert not Contact.objects.filter(organization=world.org, last_name="Rowe").exists()
    assert Company.objects.filter(pk=initech.pk).exists()
    audit = AuditLog.objects.filter(action="import.undo").latest("id")
    assert audit.changes["companies_removed"] == [None, 0] and audit.changes["companies_kept"] == [None, 1]


def test_a_rep_never_matches_or_updates_companies_they_cannot_see(world, settings_dir):
    hidden = world.company_rep2
    before = (hidden.name, hidden.industry)
    rows = [["Rep2 Industries", hidden.domain, "Mining", "", "", "", "", ""]]
    job = run(world.rep1, csv_file(rows, COMPANY_HEADERS), "company", policy="update")
    assert (job.created_count, job.updated_count) == (1, 0)
    hidden.refresh_from_db()
    assert (hidden.name, hidden.industry) == before
    mine = Company.objects.get(organization=world.org, domain=hidden.domain, owner=world.rep1.user)
    assert mine.industry == "Mining"
