"""The agent desktop (state, the lead in front of the rep with its history and the campaign's talk
track, the call, the disposition with hotkeys, callbacks due) and the supervisor wallboard."""

from __future__ import annotations

import html
import re
import time

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from insidesales.calls import reports, selectors
from insidesales.calls.forms import DispositionForm
from insidesales.calls.models import FINAL_CALL_STATUSES, PAUSE_REASONS, AgentState, CampaignStatus
from insidesales.calls.services import agents
from insidesales.calls.services.callbacks import callbacks_due
from insidesales.calls.services.config import (
    disposition_label,
    dispositions_ensure,
    recording_notice,
    telephony_settings,
)
from insidesales.core import live
from insidesales.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.models import Activity, Lead
from insidesales.orgs.models import Role

MERGE_FIELDS = ("first_name", "last_name", "full_name", "title", "company_name", "email", "phone", "country")
_FIELD = re.compile(r"\{\{\s*lead\.(\w+)\s*\}\}")
SUPERVISORS = (Role.ADMIN, Role.MANAGER)


def talk_track_html(text: str, lead) -> str:
    """The talk track with `{{ lead.first_name }}`-style fields filled in; everything escaped, unknown
    fields left as written so the rep sees what the author meant."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if lead is None or name not in MERGE_FIELDS:
            return match.group(0)
        value = getattr(lead, name, "") or ""
        return f"\x00{value}\x01"

    filled = html.escape(_FIELD.sub(fill, text or ""))
    filled = filled.replace("\x00", '<mark class="merge">').replace("\x01", "</mark>")
    return mark_safe("<br>".join(filled.splitlines()))  # escaped above; only our tags added


def _desk_context(request: HttpRequest) -> dict:
    membership = request.membership
    agents.agent_seen(membership=membership)
    session = agents.agent_session(membership)
    campaigns = list(selectors.campaign_list(membership=membership).filter(status=CampaignStatus.ACTIVE))
    call = session.current_call if session.current_call_id else agents.undisposed_call(membership)
    if call is not None:
        call = selectors.call_list(membership=membership).filter(pk=call.pk).first()
    lead = session.current_lead if session.current_lead_id else (call.lead if call and call.lead_id else None)
    if lead is None and call is not None and call.contact_id:
        lead = call.contact  # an incoming call from a contact: the card shows the contact
    if lead is None and call is not None and call.company_id:
        lead = call.company  # a company's main number called from its page
    campaign = session.campaign if session.campaign_id else None
    history = []
    is_lead = isinstance(lead, Lead)
    if lead is not None:
        on_record = {type(lead).__name__.lower(): lead}
        history = list(Activity.objects.filter(**on_record).order_by("-occurred_at", "-id")[:8])
    dispositions = dispositions_ensure(membership.organization_id)
    for item in dispositions:
        item.shown_label = disposition_label(item)
    zone = (getattr(lead, "time_zone", "") or membership.organization.time_zone) or "UTC"
    local_time = None
    if lead is not None and lead.time_zone:
        import zoneinfo

        try:
            local_time = timezone.now().astimezone(zoneinfo.ZoneInfo(lead.time_zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            local_time = None
    queue = None
    if campaign is not None and lead is None and session.state == AgentState.READY:
        # Why nothing comes: leads waiting for their calling window or their retry time, and the next one.
        from django.db.models import Count, Min

        from insidesales.calls.models import CampaignLead, CampaignLeadState

        queue = CampaignLead.objects.filter(
            campaign=campaign, state=CampaignLeadState.PENDING, next_attempt_at__gt=timezone.now()
        ).aggregate(waiting=Count("id"), next_at=Min("next_attempt_at"))
    return {
        "queue": queue,
        # The event stream starts after what this page already shows: nothing published in between is lost.
        "live_after": live.latest_id([f"agent:{membership.user_id}"]),
        "session": session,
        "campaigns": campaigns,
        "campaign": campaign,
        "call": call,
        "call_final": call is not None and call.status in FINAL_CALL_STATUSES,
        "lead": lead,
        "is_lead": is_lead,
        "record_url": reverse(f"{type(lead).__name__.lower()}_detail", args=[lead.pk]) if lead is not None else "",
        "local_time": local_time,
        "history": history,
        "talk_track": talk_track_html(campaign.talk_track, lead) if campaign else "",
        "recording_notice": recording_notice(telephony_settings(membership.organization_id), lead.phone)
        if lead is not None and lead.phone
        else "",
        "dispositions": dispositions,
        "form": DispositionForm(dispositions=dispositions, zone=zone),
        "zone": zone,
        "pause_reasons": [(key, _label(key)) for key in agents.PAUSE_REASONS],
        "callbacks": callbacks_due(membership=membership, limit=10),
        "states": AgentState,
    }


def _label(key: str) -> str:
    return str(PAUSE_REASONS[key])


@require_GET
@member_view
def desktop(request: HttpRequest) -> HttpResponse:
    if request.membership.role == Role.FIELD_REP:
        raise Http404()
    context = _desk_context(request)
    if request.htmx:
        return render(request, "calls/desktop.html#desk", context)
    return render(request, "calls/desktop.html", context)


def _back(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        return render(request, "calls/desktop.html#desk", _desk_context(request))
    return redirect("desktop")


@require_POST
@member_view
def desktop_state(request: HttpRequest) -> HttpResponse:
    campaign = request.POST.get("campaign") or None
    try:
        agents.agent_state_set(
            membership=request.membership,
            state=request.POST.get("state", ""),
            campaign_id=int(campaign) if campaign and campaign.isascii() and campaign.isdigit() else None,
            pause_reason=request.POST.get("pause_reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms) or exc.message)
    except (Conflict, PermissionDenied) as exc:
        messages.error(request, exc.message)
    return _back(request)


@require_POST
@member_view
def desktop_phone(request: HttpRequest) -> HttpResponse:
    try:
        agents.agent_endpoint_set(membership=request.membership, endpoint=request.POST.get("endpoint", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms))
    else:
        messages.success(request, _("Your phone is saved."))
    return _back(request)


@require_POST
@member_view
def desktop_dial(request: HttpRequest) -> HttpResponse:
    try:
        agents.agent_dial_current(membership=request.membership)
    except ApplicationError as exc:
        if isinstance(exc, ValidationError):
            messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms) or exc.message)
        else:
            messages.error(request, exc.message)
    return _back(request)


@require_POST
@member_view
def desktop_skip(request: HttpRequest) -> HttpResponse:
    agents.agent_skip_lead(membership=request.membership)
    return _back(request)


def _after(request: HttpRequest) -> int | None:
    """Where a stream resumes: the browser's Last-Event-ID on a reconnect, else the page's `after`."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None


@require_GET
async def desktop_events(request: HttpRequest) -> HttpResponse:
    """Server-sent events for the rep's desktop: a call connected, a lead offered, state changes."""
    user = await request.auser()
    membership = getattr(request, "membership", None)
    if not user.is_authenticated or membership is None:
        raise Http404()
    topic = f"agent:{user.pk}"
    after = _after(request) if _after(request) is not None else await sync_to_async(live.latest_id)([topic])

    def seen_and_release(**kwargs):
        try:
            return agents.agent_seen(**kwargs)
        finally:
            close_old_connections()  # a pool thread: give its database connection back

    seen = sync_to_async(seen_and_release, thread_sensitive=False)

    async def stream():
        yield b"retry: 1000\n\n"
        await seen(membership=membership)
        last_seen = time.monotonic()
        idle = 0.0
        async for event in live.listen([topic], after, heartbeat=live.HEARTBEAT_SECONDS):
            if time.monotonic() - last_seen >= live.HEARTBEAT_SECONDS:
                # An open desktop keeps its rep counted as present (see `agents.PRESENCE`).
                await seen(membership=membership)
                last_seen = time.monotonic()
            if event is None:
                idle += live.HEARTBEAT_SECONDS
                if idle >= 3600:
                    return
                yield b": keep-alive\n\n"
                continue
            idle = 0.0
            yield live.sse_frame(event[0], "desk", event[2])

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
@member_view
def wallboard(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    if membership.role not in SUPERVISORS:
        raise PermissionDenied(_("The wallboard is for admins and managers."))
    campaigns = list(selectors.campaign_list(membership=membership).exclude(status="finished").order_by("name"))
    context = reports.wallboard(membership=membership, campaigns=campaigns)
    if request.htmx:
        return render(request, "calls/wallboard.html#board", context)
    return render(request, "calls/wallboard.html", context)
