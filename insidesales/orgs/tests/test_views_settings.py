"""Personal settings: language and time zone, the EN/RU switch, and API keys."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from insidesales.orgs.models import ApiKey
from insidesales.orgs.services import api_key_authenticate, api_key_create

pytestmark = pytest.mark.django_db
SECRET = re.compile(r"isk_[0-9a-f]+_[A-Za-z0-9_\-]+")


def test_settings_saves_language_and_time_zone_and_applies_the_language_at_once(client_for, acme_rep):
    client = client_for(acme_rep)

    response = client.post("/settings/", {"language": "ru", "time_zone": "Europe/Moscow"})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    acme_rep.user.refresh_from_db()
    assert (acme_rep.user.language, acme_rep.user.time_zone) == ("ru", "Europe/Moscow")
    page = client.get("/settings/").content.decode()
    assert '<html lang="ru">' in page
    assert "Настройки сохранены." in page  # the confirmation is already in the new language
    assert 'value="Europe/Moscow" selected' in page


def test_settings_refuses_an_unknown_time_zone(client_for, acme_rep):
    response = client_for(acme_rep).post("/settings/", {"language": "en", "time_zone": "Mars/Olympus"})

    assert response.status_code == 200
    acme_rep.user.refresh_from_db()
    assert acme_rep.user.time_zone == "UTC"


def test_language_switch_remembers_the_choice_on_the_user(client_for, acme_rep):
    client = client_for(acme_rep)

    response = client.post("/settings/language/", {"language": "ru", "next": "/settings/"})

    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    acme_rep.user.refresh_from_db()
    assert acme_rep.user.language == "ru"


def test_language_switch_works_before_signing_in(client, acme):
    response = client.post("/settings/language/", {"language": "ru", "next": "/login/"})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert '<html lang="ru">' in client.get("/login/").content.decode()


def test_created_api_key_is_shown_once_and_authenticates(client_for, acme_rep):
    client = client_for(acme_rep)

    response = client.post("/settings/api-keys/", {"name": "reporting script"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = SECRET.search(response.content.decode()).group(0)
    key = api_key_authenticate(secret)
    assert key is not None and key.user == acme_rep.user and key.name == "reporting script"

    listing = client.get("/settings/api-keys/").content.decode()
    assert secret not in listing
    assert key.prefix in listing and "reporting script" in listing


def test_api_key_needs_a_name(client_for, acme_rep):
    response = client_for(acme_rep).post("/settings/api-keys/", {"name": "  "})

    assert response.status_code == 200
    assert not SECRET.search(response.content.decode())
    assert not ApiKey.objects.exists()


def test_revoked_api_key_stops_authenticating(client_for, acme_rep):
    key, secret = api_key_create(membership=acme_rep, name="old script")
    client = client_for(acme_rep)

    assert client.get(f"/settings/api-keys/{key.pk}/revoke/").status_code == 405
    response = client.post(f"/settings/api-keys/{key.pk}/revoke/")

    assert response.status_code == 302
    assert api_key_authenticate(secret) is None
    listing = client.get("/settings/api-keys/").content.decode()
    assert "revoked" in listing


def test_someone_elses_api_key_cannot_be_revoked(client_for, acme_rep, acme_admin):
    key, secret = api_key_create(membership=acme_admin, name="admin key")

    response = client_for(acme_rep).post(f"/settings/api-keys/{key.pk}/revoke/")

    assert response.status_code == 404
    assert api_key_authenticate(secret) is not None
