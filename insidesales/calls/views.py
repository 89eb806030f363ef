"""Calls in the web UI: click-to-call, the call panel (live status, hang up, disposition), my calls,
and the do-not-call list."""

from __future__ import annotations

import datetime as dt

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.calls import selectors
from insidesales.calls.forms import DispositionForm, DncAddForm, DncImportForm
from insidesales.calls.models import FINAL_CALL_STATUSES, DncSource
from insidesales.calls.services import dialing, dnc
from insidesales.calls.services.config import disposition_label, dispositions_ensure
from insidesales.core import live
from insidesales.core.errors import ApplicationError, Conflict, NotFound, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.services.common import get_visible
from insidesales.orgs.models import Role

RECORD_URLS = {"lead": "lead_detail", "contact": "contact_detail", "company": "company_detail"}


def _record_url(call) -> str:
    if call.lead_id:
        return reverse("lead_detail", args=[call.lead_id])
    if call.contact_id:
        return reverse("contact_detail", args=[call.contact_id])
    if call.company_id:
        return reverse("company_detail", args=[call.company_id])
    return reverse("call_list")


@require_http_methods(["GET", "POST"])
@member_view
def call_dial(request: HttpRequest, record_type: str, pk: int) -> HttpResponse:
    """GET: "Call <name> at <number>?" (what a phone number links to in lists); POST: place the call."""
    model = dialing.RECORD_TYPES.get(record_type)
    if model is None:
        raise Http404()
    record = get_visible(model, request.membership, pk)
    if request.method == "POST":
        try:
            call = dialing.call_start(membership=request.membership, record_type=record_type, record_id=record.pk)
        except dialing.CallBlocked as exc:
            messages.error(request, exc.message)
            return redirect(RECORD_URLS[record_type], record.pk)
        except (ValidationError, Conflict) as exc:
            text = (
                exc.message
                if not isinstance(exc, ValidationError)
                else "; ".join(m for ms in exc.fields.values() for m in ms)
            )
            messages.error(request, text)
            return redirect(RECORD_URLS[record_type], record.pk)
        return redirect("call_detail", call.pk)
    return render(
        request,
        "calls/call_dial.html",
        {"record": record, "record_type": record_type, "record_url": reverse(RECORD_URLS[record_type], args=[pk])},
    )


def _panel_context(request: HttpRequest, call) -> dict:
    dispositions = dispositions_ensure(request.membership.organization_id)
    for item in dispositions:
        item.shown_label = disposition_label(item)
    record = call.lead or call.contact or call.company
    zone = (getattr(record, "time_zone", "") or request.membership.organization.time_zone) if record else "UTC"
    return {
        "live_after": live.latest_id([f"call:{call.pk}"]),
        "call": call,
        "zone": zone,
        "record": record,
        "record_url": _record_url(call),
        "final": call.status in FINAL_CALL_STATUSES,
        "dispositions": dispositions,
        "form": DispositionForm(dispositions=dispositions, zone=zone, initial={"note": call.note}),
        "simulated": call.provider == "simulated",
        "mine": call.agent_id == request.user.pk,
    }


@require_GET
@member_view
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.call_get(membership=request.membership, call_id=pk)
    context = _panel_context(request, call)
    if request.htmx:
        return render(request, "calls/call_detail.html#call_panel", context)
    return render(request, "calls/call_detail.html", context)


@require_POST
@member_view
def call_hangup(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        call = dialing.call_hangup(membership=request.membership, call_id=pk)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("call_detail", pk)
    if request.htmx:
        return render(request, "calls/call_detail.html#call_panel", _panel_context(request, call))
    if request.POST.get("next") == "desktop":
        return redirect("desktop")
    return redirect("call_detail", call.pk)


@require_POST
@member_view
def call_dispose(request: HttpRequest, pk: int) -> HttpResponse:
    call = selectors.call_get(membership=request.membership, call_id=pk)
    context = _panel_context(request, call)
    form = DispositionForm(request.POST, dispositions=context["dispositions"], zone=context["zone"])
    if form.is_valid():
        try:
            dialing.call_dispose(membership=request.membership, call_id=call.pk, **form.to_service_data())
        except ValidationError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Call outcome saved."))
            if request.POST.get("next") == "desktop":
                return redirect("desktop")
            return redirect(_record_url(call))
    context["form"] = form
    return render(request, "calls/call_detail.html", context, status=422)


@require_GET
async def call_events(request: HttpRequest, pk: int) -> HttpResponse:
    """Server-sent events for one call's panel: its status whenever it changes."""
    user = await request.auser()
    if not user.is_authenticated:
        raise Http404()
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404()
    try:
        call = await sync_to_async(selectors.call_get)(membership=membership, call_id=pk)
    except NotFound as exc:
        raise Http404() from exc
    topic = f"call:{call.pk}"
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or ""
    after = int(raw) if raw.isascii() and raw.isdigit() else await sync_to_async(live.latest_id)([topic])

    async def stream():
        yield live.sse_frame(after, "status", {"call": call.pk, "status": call.status})
        idle = 0.0
        async for event in live.listen([topic], after, heartbeat=live.HEARTBEAT_SECONDS):
            if event is None:
                idle += live.HEARTBEAT_SECONDS
                yield b": keep-alive\n\n"
                if idle > 3600:
                    return
                continue
            idle = 0.0
            yield live.sse_frame(event[0], "status", event[2])

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
@member_view
def call_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    calls = (
        selectors.call_list(membership=membership)
        .select_related("lead", "contact", "company", "agent", "disposition")
        .order_by("-queued_at", "-id")[:100]
    )
    from insidesales.calls.models import ProviderKind
    from insidesales.calls.services.config import telephony_settings

    simulated = telephony_settings(membership.organization_id).provider == ProviderKind.SIMULATED
    return render(
        request,
        "calls/call_list.html",
        {"calls": calls, "since": timezone.now() - dt.timedelta(days=1), "simulated": simulated},
    )


def _dnc_campaign(request: HttpRequest):
    """The campaign whose own list the page shows (`?campaign=` or the form's), None for the organization's."""
    raw = request.POST.get("campaign") or request.GET.get("campaign") or ""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise Http404()
    return selectors.campaign_get(membership=request.membership, campaign_id=int(raw))


def _dnc_page(request: HttpRequest, add_form=None, import_form=None, report=None, status=200) -> HttpResponse:
    membership = request.membership
    campaign = _dnc_campaign(request)
    entries = (
        selectors.dnc_list(membership=membership, campaign_id=campaign.pk if campaign else None)
        .select_related("added_by")
        .order_by("-created_at")[:200]
    )
    return render(
        request,
        "calls/dnc_list.html",
        {
            "entries": entries,
            "campaign": campaign,
            "campaigns": selectors.campaign_list(membership=membership).exclude(status="finished").order_by("name"),
            "add_form": add_form or DncAddForm(),
            "import_form": import_form or DncImportForm(),
            "report": report,
            "can_manage": membership.role in (Role.ADMIN, Role.MANAGER),
        },
        status=status,
    )


def _dnc_back(campaign) -> HttpResponse:
    url = reverse("dnc_list")
    return redirect(f"{url}?campaign={campaign.pk}" if campaign else url)


@require_http_methods(["GET", "POST"])
@member_view
def dnc_list(request: HttpRequest) -> HttpResponse:
    """A do-not-call list — the organization's, or one campaign's (`?campaign=`): add a number (anyone who
    calls), import and remove (managers)."""
    if request.method == "GET":
        return _dnc_page(request)
    campaign = _dnc_campaign(request)
    form = DncAddForm(request.POST)
    if form.is_valid():
        try:
            entry = dnc.dnc_add(
                membership=request.membership,
                number=form.cleaned_data["number"],
                reason=form.cleaned_data["reason"],
                source=DncSource.MANUAL,
                campaign_id=campaign.pk if campaign else None,
            )
        except ValidationError as exc:
            for error in exc.fields.get("number", []):
                form.add_error("number", error)
        else:
            messages.success(request, _("%(number)s will not be called.") % {"number": entry.number})
            return _dnc_back(campaign)
    return _dnc_page(request, add_form=form, status=422)


@require_POST
@member_view
def dnc_import(request: HttpRequest) -> HttpResponse:
    campaign = _dnc_campaign(request)
    form = DncImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _dnc_page(request, import_form=form, status=422)
    try:
        report = dnc.dnc_import(
            membership=request.membership,
            lines=form.lines(),
            reason=form.cleaned_data.get("reason", ""),
            campaign_id=campaign.pk if campaign else None,
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _dnc_page(request, import_form=form, status=exc.status)
    return _dnc_page(request, report=report)


@require_POST
@member_view
def dnc_delete(request: HttpRequest, pk: int) -> HttpResponse:
    dnc.dnc_remove(membership=request.membership, entry_id=pk)
    messages.success(request, _("Number taken off the do-not-call list."))
    return redirect("dnc_list")


@require_POST
@member_view
def call_incoming_simulate(request: HttpRequest) -> HttpResponse:
    """The demo: as if a number called the organization (simulated carrier only)."""
    from insidesales.calls.services.inbound import call_inbound_simulate

    try:
        result = call_inbound_simulate(membership=request.membership, from_number=request.POST.get("number", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms))
        return redirect("call_list")
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("call_list")
    if result.agent_id is None:
        messages.info(request, _("Nobody was ready to take the call: a callback was scheduled."))
    else:
        messages.success(request, _("Incoming call routed."))
    return redirect("call_list")
