"""Similar people in imports: a row with no shared email or phone that looks like an existing lead or
contact (or an earlier row) by name and company is handled by the import's "similar" policy."""

from __future__ import annotations

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm.models import Contact, Lead
from insidesales.imports import services
from insidesales.imports.models import ImportFlag, ImportJob
from insidesales.imports.similar import SimilarFinder, person
from insidesales.imports.tests.test_import_records import CONTACT_HEADERS
from insidesales.imports.tests.test_services import csv_file
from insidesales.orgs.visibility import visible_records

pytestmark = pytest.mark.django_db

HEADERS = ["First name", "Last name", "Company", "Email", "Phone"]
SURNAMES = (
    "Anderson Baker Carter Dawson Ellis Fletcher Garcia Hughes Ingram Jensen Kowalski Larsen Morozov Novak "
    "Okafor Pereira Quinn Romanov Schultz Tanaka Ueda Volkov Walsh Xu Yilmaz Zhukov Abbott Brennan Castillo "
    "Dubois Eriksen Fischer Gallagher Horvat Ivanova Jovanovic Kaplan Lindqvist Moreau Nakamura"
).split()
GIVEN = ("Anna", "Boris", "Carl", "Dina", "Emil", "Fatima", "Greg", "Hana", "Igor", "Julia", "Kofi")
COMPANIES = (
    "Northwind Traders",
    "Contoso Ltd",
    "Fabrikam",
    "Tailspin Toys",
    "Wingtip Toys",
    "Litware Inc",
    "Adventure Works",
    "Proseware",
    "Lucerne Publishing",
    "Blue Yonder Airlines",
    "Humongous Insurance",
    "Coho Winery",
    "Alpine Ski House",
    "Woodgrove Bank",
)


@pytest.fixture
def settings_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def people(world):
    """A few dozen leads of other people, so the model sees an organization, and the one to find."""
    for index, last_name in enumerate(SURNAMES):
        f.LeadFactory(
            organization=world.org,
            first_name=GIVEN[index % len(GIVEN)],
            last_name=last_name,
            company_name=COMPANIES[index % len(COMPANIES)],
            phone=f"+1415555{300 + index:04d}",
        )
    return f.LeadFactory(
        organization=world.org,
        first_name="Jonathan",
        last_name="Whitfield",
        company_name="Acme Logistics LLC",
        email="jonathan.whitfield@acmelogistics.example",
        phone="+14155550188",
    )


def run(membership, rows, *, record_type="lead", headers=HEADERS, **options) -> ImportJob:
    job = services.import_upload(
        membership=membership, file_name="list.csv", chunks=[csv_file(rows, headers)], record_type=record_type
    )
    return services.import_start(membership=membership, job_id=job.pk, mapping=job.mapping, run_now=True, **options)


def test_a_similar_name_at_the_same_company_is_created_and_flagged_by_default(world, people, settings_dir):
    rows = [
        ["Jonathon", "Whitfield", "Acme Logistics", "j.whitfield@gmail.example", ""],  # a typo, no legal form
        ["Maria", "Lopez", "Acme Logistics", "maria@acmelogistics.example", ""],  # a colleague
        ["Jonathan", "Whitfield", "Globex", "jw@globex.example", ""],  # a namesake elsewhere
        ["Joshua", "Whitfield", "Acme Logistics", "joshua@acmelogistics.example", ""],  # a relative
    ]
    job = run(world.admin, rows, duplicate_policy="skip")
    assert (job.created_count, job.flagged_count, job.skipped_count) == (4, 1, 0)
    flag = ImportFlag.objects.get(job=job)
    flagged = Lead.objects.get(pk=flag.record_id)
    assert (flagged.first_name, flag.existing_id, flag.reason) == ("Jonathon", people.pk, "similar")
    assert 0.5 <= flag.score <= 1


def test_similar_rows_are_skipped_or_fill_in_the_record_when_the_user_says_so(world, people, settings_dir):
    people.phone = people.phone_raw = ""
    people.save()
    rows = [["Jonathon", "Whitfield", "Acme Logistics", "jw@other.example", "+1 415 555 0199"]]
    skipped = run(world.admin, rows, similar_policy="skip")
    assert (skipped.created_count, skipped.skipped_count, skipped.flagged_count) == (0, 1, 0)
    assert not Lead.objects.filter(organization=world.org, first_name="Jonathon").exists()

    updated = run(world.admin, rows, similar_policy="update")
    assert updated.updated_count == 1
    people.refresh_from_db()
    # Only what the lead lacked is filled in: a similar person's name and email are not the lead's.
    assert (people.first_name, people.email, people.phone, people.phone_raw) == (
        "Jonathan",
        "jonathan.whitfield@acmelogistics.example",
        "+14155550199",
        "+1 415 555 0199",  # the number as typed comes with it
    )
    services.import_undo(membership=world.admin, job_id=updated.pk)
    people.refresh_from_db()
    assert (people.first_name, people.phone) == ("Jonathan", "")


def test_a_similar_row_folded_into_an_earlier_row_keeps_its_email_and_adds_its_phone(world, people, settings_dir):
    rows = [
        ["Katarzyna", "Zielinska", "Umbrella Corp", "kasia@umbrella.example", ""],
        ["Katarzyna", "Zielinska", "Umbrella Corp", "k.zielinska@gmail.example", "+1 415 555 0166"],
        ["Kasia", "Z.", "", "kasia@umbrella.example", ""],  # the first row's email: the same person
        ["K.", "Zielinska", "", "", "+1 (415) 555-0166"],  # the phone the second row brought
    ]
    job = run(world.admin, rows, duplicate_policy="skip", similar_policy="update")
    assert (job.created_count, job.skipped_count, job.flagged_count) == (1, 3, 0)
    lead = Lead.objects.get(organization=world.org, last_name="Zielinska")
    assert (lead.email, lead.phone) == ("kasia@umbrella.example", "+14155550166")


def test_exact_duplicates_keep_their_own_policy(world, people, settings_dir):
    rows = [["Jonathon", "Whitfield", "Acme Logistics", "jonathan.whitfield@acmelogistics.example", ""]]
    job = run(world.admin, rows, duplicate_policy="skip", similar_policy="update")
    assert (job.skipped_count, job.updated_count) == (1, 0)


def test_similar_rows_within_the_file_and_across_batches(world, people, settings_dir, monkeypatch):
    rows = [
        ["Ekaterina", "Smirnova", "ООО «Ромашка»", "katya@romashka.example", ""],
        ["Ekaterina", "Smirnowa", "Ромашка", "e.smirnova@mail.example", ""],  # the same batch
        ["Yuri", "Gagarin", "Vostok", "yuri@vostok.example", ""],
        ["Katerina", "Smirnova", "Romashka", "", ""],  # not alike enough: "Ромашка" is another word
        ["Yury", "Gagarin", "Vostok", "", "+1 415 555 0177"],  # a later batch: the row created earlier
    ]
    monkeypatch.setattr(services, "BATCH_ROWS", 3)
    job = run(world.admin, rows)
    flags = {Lead.objects.get(pk=flag.record_id).last_name + flag.reason: flag for flag in job.flags.all()}
    assert set(flags) == {"Smirnowafile_similar", "Gagarinsimilar"}
    assert Lead.objects.get(pk=flags["Smirnowafile_similar"].existing_id).email == "katya@romashka.example"
    assert Lead.objects.get(pk=flags["Gagarinsimilar"].existing_id).email == "yuri@vostok.example"


def test_records_the_importer_cannot_see_are_never_matched(world, people, settings_dir):
    hidden = world.lead_rep2  # rep1 cannot see rep2's leads
    hidden.first_name, hidden.last_name, hidden.company_name = "Olga", "Petrova", "Hidden Works"
    hidden.name_key, hidden.name_rev_key, hidden.company_key = "olga petrova", "petrova olga", "hidden works"
    hidden.save()
    rows = [["Olga", "Petrowa", "Hidden Works", "olga@hidden.example", ""]]
    job = run(world.rep1, rows, similar_policy="update")
    assert (job.created_count, job.updated_count, job.flagged_count) == (1, 0, 0)
    hidden.refresh_from_db()
    assert hidden.last_name == "Petrova"
    # The same row by someone who sees the lead finds it.
    admin_job = run(world.admin, [["Olga", "Petrova", "Hidden Works", "petrova@other.example", ""]])
    assert admin_job.flags.filter(existing_id=hidden.pk).exists()


def test_contacts_are_matched_by_name_at_their_company(world, settings_dir):
    company = f.CompanyFactory(organization=world.org, name="Initech Inc")
    existing = f.ContactFactory(
        organization=world.org, company=company, first_name="Samir", last_name="Nagheenanajar", email=""
    )
    rows = [["Samir", "Nagheenanajar", "Engineer", "Initech", "", "samir@initech.example", ""]]
    job = run(world.admin, rows, record_type="contact", headers=CONTACT_HEADERS)
    assert (job.created_count, job.flagged_count) == (1, 1)
    (shown,) = services.import_flags(membership=world.admin, job=job)
    assert (shown.existing, str(shown.reason)) == (existing, "same name at the same company")
    flag = job.flags.get()
    assert flag.existing_id == existing.pk and flag.reason == "similar"
    assert Contact.objects.get(pk=flag.record_id).company_id == company.pk
    # Flagged contacts are on the contacts' duplicates page at once.
    from insidesales.imports.models import ContactPair

    pair = ContactPair.objects.get(organization=world.org, from_import=True)
    assert (pair.left_id, pair.right_id) == (existing.pk, flag.record_id)
    assert pair.reasons == ["same_name", "same_company", "import"]


def test_the_finder_looks_only_at_the_company_and_surname_range(world, people, django_assert_max_num_queries):
    finder = SimilarFinder(visible_records(Lead.objects.all(), world.admin), "lead", world.org.pk)
    row = person("Jonathon", "Whitfield", "acme logistics", "", "")
    assert [pk for pk, _p in finder.existing([row])] == [people.pk]
    finder.prepare([row])
    with django_assert_max_num_queries(1):  # the model is estimated once; each batch is one query
        found = finder.find([row, person("Maria", "Lopez", "acme logistics", "", "")])
    assert found[0] is not None and found[0].record_id == people.pk and found[1] is None


def test_the_import_page_lists_the_flagged_records_the_viewer_can_see(world, people, settings_dir, client):
    job = run(world.admin, [["Jonathon", "Whitfield", "Acme Logistics", "jw@example.org", ""]])
    created = Lead.objects.get(pk=job.flags.get().record_id)
    client.force_login(world.admin.user)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'href="/leads/{created.pk}/"' in page and f'href="/leads/{people.pk}/"' in page
    assert "similar name at the same company" in page and f"{int(job.flags.get().score * 100)}%" in page
    assert "jw@example.org" in page and "jonathan.whitfield@acmelogistics.example" in page
    # A manager's import flags a lead of their team; once that lead moves to another team, the row
    # goes from the manager's page (the rest of the page stays).
    people.owner, people.team = world.rep1.user, world.team1
    people.save()
    manager_job = run(world.manager, [["Jonathon", "Whitfield", "Acme Logistics", "other@x.example", ""]])
    assert manager_job.flags.get().existing_id == people.pk
    client.force_login(world.manager.user)
    assert f'href="/leads/{people.pk}/"' in client.get(f"/imports/{manager_job.pk}/").content.decode()
    people.owner, people.team = world.rep2.user, world.team2
    people.save()
    response = client.get(f"/imports/{manager_job.pk}/")
    assert response.status_code == 200 and f'href="/leads/{people.pk}/"' not in response.content.decode()


def test_what_is_flagged_does_not_depend_on_where_batches_split(world, people, settings_dir, monkeypatch):
    rows = [
        ["Ekaterina", "Smirnova", "Ромашка", "katya@romashka.example", ""],
        ["Yuri", "Gagarin", "Vostok", "yuri@vostok.example", ""],
        ["Ekaterina", "Smirnowa", "ООО «Ромашка»", "e.smirnova@mail.example", ""],
        ["Whitfield", "Jonathan", "Acme Logistics", "swapped@example.org", ""],  # swapped: not looked for
        ["Yury", "Gagarin", "Vostok", "", "+1 415 555 0177"],
        ["Jonathan", "Whitfield", "Acme Logistics", "jw2@example.org", ""],
    ]

    def flagged() -> set[tuple[str, str]]:
        job = run(world.admin, rows)
        pairs = {
            (Lead.objects.get(pk=f.record_id).email, Lead.objects.get(pk=f.existing_id).email) for f in job.flags.all()
        }
        services.import_undo(membership=world.admin, job_id=job.pk)
        return pairs

    whole = flagged()
    monkeypatch.setattr(services, "BATCH_ROWS", 1)
    assert flagged() == whole
    monkeypatch.setattr(services, "BATCH_ROWS", 4)
    assert flagged() == whole
    assert whole == {
        ("e.smirnova@mail.example", "katya@romashka.example"),
        ("", "yuri@vostok.example"),
        ("jw2@example.org", "jonathan.whitfield@acmelogistics.example"),
    }


def test_a_resumed_import_decides_with_the_model_of_its_first_run(world, people, settings_dir, monkeypatch):
    from insidesales.crm.models import Lead as LeadModel
    from insidesales.imports.models import ImportStatus
    from insidesales.imports.similar import SimilarFinder

    monkeypatch.setattr(services, "BATCH_ROWS", 2)
    rows = [
        ["Ekaterina", "Smirnova", "Ромашка", "katya@romashka.example", ""],
        ["Yuri", "Gagarin", "Vostok", "yuri@vostok.example", ""],
        ["Ekaterina", "Smirnowa", "Ромашка", "e.smirnova@mail.example", ""],
        ["Jonathon", "Whitfield", "Acme Logistics", "jw@example.org", ""],
    ]
    job = services.import_upload(membership=world.admin, file_name="l.csv", chunks=[csv_file(rows, HEADERS)])
    original = services.RecordImport.write_batch

    def crash_on_second(self, batch, report):
        if self.job.rows_done:
            raise RuntimeError("worker died")
        return original(self, batch, report)

    monkeypatch.setattr(services.RecordImport, "write_batch", crash_on_second)
    with pytest.raises(RuntimeError):
        services.import_start(membership=world.admin, job_id=job.pk, mapping=job.mapping, run_now=True)
    job.refresh_from_db()
    assert job.rows_done == 2 and set(job.similar_model) == {"m", "u", "prior"}
    kept = job.similar_model

    def no_new_model(self):
        raise AssertionError("the resumed run estimated a model of its own")

    monkeypatch.setattr(SimilarFinder, "sample", no_new_model)
    monkeypatch.setattr(services.RecordImport, "write_batch", original)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and job.similar_model == kept
    assert {LeadModel.objects.get(pk=flag.record_id).last_name for flag in job.flags.all()} == {"Smirnowa", "Whitfield"}


def test_flagged_leads_are_on_the_duplicates_page_and_scans_keep_them(world, people, settings_dir, client):
    from insidesales.imports import duplicates
    from insidesales.imports.models import DuplicatePair, PairStatus

    job = run(world.admin, [["Jonathon", "Whitfield", "Acme Logistics", "jw@example.org", ""]])
    created = job.flags.get().record_id
    pair = DuplicatePair.objects.get(organization=world.org, from_import=True)
    assert (pair.left_id, pair.right_id, pair.status) == (people.pk, created, PairStatus.OPEN)
    assert pair.reasons == ["similar_name", "same_company", "import"] and 0.5 <= pair.score <= 1
    # A scan replaces its own open pairs and keeps those an import flagged.
    scan = duplicates.scan_request(organization_id=world.org.pk)
    duplicates.scan_run(scan_id=scan.pk)
    assert DuplicatePair.objects.filter(organization=world.org, left=people, right_id=created).count() == 1
    client.force_login(world.admin.user)
    page = client.get("/duplicates/").content.decode()
    assert f"/duplicates/{pair.pk}/" in page and "flagged by an import" in page
    # "Not duplicates" holds: the next scan neither reopens nor repeats the pair.
    duplicates.pair_dismiss(membership=world.admin, pair_id=pair.pk)
    scan = duplicates.scan_request(organization_id=world.org.pk)
    duplicates.scan_run(scan_id=scan.pk)
    pairs = DuplicatePair.objects.filter(organization=world.org, left=people, right_id=created)
    assert [p.status for p in pairs] == [PairStatus.DISMISSED]


def test_colleagues_with_one_surname_are_not_duplicates_for_the_scan_either(world, people):
    from insidesales.imports import duplicates
    from insidesales.imports.models import DuplicatePair

    f.LeadFactory(
        organization=world.org,
        first_name="Joshua",
        last_name="Whitfield",
        company_name="Acme Logistics",
        email="jwhitfield@acmelogistics.example",
        phone="+14155550199",
    )
    f.LeadFactory(
        organization=world.org,
        first_name="Jonathon",
        last_name="Whitfield",
        company_name="Acme Logistics LLC",
        email="jonathon@gmail.example",
    )
    scan = duplicates.scan_request(organization_id=world.org.pk)
    duplicates.scan_run(scan_id=scan.pk)
    found = {
        tuple(sorted((pair.left.first_name, pair.right.first_name)))
        for pair in DuplicatePair.objects.filter(organization=world.org).select_related("left", "right")
    }
    assert ("Jonathan", "Jonathon") in found
    assert not {names for names in found if "Joshua" in names}


def test_an_import_that_changed_nothing_offers_no_undo(world, people, settings_dir, client):
    rows = [["Jonathon", "Whitfield", "Acme Logistics", "jonathan.whitfield@acmelogistics.example", ""]]
    job = run(world.admin, rows)
    assert (job.status, job.created_count, job.updated_count, job.skipped_count) == ("done", 0, 0, 1)
    client.force_login(world.admin.user)
    assert "Undo this import" not in client.get(f"/imports/{job.pk}/").content.decode()
    flagged = run(world.admin, [["Jonathon", "Whitfield", "Acme Logistics", "jw@example.org", ""]])
    assert "Undo this import" in client.get(f"/imports/{flagged.pk}/").content.decode()


def test_an_update_with_a_new_phone_keeps_the_number_as_typed(world, people, settings_dir):
    rows = [["Jonathan", "Whitfield", "Acme Logistics", people.email, "(415) 555-0142"]]
    job = run(world.admin, rows, duplicate_policy="update")
    assert job.updated_count == 1
    people.refresh_from_db()
    assert (people.phone, people.phone_raw) == ("+14155550142", "(415) 555-0142")
