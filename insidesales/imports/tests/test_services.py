"""Import jobs end to end through the services: upload, map, run, duplicates, report, resume, undo, scope."""

from __future__ import annotations

import csv
import io

import pytest

from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.crm.models import Activity, Lead, Tag
from insidesales.imports import services
from insidesales.imports.csvsafe import unneutralize
from insidesales.imports.models import ImportFlag, ImportJob, ImportStatus, SavedMapping
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db

HEADERS = ["First name", "Last name", "Company", "Phone", "Email", "Owner", "Tags", "Notes"]


def csv_file(rows, headers=HEADERS, *, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def run(membership, data: bytes, *, policy="skip", name="list.csv", **options) -> ImportJob:
    job = services.import_upload(membership=membership, file_name=name, chunks=[data])
    return services.import_start(
        membership=membership, job_id=job.pk, mapping=job.mapping, duplicate_policy=policy, run_now=True, **options
    )


def report_rows(job) -> list[list[str]]:
    with services.report_path(job).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def settings_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def test_admin_imports_good_rows_and_reports_bad_ones(world, settings_dir):
    world.org.default_region = "RU"
    world.org.save()
    Tag.objects.create(organization=world.org, name="Webinar 2026")
    rows = [
        [
            "Иван",
            "Петров",
            "ООО «Ромашка»",
            "8 (916) 123-45-67",
            "Ivan@Example.RU",
            world.rep1.user.email,
            "webinar 2026",
            "=cmd",
        ],
        ["", "", "", "", "", "", "", "nothing to import"],
        ["Olga", "S", "Vector", "12", "olga@example.ru", "", "", ""],
        ["Bob", "Jones", "Acme", "+1 (415) 555-0100", "bob@@example", "", "", ""],
        ["Ann", "Lee", "Acme", "+44 20 7946 0000", "ann@example.com", "nobody@example.com", "Cold", ""],
        ["Zoë", "Ångström", "", "", "zoe@example.com", "", "", ""],
    ]
    job = run(world.admin, csv_file(rows))
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.rejected_count, job.rows_done) == (2, 4, 6)
    ivan = Lead.objects.get(organization=world.org, email="ivan@example.ru")
    assert (ivan.phone, ivan.phone_raw, ivan.country, ivan.time_zone) == (
        "+79161234567",
        "8 (916) 123-45-67",
        "RU",
        "Europe/Moscow",
    )
    assert ivan.owner_id == world.rep1.user_id and ivan.team_id == world.rep1.team_id
    assert [t.name for t in ivan.tags.all()] == ["Webinar 2026"]
    assert ivan.notes == "=cmd" and ivan.company_key == "ромашка"
    assert Activity.objects.filter(lead=ivan, kind="created", data__import=job.pk).count() == 1
    zoe = Lead.objects.get(organization=world.org, email="zoe@example.com")
    assert zoe.owner_id is None and zoe.agency_id is None  # the admin chose no default owner: the pool
    report = report_rows(job)
    assert report[0] == [*HEADERS, "Why it was not imported"]
    # Original cells in file order, safe for a spreadsheet: "+1 (415)..." is written "'+1 (415)...".
    assert report[3][3] == "'+1 (415) 555-0100"
    assert [[unneutralize(c) for c in r[:5]] for r in report[1:]] == [r[:5] for r in rows[1:5]]
    reasons = [r[-1] for r in report[1:]]
    assert "no name, company, email or phone" in reasons[0]
    assert "Phone" in reasons[1] and "Email" in reasons[2] and "Owner" in reasons[3] and "Cold" in reasons[3]
    assert reasons[0].startswith("Row 3")  # the header is row 1
    actions = set(AuditLog.objects.filter(object_type="importjob", object_id=job.pk).values_list("action", flat=True))
    assert actions == {"import.upload", "import.start", "import.finish"}
    # The mapping is remembered for the next file with these headers.
    assert SavedMapping.objects.get(organization=world.org).mapping == job.mapping


def test_duplicates_skip_update_and_flag(world, settings_dir):
    existing = world.lead_rep1
    existing.email, existing.phone = "dup@example.com", "+14155550100"
    existing.save()
    rows = [
        ["New", "Name", "NewCo", "", "dup@example.com", "", "", "from file"],
        ["Phone", "Match", "", "(415) 555-0100", "", "", "", ""],
        ["Twice", "InFile", "", "", "twice@example.com", "", "", ""],
        ["Twice", "Again", "Later Inc", "", "twice@example.com", "", "", ""],
    ]
    skip = run(world.admin, csv_file(rows))
    assert (skip.created_count, skip.skipped_count) == (1, 3)
    assert Lead.objects.get(pk=existing.pk).first_name == existing.first_name
    Lead.objects.filter(email="twice@example.com").delete()

    update = run(world.admin, csv_file(rows), policy="update")
    existing.refresh_from_db()
    assert (existing.first_name, existing.company_name, existing.notes) == ("Phone", "NewCo", "from file")
    assert (update.updated_count, update.created_count, update.skipped_count) == (2, 1, 1)
    twice = Lead.objects.get(email="twice@example.com")
    assert (twice.last_name, twice.company_name) == ("Again", "Later Inc")  # later rows of the file win

    again = run(world.admin, csv_file(rows), policy="update")  # the same file again changes nothing
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 4)

    flagged = run(world.admin, csv_file(rows[:1]), policy="create")
    assert flagged.created_count == 1 and flagged.flagged_count == 1
    flag = ImportFlag.objects.get(job=flagged)
    assert (flag.existing_id, flag.reason) == (existing.pk, "email")


def test_undo_restores_exactly_the_state_before(world, settings_dir, world_db_state):
    existing = world.lead_rep1
    existing.email = "dup@example.com"
    existing.save()
    rows = [
        ["Changed", "Name", "Other Co", "", "dup@example.com", "", "Webinar 2026", "changed notes"],
        ["Brand", "New", "", "+14155550111", "new@example.com", "", "", ""],
    ]
    Tag.objects.create(organization=world.org, name="Webinar 2026")
    before = world_db_state()
    job = run(world.admin, csv_file(rows), policy="update")
    assert (job.created_count, job.updated_count) == (1, 1)
    assert world_db_state() != before
    undone = services.import_undo(membership=world.admin, job_id=job.pk)
    assert undone.status == ImportStatus.UNDONE
    after = world_db_state()
    assert after.pop("orgs.AuditLog") != before.pop("orgs.AuditLog")  # the import and its undo are audited
    assert after == before
    with pytest.raises(ValidationError):
        services.import_undo(membership=world.admin, job_id=job.pk)


def test_an_interrupted_run_resumes_without_doing_anything_twice(world, settings_dir, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 3)
    rows = [[f"P{i}", "Person", "", "", f"p{i}@example.com" if i % 4 else "bad", "", "", ""] for i in range(10)]
    job = services.import_upload(membership=world.admin, file_name="l.csv", chunks=[csv_file(rows)])
    original = services.RecordImport.write_batch
    calls = {"n": 0}

    def crash_on_third(self, batch, report):
        calls["n"] += 1
        if calls["n"] == 3:
            report.write([(batch[0][1], "written by the run that died")])  # not committed
            raise RuntimeError("worker died")
        return original(self, batch, report)

    monkeypatch.setattr(services.RecordImport, "write_batch", crash_on_third)
    with pytest.raises(RuntimeError):
        services.import_start(membership=world.admin, job_id=job.pk, mapping=job.mapping, run_now=True)
    job.refresh_from_db()
    assert job.rows_done == 6
    # The task runs again (the worker restarted); the job is marked failed by the crash handler, so
    # put it back in the queue as the task backend's retry would find it.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    monkeypatch.setattr(services.RecordImport, "write_batch", original)
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and job.rows_done == 10
    assert Lead.objects.filter(organization=world.org, last_name="Person").count() == 7
    assert (job.created_count, job.rejected_count) == (7, 3)
    assert [r[0] for r in report_rows(job)[1:]] == ["P0", "P4", "P8"]


def test_agency_user_imports_into_its_agency_only(world, settings_dir):
    hidden = world.lead_rep1  # not visible to the agency
    hidden.email = "secret@example.com"
    hidden.save()
    rows = [["Agency", "Lead", "", "", "secret@example.com", world.rep1.user.email, "", ""]]
    job = run(world.agency_x_rep, csv_file(rows), policy="update")
    hidden.refresh_from_db()
    assert hidden.first_name != "Agency"  # a record outside the user's scope is never matched or changed
    lead = Lead.objects.get(first_name="Agency")
    assert lead.agency_id == world.agency_x.pk and lead.owner_id == world.agency_x_rep.user_id
    assert job.created_count == 1
    other = services.import_upload(membership=world.agency_x_rep, file_name="x.csv", chunks=[csv_file(rows)])
    with pytest.raises(ValidationError):
        services.import_start(
            membership=world.agency_x_rep, job_id=other.pk, mapping=other.mapping, assign_owner_id=world.rep1.user_id
        )
    # Imports are private to their author (and admins).
    with pytest.raises(NotFound):
        services.import_job_get(membership=world.agency_y_rep, job_id=job.pk)
    with pytest.raises(NotFound):
        services.import_job_get(membership=world.admin_b, job_id=job.pk)
    assert services.import_job_get(membership=world.admin, job_id=job.pk) == job


def test_bad_uploads_are_refused_with_the_reason_and_leave_no_file(world, settings_dir):
    for data, message in ((b"", "empty"), (b"\x00\x01\x02binary", "binary")):
        with pytest.raises(ValidationError) as error:
            services.import_upload(membership=world.admin, file_name="x.csv", chunks=[data])
        assert message in str(error.value.fields["file"][0])
    assert list((settings_dir / "imports").iterdir()) == []
    assert not ImportJob.objects.exists()
    with pytest.raises(PermissionDenied):
        services.import_upload(membership=world.field_rep, file_name="x.csv", chunks=[csv_file([])])


def test_an_import_is_started_once_and_a_second_run_of_it_changes_nothing(world, settings_dir, monkeypatch):
    rows = [[f"P{i}", "Person", "", "", f"p{i}@example.com", "", "", ""] for i in range(4)]
    job = services.import_upload(membership=world.admin, file_name="l.csv", chunks=[csv_file(rows)])
    services.import_start(membership=world.admin, job_id=job.pk, mapping=job.mapping)
    with pytest.raises(ValidationError):  # a double click: queued once only
        services.import_start(membership=world.admin, job_id=job.pk, mapping=job.mapping)
    original = services.RecordImport.write_batch

    def other_worker_first(self, batch, report):
        ImportJob.objects.filter(pk=self.job.pk).update(rows_done=len(batch))  # another run committed meanwhile
        return original(self, batch, report)

    monkeypatch.setattr(services.RecordImport, "write_batch", other_worker_first)
    services.import_run(job_id=job.pk)
    assert not Lead.objects.filter(last_name="Person").exists()  # this run's batch was rolled back
    assert ImportJob.objects.get(pk=job.pk).created_count == 0


def test_ids_of_deleted_leads_are_never_given_out_again(world, settings_dir):
    first = run(world.admin, csv_file([["Old", "One", "", "", "old@example.com", "", "", ""]]))
    old_id = Lead.objects.get(email="old@example.com").pk
    services.import_undo(membership=world.admin, job_id=first.pk)  # the highest lead is gone
    run(world.admin, csv_file([["New", "One", "", "", "new@example.com", "", "", ""]]))
    assert Lead.objects.get(email="new@example.com").pk > old_id
    Lead.objects.create(organization=world.org, last_name="Typed in")  # Django's own inserts still fit
    assert Lead.objects.get(last_name="Typed in").pk > Lead.objects.get(email="new@example.com").pk


def test_a_failed_import_can_be_undone(world, settings_dir):
    job = run(world.admin, csv_file([["Kept", "Row", "", "", "kept@example.com", "", "", ""]]))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FAILED, error="stopped")
    services.import_undo(membership=world.admin, job_id=job.pk)
    assert not Lead.objects.filter(email="kept@example.com").exists()


def test_undo_removes_every_record_of_ranges_longer_than_a_slice(world, settings_dir, monkeypatch):
    monkeypatch.setattr(services, "UNDO_SLICE", 3)
    rows = [[f"P{i}", "Sliced", "", "", f"sliced{i}@example.com", "", "", ""] for i in range(10)]
    job = run(world.admin, csv_file(rows))
    assert job.created_count == 10 and len(job.created_ranges) == 1
    services.import_undo(membership=world.admin, job_id=job.pk)
    assert not Lead.objects.filter(last_name="Sliced").exists()
    assert Lead.objects.filter(pk=world.lead_rep1.pk).exists()
    assert AuditLog.objects.filter(action="import.undo").latest("id").changes["removed"] == [None, 10]


def test_the_report_is_on_disk_before_its_batch_commits_and_a_short_one_is_never_padded(
    world, settings_dir, monkeypatch
):
    import os

    monkeypatch.setattr(services, "BATCH_ROWS", 2)
    rows = [[f"P{i}", "Person", "", "", "bad" if i % 2 else f"p{i}@example.com", "", "", ""] for i in range(6)]
    job = services.import_upload(membership=world.admin, file_name="l.csv", chunks=[csv_file(rows)])
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    original = services.RecordImport.write_batch
    calls = {"n": 0}

    def crash_on_third(self, batch, report):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return original(self, batch, report)

    monkeypatch.setattr(services.RecordImport, "write_batch", crash_on_third)
    with pytest.raises(RuntimeError):
        services.import_start(membership=world.admin, job_id=job.pk, mapping=job.mapping, run_now=True)
    assert len(synced) == 2  # one per committed batch with rejected rows
    job.refresh_from_db()
    path = services.report_path(job)
    path.write_bytes(path.read_bytes()[: job.report_bytes - 5])  # the disk lost the file's tail
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    monkeypatch.setattr(services.RecordImport, "write_batch", original)
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    written = path.read_bytes()
    assert b"\x00" not in written  # cut to what is there, not lengthened with zeros
    assert written.rstrip().endswith(b"is not a valid address.") and b"P5," in written


def test_undo_keeps_an_imported_lead_others_were_merged_into(world, settings_dir, client):
    """Removing it would take with it what the merge brought (the other lead's timeline) and the copy
    an undo of the merge needs: it stays, and the import's page says why."""
    from insidesales.imports.merge import lead_merge, merge_undo

    rows = [
        ["Olga", "Petrova", "Vega", "", "olga@vega.example", "", "", ""],
        ["Ivan", "Sokolov", "Vega", "", "ivan@vega.example", "", "", ""],
    ]
    job = run(world.admin, csv_file(rows))
    olga = Lead.objects.get(organization=world.org, email="olga@vega.example")
    older = world.lead_rep1
    note = Activity.objects.create(organization=world.org, lead=older, kind="note", body="Called twice")
    done = lead_merge(membership=world.admin, survivor_id=olga.pk, other_id=older.pk)
    undone = services.import_undo(membership=world.admin, job_id=job.pk)
    assert (undone.status, undone.undo_kept) == (ImportStatus.UNDONE, 1)
    assert Lead.objects.filter(pk=olga.pk).exists()
    assert not Lead.objects.filter(organization=world.org, email="ivan@vega.example").exists()
    assert Activity.objects.get(pk=note.pk).lead_id == olga.pk
    audit = AuditLog.objects.filter(action="import.undo").latest("id")
    assert audit.changes["kept_merged_into"] == [None, [olga.pk]]
    client.force_login(world.admin.user)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "1 record this import created was kept" in page
    # The merge can still be undone: the older lead comes back with its note.
    merge_undo(membership=world.admin, merge_id=done.pk)
    assert Activity.objects.get(pk=note.pk).lead_id == older.pk
