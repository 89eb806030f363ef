"""The webhook settings pages and API: admins manage their organization's webhooks; for everyone else (other
roles, other organizations) they do not exist."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from insidesales.inbound.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from insidesales.inbound.services import webhooks as service
from insidesales.inbound.tests.test_webhooks_delivery import Receiver
from insidesales.orgs.services import api_key_create

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hooks/insidesales"


def signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def api(membership):
    key = api_key_create(membership=membership, name="hooks")[1]
    client = Client()

    def call(method, path, body=None):
        data = "" if body is None else json.dumps(body)
        return client.generic(
            method, "/api/v1" + path, data, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
        )

    return call


@pytest.fixture
def endpoint(world):
    made, _ = service.endpoint_create(
        membership=world.admin, data={"url": PUBLIC, "description": "CRM sync", "events": ["lead.created"]}
    )
    return made


def test_an_admin_adds_a_webhook_and_sees_its_secret(world):
    client = signed_in(world.admin)
    assert 'href="/settings/webhooks/"' in client.get("/settings/").content.decode()
    assert client.get("/settings/webhooks/").status_code == 200
    response = client.post("/settings/webhooks/new/", {"url": PUBLIC, "events": ["lead.created", "deal.won"]})
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/webhooks/{endpoint.pk}/"
    assert endpoint.events == ["lead.created", "deal.won"] and endpoint.created_by == world.admin.user
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page["Cache-Control"] == "no-store"
    assert service.endpoint_secret(endpoint) in html and 'data-copy="webhook-secret"' in html
    listing = client.get("/settings/webhooks/").content.decode()
    assert PUBLIC in listing


def test_an_internal_address_is_refused_with_a_clear_form_error(world):
    client = signed_in(world.admin)
    response = client.post(
        "/settings/webhooks/new/", {"url": "http://169.254.169.254/latest/", "events": ["lead.created"]}
    )
    assert response.status_code == 422
    assert "inside this server&#x27;s own network" in response.content.decode()
    response = client.post("/settings/webhooks/new/", {"url": PUBLIC})
    assert response.status_code == 422 and "Choose at least one event." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_edits_rotates_enables_and_removes(world, endpoint):
    client = signed_in(world.admin)
    base = f"/settings/webhooks/{endpoint.pk}"
    assert client.get(f"{base}/edit/").status_code == 200
    client.post(f"{base}/edit/", {"url": PUBLIC + "/v2", "description": "", "events": ["deal.won"]})
    endpoint.refresh_from_db()
    assert endpoint.url.endswith("/v2") and endpoint.events == ["deal.won"]
    old = service.endpoint_secret(endpoint)
    client.post(f"{base}/rotate-secret/")
    endpoint.refresh_from_db()
    assert service.endpoint_secret(endpoint) != old
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="x")
    assert "Switch it back on" in client.get(f"{base}/").content.decode()
    client.post(f"{base}/enable/")
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert client.post(f"{base}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.exists()


@override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"])
def test_test_event_log_and_redelivery_pages(world):
    receiver = Receiver((503, 200))
    try:
        client = signed_in(world.admin)
        endpoint, _ = service.endpoint_create(
            membership=world.admin, data={"url": receiver.url, "events": ["lead.created"]}
        )
        response = client.post(f"/settings/webhooks/{endpoint.pk}/test/")
        delivery = WebhookDelivery.objects.get()
        assert response["Location"] == f"/settings/webhooks/deliveries/{delivery.pk}/"
        page = client.get(response["Location"]).content.decode()
        assert "webhook.test" in page and "503" in page and "Send again" in page
        client.post(f"/settings/webhooks/deliveries/{delivery.pk}/redeliver/")
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert list(WebhookAttempt.objects.order_by("id").values_list("status_code", "manual")) == [
            (503, False),  # the test event's own first attempt; a failure schedules its retry
            (200, True),
        ]
        log = client.get(f"/settings/webhooks/{endpoint.pk}/deliveries/").content.decode()
        assert delivery.event_id in log
        assert client.get(f"/settings/webhooks/{endpoint.pk}/deliveries/?cursor=nonsense").status_code == 404
    finally:
        receiver.close()


def test_the_delivery_log_pages_by_keyset(world, endpoint):
    for n in range(55):
        service._queue(world.org.pk, [endpoint.pk], {"id": f"evt_{n}", "type": "lead.created"}, enqueue=False)
    client = signed_in(world.admin)
    first = client.get(f"/settings/webhooks/{endpoint.pk}/deliveries/")
    html = first.content.decode()
    assert "evt_54" in html and "evt_4<" not in html and "?cursor=" in html
    cursor = first.context["next_cursor"]
    second = client.get(f"/settings/webhooks/{endpoint.pk}/deliveries/", {"cursor": cursor}).content.decode()
    assert "evt_4<" in second and "evt_54" not in second


@pytest.mark.parametrize("member", ["manager", "rep1", "field_rep", "agency_x_rep"])
def test_other_roles_get_404_everywhere(world, endpoint, member):
    delivery = service._queue(world.org.pk, [endpoint.pk], {"id": "evt_x", "type": "lead.created"}, enqueue=False)[0]
    client = signed_in(world.members[member])
    assert 'href="/settings/webhooks/"' not in client.get("/settings/").content.decode()
    for url in ("/settings/webhooks/", "/settings/webhooks/new/", f"/settings/webhooks/{endpoint.pk}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/settings/webhooks/{endpoint.pk}/delete/").status_code == 404
    assert client.get(f"/settings/webhooks/deliveries/{delivery.pk}/").status_code == 404
    call = api(world.members[member])
    assert call("GET", "/webhooks").status_code == 404
    assert call("POST", "/webhooks", {"url": PUBLIC, "events": ["lead.created"]}).status_code == 404
    assert call("GET", f"/webhook-deliveries/{delivery.pk}").status_code == 404
    assert WebhookEndpoint.objects.count() == 1


def test_the_api_manages_webhooks_for_admins(world):
    call = api(world.admin)
    created = call("POST", "/webhooks", {"url": PUBLIC, "events": ["lead.created"], "description": "Sync"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["lead.created"] and body["is_active"]
    pk = body["id"]
    listed = call("GET", "/webhooks").json()
    assert [w["id"] for w in listed["items"]] == [pk] and "secret" not in listed["items"][0]
    assert call("GET", f"/webhooks/{pk}").json()["secret"] == body["secret"]
    changed = call("PATCH", f"/webhooks/{pk}", {"events": ["deal.won", "lead.created"]}).json()
    assert changed["events"] == ["lead.created", "deal.won"] and changed["description"] == "Sync"
    rotated = call("POST", f"/webhooks/{pk}/rotate-secret").json()
    assert rotated["secret"] != body["secret"]
    refused = call("POST", "/webhooks", {"url": "http://10.0.0.5/hook", "events": ["lead.created"]})
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    assert "inside this server's own network" in json.dumps(refused.json(), ensure_ascii=False)
    assert call("POST", "/webhooks", {"url": PUBLIC, "events": ["lead.exploded"]}).status_code == 422
    assert call("POST", "/webhooks", {"url": PUBLIC, "events": []}).status_code == 422
    delivery = service.webhook_emit(organization_id=world.org.pk, event_type="lead.created", data={"a": 1})[0]
    page = call("GET", f"/webhooks/{pk}/deliveries").json()
    assert [d["event_id"] for d in page["items"]] == [delivery.event_id]
    detail = call("GET", f"/webhook-deliveries/{delivery.pk}").json()
    assert detail["payload"]["data"] == {"a": 1} and detail["status"] == "pending" and detail["log"] == []
    assert detail["webhook_id"] == pk
    assert call("DELETE", f"/webhooks/{pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_one_organizations_admin_cannot_reach_the_others_webhooks(world, endpoint):
    delivery = service._queue(world.org.pk, [endpoint.pk], {"id": "evt_x", "type": "lead.created"}, enqueue=False)[0]
    call = api(world.admin_b)
    assert call("GET", "/webhooks").json()["items"] == []
    for method, path in [
        ("GET", f"/webhooks/{endpoint.pk}"),
        ("PATCH", f"/webhooks/{endpoint.pk}"),
        ("DELETE", f"/webhooks/{endpoint.pk}"),
        ("POST", f"/webhooks/{endpoint.pk}/rotate-secret"),
        ("POST", f"/webhooks/{endpoint.pk}/test"),
        ("GET", f"/webhooks/{endpoint.pk}/deliveries"),
        ("GET", f"/webhook-deliveries/{delivery.pk}"),
        ("POST", f"/webhook-deliveries/{delivery.pk}/redeliver"),
    ]:
        assert call(method, path, {} if method == "PATCH" else None).status_code == 404, (method, path)
    client = signed_in(world.admin_b)
    assert client.get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404
    assert PUBLIC not in client.get("/settings/webhooks/").content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists() and delivery.log.count() == 0
