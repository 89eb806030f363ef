"""Outgoing webhooks: the subscriptions (admins' settings) and `webhook_emit`, the transactional outbox.

`webhook_emit` writes one WebhookDelivery per active subscription to the event in the caller's transaction,
so an event is announced exactly when what it describes was committed (a rollback leaves nothing to send),
and queues its delivery on commit (`insidesales.inbound.delivery` sends, signs, retries). It costs one
indexed query when the organization has no subscriptions. Importing this module has no side effects.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.inbound import signing
from insidesales.inbound.http import DestinationRefused, check_destination
from insidesales.inbound.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record

TEST_EVENT = "webhook.test"
# The events a subscription may choose, in the order the settings page shows them.
EVENT_TYPES: dict[str, Any] = {
    "lead.created": gettext_lazy("A lead was created"),
    "lead.assigned": gettext_lazy("A lead was given to a rep, a team, an agency or back to the pool"),
    "lead.status_changed": gettext_lazy("A lead's status changed (working, qualified, disqualified, converted)"),
    "call.completed": gettext_lazy("A call ended (answered or not: see its status)"),
    "email.replied": gettext_lazy("A lead or contact replied to an email"),
    "meeting.booked": gettext_lazy("A meeting was booked"),
    "deal.won": gettext_lazy("A deal was won"),
}
MAX_ENDPOINTS = 20
# After a rotation the previous secret still signs (a second signature) for this long, so receivers can
# switch without losing a delivery.
ROTATION_GRACE = dt.timedelta(hours=24)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


# --- reading (admins only; everyone else is told the webhook does not exist) ----------------------------


def _admin_scope(membership: Membership):
    if not membership.is_admin:
        raise NotFound()
    return WebhookEndpoint.objects.filter(organization_id=membership.organization_id)


def endpoint_list(*, membership: Membership):
    return _admin_scope(membership).order_by("id")


def endpoint_get(*, membership: Membership, endpoint_id: Any, for_update: bool = False) -> WebhookEndpoint:
    qs = _admin_scope(membership)
    if for_update:
        qs = qs.select_for_update()
    try:
        found = qs.filter(pk=int(endpoint_id)).first()
    except (TypeError, ValueError, OverflowError):
        found = None
    if found is None:
        raise NotFound()
    return found


def delivery_list(*, membership: Membership, endpoint_id: Any):
    """The endpoint's deliveries, newest first (paginate with `order="-id"`)."""
    endpoint = endpoint_get(membership=membership, endpoint_id=endpoint_id)
    return WebhookDelivery.objects.filter(endpoint=endpoint)


def delivery_get(*, membership: Membership, delivery_id: Any) -> WebhookDelivery:
    if not membership.is_admin:
        raise NotFound()
    try:
        found = (
            WebhookDelivery.objects.select_related("endpoint")
            .filter(organization_id=membership.organization_id, pk=int(delivery_id))
            .first()
        )
    except (TypeError, ValueError, OverflowError):
        found = None
    if found is None:
        raise NotFound()
    return found


def delivery_attempts(delivery: WebhookDelivery, *, limit: int = 50) -> list[WebhookAttempt]:
    return list(delivery.log.order_by("-id")[:limit])


def endpoint_last_deliveries(endpoints: Iterable[WebhookEndpoint]) -> dict[int, WebhookDelivery]:
    """The newest delivery of each endpoint (one indexed query per endpoint; an organization has few)."""
    latest = {}
    for endpoint in endpoints:
        found = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id").first()
        if found is not None:
            latest[endpoint.pk] = found
    return latest


# --- secrets ---------------------------------------------------------------------------------------------


def _store_secret(endpoint: WebhookEndpoint, secret: str, previous: str = "") -> None:
    from insidesales.calls.secrets import encrypt_credentials

    values: dict[str, Any] = {"secret": secret}
    if previous:
        values["previous"] = previous
        values["previous_until"] = (timezone.now() + ROTATION_GRACE).isoformat()
    endpoint.secret_encrypted = encrypt_credentials(values)


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The current signing secret, for its admin to copy."""
    from insidesales.calls.secrets import decrypt_credentials

    return decrypt_credentials(endpoint.secret_encrypted).get("secret", "")


def signing_secrets(endpoint: WebhookEndpoint, *, now: dt.datetime | None = None) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one during its grace."""
    from insidesales.calls.secrets import decrypt_credentials

    stored = decrypt_credentials(endpoint.secret_encrypted)
    found = [stored["secret"]] if stored.get("secret") else []
    until = stored.get("previous_until")
    if stored.get("previous") and until and dt.datetime.fromisoformat(until) > (now or timezone.now()):
        found.append(stored["previous"])
    return found


# --- writing ---------------------------------------------------------------------------------------------


def _clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if creating or "url" in data:
        url = str(data.get("url") or "").strip()
        if not url:
            errors["url"] = [_("Enter the URL to send the events to.")]
        elif len(url) > 1000:
            errors["url"] = [_("At most 1,000 characters.")]
        else:
            try:
                check_destination(url)
            except DestinationRefused as exc:
                errors["url"] = [str(exc)]
        cleaned["url"] = url
    if creating or "description" in data:
        description = str(data.get("description") or "").strip()
        if len(description) > 200:
            errors["description"] = [_("At most 200 characters.")]
        cleaned["description"] = description
    if creating or "events" in data:
        events = list(dict.fromkeys(data.get("events") or []))
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            errors["events"] = [_("Unknown events: %(events)s.") % {"events": ", ".join(map(str, unknown))}]
        elif not events:
            errors["events"] = [_("Choose at least one event.")]
        cleaned["events"] = [e for e in EVENT_TYPES if e in events]
    if errors:
        raise ValidationError(fields=errors)
    return cleaned


@transaction.atomic
def endpoint_create(*, membership: Membership, data: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """Subscribe a URL to events; returns the endpoint and its new signing secret."""
    existing = _admin_scope(membership).count()
    cleaned = _clean(data, creating=True)
    if existing >= MAX_ENDPOINTS:
        raise Conflict(_("An organization can have at most %(count)s webhooks.") % {"count": MAX_ENDPOINTS})
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(organization_id=membership.organization_id, created_by=membership.user, **cleaned)
    _store_secret(endpoint, secret)
    endpoint.save()
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="webhook.create",
        instance=endpoint,
        changes={k: [None, v] for k, v in cleaned.items() if v},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, membership: Membership, endpoint_id: Any, data: dict[str, Any]) -> WebhookEndpoint:
    """Change the URL, description or events (only the keys given)."""
    endpoint = endpoint_get(membership=membership, endpoint_id=endpoint_id, for_update=True)
    cleaned = _clean(data, creating=False)
    changes = {k: [getattr(endpoint, k), v] for k, v in cleaned.items() if getattr(endpoint, k) != v}
    if changes:
        for name, (_old, new) in changes.items():
            setattr(endpoint, name, new)
        endpoint.save()
        audit_record(
            organization_id=endpoint.organization_id,
            actor=membership.user,
            action="webhook.update",
            instance=endpoint,
            changes=changes,
        )
    return endpoint


@transaction.atomic
def endpoint_delete(*, membership: Membership, endpoint_id: Any) -> None:
    """Remove a subscription with its delivery log."""
    endpoint = endpoint_get(membership=membership, endpoint_id=endpoint_id, for_update=True)
    audit_record(
        organization_id=endpoint.organization_id,
        actor=membership.user,
        action="webhook.delete",
        instance=endpoint,
        changes={"url": [endpoint.url, None], "events": [endpoint.events, None]},
    )
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, membership: Membership, endpoint_id: Any) -> tuple[WebhookEndpoint, str]:
    """A new signing secret; the old one also signs for `ROTATION_GRACE` (a second signature)."""
    endpoint = endpoint_get(membership=membership, endpoint_id=endpoint_id, for_update=True)
    secret = signing.new_secret()
    _store_secret(endpoint, secret, previous=endpoint_secret(endpoint))
    endpoint.save(update_fields=["secret_encrypted", "updated_at"])
    audit_record(
        organization_id=endpoint.organization_id,
        actor=membership.user,
        action="webhook.rotate_secret",
        instance=endpoint,
        changes={"secret": ["…", "…"]},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_enable(*, membership: Membership, endpoint_id: Any) -> WebhookEndpoint:
    """Switch a webhook back on (after it was switched off for failing); new events go to it again."""
    endpoint = endpoint_get(membership=membership, endpoint_id=endpoint_id, for_update=True)
    if endpoint.is_active:
        return endpoint
    reason = endpoint.disabled_reason
    endpoint.is_active = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failing_since = None
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "failing_since", "updated_at"])
    audit_record(
        organization_id=endpoint.organization_id,
        actor=membership.user,
        action="webhook.enable",
        instance=endpoint,
        changes={"is_active": [False, True], "disabled_reason": [reason, ""]},
    )
    return endpoint


# --- the outbox ------------------------------------------------------------------------------------------


def _organization_ref(organization_id: int) -> dict[str, Any]:
    from insidesales.orgs.models import Organization

    slug = Organization.objects.filter(pk=organization_id).values_list("slug", flat=True).first()
    return {"id": organization_id, "slug": slug or ""}


def event_payload(*, organization_id: int, event_type: str, data: dict[str, Any], event_id: str = "") -> dict:
    return {
        "id": event_id or new_event_id(),
        "type": event_type,
        "created_at": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "organization": _organization_ref(organization_id),
        "data": data,
    }


def webhook_emit(
    *,
    organization_id: int,
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
) -> list[WebhookDelivery]:
    """Announce an event to the organization's subscribers, in the caller's transaction. `data` may be a
    function, called only when someone subscribes (building it may cost queries)."""
    if event_type not in EVENT_TYPES and event_type != TEST_EVENT:
        raise ValueError(f"unknown webhook event {event_type!r}")
    rows = WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True).values_list("id", "events")
    endpoint_ids = [pk for pk, events in rows if event_type in (events or [])]
    if not endpoint_ids:
        return []
    payload = event_payload(
        organization_id=organization_id, event_type=event_type, data=data() if callable(data) else data
    )
    return _queue(organization_id, endpoint_ids, payload)


def _queue(
    organization_id: int, endpoint_ids: list[int], payload: dict[str, Any], *, enqueue: bool = True
) -> list[WebhookDelivery]:
    now = timezone.now()
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                organization_id=organization_id,
                endpoint_id=pk,
                event_id=payload["id"],
                event_type=payload["type"],
                payload=payload,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
            for pk in endpoint_ids
        ]
    ids = [d.pk for d in deliveries]

    def hand_to_worker() -> None:
        from insidesales.inbound.tasks_webhooks import deliver_webhook

        for pk in ids:
            deliver_webhook.enqueue(pk)

    if enqueue:
        transaction.on_commit(hand_to_worker)
    return deliveries


# --- admins' actions that send now ---------------------------------------------------------------------


def webhook_send_test(*, membership: Membership, endpoint_id: Any) -> WebhookDelivery:
    """A `webhook.test` event to this endpoint only, sent at once (the admin sees the answer); it is
    retried like any other event if it fails."""
    from insidesales.inbound.delivery import attempt_now

    endpoint = endpoint_get(membership=membership, endpoint_id=endpoint_id)
    payload = event_payload(
        organization_id=endpoint.organization_id,
        event_type=TEST_EVENT,
        data={
            "message": "This is a test event from Inside Sales.",
            "webhook": {"id": endpoint.pk, "url": endpoint.url},
            "sent_by": {"id": membership.user_id, "email": membership.user.email},
        },
    )
    # Sent here and now rather than by the worker, so the page can show the answer.
    (delivery,) = _queue(endpoint.organization_id, [endpoint.pk], payload, enqueue=False)
    attempt_now(delivery_id=delivery.pk, manual=False)  # its first regular attempt, made at once
    delivery.refresh_from_db()
    return delivery


def delivery_redeliver(*, membership: Membership, delivery_id: Any) -> WebhookAttempt:
    """Send a delivery again now, whatever its state: the same event id and body, a new signature, an
    attempt marked manual. A success ends its retries."""
    from insidesales.inbound.delivery import attempt_now

    delivery = delivery_get(membership=membership, delivery_id=delivery_id)
    attempt = attempt_now(delivery_id=delivery.pk, manual=True)
    if attempt is None:
        raise Conflict(_("This delivery is being sent right now; look again in a minute."))
    audit_record(
        organization_id=delivery.organization_id,
        actor=membership.user,
        action="webhook.redeliver",
        instance=delivery,
        changes={"status_code": [None, attempt.status_code], "error": [None, attempt.error]},
    )
    return attempt
