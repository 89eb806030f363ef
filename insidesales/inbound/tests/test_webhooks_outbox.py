"""webhook_emit is a transactional outbox: deliveries exist exactly when the caller's transaction commits,
one per active subscriber, and each event type is emitted by the service where it happens."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from insidesales.crm.models import ActivityKind, Deal, Stage, StageKind
from insidesales.crm.services import activity_log, deal_mark_won, lead_assign, lead_create, lead_qualify
from insidesales.inbound.models import DeliveryStatus, WebhookDelivery
from insidesales.inbound.services.webhooks import endpoint_create, webhook_emit

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.215.14/hooks/insidesales"  # a public address: accepted without any DNS lookup


def subscribe(membership, events, url=PUBLIC):
    return endpoint_create(membership=membership, data={"url": url, "events": events})[0]


def deliveries(event_type):
    return list(WebhookDelivery.objects.filter(event_type=event_type).order_by("id"))


def test_one_delivery_per_active_subscriber_of_the_event_and_organization(world):
    wanted = subscribe(world.admin, ["lead.created", "deal.won"])
    also = subscribe(world.admin, ["lead.created"])
    subscribe(world.admin, ["deal.won"])  # another event
    off = subscribe(world.admin, ["lead.created"])
    off.is_active = False
    off.save()
    subscribe(world.admin_b, ["lead.created"])  # another organization
    made = webhook_emit(organization_id=world.org.pk, event_type="lead.created", data={"lead": {"id": 1}})
    assert sorted(d.endpoint_id for d in made) == sorted([wanted.pk, also.pk])
    first, second = made
    assert first.event_id == second.event_id and first.event_id.startswith("evt_")
    assert first.status == DeliveryStatus.PENDING and first.next_attempt_at is not None
    payload = first.payload
    assert set(payload) == {"id", "type", "created_at", "organization", "data"}
    assert payload["type"] == "lead.created" and payload["data"] == {"lead": {"id": 1}}
    assert payload["organization"] == {"id": world.org.pk, "slug": world.org.slug}
    assert payload["created_at"].endswith("Z")


def test_a_rolled_back_transaction_leaves_nothing_to_send(world):
    subscribe(world.admin, ["lead.created"])
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_emit(organization_id=world.org.pk, event_type="lead.created", data={})
        assert WebhookDelivery.objects.count() == 1  # written in the caller's transaction
        raise RuntimeError("the caller fails after emitting")
    assert WebhookDelivery.objects.count() == 0


def test_delivery_is_handed_to_the_worker_only_on_commit(world, django_capture_on_commit_callbacks):
    subscribe(world.admin, ["lead.created"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (delivery,) = webhook_emit(organization_id=world.org.pk, event_type="lead.created", data={})
    assert not DBTaskResult.objects.filter(task_path__endswith="deliver_webhook").exists()
    for callback in callbacks:
        callback()
    (queued,) = DBTaskResult.objects.filter(task_path__endswith="deliver_webhook")
    assert queued.args_kwargs["args"] == [delivery.pk]


def test_an_organization_without_subscribers_pays_one_query_and_builds_no_payload(world, django_assert_num_queries):
    subscribe(world.admin_b, ["lead.created"])

    def expensive():
        raise AssertionError("built for nobody")

    with django_assert_num_queries(1):
        assert webhook_emit(organization_id=world.org.pk, event_type="lead.created", data=expensive) == []


def test_unknown_event_types_are_a_programming_error(world):
    with pytest.raises(ValueError):
        webhook_emit(organization_id=world.org.pk, event_type="lead.exploded", data={})


# --- each event from the service where it happens ---------------------------------------------------------


def test_lead_created_describes_the_lead(world):
    subscribe(world.admin, ["lead.created"])
    lead = lead_create(
        membership=world.manager,
        data={"first_name": "Анна", "last_name": "Ivanova", "email": "anna@example.test", "company_name": "Acme"},
    )
    (delivery,) = deliveries("lead.created")
    data = delivery.payload["data"]["lead"]
    assert data["id"] == lead.pk and data["first_name"] == "Анна" and data["email"] == "anna@example.test"
    assert data["company"] == "Acme" and data["status"] == "new" and data["source"] == lead.source
    assert data["owner"] == {
        "id": world.manager.user.pk,
        "email": world.manager.user.email,
        "name": data["owner"]["name"],
    }
    assert data["url"].endswith(f"/leads/{lead.pk}/")


def test_lead_assigned_and_status_changed(world):
    subscribe(world.admin, ["lead.assigned", "lead.status_changed"])
    lead = world.lead_rep1
    lead_assign(membership=world.admin, lead_id=lead.pk, owner_id=world.rep2.user_id)
    (assigned,) = deliveries("lead.assigned")
    assert assigned.payload["data"]["lead"]["owner"]["id"] == world.rep2.user_id
    assert assigned.payload["data"]["previous"]["owner"] == world.rep1.user_id
    lead_qualify(membership=world.admin, lead_id=lead.pk)
    (changed,) = deliveries("lead.status_changed")
    assert changed.payload["data"]["lead"]["status"] == "qualified"
    assert changed.payload["data"]["previous_status"] == lead.status


def test_assigning_a_contact_is_no_lead_event(world):
    from insidesales.crm.models import Contact
    from insidesales.crm.services import record_assign

    subscribe(world.admin, ["lead.assigned"])
    contact = world.slots["rep1"].contact
    record_assign(membership=world.admin, model=Contact, record_id=contact.pk, owner_id=world.rep2.user_id)
    assert deliveries("lead.assigned") == []


def test_deal_won(world):
    subscribe(world.admin, ["deal.won"])
    deal = world.slots["rep1"].deal
    deal_mark_won(membership=world.admin, deal_id=deal.pk)
    (won,) = deliveries("deal.won")
    data = won.payload["data"]["deal"]
    assert data["id"] == deal.pk and data["stage"]["kind"] == "won" and data["amount"] == f"{deal.amount:.2f}"
    # Moving a deal to an open stage is not a win.
    other = Deal.objects.get(pk=world.slots["rep2"].deal.pk)
    stage = Stage.objects.filter(pipeline_id=other.pipeline_id, kind=StageKind.OPEN).exclude(pk=other.stage_id).first()
    from insidesales.crm.services import deal_move_stage

    deal_move_stage(membership=world.admin, deal_id=other.pk, stage_id=stage.pk)
    assert len(deliveries("deal.won")) == 1


def test_call_completed_when_the_call_reaches_its_final_state(world):
    from insidesales.calls.models import Call
    from insidesales.calls.providers.base import EventKind, ProviderEvent
    from insidesales.calls.services.events import call_event_apply

    subscribe(world.admin, ["call.completed"])
    lead = world.lead_rep1
    call = Call.objects.create(
        organization_id=lead.organization_id,
        provider="simulated",
        provider_call_id="sim-1",
        to_number="+14155550100",
        agent_id=lead.owner_id,
        lead=lead,
    )

    def event(kind, n):
        return ProviderEvent(
            provider="simulated", provider_call_id="sim-1", kind=kind, occurred_at=timezone.now(), event_id=f"e{n}"
        )

    call_event_apply(event(EventKind.ANSWERED, 1))
    assert deliveries("call.completed") == []
    call_event_apply(event(EventKind.COMPLETED, 2))
    call_event_apply(event(EventKind.COMPLETED, 2))  # repeated: nothing new
    (done,) = deliveries("call.completed")
    data = done.payload["data"]["call"]
    assert data["id"] == call.pk and data["status"] == "completed" and data["lead"]["id"] == lead.pk


def test_email_replied_when_a_reply_is_stored(world):
    from insidesales.mail.services.ingest import message_ingest
    from insidesales.mail.tests.test_ingest import load, mailbox_of, sent

    subscribe(world.admin, ["email.replied"])
    lead = world.lead_rep1
    sent(lead, "seq-1-step-1.8f3a2c@acme.test", lead.email)
    message = message_ingest(organization=world.org, raw=load("plain_reply.eml"), mailbox=mailbox_of(world.rep1))
    (replied,) = deliveries("email.replied")
    data = replied.payload["data"]["email"]
    assert data["id"] == message.pk and data["lead"]["id"] == lead.pk and data["subject"] == message.subject


def test_meeting_booked_when_a_meeting_is_logged(world):
    subscribe(world.admin, ["meeting.booked"])
    lead = world.lead_rep1
    activity_log(record=lead, kind=ActivityKind.NOTE, actor=world.rep1.user, body="not a meeting")
    activity = activity_log(
        record=lead, kind=ActivityKind.MEETING, actor=world.rep1.user, subject="Demo", data={"starts_at": "x"}
    )
    (booked,) = deliveries("meeting.booked")
    data = booked.payload["data"]["meeting"]
    assert data["id"] == activity.pk and data["subject"] == "Demo"
    assert data["record"]["type"] == "lead" and data["record"]["id"] == lead.pk
    assert data["booked_by"]["id"] == world.rep1.user_id
