"""`Idempotency-Key`: replays, reuse for another request, requests in flight, expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from insidesales.api.idempotency import _lock_name, idempotency_purge_expired
from insidesales.api.models import IdempotencyKey
from insidesales.api.tests.conftest import assert_problem
from insidesales.crm.models import Lead

KEY = {"Idempotency-Key": "4f6c1b52-idem-test"}


def test_same_key_and_body_replays_the_answer_and_creates_one_row(admin_api):
    first = admin_api.post("/leads", {"last_name": "Once"}, **KEY)
    second = admin_api.post("/leads", {"last_name": "Once"}, **KEY)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Lead.objects.filter(last_name="Once").count() == 1
    stored = IdempotencyKey.objects.get()
    assert (stored.method, stored.path, stored.response_status) == ("POST", "/api/v1/leads", 201)


def test_same_key_with_a_different_body_is_a_422(admin_api):
    admin_api.post("/leads", {"last_name": "Once"}, **KEY)
    body = assert_problem(admin_api.post("/leads", {"last_name": "Twice"}, **KEY), 422, "idempotency_key_reused")
    assert "Idempotency-Key" in body["errors"]
    assert not Lead.objects.filter(last_name="Twice").exists()


def test_same_key_on_another_path_is_a_422(admin_api):
    admin_api.post("/tags", {"name": "a"}, **KEY)
    assert_problem(admin_api.post("/companies", {"name": "a"}, **KEY), 422, "idempotency_key_reused")


def test_without_the_header_every_post_does_the_work(admin_api):
    admin_api.post("/leads", {"last_name": "Again"})
    admin_api.post("/leads", {"last_name": "Again"})
    assert Lead.objects.filter(last_name="Again").count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_4xx_answer_is_stored_and_replayed(admin_api):
    first = admin_api.post("/leads/987654/qualify", None, **KEY)
    assert_problem(first, 404)
    second = admin_api.post("/leads/987654/qualify", None, **KEY)
    assert second.status_code == 404
    assert second["Idempotent-Replayed"] == "true"
    assert second["Content-Type"] == "application/problem+json"


def test_input_that_fails_validation_is_not_stored(admin_api):
    assert_problem(admin_api.post("/leads", {"last_name": 5}, **KEY), 422)
    assert not IdempotencyKey.objects.exists()
    assert admin_api.post("/leads", {"last_name": "Fixed"}, **KEY).status_code == 201


def test_keys_belong_to_their_user(world, api_as):
    api_as(world.rep1).post("/tags", {"name": "a"}, **KEY)
    other = api_as(world.rep2).post("/tags", {"name": "b"}, **KEY)
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other


def test_a_duplicate_in_flight_is_a_409(admin, admin_api):
    from django.test import RequestFactory

    # Simulate the first request still running: it holds the lock for these credentials and this key.
    request = RequestFactory().post("/", headers={**admin_api.headers, **KEY})
    cache.add(_lock_name(request, KEY["Idempotency-Key"]), 1, 60)
    assert_problem(admin_api.post("/leads", {"last_name": "Racing"}, **KEY), 409, "idempotency_in_flight")
    assert not Lead.objects.filter(last_name="Racing").exists()


def test_the_lock_is_released_after_the_request(admin_api):
    admin_api.post("/leads", {"last_name": "Free"}, **KEY)
    assert admin_api.post("/leads", {"last_name": "Free"}, **KEY)["Idempotent-Replayed"] == "true"


def test_an_invalid_key_is_a_422(admin_api):
    assert_problem(admin_api.post("/tags", {"name": "a"}, **{"Idempotency-Key": "x" * 300}), 422)


def test_keys_expire_after_a_day(admin_api):
    admin_api.post("/leads", {"last_name": "Old"}, **KEY)
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    again = admin_api.post("/leads", {"last_name": "Old"}, **KEY)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Lead.objects.filter(last_name="Old").count() == 2


def test_purge_forgets_expired_keys_only(admin_api):
    admin_api.post("/tags", {"name": "a"}, **KEY)
    admin_api.post("/tags", {"name": "b"}, **{"Idempotency-Key": "fresh"})
    IdempotencyKey.objects.filter(key=KEY["Idempotency-Key"]).update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert idempotency_purge_expired() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db
def test_the_purge_runs_hourly_as_one_chain(settings):
    """The worker queues the purge when it starts; each run queues the next; a restart (or two workers
    starting together) never makes a second chain."""
    import datetime as dt

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from insidesales.api.tasks import PURGE_EVERY, purge_idempotency_keys, schedule_idempotency_purge

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    waiting = DBTaskResult.objects.filter(task_path=purge_idempotency_keys.module_path, status="READY")
    assert schedule_idempotency_purge() is True
    assert schedule_idempotency_purge() is False  # a restart
    assert waiting.count() == 1
    queued = waiting.get()
    assert queued.run_after - timezone.now() > PURGE_EVERY - dt.timedelta(minutes=1)
    queued.delete()  # as the worker takes it: it is no longer waiting while it runs
    purge_idempotency_keys.call()
    assert waiting.count() == 1  # the run queued the next one


def test_the_purge_is_not_chained_on_a_backend_that_runs_tasks_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from insidesales.api.tasks import schedule_idempotency_purge

    assert schedule_idempotency_purge() is False
