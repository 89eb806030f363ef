"""A person's alerts: the live stream every signed-in page listens to (new inbound leads, deadlines), the
list of recent alerts, and marking them read. An open stream also marks its rep as online for routing."""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from insidesales.core import live
from insidesales.core.http import member_view
from insidesales.inbound import routing
from insidesales.inbound.selectors_notifications import notification_list
from insidesales.inbound.services import notifications as service

STREAM_SECONDS = 3600


def _after(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def _still_signed_in(organization_id: int, user_id: int, session_key: str | None) -> bool:
    """Is this stream's person still signed in and a member? If so they count as online for routing."""
    from django.contrib.sessions.backends.base import SessionBase
    from django.utils.module_loading import import_string

    from insidesales.orgs.models import Membership

    try:
        engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
        session: SessionBase = engine()
        if session_key is None or not session.exists(session_key):
            return False
        if not Membership.objects.filter(
            organization_id=organization_id, user_id=user_id, is_active=True, user__is_active=True
        ).exists():
            return False
        routing.mark_seen(organization_id=organization_id, user_id=user_id)
        return True
    finally:
        close_old_connections()  # this runs on a pool thread: give its connection back


@require_GET
async def notification_stream(request: HttpRequest) -> HttpResponse:
    """Server-sent events: one `notify` event per alert for the signed-in person, as it is committed."""
    if not isinstance(request, ASGIRequest):
        # Served by a WSGI server (Django's test server, say): a stream would hold one of its threads for
        # an hour. 204 tells the browser's EventSource not to come back; pages work, without live alerts.
        return HttpResponse(status=204)
    user = await request.auser()
    membership = getattr(request, "membership", None)
    if not user.is_authenticated or membership is None:
        raise Http404()
    topic = service.topic(user.pk)
    after = _after(request)
    if after is None:
        after = await sync_to_async(live.latest_id)([topic])
    seen = sync_to_async(_still_signed_in, thread_sensitive=False)
    organization_id, session_key = membership.organization_id, request.session.session_key

    async def stream():
        yield b"retry: 1000\n\n"
        await seen(organization_id, user.pk, session_key)
        last_seen = started = time.monotonic()
        async for event in live.listen([topic], after, heartbeat=live.HEARTBEAT_SECONDS):
            if time.monotonic() - last_seen >= live.HEARTBEAT_SECONDS:
                if not await seen(organization_id, user.pk, session_key):
                    return  # signed out or switched off since the stream opened: no more alerts here
                last_seen = time.monotonic()
            if event is None:
                yield b": keep-alive\n\n"
            else:
                yield live.sse_frame(event[0], "notify", event[2])
            if time.monotonic() - started >= STREAM_SECONDS:
                return  # the browser reconnects (with Last-Event-ID): no stream lives forever

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
@member_view
def notifications_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inbound/notifications.html",
        {"notifications": notification_list(membership=request.membership, limit=100)},
    )


@require_POST
@member_view
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the alert read and go to what it is about."""
    note = service.notification_read(membership=request.membership, notification_id=pk)
    if note.lead_id:
        return HttpResponseRedirect(reverse("lead_detail", args=[note.lead_id]))
    if note.contact_id:
        return HttpResponseRedirect(reverse("contact_detail", args=[note.contact_id]))
    return HttpResponseRedirect(reverse("notifications"))


@require_POST
@member_view
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    service.notifications_read_all(membership=request.membership)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = reverse("notifications")
    return HttpResponseRedirect(back)
