"""Provider callbacks over HTTP: Twilio's signed status callbacks, applied to the call record.

Not a member view (Twilio signs, nobody signs in): the request must carry Twilio's signature over
the exact public URL, our own token in that URL (the call's reference and an expiry), and must not
have been accepted before. Refusals answer 403 / 409 / 400 and change nothing."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from insidesales.calls.models import Call, CallbackReplay, ProviderKind
from insidesales.calls.providers.base import ProviderEvent
from insidesales.calls.providers.twilio_callbacks import (
    REFERENCE_PARAM,
    CallbackRejected,
    RejectReason,
    check_callback,
)
from insidesales.calls.secrets import decrypt_credentials
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.services.events import UnknownCall, call_event_apply

STATUS = {
    RejectReason.UNSIGNED: 403,
    RejectReason.BAD_SIGNATURE: 403,
    RejectReason.EXPIRED: 403,
    RejectReason.REPLAYED: 409,
    RejectReason.MALFORMED: 400,
}


class DatabaseReplayGuard:
    """Callbacks already accepted, kept until their URL expires (a unique key: racing deliveries
    cannot both pass)."""

    def seen(self, key: str, *, until) -> bool:
        digest = hashlib.sha256(key.encode()).hexdigest()
        try:
            with transaction.atomic():
                CallbackReplay.objects.create(key=digest, keep_until=until)
        except IntegrityError:
            return True
        return False


def url_secret(organization_id: int) -> str:
    """Our key for callback URL tokens, one per organization, derived from SECRET_KEY."""
    return hmac.new(settings.SECRET_KEY.encode(), f"twilio-callback:{organization_id}".encode(), "sha256").hexdigest()


def public_url(request: HttpRequest, config: dict) -> str:
    """The URL Twilio requested: the configured public base (behind a proxy) + this path and query."""
    base = (config.get("public_url") or "").rstrip("/")
    if not base:
        return request.build_absolute_uri()
    return base + request.get_full_path()


def _problem(status: int, detail: str) -> HttpResponse:
    return HttpResponse(
        f'{{"title": "Callback refused", "status": {status}, "detail": "{detail}"}}',
        status=status,
        content_type="application/problem+json",
    )


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    reference = request.GET.get(REFERENCE_PARAM, "")
    call = Call.objects.filter(pk=int(reference), provider=ProviderKind.TWILIO).first() if reference.isdigit() else None
    if call is None:
        return _problem(403, "bad_signature")  # not ours: looks like any other unverifiable request
    config = telephony_settings(call.organization_id)
    token = decrypt_credentials(config.credentials_encrypted).get("auth_token", "")
    params = list(request.POST.lists())
    flat = [(name, value) for name, values in params for value in values]
    try:
        with transaction.atomic():
            event = check_callback(
                public_url(request, config.provider_config),
                flat,
                dict(request.headers),
                auth_token=token,
                url_secret=url_secret(call.organization_id),
                now=timezone.now(),
                replay_guard=DatabaseReplayGuard(),
            )
            if event is not None:
                event = ProviderEvent(
                    provider=event.provider,
                    provider_call_id=event.provider_call_id,
                    kind=event.kind,
                    occurred_at=event.occurred_at,
                    event_id=event.event_id,
                    sequence=event.sequence,
                    data=event.data,
                    reference=str(event.data.get("reference", "")),
                )
                call_event_apply(event)
    except CallbackRejected as exc:
        return _problem(STATUS[exc.reason], str(exc.reason))
    except UnknownCall:
        return _problem(400, "unknown_call")
    return HttpResponse(status=204)
