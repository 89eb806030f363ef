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
from insidesales.calls.secrets import CredentialsUnreadable, decrypt_credentials
from insidesales.calls.services.config import recording_notice, telephony_settings
from insidesales.calls.services.events import UnknownCall, call_event_apply
from insidesales.core.errors import Conflict

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


def relay(call: Call, event: ProviderEvent) -> None:
    """Tell the dialer worker (another process) about an event it must act on: an answer to connect to
    the rep, an outcome its pacing learns from."""
    from insidesales.calls.dialer import RELAY_TOPIC
    from insidesales.core import live

    live.publish(
        RELAY_TOPIC,
        {
            "call": call.pk,
            "kind": str(event.kind),
            "provider_call_id": event.provider_call_id,
            "event_id": event.event_id,
            "data": event.data,
        },
    )


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
    if status == 403:
        detail = "forbidden"  # the same for a call that exists and one that does not: nothing to enumerate
    return HttpResponse(
        f'{{"title": "Callback refused", "status": {status}, "detail": "{detail}"}}',
        status=status,
        content_type="application/problem+json",
    )


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    reference = request.GET.get(REFERENCE_PARAM, "")
    call = (
        Call.objects.filter(pk=int(reference), provider=ProviderKind.TWILIO).first()
        if reference.isascii() and reference.isdigit()
        else None
    )
    if call is None:
        return _problem(403, "bad_signature")  # not ours: looks like any other unverifiable request
    config = telephony_settings(call.organization_id)
    try:
        token = decrypt_credentials(config.credentials_encrypted).get("auth_token", "")
    except CredentialsUnreadable:
        return _problem(403, "forbidden")
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
                applied, new = call_event_apply(event)
                if new:
                    relay(applied, event)
    except CallbackRejected as exc:
        return _problem(STATUS[exc.reason], str(exc.reason))
    except UnknownCall:
        return _problem(400, "unknown_call")
    return HttpResponse(status=204)


# -- incoming calls on a Twilio number ---------------------------------------------------------------

NO_AGENT_MESSAGE = {
    "en": "Thank you for calling. Nobody can take your call right now; we will call you back shortly.",
    "ru": "Спасибо за звонок. Сейчас никто не может ответить; мы скоро вам перезвоним.",
}
DIAL_STATUS_KINDS = {"busy": "busy", "no-answer": "no_answer", "failed": "failed", "canceled": "no_answer"}


def _twiml_response(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _organization_for_number(number: str, account_sid: str):
    """The organization whose number was called, on the Twilio account that called us (two organizations
    may both list a number; only the one whose account owns it is asked)."""
    from insidesales.calls.models import CallerId, TelephonySettings

    organizations = list(CallerId.objects.filter(number=number).values_list("organization_id", flat=True))
    settings = TelephonySettings.objects.filter(
        organization_id__in=organizations, provider=ProviderKind.TWILIO, provider_config__account_sid=account_sid
    ).select_related("organization")
    found = [item.organization for item in settings if account_sid]
    return found[0] if len(found) == 1 else None


def _verified(request: HttpRequest, organization_id: int) -> tuple[dict, list[tuple[str, str]]]:
    from insidesales.calls.providers.twilio_callbacks import SIGNATURE_HEADER, verify_signature

    config = telephony_settings(organization_id)
    try:
        token = decrypt_credentials(config.credentials_encrypted).get("auth_token", "")
    except CredentialsUnreadable:
        token = ""
    flat = [(name, value) for name, values in request.POST.lists() for value in values]
    signature = request.headers.get(SIGNATURE_HEADER)
    if (
        not token
        or not signature
        or not verify_signature(public_url(request, config.provider_config), flat, signature, token)
    ):
        raise CallbackRejected(RejectReason.BAD_SIGNATURE, "X-Twilio-Signature does not match")
    return config.provider_config, flat


@csrf_exempt
@require_POST
def twilio_voice(request: HttpRequest) -> HttpResponse:
    """Twilio's request for an incoming call on one of the organization's numbers (the number's Voice
    URL): route it and answer with TwiML that rings the chosen rep, or apologises and hangs up."""
    import datetime as dt
    import xml.etree.ElementTree as ET

    from insidesales.calls.models import AgentSession
    from insidesales.calls.providers.twilio import say_then_hangup_twiml
    from insidesales.calls.providers.twilio_callbacks import signed_callback_url
    from insidesales.calls.services.inbound import call_inbound_receive

    organization = _organization_for_number(request.POST.get("To", ""), request.POST.get("AccountSid", ""))
    if organization is None:
        return _problem(403, "bad_signature")
    try:
        config, _flat = _verified(request, organization.pk)
    except CallbackRejected as exc:
        return _problem(STATUS[exc.reason], str(exc.reason))
    call_sid = request.POST.get("CallSid", "")
    if not call_sid.startswith("CA"):
        return _problem(400, "malformed")
    try:
        result = call_inbound_receive(
            organization=organization,
            provider=ProviderKind.TWILIO,
            provider_call_id=call_sid,
            from_number=request.POST.get("From", ""),
            to_number=request.POST.get("To", ""),
        )
    except Conflict:
        return _problem(403, "forbidden")
    language = "ru" if organization.default_region == "RU" else "en"
    session = AgentSession.objects.filter(organization=organization, user_id=result.agent_id).first()
    if result.agent_id is not None and (session is None or not session.endpoint):
        # Routed to a rep whose phone is not set: nobody can ring; the rep is freed, a callback scheduled.
        from insidesales.calls.services.inbound import call_missed

        call_missed(call_id=result.call.pk)
    if result.agent_id is None or session is None or not session.endpoint:
        return _twiml_response(say_then_hangup_twiml(NO_AGENT_MESSAGE[language], language=language))
    base = (config.get("public_url") or request.build_absolute_uri("/")).rstrip("/")
    action = signed_callback_url(
        base + "/telephony/twilio/dial-done/",
        reference=str(result.call.pk),
        expires_at=timezone.now() + dt.timedelta(hours=6),
        url_secret=url_secret(organization.pk),
    )
    response = ET.Element("Response")
    telephony = telephony_settings(organization.pk)
    notice = recording_notice(telephony, result.call.from_number)
    if notice:  # the caller hears the recording notice of their country before the rep picks up
        ET.SubElement(
            response, "Say", {"language": "ru-RU" if result.call.from_number.startswith("+7") else "en-US"}
        ).text = notice
    dial_attributes = {"timeout": "20", "action": action, "method": "POST"}
    if telephony.recording_enabled:
        dial_attributes["record"] = "record-from-answer"  # the recording link comes with the dial result
    dial = ET.SubElement(response, "Dial", dial_attributes)
    endpoint = session.endpoint
    if endpoint.startswith("client:"):
        ET.SubElement(dial, "Client").text = endpoint.removeprefix("client:")
    elif endpoint.startswith("sip:"):
        ET.SubElement(dial, "Sip").text = endpoint
    else:
        ET.SubElement(dial, "Number").text = endpoint
    return _twiml_response('<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(response, encoding="unicode"))


@csrf_exempt
@require_POST
def twilio_dial_done(request: HttpRequest) -> HttpResponse:
    """Twilio's `<Dial action>` request when the rep's leg of an incoming call ends: the call record is
    completed (or missed, with a callback scheduled)."""
    from insidesales.calls.providers.base import EventKind
    from insidesales.calls.providers.twilio import say_then_hangup_twiml
    from insidesales.calls.providers.twilio_callbacks import EXPIRES_PARAM, _read_url_token

    reference = request.GET.get(REFERENCE_PARAM, "")
    call = (
        Call.objects.filter(pk=int(reference), provider=ProviderKind.TWILIO).first()
        if reference.isascii() and reference.isdigit()
        else None
    )
    if call is None:
        return _problem(403, "bad_signature")
    try:
        config, _flat = _verified(request, call.organization_id)
        url = public_url(request, config)
        now = timezone.now()
        query = _read_url_token(url, url_secret(call.organization_id), now)
        import datetime as dt

        expires = dt.datetime.fromtimestamp(int(query[EXPIRES_PARAM]), dt.UTC)
        if DatabaseReplayGuard().seen(f"twilio-dial:{url}:{request.headers.get('X-Twilio-Signature')}", until=expires):
            raise CallbackRejected(RejectReason.REPLAYED, "accepted before")
    except CallbackRejected as exc:
        return _problem(STATUS[exc.reason], str(exc.reason))
    status = request.POST.get("DialCallStatus", "")
    duration = request.POST.get("DialCallDuration", "")
    sid = call.provider_call_id
    if status in ("completed", "answered") and duration.isascii() and duration.isdigit():
        events = [
            (EventKind.ANSWERED, {}),
            (EventKind.BRIDGED, {}),
            (EventKind.COMPLETED, {"duration_s": int(duration)}),
        ]
        if request.POST.get("RecordingUrl", "").startswith("https://"):
            events[-1][1]["recording_url"] = request.POST["RecordingUrl"]
    else:
        events = [(DIAL_STATUS_KINDS.get(status, "failed"), {"reason": f"rep's line: {status}"})]
    with transaction.atomic():
        for kind, data in events:
            call_event_apply(
                ProviderEvent(
                    provider=ProviderKind.TWILIO,
                    provider_call_id=sid,
                    kind=kind,
                    occurred_at=now,
                    event_id=f"{sid}:dial:{kind}",
                    data=data,
                    reference=str(call.pk),
                )
            )
    if events[-1][0] == EventKind.COMPLETED:
        return _twiml_response('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>')
    from insidesales.calls.services.inbound import call_missed

    call_missed(call_id=call.pk)
    language = "ru" if call.organization.default_region == "RU" else "en"
    return _twiml_response(say_then_hangup_twiml(NO_AGENT_MESSAGE[language], language=language))
