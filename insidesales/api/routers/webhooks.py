"""`/webhooks`: the organization's outgoing webhook subscriptions (list, create, read, change, remove, rotate
the secret, switch back on, send a test event, the delivery log), and `/webhook-deliveries`: one delivery with
its attempts, and redelivery. Admins only: for everyone else these objects do not exist (404).

The signing secret is returned on create, on read and on rotation; never in lists. Formats and signature
checking: docs/webhooks.md (`insidesales.inbound.services.webhooks`, `insidesales.inbound.delivery`).
"""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field

from insidesales.api.routers.calls import Cursor, Limit
from insidesales.api.schemas import MAX_ID, Input, UtcDatetime, text, unset
from insidesales.calls.secrets import CredentialsUnreadable
from insidesales.core.pagination import paginate
from insidesales.inbound.models import DeliveryStatus
from insidesales.inbound.services import webhooks as service

router = Router(tags=["webhooks"])
deliveries_router = Router(tags=["webhooks"])

WebhookId = Path(..., ge=1, le=MAX_ID, description="The webhook's id.")
DeliveryId = Path(..., ge=1, le=MAX_ID, description="The delivery's id.")
EventType = Literal[tuple(service.EVENT_TYPES)]  # type: ignore[valid-type]
StatusValue = Literal[tuple(DeliveryStatus.values)]  # type: ignore[valid-type]


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool = Field(description="False once switched off after failing for days (see `disabled_reason`).")
    disabled_at: UtcDatetime | None
    disabled_reason: str
    failing_since: UtcDatetime | None = Field(description="Every attempt since then failed; null when healthy.")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class WebhookSecretOut(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_...`), for checking `webhook-signature`.")


class WebhookPage(Schema):
    items: list[WebhookOut]
    next_cursor: str | None


class WebhookCreateIn(Input):
    url: text(1000, min_length=1) = Field(description="http(s); addresses inside this server's network are refused.")
    description: text(200) = ""
    events: list[EventType] = Field(min_length=1, max_length=20)


class WebhookUpdateIn(Input):
    """Only the fields sent change."""

    url: text(1000, min_length=1) = unset()
    description: text(200) = unset()
    events: list[EventType] = unset(min_length=1, max_length=20)


class AttemptOut(Schema):
    id: int
    attempted_at: UtcDatetime
    status_code: int | None = Field(description="The receiver's HTTP status; null when there was no answer.")
    error: str = Field(description="Why it failed, empty on success.")
    response_body: str = Field(description="The start of the receiver's answer (up to 4,000 characters).")
    duration_ms: int
    manual: bool = Field(description="A redelivery or test asked for by a person.")


class DeliveryOut(Schema):
    id: int
    webhook_id: int
    event_id: str = Field(description="The event's id: the `webhook-id` header and the body's `id`.")
    event_type: str
    status: StatusValue
    attempts: int = Field(description="Automatic attempts made (manual ones are in the log only).")
    next_attempt_at: UtcDatetime | None
    last_status_code: int | None
    last_error: str
    created_at: UtcDatetime
    delivered_at: UtcDatetime | None


class DeliveryDetailOut(DeliveryOut):
    payload: dict[str, Any] = Field(description="The event as sent.")
    log: list[AttemptOut] = Field(description="Attempts, newest first (at most 50).")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


def _with_secret(endpoint: Any, secret: str | None = None) -> dict[str, Any]:
    data = {name: getattr(endpoint, name) for name in WebhookOut.model_fields if name != "id"}
    if secret is None:
        try:
            secret = service.endpoint_secret(endpoint)
        except CredentialsUnreadable:
            secret = ""
    return {**data, "id": endpoint.pk, "secret": secret}


def _delivery(delivery: Any) -> dict[str, Any]:
    data = {name: getattr(delivery, name) for name in DeliveryOut.model_fields if name not in ("id", "webhook_id")}
    return {**data, "id": delivery.pk, "webhook_id": delivery.endpoint_id}


def _delivery_detail(delivery: Any) -> dict[str, Any]:
    return {**_delivery(delivery), "payload": delivery.payload, "log": service.delivery_attempts(delivery)}


@router.get("", response=WebhookPage, operation_id="webhook_list", summary="List webhooks")
def list_webhooks(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit):
    page = paginate(service.endpoint_list(membership=request.auth), order="id", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: WebhookSecretOut},
    operation_id="webhook_create",
    summary="Add a webhook",
    description="Subscribes a URL to events. The answer carries the signing secret.",
)
def create_webhook(request: HttpRequest, payload: WebhookCreateIn):
    endpoint, secret = service.endpoint_create(membership=request.auth, data=payload.model_dump())
    return Status(201, _with_secret(endpoint, secret))


@router.get("/{int:id}", response=WebhookSecretOut, operation_id="webhook_get", summary="Get a webhook")
def get_webhook(request: HttpRequest, id: int = WebhookId):
    return _with_secret(service.endpoint_get(membership=request.auth, endpoint_id=id))


@router.patch(
    "/{int:id}",
    response=WebhookOut,
    operation_id="webhook_update",
    summary="Change a webhook",
    description="Only the fields sent change.",
)
def update_webhook(request: HttpRequest, payload: WebhookUpdateIn, id: int = WebhookId):
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return service.endpoint_update(membership=request.auth, endpoint_id=id, data=data)


@router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="webhook_delete",
    summary="Remove a webhook",
    description="With its delivery log.",
)
def delete_webhook(request: HttpRequest, id: int = WebhookId):
    service.endpoint_delete(membership=request.auth, endpoint_id=id)
    return Status(204, None)


@router.post(
    "/{int:id}/rotate-secret",
    response=WebhookSecretOut,
    operation_id="webhook_rotate_secret",
    summary="Make a new signing secret",
    description="For 24 hours deliveries also carry a signature made with the previous secret.",
)
def rotate_secret(request: HttpRequest, id: int = WebhookId):
    endpoint, secret = service.endpoint_rotate_secret(membership=request.auth, endpoint_id=id)
    return _with_secret(endpoint, secret)


@router.post(
    "/{int:id}/enable",
    response=WebhookOut,
    operation_id="webhook_enable",
    summary="Switch a webhook back on",
    description="After it was switched off for failing. Missed events can be sent again from the log.",
)
def enable_webhook(request: HttpRequest, id: int = WebhookId):
    return service.endpoint_enable(membership=request.auth, endpoint_id=id)


@router.post(
    "/{int:id}/test",
    response=DeliveryDetailOut,
    operation_id="webhook_test",
    summary="Send a test event",
    description="A `webhook.test` event to this webhook only, sent at once (up to ten seconds); the answer "
    "shows what the receiver said.",
)
def test_webhook(request: HttpRequest, id: int = WebhookId):
    return _delivery_detail(service.webhook_send_test(membership=request.auth, endpoint_id=id))


@router.get(
    "/{int:id}/deliveries",
    response=DeliveryPage,
    operation_id="webhook_delivery_list",
    summary="List a webhook's deliveries",
    description="Newest first.",
)
def list_deliveries(request: HttpRequest, id: int = WebhookId, cursor: str | None = Cursor, limit: int = Limit):
    qs = service.delivery_list(membership=request.auth, endpoint_id=id)
    page = paginate(qs, order="-id", cursor=cursor or None, limit=limit)
    return {"items": [_delivery(d) for d in page.items], "next_cursor": page.next_cursor}


@deliveries_router.get(
    "/{int:id}", response=DeliveryDetailOut, operation_id="webhook_delivery_get", summary="Get a delivery"
)
def get_delivery(request: HttpRequest, id: int = DeliveryId):
    return _delivery_detail(service.delivery_get(membership=request.auth, delivery_id=id))


@deliveries_router.post(
    "/{int:id}/redeliver",
    response=DeliveryDetailOut,
    operation_id="webhook_delivery_redeliver",
    summary="Send a delivery again",
    description="Now, whatever its state: the same event id and body, a fresh signature; the attempt is marked "
    "manual. A success ends its retries. 409 while a worker is sending it.",
)
def redeliver(request: HttpRequest, id: int = DeliveryId):
    service.delivery_redeliver(membership=request.auth, delivery_id=id)
    return _delivery_detail(service.delivery_get(membership=request.auth, delivery_id=id))
