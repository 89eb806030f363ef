"""Imported files are kept only while needed, and an organization's files have a size limit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.core.errors import ValidationError
from insidesales.imports import retention, services
from insidesales.imports.models import ImportJob, ImportStatus
from insidesales.imports.tests.test_services import csv_file, run

pytestmark = pytest.mark.django_db

GOOD = ["Ann", "Lee", "Acme", "+1 415 555 0100", "ann@acme.example", "", "", ""]
BAD = ["Bob", "Stone", "Acme", "12", "not an email", "", "", ""]


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def failed_import(membership, monkeypatch):
    """An upload whose run stopped on an internal error (status FAILED, upload kept)."""
    job = upload(membership)

    def broken(self, batch, report):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.RecordImport, "write_batch", broken)
    with pytest.raises(RuntimeError):
        services.import_start(membership=membership, job_id=job.pk, mapping=job.mapping, run_now=True)
    monkeypatch.undo()
    return job


def upload(membership, data=None, name="list.csv"):
    return services.import_upload(membership=membership, file_name=name, chunks=[data or csv_file([GOOD])])


def test_the_upload_goes_when_the_import_ends_and_the_report_after_the_keeping_period(world, data_dir, settings):
    settings.IMPORT_REPORT_KEEP_DAYS = 30
    job = run(world.rep1, csv_file([GOOD, BAD]))
    assert job.status == ImportStatus.DONE and job.rejected_count == 1
    assert job.upload_removed_at is not None and not retention.upload_path(job).exists()
    assert services.report_path(job).exists()  # people still download it to fix the rows

    purged = retention.import_files_purge(now=job.finished_at + dt.timedelta(days=29))
    assert purged == {"uploads": 0, "reports": 0, "strays": 0}
    assert services.report_path(job).exists()
    purged = retention.import_files_purge(now=job.finished_at + dt.timedelta(days=31))
    assert purged == {"uploads": 0, "reports": 1, "strays": 0}
    job.refresh_from_db()
    assert job.report_removed_at is not None and not services.report_path(job).exists()
    purged = retention.import_files_purge(now=job.finished_at + dt.timedelta(days=32))
    assert purged == {"uploads": 0, "reports": 0, "strays": 0}


def test_an_upload_never_started_expires_and_cannot_be_started_after(world, data_dir, settings):
    settings.IMPORT_UNSTARTED_KEEP_HOURS = 72
    job = upload(world.rep1)
    fresh = upload(world.rep1, name="fresh.csv")
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=73))
    assert retention.import_files_purge() == {"uploads": 1, "reports": 0, "strays": 0}
    assert not retention.upload_path(job).exists() and retention.upload_path(fresh).exists()
    with pytest.raises(ValidationError, match="expired"):
        services.import_start(membership=world.rep1, job_id=job.pk, mapping=job.mapping, run_now=True)
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED and retention.upload_expired(job)
    assert not ImportJob.objects.get(pk=fresh.pk).upload_removed_at


def test_a_purge_and_a_start_of_the_same_upload_never_both_win(world, data_dir, settings):
    settings.IMPORT_UNSTARTED_KEEP_HOURS = 1
    job = upload(world.rep1)
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    services.import_start(membership=world.rep1, job_id=job.pk, mapping=job.mapping)  # queued, not run
    assert retention.import_files_purge() == {"uploads": 0, "reports": 0, "strays": 0}  # queued: its file is needed
    assert retention.upload_path(job).exists()
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and job.created_count == 1


def test_an_import_that_failed_gives_up_its_upload(world, data_dir):
    job = upload(world.rep1)
    services.import_start(membership=world.rep1, job_id=job.pk, mapping=job.mapping)
    world.rep1.delete()  # the user left before the worker ran it
    job = services.import_run(job_id=job.pk)
    assert job.status == ImportStatus.FAILED and job.upload_removed_at is not None
    assert not retention.upload_path(job).exists()


def test_an_import_stopped_by_an_internal_error_keeps_its_upload_for_the_keeping_period(
    world, data_dir, settings, monkeypatch
):
    settings.IMPORT_REPORT_KEEP_DAYS = 30
    job = failed_import(world.rep1, monkeypatch)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and retention.upload_path(job).exists()
    assert retention.import_files_purge(now=job.finished_at + dt.timedelta(days=29))["uploads"] == 0
    assert retention.import_files_purge(now=job.finished_at + dt.timedelta(days=31))["uploads"] == 1
    assert not retention.upload_path(job).exists()


def test_uploads_past_the_organizations_limit_are_refused_with_a_clear_message(world, data_dir, settings):
    first = upload(world.rep1)
    settings.IMPORT_STORAGE_LIMIT_BYTES = first.file_size * 2 + 100  # two uploads and a small report
    second = upload(world.rep2)  # another member, same organization: counts too
    with pytest.raises(ValidationError) as refused:
        upload(world.rep1)
    assert "would take more than" in refused.value.fields["file"][0]
    assert "kept now" not in refused.value.fields["file"][0]  # how much others keep is not told
    assert ImportJob.objects.filter(organization=world.org).count() == 2
    assert len(list((data_dir / "imports").iterdir())) == 2  # nothing of the refused file is left
    services.import_start(membership=world.rep1, job_id=first.pk, mapping=first.mapping, run_now=True)
    first.refresh_from_db()  # the finished import's upload is gone; its report stays
    assert retention.stored_bytes(world.org.pk) == second.file_size + first.report_bytes
    assert first.report_bytes < 100
    upload(world.rep1)  # room again
    upload(world.members["admin_b"])  # another organization: its own files, its own limit
    with pytest.raises(ValidationError):
        upload(world.rep1)


def test_the_pages_say_what_was_removed(world, data_dir, settings, client):
    settings.IMPORT_UNSTARTED_KEEP_HOURS = 1
    expired = upload(world.rep1)
    ImportJob.objects.filter(pk=expired.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    done = run(world.rep1, csv_file([GOOD, BAD]))
    ImportJob.objects.filter(pk=done.pk).update(finished_at=timezone.now() - dt.timedelta(days=40))
    retention.import_files_purge()
    client.force_login(world.rep1.user)

    page = client.get(f"/imports/{expired.pk}/").content.decode()
    assert "This upload expired" in page and "Upload it again" in page
    assert client.post(f"/imports/{expired.pk}/", {}).status_code == 302  # no mapping form behind it
    assert "Expired" in client.get("/imports/").content.decode()

    page = client.get(f"/imports/{done.pk}/").content.decode()
    assert "The rejected-rows report was removed on" in page and "Download rejected rows" not in page
    response = client.get(f"/imports/{done.pk}/report/")
    assert response.status_code == 404


def test_the_purge_runs_hourly_in_one_chain(world, data_dir, settings):
    from django_tasks_db.models import DBTaskResult

    from insidesales.imports.tasks import PURGE_EVERY, purge_expired_data, schedule_expired_data_purge

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.IMPORT_UNSTARTED_KEEP_HOURS = 1
    job = upload(world.rep1)
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    waiting = DBTaskResult.objects.filter(task_path=purge_expired_data.module_path, status="READY")
    assert schedule_expired_data_purge() is True
    assert schedule_expired_data_purge() is False  # a worker restart starts no second chain
    queued = waiting.get()
    assert queued.run_after - timezone.now() > PURGE_EVERY - dt.timedelta(minutes=1)
    queued.delete()  # taken by the worker
    assert purge_expired_data.call() == {"uploads": 1, "reports": 0, "strays": 0, "merges": 0}
    assert waiting.count() == 1 and not retention.upload_path(job).exists()


def test_files_no_import_keeps_are_swept_once_a_day_old(world, data_dir):
    import os

    job = upload(world.rep1)
    folder = data_dir / "imports"
    stray = folder / "1-deadbeef"  # a process died while storing it, or after marking it removed
    stray.write_bytes(b"x")
    young = folder / "1-being-written"
    young.write_bytes(b"y")
    old = (timezone.now() - dt.timedelta(days=2)).timestamp()
    os.utime(stray, (old, old))
    os.utime(retention.upload_path(job), (old, old))  # an old file an import still keeps
    assert retention.import_files_purge()["strays"] == 1
    assert not stray.exists() and young.exists() and retention.upload_path(job).exists()


def test_an_upload_that_fails_to_be_kept_leaves_no_file(world, data_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ImportJob.objects, "create", broken)
    with pytest.raises(OSError):
        upload(world.rep1)
    assert list((data_dir / "imports").iterdir()) == []


def test_a_failed_import_being_undone_keeps_its_upload(world, data_dir, monkeypatch):
    job = failed_import(world.rep1, monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.UNDOING, undo_from_status=ImportStatus.FAILED)
    assert retention.import_files_purge()["uploads"] == 0
    assert retention.upload_path(job).exists()
