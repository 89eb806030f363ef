"""Authentication: API keys in either header, the browser session with CSRF, and who gets a 401."""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from insidesales.api.tests.conftest import ApiClient, assert_problem, key_for
from insidesales.orgs.models import ApiKey
from insidesales.orgs.services import agency_set_active, api_key_revoke


def test_bearer_and_x_api_key_headers_both_work(admin):
    secret = key_for(admin)
    for headers in ({"Authorization": f"Bearer {secret}"}, {"X-API-Key": secret}):
        response = ApiClient(headers).get("/me")
        assert response.status_code == 200
        assert response.json()["user"]["id"] == admin.user_id
        assert response.json()["role"] == "admin"
        assert response.json()["organization"]["id"] == admin.organization_id


def test_no_credentials_is_a_401_problem(anonymous):
    body = assert_problem(anonymous.get("/leads"), 401, "unauthenticated")
    assert body["title"] == "Unauthorized"


def test_wrong_key_is_a_401_with_www_authenticate(admin):
    response = ApiClient({"Authorization": "Bearer isk_000000000000_nope"}).get("/me")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_problem(ApiClient({"X-API-Key": "garbage"}).get("/me"), 401)


def test_revoked_key_is_a_401(admin):
    secret = key_for(admin)
    api = ApiClient({"Authorization": f"Bearer {secret}"})
    assert api.get("/me").status_code == 200
    api_key_revoke(membership=admin, key_id=ApiKey.objects.get(user=admin.user).pk)
    assert_problem(api.get("/me"), 401)


def test_using_a_key_stamps_last_used_at(admin):
    secret = key_for(admin)
    key = ApiKey.objects.get(user=admin.user)
    assert key.last_used_at is None
    ApiClient({"X-API-Key": secret}).get("/me")
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < dt.timedelta(minutes=1)


def test_key_of_a_switched_off_agency_is_a_401(world, api_as):
    api = api_as(world.agency_x_rep)
    assert api.get("/leads").status_code == 200
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=False)
    assert_problem(api.get("/leads"), 401)
    assert_problem(api_as(world.agency_off_rep).get("/me"), 401)


def test_a_bad_key_is_refused_even_with_a_valid_session(admin):
    client = Client()
    client.force_login(admin.user)
    assert ApiClient(client=client).get("/me").status_code == 200
    assert_problem(ApiClient({"Authorization": "Bearer isk_bad"}, client=client).get("/me"), 401)


def test_session_auth_needs_the_csrf_token_for_writes(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    api = ApiClient(client=client)
    assert api.get("/me").json()["user"]["id"] == admin.user_id
    assert_problem(api.post("/tags", {"name": "vip"}), 403, "csrf_failed")
    client.get("/api/v1/docs")  # any page that renders the token sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/tags", json.dumps({"name": "vip"}), content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201


def test_keys_act_in_their_own_organization(world):
    # The same person in two organizations: each key sees only its organization's records.
    from insidesales.core.testing import factories as f

    other = f.AdminMembershipFactory(organization=world.org_b, user=world.rep1.user)
    api_a = ApiClient({"X-API-Key": key_for(world.rep1)})
    api_b = ApiClient({"X-API-Key": key_for(other)})
    assert api_a.get("/me").json()["organization"]["id"] == world.org.pk
    assert api_b.get("/me").json()["organization"]["id"] == world.org_b.pk
    assert api_b.get(f"/leads/{world.lead_org_b.pk}").status_code == 200
    assert_problem(api_a.get(f"/leads/{world.lead_org_b.pk}"), 404)
