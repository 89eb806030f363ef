"""The import pages: upload, map, progress, report download, undo — and bad files shown as form errors."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.models import DBTaskResult

from insidesales.crm.models import Lead
from insidesales.imports import services
from insidesales.imports.models import ImportJob, ImportStatus

pytestmark = pytest.mark.django_db

FILE = (
    "Имя;Фамилия;Компания;Телефон;Эл. почта;Ответственный\r\n"
    "Иван;Петров;ООО «Ромашка»;+7 916 123-45-67;ivan@example.ru;\r\n"
    "Ольга;Смирнова;Вектор;12;olga@example.ru;\r\n"
).encode("cp1251")


@pytest.fixture
def signed_in(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path

    def client_for(member: str) -> Client:
        client = Client()
        client.force_login(world.members[member].user)
        return client

    return client_for


def test_upload_map_run_report_and_undo(world, signed_in, django_capture_on_commit_callbacks):
    client = signed_in("manager")
    page = client.get("/imports/")
    assert page.status_code == 200 and 'type="file"' in page.content.decode()
    response = client.post("/imports/", {"file": SimpleUploadedFile("выставка.csv", FILE)})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    mapping = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Ромашка" in mapping and "cp1251" in mapping  # the preview, read in the right encoding
    assert '<option value="first_name" selected>' in mapping and '<option value="owner" selected>' in mapping
    data = {f"col_{i}": key for i, key in enumerate(job.mapping)}
    data |= {"duplicate_policy": "skip", "assign": f"user:{world.rep1.user_id}", "source": "event"}
    with django_capture_on_commit_callbacks(execute=True):  # the task is queued when the request commits
        response = client.post(f"/imports/{job.pk}/", data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    assert DBTaskResult.objects.filter(task_path="insidesales.imports.tasks.run_import").count() == 1
    progress = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in progress  # the page polls while the import waits or runs

    services.import_run(job_id=job.pk)  # what the worker does with the queued task
    done = client.get(f"/imports/{job.pk}/progress/").content.decode()
    assert "every 1s" not in done and f"/imports/{job.pk}/report/" in done and "Undo this import" in done
    lead = Lead.objects.get(email="ivan@example.ru")
    assert (lead.owner_id, lead.source, lead.phone) == (world.rep1.user_id, "event", "+79161234567")
    report = client.get(f"/imports/{job.pk}/report/")
    assert report.status_code == 200 and report["Content-Disposition"].startswith("attachment")
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "Ольга" in text and "Ивaн" not in text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/undo/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDOING  # the worker takes the records back
    assert DBTaskResult.objects.filter(task_path="insidesales.imports.tasks.run_import_undo").count() == 1
    undoing = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Being undone" in undoing and 'hx-trigger="every 1s"' in undoing and "Undo this import" not in undoing
    assert client.post(f"/imports/{job.pk}/undo/").status_code == 302  # a second click changes nothing
    assert Lead.objects.filter(email="ivan@example.ru").exists()

    services.import_undo_run(job_id=job.pk)  # what the worker does with the queued task
    assert not Lead.objects.filter(email="ivan@example.ru").exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE and job.undo_requested_by_id == world.manager.user_id
    assert services.import_undo_run(job_id=job.pk).status == ImportStatus.UNDONE  # run twice: nothing more
    assert "Undo this import" not in client.get(f"/imports/{job.pk}/").content.decode()


def test_a_bad_file_is_shown_on_the_form(world, signed_in):
    client = signed_in("rep1")
    response = client.post("/imports/", {"file": SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00")})
    assert response.status_code == 200
    assert "binary data" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_with_a_field_twice_is_refused_on_the_form(world, signed_in):
    client = signed_in("admin")
    client.post("/imports/", {"file": SimpleUploadedFile("l.csv", b"Email,Mail\r\na@example.com,b@example.com\r\n")})
    job = ImportJob.objects.get()
    response = client.post(
        f"/imports/{job.pk}/", {"col_0": "email", "col_1": "email", "duplicate_policy": "skip", "source": "other"}
    )
    assert response.status_code == 200 and "only one column" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED


def test_field_reps_see_no_upload_and_cannot_post_one(world, signed_in):
    client = signed_in("field_rep")
    assert 'type="file"' not in client.get("/imports/").content.decode()
    response = client.post("/imports/", {"file": SimpleUploadedFile("l.csv", b"Email\r\na@example.com\r\n")})
    assert response.status_code == 403 and not ImportJob.objects.exists()


def test_import_pages_are_russian_for_a_russian_user(world, signed_in):
    from insidesales.core.tests.test_translations import english_words

    user = world.rep1.user
    user.language = "ru"
    user.save()
    client = signed_in("rep1")
    client.post("/imports/", {"file": SimpleUploadedFile("list.csv", FILE)})
    job = ImportJob.objects.get()
    allowed = {"list.csv", "cp1251", "CSV", "XLSX", "UTF-8", "Windows-1251", "Latin-1", world.org.name}
    allowed |= set(user.full_name.split())  # names are data, not interface
    for url in ("/imports/", f"/imports/{job.pk}/"):
        html = client.get(url).content.decode()
        assert english_words(html, allowed) == [], url
    services.import_start(membership=world.rep1, job_id=job.pk, mapping=job.mapping, run_now=True)
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Отменить этот импорт" in html and english_words(html, allowed) == []


def test_file_names_headers_and_cells_are_escaped(world, signed_in):
    payload = '<img src=x onerror="alert(1)">'
    client = signed_in("admin")
    data = f'"{payload}",Email\r\n"{payload}",a@example.com\r\n'.encode()
    client.post("/imports/", {"file": SimpleUploadedFile(f"{payload}.csv", data)})
    job = ImportJob.objects.get()
    for url in ("/imports/", f"/imports/{job.pk}/"):
        html = client.get(url).content.decode()
        assert payload not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html, url


def test_an_undo_the_requester_may_no_longer_do_goes_back_with_the_reason(world, signed_in, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client = signed_in("rep1")
    client.post("/imports/", {"file": SimpleUploadedFile("mine.csv", FILE)})
    job = ImportJob.objects.get()
    services.import_start(
        membership=world.rep1, job_id=job.pk, mapping=job.mapping, duplicate_policy="skip", run_now=True
    )
    created = Lead.objects.filter(organization=world.org, email="ivan@example.ru")
    assert created.exists()
    client.post(f"/imports/{job.pk}/undo/")
    world.rep1.is_active = False  # the rep leaves before the worker gets to it
    world.rep1.save()
    job = services.import_undo_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE and "no longer has access" in job.error
    assert created.exists()
