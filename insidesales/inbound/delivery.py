"""Sending webhook deliveries: claim a due row, sign it, POST it, log the attempt, schedule the retry.

A worker claims a row with one conditional UPDATE of `claimed_until` (a deadline, unique to the
microsecond, that also serves as the claim's token), so two workers never send the same row at once;
a worker that dies mid-send leaves a claim that expires after `CLAIM_SECONDS`, and the row goes out
again with the same `webhook-id` (receivers drop the repeat). The HTTP request runs outside any
transaction; its outcome is written only if the claim still holds.

Retries follow Standard Webhooks' schedule (`RETRY_DELAYS`: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h —
eight attempts over about 28 hours); after the last failure the delivery has failed. An endpoint whose
attempts have all failed for `FAILING_DAYS` days is switched off, and the organization's admins are told
by email.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from insidesales.inbound import signing
from insidesales.inbound.http import Answer, post
from insidesales.inbound.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

RETRY_DELAYS = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
FAILING_DAYS = 3
CLAIM_SECONDS = 60
TIMEOUT_SECONDS = 10.0
BODY_EXCERPT = 4000  # characters of the receiver's answer kept in the log
DUE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent: compact JSON with sorted keys, UTF-8 (the same on every attempt)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signed_headers(secrets: list[str], event_id: str, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signing.signature(s, event_id, timestamp, body) for s in secrets),
    }


def _claim(delivery_id: int, now: dt.datetime, *, only_due: bool) -> dt.datetime | None:
    """Take the row for CLAIM_SECONDS; returns the claim (its deadline) or None when another has it."""
    token = now + dt.timedelta(seconds=CLAIM_SECONDS, microseconds=random.randint(1, 999_999))
    qs = WebhookDelivery.objects.filter(pk=delivery_id).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if only_due:
        qs = qs.filter(status__in=DUE, next_attempt_at__lte=now)
    return token if qs.update(claimed_until=token) else None


def due_ids(*, now: dt.datetime, limit: int = 100) -> list[int]:
    """Rows whose next attempt is due (an index range of `webhookdelivery_due`)."""
    return list(
        WebhookDelivery.objects.filter(status__in=DUE, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def deliver_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send every due delivery (up to `limit`); returns how many this worker sent."""
    now = now or timezone.now()
    sent = 0
    for pk in due_ids(now=now, limit=limit):
        sent += deliver_one(delivery_id=pk, now=now) is not None
    return sent


def deliver_one(*, delivery_id: int, now: dt.datetime | None = None) -> WebhookAttempt | None:
    """The automatic attempt of one delivery if it is due and nobody else is sending it."""
    now = now or timezone.now()
    token = _claim(delivery_id, now, only_due=True)
    if token is None:
        return None
    return _send(delivery_id, token, now, manual=False)


def attempt_now(*, delivery_id: int, manual: bool = True, now: dt.datetime | None = None) -> WebhookAttempt | None:
    """An attempt right away, whatever the delivery's state (redelivery, test events). None when a worker
    is sending it at this moment."""
    now = now or timezone.now()
    token = _claim(delivery_id, now, only_due=False)
    if token is None:
        return None
    return _send(delivery_id, token, now, manual=manual)


def _send(delivery_id: int, token: dt.datetime, now: dt.datetime, *, manual: bool) -> WebhookAttempt | None:
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active and not manual:
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery_id, claimed_until=token).update(
                status=DeliveryStatus.FAILED,
                next_attempt_at=None,
                claimed_until=None,
                last_error=_("The webhook is switched off.")[:300],
            )
        return None
    answer = _post(endpoint, delivery, now)
    return _record(delivery_id, token, answer, now, manual=manual)


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: dt.datetime) -> Answer:
    from insidesales.calls.secrets import CredentialsUnreadable
    from insidesales.inbound.services.webhooks import signing_secrets

    try:
        secrets = signing_secrets(endpoint, now=now)
    except CredentialsUnreadable:
        secrets = []
    if not secrets:
        return Answer(status=None, error=_("The signing secret cannot be read with this server's key: rotate it."))
    body = body_bytes(delivery.payload)
    return post(endpoint.url, body, signed_headers(secrets, delivery.event_id, body), timeout=TIMEOUT_SECONDS)


def _record(delivery_id: int, token: dt.datetime, answer: Answer, now: dt.datetime, *, manual: bool):
    error = answer.error or ("" if answer.ok else _("The receiver answered %(status)s.") % {"status": answer.status})
    disabled = None
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id, claimed_until=token).first()
        if delivery is None:  # the claim expired and another worker took over: its outcome counts
            return None
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=answer.status if answer.status is not None and 0 < answer.status < 1000 else None,
            error=error[:300],
            response_body=(answer.body or "")[:BODY_EXCERPT],
            duration_ms=max(0, answer.duration_ms),
            manual=manual,
        )
        delivery.last_status_code = attempt.status_code
        delivery.last_error = attempt.error
        delivery.claimed_until = None
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if answer.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            if not manual:
                delivery.attempts += 1
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
        elif manual:
            pass  # a manual try that failed changes neither the state nor the schedule
        else:
            delivery.attempts += 1
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.status = DeliveryStatus.RETRYING
                delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
            disabled = _note_failure(endpoint, now)
        delivery.save()
        if delivery.status == DeliveryStatus.RETRYING and delivery.next_attempt_at:
            _enqueue_retry(delivery.pk, delivery.next_attempt_at)
    if disabled is not None:
        log.warning("webhook %s switched off: %s", disabled.pk, disabled.disabled_reason)
    return attempt


def _enqueue_retry(delivery_id: int, when: dt.datetime) -> None:
    def enqueue() -> None:
        from insidesales.inbound.tasks_webhooks import deliver_webhook

        deliver_webhook.using(run_after=when).enqueue(delivery_id)

    transaction.on_commit(enqueue)


def _note_failure(endpoint: WebhookEndpoint, now: dt.datetime) -> WebhookEndpoint | None:
    """Remember when the endpoint started failing; switch it off once that is FAILING_DAYS ago."""
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since", "updated_at"])
        return None
    if not endpoint.is_active or now - endpoint.failing_since < dt.timedelta(days=FAILING_DAYS):
        return None
    endpoint_disable(endpoint=endpoint, now=now)
    return endpoint


def endpoint_disable(*, endpoint: WebhookEndpoint, now: dt.datetime) -> None:
    """Switch a failing endpoint off (in the caller's transaction): its waiting deliveries fail, and its
    organization's admins get an email once this commits."""
    from insidesales.orgs.services import audit_record

    days = (now - endpoint.failing_since).days if endpoint.failing_since else FAILING_DAYS
    endpoint.is_active = False
    endpoint.disabled_at = now
    # Stored in English (it is also the audit's text); pages and emails say it in the reader's language.
    endpoint.disabled_reason = f"Every delivery attempt failed for {days} days."
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
    WebhookDelivery.objects.filter(endpoint=endpoint, status__in=DUE).exclude(claimed_until__gt=now).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="The webhook was switched off."
    )
    audit_record(
        organization_id=endpoint.organization_id,
        actor=None,
        action="webhook.disable",
        instance=endpoint,
        changes={"is_active": [True, False], "disabled_reason": ["", endpoint.disabled_reason]},
    )
    endpoint_id, failing_since = endpoint.pk, endpoint.failing_since
    transaction.on_commit(lambda: tell_admins_disabled(endpoint_id=endpoint_id, failing_since=failing_since))


def tell_admins_disabled(*, endpoint_id: int, failing_since: dt.datetime | None) -> int:
    """Email each active admin of the endpoint's organization, in their own language."""
    from django.core.mail import send_mail
    from django.urls import reverse

    from insidesales.orgs.models import Membership, Role

    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).select_related("organization").first()
    if endpoint is None:
        return 0
    admins = Membership.objects.filter(
        organization_id=endpoint.organization_id, role=Role.ADMIN, is_active=True, user__is_active=True
    ).select_related("user")
    link = settings.PUBLIC_URL + reverse("webhook_detail", args=[endpoint.pk])
    sent = 0
    for membership in admins:
        user = membership.user
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _("Webhook switched off: %(url)s") % {"url": endpoint.url[:120]}
            body = _(
                "Every attempt to deliver events to %(url)s has failed since %(since)s, so the webhook of "
                "%(organization)s was switched off and no new events are queued for it.\n\n"
                "The delivery log shows what the receiver answered. Once it works again, switch the webhook "
                "back on and send the missed events again from the log:\n%(link)s\n"
            ) % {
                "url": endpoint.url,
                "since": (failing_since or endpoint.disabled_at or timezone.now()).strftime("%Y-%m-%d %H:%M UTC"),
                "organization": endpoint.organization.name,
                "link": link,
            }
        try:
            send_mail(subject, body, None, [user.email])
            sent += 1
        except Exception:  # noqa: BLE001 - one bad address or a mail server down must not stop the others
            log.exception("could not tell %s that webhook %s was switched off", user.email, endpoint.pk)
    return sent
