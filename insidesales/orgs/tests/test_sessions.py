"""Our session store reads exactly what Django's database session store reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from insidesales.orgs.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_it_is_the_configured_engine():
    assert settings.SESSION_ENGINE == "insidesales.orgs.sessions"


def test_reads_what_django_reads():
    stored = SessionStore()
    stored["organization_id"] = 7
    stored["name"] = "Анна <b>"
    stored.save()
    key = stored.session_key

    expired = DjangoStore()
    expired["x"] = 1
    expired.save()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    for probe in (key, expired.session_key, "nonexistent-key-123", "short", None):
        ours, django = SessionStore(probe), DjangoStore(probe)
        assert ours.load() == django.load()
        assert ours.session_key == django.session_key
    assert SessionStore(key).load() == {"organization_id": 7, "name": "Анна <b>"}
    gone = SessionStore(expired.session_key)
    assert gone.load() == {}
    assert gone.session_key is None  # a new key is made when it is saved, as Django does


def test_login_survives_requests(client, django_user_model):
    from insidesales.core.testing.factories import InsideRepMembershipFactory

    rep = InsideRepMembershipFactory()
    client.force_login(rep.user)
    assert client.get("/leads/").status_code == 200
    client.logout()
    assert client.get("/leads/").status_code == 302
