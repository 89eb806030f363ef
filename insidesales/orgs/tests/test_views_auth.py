"""Signing in by email, throttling, signing out and resetting a forgotten password."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from insidesales.orgs.models import Agency
from insidesales.orgs.tests.conftest import ACME_PASSWORD

pytestmark = pytest.mark.django_db


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_login_by_email_signs_in_and_applies_the_users_language(client, acme_rep):
    acme_rep.user.language = "ru"
    acme_rep.user.save(update_fields=["language"])

    response = client.post("/login/", {"email": "ROB@acme.test", "password": ACME_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(acme_rep.user.pk)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"


def test_login_follows_a_safe_next_url_only(client, acme_rep):
    response = client.post("/login/?next=/settings/", {"email": "rob@acme.test", "password": ACME_PASSWORD})
    assert response["Location"] == "/settings/"

    client.logout()
    response = client.post(
        "/login/", {"email": "rob@acme.test", "password": ACME_PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_wrong_password_is_refused_with_a_form_error(client, acme_rep):
    response = client.post("/login/", {"email": "rob@acme.test", "password": "wrong-password-1"})

    assert response.status_code == 200
    assert "Please enter a correct email and password" in response.content.decode()
    assert signed_in_user_id(client) is None


@override_settings(LOGIN_THROTTLE_PER_ACCOUNT=3)
def test_login_is_throttled_after_repeated_failures_without_checking_the_password(client, acme_rep):
    for _ in range(3):
        client.post("/login/", {"email": "rob@acme.test", "password": "wrong-password-1"})

    with mock.patch("insidesales.orgs.forms.authenticate") as authenticate:
        response = client.post("/login/", {"email": "rob@acme.test", "password": ACME_PASSWORD})

    authenticate.assert_not_called()
    assert response.status_code == 200
    assert "Too many failed attempts, try again in 15 minutes" in response.content.decode()
    assert signed_in_user_id(client) is None


@override_settings(LOGIN_THROTTLE_PER_ACCOUNT=3)
def test_a_successful_login_clears_the_failure_count(client, acme_rep):
    for _ in range(2):
        client.post("/login/", {"email": "rob@acme.test", "password": "wrong-password-1"})
    client.post("/login/", {"email": "rob@acme.test", "password": ACME_PASSWORD})
    client.logout()
    for _ in range(2):
        client.post("/login/", {"email": "rob@acme.test", "password": "wrong-password-1"})

    response = client.post("/login/", {"email": "rob@acme.test", "password": ACME_PASSWORD})

    assert response.status_code == 302


def test_user_of_a_switched_off_agency_cannot_sign_in(client, acme_agency_rep, acme_agency):
    acme_agency.is_active = False
    acme_agency.save()

    response = client.post("/login/", {"email": "amy@callco.test", "password": ACME_PASSWORD})

    assert response.status_code == 200
    assert signed_in_user_id(client) is None


def test_anonymous_visitor_is_sent_to_the_login_page(client, acme):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_renders_in_the_layout(client, acme):
    response = client.get("/login/")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in content and 'name="password"' in content
    assert "htmx" in content  # htmx is served from our own static files


def test_logout_is_post_only_and_signs_out(client_for, acme_rep):
    client = client_for(acme_rep)

    assert client.get("/logout/").status_code == 405
    assert signed_in_user_id(client) == str(acme_rep.user.pk)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert signed_in_user_id(client) is None
    assert client.get("/")["Location"].startswith("/login/")


def test_password_reset_mails_a_link_that_sets_a_new_password(client, acme_rep):
    response = client.post("/password-reset/", {"email": "rob@acme.test"})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rob@acme.test"]
    assert "Reset your Inside Sales password" in message.subject
    link = re.search(r"http://testserver(/password-reset/[^/\s]+/[^/\s]+/)", message.body).group(1)

    response = client.get(link)  # Django swaps the token into the session and redirects
    assert response.status_code == 302
    form_url = response["Location"]
    new_password = "a-brand-new-secret-42"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/complete/"

    response = client.post("/login/", {"email": "rob@acme.test", "password": new_password})
    assert response.status_code == 302
    assert client.get(link).status_code == 200  # the used link now says it is invalid
    assert "invalid" in client.get(link).content.decode()


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client, acme):
    response = client.post("/password-reset/", {"email": "nobody@acme.test"})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_a_signed_in_page_reads_the_user_and_memberships_in_one_query(client, acme_rep, django_assert_num_queries):
    """EmailBackend.get_user loads the active memberships with the user; the middleware reuses them."""
    from insidesales.orgs.auth import EmailBackend, active_membership

    user = EmailBackend().get_user(acme_rep.user.pk)
    assert user == acme_rep.user
    with django_assert_num_queries(0):
        membership = active_membership(user, acme_rep.organization_id)
        assert membership.pk == acme_rep.pk
        assert membership.organization.name == "Acme"
        assert membership.user is user
        assert active_membership(user) == membership


def test_get_user_of_a_switched_off_agency_member_gives_no_membership(acme, acme_rep):
    from insidesales.orgs.auth import EmailBackend, active_membership

    agency = Agency.objects.create(organization=acme, name="Callers Ltd")
    acme_rep.agency = agency
    acme_rep.save(update_fields=["agency"])
    agency.is_active = False
    agency.save(update_fields=["is_active"])

    user = EmailBackend().get_user(acme_rep.user.pk)
    assert user == acme_rep.user
    assert active_membership(user) is None
    assert active_membership(user, acme.pk) is None


def test_get_user_without_memberships_and_of_unknown_ids(acme_rep):
    from insidesales.orgs.auth import EmailBackend, active_membership

    acme_rep.is_active = False
    acme_rep.save(update_fields=["is_active"])
    user = EmailBackend().get_user(acme_rep.user.pk)
    assert user == acme_rep.user and active_membership(user) is None
    assert EmailBackend().get_user(10**9) is None


@pytest.fixture
def reset_limits(settings):
    from django.core.cache import cache

    settings.PASSWORD_RESET_PER_ADDRESS = 2
    settings.PASSWORD_RESET_PER_IP = 4
    settings.PASSWORD_RESET_THROTTLE_WINDOW = 3600
    cache.clear()
    yield
    cache.clear()


def test_password_reset_requests_are_limited_per_address(client, acme_rep, reset_limits):
    for _ in range(2):
        response = client.post("/password-reset/", {"email": "rob@acme.test"})
        assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 2

    response = client.post("/password-reset/", {"email": "ROB@acme.test"})

    assert response.status_code == 200
    assert "Too many password reset requests" in response.content.decode()
    assert len(mail.outbox) == 2  # no third mail
    # Another address from the same client still gets its link.
    response = client.post("/password-reset/", {"email": "ada@acme.test"})
    assert response["Location"] == "/password-reset/sent/"


def test_password_reset_limits_count_unknown_addresses_alike(client, acme_rep, reset_limits):
    """The limit must not tell known addresses from unknown ones."""
    for email in ("nobody@acme.test", "rob@acme.test"):
        answers = [client.post("/password-reset/", {"email": email}).status_code for _ in range(3)]
        assert answers == [302, 302, 200]


def test_password_reset_requests_are_limited_per_client_address(client, acme_rep, reset_limits):
    answers = [client.post("/password-reset/", {"email": f"u{i}@acme.test"}).status_code for i in range(5)]
    assert answers == [302, 302, 302, 302, 200]
    other = client.post("/password-reset/", {"email": "u9@acme.test"}, REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 302
