"""`POST /api/v1/inbound/leads`: stored once per Idempotency-Key, routed and announced, admins and managers only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm.models import Lead
from insidesales.inbound.models import AssignTo, Notification, RepAvailability, RoutingRule, Submission
from insidesales.orgs.services import api_key_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/inbound/leads"


@pytest.fixture
def world(db):
    org = f.OrganizationFactory()
    admin = f.AdminMembershipFactory(organization=org)
    team = f.TeamFactory(organization=org)
    rep = f.InsideRepMembershipFactory(organization=org, team=team)
    RoutingRule.objects.create(
        organization=org,
        name="Germany",
        assign_to=AssignTo.ROUND_ROBIN,
        team=team,
        conditions=[{"field": "country", "op": "eq", "value": "DE"}],
    )
    RepAvailability.objects.create(organization=org, user=rep.user, seen_at=timezone.now())
    return {
        "org": org,
        "admin": admin,
        "rep": rep,
        "key": api_key_create(membership=admin, name="site")[1],
        "rep_key": api_key_create(membership=rep, name="mine")[1],
    }


def send(key: str, body: dict, idem: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if idem:
        headers["HTTP_IDEMPOTENCY_KEY"] = idem
    return Client().post(URL, body, content_type="application/json", **headers)


def test_an_inbound_lead_is_stored_routed_and_announced_once_per_key(world):
    body = {
        "last_name": "Schulz",
        "email": "schulz@firma.example",
        "phone": "+49 30 1234567",
        "utm": {"source": "partner"},
        "consent_given": True,
        "consent_text": "Yes, call me.",
    }
    first = send(world["key"], body, idem="abc-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["outcome"] == "created" and data["assigned_to"]["id"] == world["rep"].user_id
    assert data["rule"] == "Germany" and data["replayed"] is False
    again = send(world["key"], body, idem="abc-1")
    assert again.status_code == 201 and again.json()["submission_id"] == data["submission_id"]
    assert Submission.objects.count() == 1 and Lead.objects.count() == 1
    assert Notification.objects.filter(user=world["rep"].user).count() == 1
    submission = Submission.objects.get()
    assert submission.channel == "api" and submission.utm == {"source": "partner"}
    assert submission.consent_text == "Yes, call me."
    lead = Lead.objects.get()
    assert lead.country == "DE" and lead.owner_id == world["rep"].user_id


def test_bad_input_is_a_problem_and_stores_nothing(world):
    response = send(world["key"], {"last_name": "Nobody"})
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "email" in response.json()["errors"]
    assert send(world["key"], {"email": "a@b.example", "ip": "not-an-ip"}).status_code == 422
    assert send(world["key"], {"email": "a@b.example", "form_id": 999}).status_code == 422
    assert send(world["key"], {"email": "a@b.example", "surprise": 1}).status_code == 422
    assert not Submission.objects.exists() and not Lead.objects.exists()


def test_reps_may_not_send_inbound_leads(world):
    response = send(world["rep_key"], {"email": "a@b.example"})
    assert response.status_code == 403
    assert not Submission.objects.exists()
