"""Call campaigns in the web UI: list, create and edit (admins and managers), start and pause, the
queue of leads with why some are skipped, the talk track (reps edit it too), and the compliance
report export."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.calls import reports, selectors
from insidesales.calls.compliance import REASON_LABELS
from insidesales.calls.forms import CampaignForm
from insidesales.calls.models import CampaignLead, CampaignLeadState
from insidesales.calls.services import campaigns as service
from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.models import Lead
from insidesales.orgs.models import Role
from insidesales.orgs.visibility import managed_team_ids, visible_records

MANAGERS = (Role.ADMIN, Role.MANAGER)


def _form_errors(form: CampaignForm, exc: ValidationError) -> None:
    names = {"saved_view": "saved_view", "caller_id": "caller_id", "retry_minutes": None}
    for field, errors in exc.fields.items():
        target = names.get(field, field)
        for error in errors:
            form.add_error(target if target in form.fields else None, error)


@require_GET
@member_view
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = (
        selectors.campaign_list(membership=request.membership)
        .select_related("team", "agency")
        .order_by("status", "name")
    )
    return render(
        request,
        "calls/campaign_list.html",
        {"campaigns": campaigns, "can_manage": request.membership.role in MANAGERS},
    )


@require_http_methods(["GET", "POST"])
@member_view
def campaign_create(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers create call campaigns."))
    form = CampaignForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = service.campaign_create(membership=membership, data=form.to_service_data())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Campaign created. Start it when the reps are ready."))
            return redirect("campaign_detail", campaign.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "calls/campaign_form.html", {"form": form, "campaign": None}, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    campaign = selectors.campaign_get(membership=membership, campaign_id=pk)
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers change call campaigns."))
    form = CampaignForm(request.POST or None, membership=membership, initial=CampaignForm.initial_for(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            service.campaign_update(membership=membership, campaign_id=campaign.pk, data=form.to_service_data())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaign_detail", campaign.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "calls/campaign_form.html", {"form": form, "campaign": campaign}, status=status)


@require_GET
@member_view
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    campaign = selectors.campaign_get(membership=membership, campaign_id=pk)
    entries = CampaignLead.objects.filter(campaign=campaign)
    counts = {state: entries.filter(state=state).count() for state in CampaignLeadState.values}
    # Only leads the viewer may see are named (a rep works a campaign with teammates' leads in it).
    visible = visible_records(Lead.objects.filter(organization_id=membership.organization_id), membership)
    skipped = (
        entries.exclude(skip_reason="")
        .filter(lead__in=visible)
        .select_related("lead")
        .order_by("-next_attempt_at")[:50]
    )
    skipped = list(skipped)
    for entry in skipped:  # in the reader's language (the stored message is the worker's, for the record)
        entry.reason_label = str(REASON_LABELS.get(entry.skip_reason, entry.skip_message or entry.skip_reason))
    now = timezone.now()
    context = {
        "campaign": campaign,
        "counts": counts,
        "states": CampaignLeadState,
        "skipped": skipped,
        "h24": reports.abandonment(campaign.pk, now - dt.timedelta(hours=24)),
        "d30": reports.abandonment(campaign.pk, now - dt.timedelta(days=30)),
        "can_manage": membership.role in MANAGERS,
        "can_export": membership.role == Role.ADMIN
        or (membership.role == Role.MANAGER and campaign.team_id in managed_team_ids(membership)),
    }
    return render(request, "calls/campaign_detail.html", context)


@require_POST
@member_view
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get(membership=request.membership, campaign_id=pk)
    try:
        service.campaign_set_status(
            membership=request.membership, campaign_id=campaign.pk, status=request.POST.get("status", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms))
    return redirect("campaign_detail", campaign.pk)


@require_POST
@member_view
def campaign_talk_track(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = service.campaign_talk_track_update(
        membership=request.membership, campaign_id=pk, text=request.POST.get("talk_track", "")
    )
    messages.success(request, _("Talk track saved."))
    if request.POST.get("next") == "desktop":
        return redirect("desktop")
    return redirect("campaign_detail", campaign.pk)


@require_GET
@member_view
def campaign_compliance(request: HttpRequest, pk: int) -> HttpResponse:
    """The abandonment compliance report (CSV), for admins and managers; the last 30 days by default."""
    membership = request.membership
    campaign = selectors.campaign_get(membership=membership, campaign_id=pk)
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("The compliance report is for admins and managers."))
    if membership.role == Role.MANAGER and campaign.team_id not in managed_team_ids(membership):
        # It lists every call of the campaign: for the admins, or the manager of the campaign's team.
        raise PermissionDenied(_("The compliance report of this campaign is for admins."))
    until = timezone.now()
    try:
        days = max(1, min(400, int(request.GET.get("days", "30"))))
    except ValueError:
        days = 30
    since = until - dt.timedelta(days=days)
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in reports.compliance_csv(campaign, since, until)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-compliance.csv"'
    return response
