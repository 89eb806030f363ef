"""Two requests with the same Idempotency-Key at the same time: the second answers 409, the work happens once.

Real concurrency needs real transactions on separate connections, so this runs on PostgreSQL only
(SQLite lets one writer in at a time, which serializes the two requests instead).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from insidesales.api.tests.conftest import ApiClient, key_for
from insidesales.core.testing import factories as f
from insidesales.crm import services
from insidesales.crm.models import Tag

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_sent_while_the_first_runs_is_a_409(monkeypatch):
    admin = f.AdminMembershipFactory(organization=f.OrganizationFactory())
    headers = {"Authorization": f"Bearer {key_for(admin)}", "Idempotency-Key": "concurrent-1"}
    inside, release = threading.Event(), threading.Event()
    real_tag_create = services.tag_create

    def slow_tag_create(**kwargs):
        inside.set()
        release.wait(10)
        return real_tag_create(**kwargs)

    monkeypatch.setattr(services, "tag_create", slow_tag_create)
    answers: dict[str, object] = {}

    def first() -> None:
        try:
            answers["first"] = ApiClient(headers).post("/tags", {"name": "once"})
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    try:
        duplicate = ApiClient(headers).post("/tags", {"name": "once"})
    finally:
        release.set()
        thread.join(20)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "idempotency_in_flight"
    assert answers["first"].status_code == 201
    replay = ApiClient(headers).post("/tags", {"name": "once"})
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert Tag.objects.filter(organization=admin.organization, name="once").count() == 1
