"""Delivering webhooks to a real HTTP receiver on loopback: signatures, retries on the schedule, refused
destinations, claims, switching off a failing endpoint (and telling its admins), redelivery, rotation."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from insidesales.inbound import delivery as engine
from insidesales.inbound import signing
from insidesales.inbound.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from insidesales.inbound.services import webhooks as service
from insidesales.orgs.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


@pytest.fixture
def allow_loopback():
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        yield


class Receiver:
    """A real HTTP server on loopback: records every request, answers with the next status of `answers`
    (the last one repeats)."""

    def __init__(self, answers=(200,)) -> None:
        self.received: list[dict] = []
        self.answers = list(answers)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                answer = json.dumps({"got": len(receiver.received), "status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def start(*answers):
        made.append(Receiver(answers or (200,)))
        return made[-1]

    yield start
    for r in made:
        r.close()


def subscribe(world, url, events=("lead.created",)):
    return service.endpoint_create(membership=world.admin, data={"url": url, "events": list(events)})


def emit(world, data=None):
    (delivery,) = service.webhook_emit(organization_id=world.org.pk, event_type="lead.created", data=data or {"n": 1})
    return delivery


def test_a_delivery_arrives_signed_and_is_logged(world, receiver):
    hook = receiver(200)
    endpoint, secret = subscribe(world, hook.url)
    delivery = emit(world, {"lead": {"name": "Анна"}})
    assert engine.deliver_due() == 1
    (got,) = hook.received
    assert signing.verify(secret, got["headers"], got["body"])
    body = json.loads(got["body"])
    assert got["headers"]["webhook-id"] == body["id"] == delivery.event_id
    assert body["data"] == {"lead": {"name": "Анна"}} and body["type"] == "lead.created"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1 and delivery.delivered_at
    (attempt,) = delivery.log.all()
    assert attempt.status_code == 200 and not attempt.manual and '"got": 1' in attempt.response_body
    assert engine.deliver_due() == 0  # nothing left to send


def test_a_server_error_is_retried_and_then_delivered(world, receiver):
    hook = receiver(503, 200)
    subscribe(world, hook.url)
    delivery = emit(world)
    now = timezone.now()
    engine.deliver_due(now=now)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.last_status_code == 503
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=5)
    assert engine.deliver_due(now=now + dt.timedelta(seconds=4)) == 0  # not due yet
    engine.deliver_due(now=now + dt.timedelta(seconds=5))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert [a.status_code for a in delivery.log.order_by("id")] == [503, 200]
    first, second = hook.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] and first["body"] == second["body"]


def test_retries_follow_the_schedule_for_more_than_a_day_then_give_up(
    world, receiver, django_capture_on_commit_callbacks
):
    hook = receiver(500)
    subscribe(world, hook.url)
    delivery = emit(world)
    start = now = timezone.now()
    delays = []
    for _ in range(engine.MAX_ATTEMPTS):
        with django_capture_on_commit_callbacks(execute=True):
            assert engine.deliver_due(now=now) == 1
        delivery.refresh_from_db()
        if delivery.next_attempt_at is None:
            break
        delays.append(delivery.next_attempt_at - now)
        # The retry is handed to the worker for its time, as well as found by the sweep.
        queued = DBTaskResult.objects.filter(task_path__endswith="deliver_webhook").order_by("-enqueued_at").first()
        assert queued.run_after == delivery.next_attempt_at
        now = delivery.next_attempt_at
    assert delays == list(engine.RETRY_DELAYS)
    assert now - start >= dt.timedelta(hours=24)
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == engine.MAX_ATTEMPTS == 8
    assert len(hook.received) == 8 and delivery.log.count() == 8
    assert engine.deliver_due(now=now + dt.timedelta(days=1)) == 0


def test_a_destination_inside_the_network_is_a_failed_attempt_with_a_clear_error(world, receiver):
    hook = receiver(200)
    subscribe(world, hook.url)  # allowed when it was made...
    delivery = emit(world)
    with override_settings(WEBHOOK_ALLOWED_HOSTS=[]):  # ...and no longer
        engine.deliver_due()
    delivery.refresh_from_db()
    (attempt,) = delivery.log.all()
    assert attempt.status_code is None and "inside this server's own network" in attempt.error
    assert delivery.status == DeliveryStatus.RETRYING and hook.received == []


def test_a_refused_destination_cannot_be_subscribed(world):
    with override_settings(WEBHOOK_ALLOWED_HOSTS=[]):
        for url in ("http://127.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "ftp://example.com/"):
            with pytest.raises(service.ValidationError) as refused:
                subscribe(world, url)
            assert refused.value.fields["url"]


def test_two_workers_never_send_the_same_row_and_an_expired_claim_is_taken_over(world, receiver):
    hook = receiver(200)
    subscribe(world, hook.url)
    delivery = emit(world)
    now = timezone.now()
    first = engine._claim(delivery.pk, now, only_due=True)
    assert first is not None
    assert engine._claim(delivery.pk, now, only_due=True) is None
    assert engine.deliver_one(delivery_id=delivery.pk, now=now) is None  # the other worker backs off
    later = now + dt.timedelta(seconds=engine.CLAIM_SECONDS + 2)
    assert engine.deliver_one(delivery_id=delivery.pk, now=later) is not None  # the first worker died
    # The first worker's late outcome is not written over the second's.
    assert engine._record(delivery.pk, first, engine.Answer(status=500), later, manual=False) is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.log.count() == 1 and len(hook.received) == 1


def test_an_endpoint_failing_for_three_days_is_switched_off_and_the_admins_are_told(
    world, receiver, django_capture_on_commit_callbacks
):
    from insidesales.core.testing import factories as f

    hook = receiver(500)
    endpoint, _ = subscribe(world, hook.url)
    second_admin = f.MembershipFactory(organization=world.org, role=Role.ADMIN)
    second_admin.user.language = "ru"
    second_admin.user.save()
    first = emit(world)
    now = timezone.now()
    engine.deliver_due(now=now)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == now and endpoint.is_active
    waiting = emit(world)
    later = now + dt.timedelta(days=engine.FAILING_DAYS, minutes=1)
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=later)
    WebhookDelivery.objects.filter(pk=waiting.pk).update(next_attempt_at=later + dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        engine.deliver_due(now=later)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at == later and "3 days" in endpoint.disabled_reason
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.FAILED and waiting.next_attempt_at is None
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.admin.user.email, second_admin.user.email])
    assert all(f"/settings/webhooks/{endpoint.pk}/" in m.body and hook.url in m.body for m in mail.outbox)
    # No new events are queued for it; switched back on, they are again.
    assert service.webhook_emit(organization_id=world.org.pk, event_type="lead.created", data={}) == []
    service.endpoint_enable(membership=world.admin, endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None and not endpoint.disabled_reason
    assert len(service.webhook_emit(organization_id=world.org.pk, event_type="lead.created", data={})) == 1


def test_a_success_clears_the_failing_mark(world, receiver):
    hook = receiver(500, 200)
    endpoint, _ = subscribe(world, hook.url)
    emit(world)
    now = timezone.now()
    engine.deliver_due(now=now)
    engine.deliver_due(now=now + dt.timedelta(seconds=5))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_active


def test_manual_redelivery_sends_the_same_event_again_marked_manual(world, receiver):
    hook = receiver(500, 500, 200, 200)
    endpoint, secret = subscribe(world, hook.url)
    delivery = emit(world)
    engine.deliver_due()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    failed_again = service.delivery_redeliver(membership=world.admin, delivery_id=delivery.pk)
    assert failed_again.manual and failed_again.status_code == 500
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED  # a failed manual try changes nothing
    worked = service.delivery_redeliver(membership=world.admin, delivery_id=delivery.pk)
    assert worked.manual and worked.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1  # manual tries are not counted
    assert len({r["headers"]["webhook-id"] for r in hook.received}) == 1
    assert len({r["body"] for r in hook.received}) == 1
    assert all(signing.verify(secret, r["headers"], r["body"]) for r in hook.received)
    # Delivered already: sending again is still allowed (the receiver drops the repeat by its id).
    assert service.delivery_redeliver(membership=world.admin, delivery_id=delivery.pk).status_code == 200
    with pytest.raises(service.NotFound):
        service.delivery_redeliver(membership=world.admin_b, delivery_id=delivery.pk)
    with pytest.raises(service.NotFound):
        service.delivery_redeliver(membership=world.manager, delivery_id=delivery.pk)


def test_the_test_event_goes_to_one_endpoint_at_once(world, receiver):
    hook = receiver(204)
    endpoint, secret = subscribe(world, hook.url, events=["deal.won"])
    delivery = service.webhook_send_test(membership=world.admin, endpoint_id=endpoint.pk)
    assert delivery.event_type == "webhook.test" and delivery.status == DeliveryStatus.DELIVERED
    (got,) = hook.received
    assert signing.verify(secret, got["headers"], got["body"])
    assert json.loads(got["body"])["data"]["webhook"]["id"] == endpoint.pk


def test_after_a_rotation_both_secrets_sign_for_a_day(world, receiver):
    hook = receiver(200)
    endpoint, old = subscribe(world, hook.url)
    _, new = service.endpoint_rotate_secret(membership=world.admin, endpoint_id=endpoint.pk)
    assert new != old and new.startswith("whsec_")
    endpoint.refresh_from_db()
    assert service.endpoint_secret(endpoint) == new
    assert new not in endpoint.secret_encrypted and old not in endpoint.secret_encrypted
    emit(world)
    engine.deliver_due()
    emit(world)
    engine.deliver_due(now=timezone.now() + service.ROTATION_GRACE + dt.timedelta(minutes=1))
    during, after = hook.received
    assert len(during["headers"]["webhook-signature"].split()) == 2
    assert signing.verify(new, during["headers"], during["body"]) and signing.verify(
        old, during["headers"], during["body"]
    )
    assert signing.verify(new, after["headers"], after["body"]) and not signing.verify(
        old, after["headers"], after["body"]
    )


def test_a_switched_off_endpoint_gets_nothing_automatically(world, receiver):
    hook = receiver(200)
    endpoint, _ = subscribe(world, hook.url)
    delivery = emit(world)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    engine.deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and hook.received == []
