"""`POST /emails` and `POST /emails/{id}/cancel`: send a one-off email through the API, with the same checks
as the page (own mailbox, visible record, address, suppression) answered as problem+json."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone

from insidesales.api.routers import email_send
from insidesales.mail.models import EmailMessage, Mailbox
from insidesales.mail.services.suppression import suppression_add
from insidesales.mail.services.templates import email_template_create
from insidesales.orgs.services import api_key_create


def _registered() -> bool:
    try:
        reverse("api-v1:email_send")
    except NoReverseMatch:
        return False
    return True


# Until the router is added to the project's API (`api.add_router("/emails", email_send.router)`), these tests
# mount it on an API of their own with the same authentication and problem answers.
if _registered():
    PREFIX = "/api/v1/emails"
else:
    from insidesales.api.api import InsideSalesAPI
    from insidesales.api.auth import auth_schemes
    from insidesales.api.errors import install_exception_handlers
    from insidesales.urls import urlpatterns as project_urls

    test_api = InsideSalesAPI(
        title="email send (tests)", version="test", urls_namespace="api-email-send-test", auth=auth_schemes()
    )
    install_exception_handlers(test_api)
    test_api.add_router("/emails", email_send.router)
    urlpatterns = [path("api-test/v1/", test_api.urls), *project_urls]
    PREFIX = "/api-test/v1/emails"
    pytestmark = pytest.mark.urls(__name__)


class Api:
    def __init__(self, client, membership):
        secret = api_key_create(membership=membership, name="t")[1]
        self.client, self.headers = client, {"Authorization": f"Bearer {secret}"}

    def post(self, path, data=None):
        return self.client.post(
            f"{PREFIX}{path}", json.dumps(data or {}), content_type="application/json", headers=self.headers
        )


def mailbox_of(membership) -> Mailbox:
    return Mailbox.objects.create(
        organization_id=membership.organization_id,
        user=membership.user,
        email=membership.user.email,
        smtp_host="127.0.0.1",
    )


def payload(world, mailbox, **extra):
    data = {
        "mailbox_id": mailbox.pk,
        "to": world.lead_rep1.email,
        "subject": "Hi {{ lead.first_name }}",
        "body": "Hello",
        "lead_id": world.lead_rep1.pk,
    }
    data.update(extra)
    return data


def test_send_now_and_scheduled_then_cancel(world, client):
    api, mailbox = Api(client, world.rep1), mailbox_of(world.rep1)
    now = api.post("", payload(world, mailbox))
    assert now.status_code == 201, now.content
    assert now.json()["status"] == "queued" and now.json()["subject"] == f"Hi {world.lead_rep1.first_name}"
    later = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    scheduled = api.post("", payload(world, mailbox, send_at=later))
    assert scheduled.status_code == 201 and scheduled.json()["status"] == "scheduled"
    cancelled = api.post(f"/{scheduled.json()['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.post(f"/{now.json()['id']}/cancel")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"


def test_scope_other_users_mailbox_other_reps_lead_and_personal_template_are_404(world, client):
    api, mailbox = Api(client, world.rep1), mailbox_of(world.rep1)
    theirs = mailbox_of(world.rep2)
    template = email_template_create(actor=world.rep2, name="Own", variants={"en": {"subject": "s", "body": "b"}})
    for data in (
        payload(world, theirs),
        payload(world, mailbox, lead_id=world.lead_rep2.pk, to=world.lead_rep2.email),
        payload(world, mailbox, lead_id=None, company_id=world.company_rep2.pk),
        payload(world, mailbox, template_id=template.pk),
    ):
        response = api.post("", data)
        assert response.status_code == 404, (data, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert not EmailMessage.objects.exists()


def test_suppressed_address_is_a_clear_409_problem(world, client):
    api, mailbox = Api(client, world.rep1), mailbox_of(world.rep1)
    suppression_add(organization_id=world.org.pk, email=world.lead_rep1.email, reason="unsubscribed")
    response = api.post("", payload(world, mailbox))
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    assert "suppression list" in response.json()["detail"] and world.lead_rep1.email in response.json()["detail"]
    assert response.json()["code"] == "address_suppressed"


def test_bad_input_is_422(world, client):
    api, mailbox = Api(client, world.rep1), mailbox_of(world.rep1)
    assert api.post("", payload(world, mailbox, to="nope")).json()["errors"]["to"]
    two = api.post("", payload(world, mailbox, contact_id=world.contact_rep1.pk))
    assert two.status_code == 422
    past = api.post("", payload(world, mailbox, send_at="2001-01-01T00:00:00Z"))
    assert past.status_code == 422 and "send_at" in past.json()["errors"]
    broken = api.post("", payload(world, mailbox, body="{% include 'x' %}"))
    assert broken.status_code == 422 and "include" in broken.json()["errors"]["body"][0]


def test_header_injection_in_subject_is_stored_on_one_line(world, client):
    api, mailbox = Api(client, world.rep1), mailbox_of(world.rep1)
    response = api.post("", payload(world, mailbox, subject="Hi\r\nBcc: victim@example.com"))
    assert response.status_code == 201
    assert EmailMessage.objects.get().subject == "Hi Bcc: victim@example.com"


def test_company_send_picks_the_contact_by_address(world, client):
    api, mailbox = Api(client, world.rep1), mailbox_of(world.rep1)
    contact = world.contact_rep1
    response = api.post(
        "",
        payload(
            world,
            mailbox,
            lead_id=None,
            company_id=world.company_rep1.pk,
            to=contact.email,
            subject="{{ contact.first_name }} at {{ company.name }}",
        ),
    )
    assert response.status_code == 201, response.content
    assert response.json()["subject"] == f"{contact.first_name} at {world.company_rep1.name}"
    assert response.json()["contact_id"] == contact.pk
