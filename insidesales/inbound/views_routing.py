"""Routing settings pages: the ordered rules (admins edit, managers read), the rule editor, "test this lead",
and reps' availability for inbound leads. Thin: read the form, call one service or selector, render."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.models import LeadSource
from insidesales.inbound.models import AssignTo, Channel, SlaAction, WebForm
from insidesales.inbound.routing import FIELD_LABELS, OP_LABELS
from insidesales.inbound.services import routing_rules as service
from insidesales.orgs.models import Agency, Membership, Team

BLANK_ROWS = 3
MORE_ROWS = 3


def _admin(request: HttpRequest) -> Membership:
    """The admin's membership; everyone else gets a 404, as for the other admin pages."""
    if not request.membership.is_admin:
        raise Http404()
    return request.membership


def _reader(request: HttpRequest) -> Membership:
    """Admins and managers read the routing pages; for everyone else they do not exist."""
    if not service.can_read_rules(request.membership):
        raise Http404()
    return request.membership


def field_labels(membership: Membership) -> dict[str, str]:
    labels = {name: str(label) for name, label in FIELD_LABELS.items()}
    for custom in service.lead_custom_fields(membership=membership):
        labels[f"custom:{custom.key}"] = custom.label
    return labels


# --- summaries ---------------------------------------------------------------------------------------------


def _value_text(condition: dict[str, Any]) -> str:
    value = condition.get("value", "")
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def condition_text(condition: dict[str, Any], labels: dict[str, str]) -> str:
    field = labels.get(condition.get("field", ""), condition.get("field", ""))
    op = str(OP_LABELS.get(condition.get("op", ""), condition.get("op", "")))
    if condition.get("op") in service.VALUELESS_OPS:
        return f"{field} {op}"
    return f"{field} {op} “{_value_text(condition)}”"


def assignment_text(rule) -> str:
    if rule.assign_to == AssignTo.USER:
        who = (rule.user.full_name or rule.user.email) if rule.user_id else _("nobody (choose a person)")
        return _("to %(who)s") % {"who": who}
    if rule.assign_to in (AssignTo.ROUND_ROBIN, AssignTo.LEAST_OPEN):
        team = rule.team.name if rule.team_id else _("no team")
        if rule.assign_to == AssignTo.LEAST_OPEN:
            return _("to whoever in %(team)s has the fewest open leads") % {"team": team}
        if rule.weights:
            return _("round robin in %(team)s, weighted") % {"team": team}
        return _("round robin in %(team)s") % {"team": team}
    if rule.assign_to == AssignTo.AGENCY:
        return _("to agency %(agency)s") % {"agency": rule.agency.name if rule.agency_id else "—"}
    if rule.assign_to == AssignTo.ACCOUNT_OWNER:
        return _("to the owner of the matching account")
    return _("left in the unassigned pool")


def sla_text(rule) -> str:
    if not rule.sla_minutes:
        return ""
    hours = _("working hours") if rule.sla_working_hours else _("clock time")
    text = _("first touch within %(n)d min (%(hours)s)") % {"n": rule.sla_minutes, "hours": hours}
    if rule.sla_action != SlaAction.NONE:
        text += "; " + _("if missed: %(action)s") % {"action": str(rule.get_sla_action_display()).lower()}
    return text


def rule_rows(rules: list, labels: dict[str, str]) -> list[dict[str, Any]]:
    movable = [r.pk for r in rules if not r.is_default]
    return [
        {
            "rule": rule,
            "conditions": [condition_text(c, labels) for c in rule.conditions or []],
            "assignment": assignment_text(rule),
            "sla": sla_text(rule),
            "first": bool(movable) and rule.pk == movable[0],
            "last": bool(movable) and rule.pk == movable[-1],
        }
        for rule in rules
    ]


# --- forms -------------------------------------------------------------------------------------------------


class ConditionForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Field"), required=False)
    op = forms.ChoiceField(label=gettext_lazy("Operator"), required=False, choices=list(OP_LABELS.items()))
    value = forms.CharField(
        label=gettext_lazy("Value"),
        required=False,
        max_length=1000,
        help_text=gettext_lazy("For “is one of”, separate values with commas."),
    )

    def __init__(self, *args, field_choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "—"), *field_choices]


ConditionFormSet = forms.formset_factory(ConditionForm, extra=0, max_num=service.MAX_CONDITIONS + MORE_ROWS)


def _choices(items) -> list[tuple[str, str]]:
    return [("", "—"), *items]


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    assign_to = forms.ChoiceField(
        label=gettext_lazy("Assign to"),
        choices=AssignTo.choices,
        widget=forms.RadioSelect,
        initial=AssignTo.ROUND_ROBIN,
    )
    user_id = forms.ChoiceField(label=gettext_lazy("Person"), required=False)
    team_id = forms.ChoiceField(label=gettext_lazy("Team"), required=False)
    agency_id = forms.ChoiceField(label=gettext_lazy("Agency"), required=False)
    prefer_account_owner = forms.BooleanField(label=gettext_lazy("Existing accounts go to their owner"), required=False)
    skip_offline = forms.BooleanField(label=gettext_lazy("Only reps who are online"), required=False)
    sla_minutes = forms.IntegerField(
        label=gettext_lazy("First touch within, minutes"),
        required=False,
        min_value=1,
        max_value=service.SLA_MAX_MINUTES,
        help_text=gettext_lazy("Empty: no deadline."),
    )
    sla_working_hours = forms.BooleanField(label=gettext_lazy("Count working hours only"), required=False)
    sla_action = forms.ChoiceField(label=gettext_lazy("When missed"), choices=SlaAction.choices)
    sla_max_reassignments = forms.IntegerField(
        label=gettext_lazy("Reassign at most"), min_value=0, max_value=service.MAX_REASSIGNMENTS, initial=2
    )

    def __init__(self, *args, membership: Membership, is_default: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        members = list(service.routing_members(membership=membership))
        self.fields["user_id"].choices = _choices((str(m.user_id), m.user.full_name or m.user.email) for m in members)
        teams = Team.objects.filter(organization_id=membership.organization_id).order_by("name")
        self.fields["team_id"].choices = _choices((str(t.pk), t.name) for t in teams)
        agencies = Agency.objects.filter(organization_id=membership.organization_id, is_active=True).order_by("name")
        self.fields["agency_id"].choices = _choices((str(a.pk), a.name) for a in agencies)
        # Round-robin weights: one field per rep of every team; the page shows the chosen team's.
        self.weight_groups: list[dict[str, Any]] = []
        for team in teams:
            names = []
            for rep in service.team_reps(membership.organization_id, team.pk):
                name = f"weight_{rep.user_id}"
                self.fields[name] = forms.IntegerField(
                    label=rep.user.full_name or rep.user.email,
                    required=False,
                    min_value=0,
                    max_value=service.MAX_WEIGHT,
                    widget=forms.NumberInput(attrs={"placeholder": "1", "class": "weight"}),
                )
                names.append(name)
            self.weight_groups.append({"team": team, "names": names})
        self.is_default = is_default

    def weight_fields(self) -> list[dict[str, Any]]:
        return [{"team": g["team"], "fields": [self[name] for name in g["names"]]} for g in self.weight_groups]

    def to_service_data(self, conditions: list[dict[str, Any]]) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in service.RULE_FIELDS if name in self.cleaned_data}
        data["conditions"] = conditions
        team = str(data.get("team_id") or "")
        group = next((g for g in self.weight_groups if str(g["team"].pk) == team), None)
        data["weights"] = {
            name.removeprefix("weight_"): self.cleaned_data[name]
            for name in (group["names"] if group else [])
            if self.cleaned_data.get(name) is not None
        }
        return data


def rule_initial(rule) -> dict[str, Any]:
    initial = {name: getattr(rule, name) for name in service.RULE_FIELDS if name not in ("conditions", "weights")}
    for uid, weight in (rule.weights or {}).items():
        initial[f"weight_{uid}"] = weight
    return initial


def condition_initial(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"field": c.get("field"), "op": c.get("op"), "value": _value_text(c)} for c in conditions]


def conditions_from(formset) -> list[dict[str, Any]]:
    """The filled-in rows (a row without a field is a blank one); the service checks the rest."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data if form.is_valid() else {}
        if data.get("field"):
            rows.append({"field": data["field"], "op": data.get("op") or "eq", "value": data.get("value", "")})
    return rows


def add_service_errors(form: forms.Form, exc: ValidationError) -> list[str]:
    """A service's field errors on the form's fields; condition errors are returned for the rows' table."""
    extra: list[str] = []
    for name, problems in exc.fields.items():
        for problem in problems:
            if name == "conditions":
                extra.append(str(problem))
            else:
                form.add_error(name if name in form.fields else None, str(problem))
    if not exc.fields:
        form.add_error(None, exc.message)
    return extra


# --- rules -------------------------------------------------------------------------------------------------


@require_GET
@member_view
def routing_rule_list(request: HttpRequest) -> HttpResponse:
    membership = _reader(request)
    rules = service.routing_rule_list(membership=membership)
    context = {"rows": rule_rows(rules, field_labels(membership)), "can_edit": membership.is_admin}
    return render(request, "inbound/routing/rule_list.html", context)


def _editor(request: HttpRequest, form, conditions, rule=None, condition_errors=(), status: int = 200):
    context = {
        "form": form,
        "conditions": conditions,
        "condition_errors": list(condition_errors),
        "rule": rule,
        "is_default": bool(rule and rule.is_default),
    }
    return render(request, "inbound/routing/rule_form.html", context, status=status)


def _condition_formset(membership: Membership, data=None, initial=None):
    choices = list(field_labels(membership).items())
    return ConditionFormSet(data, initial=initial, prefix="c", form_kwargs={"field_choices": choices})


def _save_rule(request: HttpRequest, membership: Membership, rule=None) -> HttpResponse:
    data = request.POST.copy()
    if "more_rows" in data:  # room for more conditions, keeping what was typed
        try:
            data["c-TOTAL_FORMS"] = str(int(data.get("c-TOTAL_FORMS", 0)) + MORE_ROWS)
        except ValueError:
            pass
        form = RuleForm(data, membership=membership, is_default=bool(rule and rule.is_default))
        form.is_bound = False  # shown again as typed, without "required" errors on the way
        form.initial = data.dict()
        return _editor(request, form, _condition_formset(membership, data), rule)
    form = RuleForm(data, membership=membership, is_default=bool(rule and rule.is_default))
    conditions = _condition_formset(membership, data)
    condition_errors: list[str] = []
    if form.is_valid() and conditions.is_valid():
        payload = form.to_service_data(conditions_from(conditions))
        try:
            if rule is None:
                saved = service.routing_rule_create(membership=membership, data=payload)
            else:
                saved = service.routing_rule_update(membership=membership, rule_id=rule.pk, data=payload)
        except ValidationError as exc:
            condition_errors = add_service_errors(form, exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
            return redirect("routing_rule_list")
    return _editor(request, form, conditions, rule, condition_errors, status=422)


@require_http_methods(["GET", "POST"])
@member_view
def routing_rule_create(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    if request.method == "POST":
        return _save_rule(request, membership)
    initial = {"prefer_account_owner": True, "skip_offline": True, "sla_working_hours": True, "sla_action": "both"}
    form = RuleForm(initial=initial, membership=membership)
    return _editor(request, form, _condition_formset(membership, initial=[{} for _ in range(BLANK_ROWS)]))


@require_http_methods(["GET", "POST"])
@member_view
def routing_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    rule = service.routing_rule_get(membership=membership, rule_id=pk)
    if request.method == "POST":
        return _save_rule(request, membership, rule)
    form = RuleForm(initial=rule_initial(rule), membership=membership, is_default=rule.is_default)
    rows = condition_initial(rule.conditions or []) + ([] if rule.is_default else [{} for _ in range(BLANK_ROWS)])
    return _editor(request, form, _condition_formset(membership, initial=rows), rule)


@require_POST
@member_view
def routing_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    rule = service.routing_rule_get(membership=membership, rule_id=pk)
    try:
        service.routing_rule_delete(membership=membership, rule_id=rule.pk)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Rule “%(name)s” removed.") % {"name": rule.name})
    return redirect("routing_rule_list")


@require_POST
@member_view
def routing_rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    direction = "up" if request.POST.get("direction") == "up" else "down"
    try:
        service.routing_rule_move(membership=membership, rule_id=pk, direction=direction)
    except Conflict as exc:
        messages.error(request, exc.message)
    return redirect("routing_rule_list")


@require_POST
@member_view
def routing_rule_active(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    is_active = request.POST.get("is_active") == "1"
    try:
        rule = service.routing_rule_set_active(membership=membership, rule_id=pk, is_active=is_active)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        if rule.is_active:
            messages.success(request, _("“%(name)s” routes leads again.") % {"name": rule.name})
        else:
            messages.success(request, _("“%(name)s” is switched off.") % {"name": rule.name})
    return redirect("routing_rule_list")


# --- test this lead ----------------------------------------------------------------------------------------


class RoutingTestForm(forms.Form):
    lead_id = forms.IntegerField(
        label=gettext_lazy("Existing lead (id)"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Or leave it empty and describe a lead below."),
    )
    country = forms.CharField(label=gettext_lazy("Country"), required=False, max_length=2)
    time_zone = forms.CharField(label=gettext_lazy("Time zone"), required=False, max_length=64)
    source = forms.ChoiceField(
        label=gettext_lazy("Source"), required=False, choices=LeadSource.choices, initial="web_form"
    )
    company_name = forms.CharField(label=gettext_lazy("Company"), required=False, max_length=255)
    email = forms.CharField(label=gettext_lazy("Email"), required=False, max_length=254)
    title = forms.CharField(label=gettext_lazy("Job title"), required=False, max_length=150)
    form_id = forms.ChoiceField(label=gettext_lazy("Web form"), required=False)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False, choices=_choices(Channel.choices))
    utm_source = forms.CharField(label=gettext_lazy("UTM source"), required=False, max_length=200)
    utm_medium = forms.CharField(label=gettext_lazy("UTM medium"), required=False, max_length=200)
    utm_campaign = forms.CharField(label=gettext_lazy("UTM campaign"), required=False, max_length=200)

    def __init__(self, *args, membership: Membership, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        webforms = WebForm.objects.filter(organization_id=membership.organization_id).order_by("name")
        self.fields["form_id"].choices = _choices((str(w.pk), w.name) for w in webforms)
        self.custom_names = []
        for custom in service.lead_custom_fields(membership=membership):
            name = f"custom_{custom.key}"
            self.fields[name] = forms.CharField(label=custom.label, required=False, max_length=200)
            self.custom_names.append((name, custom.key))

    def custom_fields(self) -> list:
        return [self[name] for name, _key in self.custom_names]

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["custom"] = {key: data.pop(name) for name, key in self.custom_names}
        data["utm"] = {key: data.pop(f"utm_{key}") for key in ("source", "medium", "campaign")}
        data.pop("lead_id", None)
        return data


@require_GET
@member_view
def routing_test(request: HttpRequest) -> HttpResponse:
    """Which rule would take a lead and who would get it, with every rule tried — changing nothing."""
    membership = _reader(request)
    submitted = "run" in request.GET
    form = RoutingTestForm(request.GET if submitted else None, membership=membership)
    decision, facts, status = None, None, 200
    if submitted and form.is_valid():
        lead_id = form.cleaned_data.get("lead_id")
        try:
            decision, facts = service.routing_test(membership=membership, lead_id=lead_id, data=form.to_service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        except NotFound:
            form.add_error("lead_id", _("There is no lead with this id that you can see."))
    if form.errors:
        status = 422
    labels = field_labels(membership)
    context = {
        "form": form,
        "decision": decision,
        "facts": [(labels.get(k, k), v) for k, v in (facts or {}).items() if v not in (None, "")],
    }
    return render(request, "inbound/routing/test.html", context, status=status)


# --- availability ------------------------------------------------------------------------------------------


class AvailabilityForm(forms.Form):
    accepts_inbound = forms.BooleanField(label=gettext_lazy("Takes inbound leads"), required=False)
    away_from = forms.DateTimeField(
        label=gettext_lazy("Out of office from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    away_until = forms.DateTimeField(
        label=gettext_lazy("Out of office until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    max_open_leads = forms.IntegerField(
        label=gettext_lazy("At most this many new leads at a time"),
        required=False,
        min_value=0,
        max_value=service.MAX_OPEN_LEADS,
        help_text=gettext_lazy("Empty: no limit."),
    )


def _zone(member: Membership) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(member.user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _availability_initial(availability) -> dict[str, Any]:
    return {name: getattr(availability, name) for name in service.AVAILABILITY_FIELDS}


def _save_availability(request: HttpRequest, membership: Membership, member: Membership, form) -> bool:
    """Dates are read in the rep's own time zone (stored in UTC)."""
    with timezone.override(_zone(member)):
        if not form.is_valid():
            return False
        try:
            service.availability_update(membership=membership, user_id=member.user_id, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return False
    return True


@require_http_methods(["GET", "POST"])
@member_view
def availability_list(request: HttpRequest) -> HttpResponse:
    """Everyone's own availability on top; below, the reps this member looks after, with their state now."""
    membership = request.membership
    me = service.availability_member(membership=membership, user_id=membership.user_id)
    status = 200
    if request.method == "POST":
        form = AvailabilityForm(request.POST)
        if _save_availability(request, membership, me, form):
            messages.success(request, _("Your availability is saved."))
            return redirect("availability_list")
        status = 422
    else:
        own = service.availability_get(membership=membership, user_id=membership.user_id)
        form = AvailabilityForm(initial=_availability_initial(own))
    rows = service.availability_rows(membership=membership)
    context = {"form": form, "rows": rows, "zone": _zone(me), "others": len(rows) > 1}
    with timezone.override(_zone(me)):
        return render(request, "inbound/routing/availability.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def availability_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    """A manager (their teams' reps) or an admin (anyone) sets someone's availability, in that rep's zone."""
    membership = request.membership
    member = service.availability_member(membership=membership, user_id=user_id)
    status = 200
    if request.method == "POST":
        form = AvailabilityForm(request.POST)
        if _save_availability(request, membership, member, form):
            name = member.user.full_name or member.user.email
            messages.success(request, _("Availability of %(name)s saved.") % {"name": name})
            return redirect("availability_list")
        status = 422
    else:
        form = AvailabilityForm(
            initial=_availability_initial(service.availability_get(membership=membership, user_id=user_id))
        )
    context = {"form": form, "member": member, "zone": _zone(member)}
    with timezone.override(_zone(member)):
        return render(request, "inbound/routing/availability_edit.html", context, status=status)
