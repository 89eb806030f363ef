"""Speed to lead: the report (everyone sees the inquiries they may see) and the organization's working
hours that response deadlines count in (admins)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from insidesales.calls.windows import WindowRules
from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.inbound import sla
from insidesales.inbound.services.speed_settings import working_hours_update
from insidesales.inbound.speed import GROUPS, duration_text, speed_report

PERIODS = (7, 30, 90, 365)
WEEKDAYS = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]
GROUP_LABELS = {
    "rep": gettext_lazy("Rep"),
    "team": gettext_lazy("Team"),
    "source": gettext_lazy("Source"),
    "hour": gettext_lazy("Hour of day"),
}


@require_GET
@member_view
def speed_to_lead(request: HttpRequest) -> HttpResponse:
    group = request.GET.get("group", "rep")
    group = group if group in GROUPS else "rep"
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    rows, total = speed_report(membership=request.membership, group_by=group, days=days)
    table = [
        {
            "row": row,
            "median": duration_text(row.median_seconds),
            "p90": duration_text(row.p90_seconds),
            "fast_pct": None if row.fast_share is None else round(100 * row.fast_share),
        }
        for row in [*rows, total]
    ]
    return render(
        request,
        "inbound/speed_to_lead.html",
        {
            "table": table[:-1],
            "total": table[-1],
            "group": group,
            "groups": [(g, GROUP_LABELS[g]) for g in GROUPS],
            "group_label": GROUP_LABELS[group],
            "days": days,
            "periods": PERIODS,
        },
    )


class WorkingHoursForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Working days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    start = forms.TimeField(label=gettext_lazy("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=gettext_lazy("To"), widget=forms.TimeInput(attrs={"type": "time"}))
    public_holidays = forms.BooleanField(
        label=gettext_lazy("Public holidays of the organization's country are not working days"), required=False
    )


def _initial(request: HttpRequest) -> dict:
    rules: WindowRules = sla.working_rules(request.membership.organization)
    window = rules.default[0]
    return {
        "weekdays": sorted(window.weekdays),
        "start": window.start,
        "end": window.end,
        "public_holidays": rules.public_holidays,
    }


@require_http_methods(["GET", "POST"])
@member_view
def working_hours(request: HttpRequest) -> HttpResponse:
    if not request.membership.is_admin:
        raise Http404()
    form = WorkingHoursForm(request.POST or None, initial=_initial(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                working_hours_update(membership=request.membership, **form.cleaned_data)
            except ValidationError as exc:
                for name, errors in exc.fields.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                messages.success(request, _("Working hours saved."))
                return redirect("inbound_working_hours")
        status = 422
    return render(
        request,
        "inbound/working_hours.html",
        {"form": form, "zone": request.membership.organization.time_zone},
        status=status,
    )
