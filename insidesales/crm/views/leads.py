"""Lead verbs: start working, qualify, disqualify, and the convert page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insidesales.core.errors import Conflict, ValidationError
from insidesales.core.http import member_view
from insidesales.crm import selectors, services
from insidesales.crm.forms import ConvertForm, DisqualifyForm, add_service_errors
from insidesales.crm.models import Lead, LeadStatus
from insidesales.crm.views.records import error_text


@require_POST
@member_view
def lead_start_working(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.lead_start_working(membership=request.membership, lead_id=pk)
    except Conflict as exc:
        messages.error(request, exc.message)
    return redirect("lead_detail", pk)


@require_POST
@member_view
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.lead_qualify(membership=request.membership, lead_id=pk, note=request.POST.get("note", "").strip())
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Lead qualified."))
    return redirect("lead_detail", pk)


@require_POST
@member_view
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason to disqualify the lead."))
        return redirect("lead_detail", pk)
    try:
        services.lead_disqualify(
            membership=request.membership,
            lead_id=pk,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"].strip(),
        )
    except (Conflict, ValidationError) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Lead disqualified."))
    return redirect("lead_detail", pk)


@require_http_methods(["GET", "POST"])
@member_view
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Shows what converting will do (merge into matching company/contact or create them), then does it."""
    membership = request.membership
    lead = selectors.record_get(membership=membership, model=Lead, record_id=pk)
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        messages.error(request, _("A %(status)s lead cannot be converted.") % {"status": lead.get_status_display()})
        return redirect("lead_detail", lead.pk)
    preview = selectors.lead_convert_preview(membership=membership, lead=lead)
    pipelines = list(selectors.pipeline_list(membership=membership))
    if request.method == "POST":
        form = ConvertForm(request.POST, pipelines=pipelines)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.lead_convert(
                    membership=membership,
                    lead_id=lead.pk,
                    create_deal=data["create_deal"],
                    deal_name=data["deal_name"],
                    deal_amount=data["amount"],
                    pipeline_id=int(data["pipeline"]) if data.get("pipeline") else None,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Conflict as exc:
                messages.error(request, exc.message)
                return redirect("lead_detail", lead.pk)
            else:
                messages.success(request, _("Lead converted to contact %(name)s.") % {"name": result["contact"]})
                return redirect("contact_detail", result["contact"].pk)
    else:
        form = ConvertForm(pipelines=pipelines, initial={"deal_name": preview["deal_name"]})
    return render(request, "crm/lead_convert.html", {"lead": lead, "preview": preview, "form": form})
