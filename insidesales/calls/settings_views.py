"""The organization's telephony settings pages, for admins (everyone else gets a 404, as if the pages did
not exist): provider and notices, calling windows with a "test a number" tool, caller IDs, dispositions.
Thin: read the form, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.calls import settings_selectors as selectors
from insidesales.calls.compliance import WindowRules
from insidesales.calls.services import caller_ids, dispositions
from insidesales.calls.services import settings as telephony
from insidesales.calls.services.config import disposition_label, telephony_settings
from insidesales.calls.settings_forms import (
    CallerIdForm,
    DispositionSettingsForm,
    NoticeFormSet,
    ProviderForm,
    WindowCheckForm,
    WindowFormSet,
    WindowOptionsForm,
    add_service_errors,
    disposition_initial,
    notice_initial,
    window_initial,
    window_rules_json,
)
from insidesales.core.errors import Conflict, ValidationError
from insidesales.core.http import member_view
from insidesales.core.phones import format_phone
from insidesales.crm.models import LeadStatus
from insidesales.orgs.models import Membership, Team

MORE_ROWS = 3


def _admin(request: HttpRequest) -> Membership:
    """The admin's membership; everyone else gets a 404, as for the other admin pages."""
    if not request.membership.is_admin:
        raise Http404()
    return request.membership


# ---- provider ---------------------------------------------------------------------------------


def _provider_page(request: HttpRequest, form, notices, notice_errors=(), status: int = 200) -> HttpResponse:
    context = {"tab": "provider", "form": form, "notices": notices, "notice_errors": list(notice_errors)}
    response = render(request, "calls/settings_provider.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@member_view
def telephony_settings_edit(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    config = telephony_settings(membership.organization_id)
    stored, readable = telephony.stored_credentials(config)
    hints = {name: telephony.secret_hint(stored[name]) if name in stored else None for name in telephony.SECRET_FIELDS}
    if not readable and config.credentials_encrypted:
        hints = dict.fromkeys(telephony.SECRET_FIELDS, "")  # something is stored: offer to replace or remove it
        messages.warning(request, _("The stored secrets cannot be decrypted with this server's key: enter them again."))
    if request.method == "GET":
        initial = {
            **telephony.SIP_DEFAULTS,
            **config.provider_config,
            "provider": config.provider,
            "abandon_message": config.abandon_message,
            "recording_enabled": config.recording_enabled,
            "callback_release_minutes": config.callback_release_minutes,
        }
        form = ProviderForm(initial=initial, secret_hints=hints, organization_name=membership.organization.name)
        notices = NoticeFormSet(initial=notice_initial(config.recording_notices or {}), prefix="notice")
        return _provider_page(request, form, notices)
    form = ProviderForm(request.POST, secret_hints=hints, organization_name=membership.organization.name)
    notices = NoticeFormSet(request.POST, prefix="notice")
    notice_errors: list[str] = []
    if form.is_valid() and notices.is_valid():
        data = {**form.cleaned_data, "recording_notices": notices.notices()}
        try:
            telephony.telephony_settings_update(membership=membership, data=data)
        except ValidationError as exc:
            notice_errors = add_service_errors(form, exc)  # the notices are the only rows the form lacks
        else:
            messages.success(request, _("Telephony settings saved."))
            return redirect("telephony_settings")
    notice_errors += list(notices.non_form_errors())
    for name in telephony.SECRET_FIELDS:  # never sent back to the browser: ask for it again
        if request.POST.get(name) and not form.has_error(name):
            form.add_error(name, _("Not saved yet: type it again."))
    return _provider_page(request, form, notices, notice_errors, status=422)


# ---- calling windows ------------------------------------------------------------------------------


def _windows_page(request: HttpRequest, rows, options, check_form=None, check=None, status: int = 200):
    context = {
        "tab": "windows",
        "rows": rows,
        "options": options,
        "check_form": check_form or WindowCheckForm(),
        "check": check,
        "org_zone": request.membership.organization.time_zone,
        "now": timezone.now(),
    }
    return render(request, "calls/settings_windows.html", context, status=status)


def _saved_window_forms(membership: Membership):
    try:
        rules = WindowRules.from_json(telephony_settings(membership.organization_id).window_rules or {})
    except (ValueError, TypeError):  # written by something other than this page: start from the defaults
        rules = WindowRules()
    options = WindowOptionsForm(
        initial={
            "blocked_dates": "\n".join(day.isoformat() for day in sorted(rules.blocked_dates)),
            "public_holidays": rules.public_holidays,
            "trust_stored_zones": rules.trust_stored_zones,
        }
    )
    return WindowFormSet(initial=window_initial(rules), prefix="w"), options


@require_http_methods(["GET", "POST"])
@member_view
def telephony_windows(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    if request.method == "GET":
        return _windows_page(request, *_saved_window_forms(membership))
    data = request.POST.copy()
    if "more_rows" in data:  # room for more rows, keeping what was typed
        try:
            data["w-TOTAL_FORMS"] = str(int(data.get("w-TOTAL_FORMS", 0)) + MORE_ROWS)
        except ValueError:
            pass
        return _windows_page(request, WindowFormSet(data, prefix="w"), WindowOptionsForm(data))
    rows, options = WindowFormSet(data, prefix="w"), WindowOptionsForm(data)
    if rows.is_valid() and options.is_valid():
        try:
            telephony.window_rules_update(membership=membership, rules=window_rules_json(rows, options))
        except ValidationError as exc:
            options.add_error(None, "; ".join(m for ms in exc.fields.values() for m in ms))
        else:
            messages.success(request, _("Calling windows saved."))
            return redirect("telephony_windows")
    return _windows_page(request, rows, options, status=422)


@require_GET
@member_view
def telephony_window_check(request: HttpRequest) -> HttpResponse:
    """The "test a number" tool: may this number be called now, and if not, why and when."""
    membership = _admin(request)
    form = WindowCheckForm(request.GET)
    check, status = None, 200
    if form.is_valid():
        check = selectors.window_check(
            membership=membership,
            phone=form.cleaned_data["phone"],
            time_zone=form.cleaned_data["time_zone"],
            now=timezone.now(),
        )
        if check is None:
            form.add_error("phone", _("This does not look like a phone number."))
    if form.errors:
        status = 422
    if request.htmx:
        context = {"check_form": form, "check": check, "org_zone": membership.organization.time_zone}
        return render(request, "calls/settings_windows.html#window_check", context, status=status)
    rows, options = _saved_window_forms(membership)
    return _windows_page(request, rows, options, check_form=form, check=check, status=status)


# ---- caller IDs ---------------------------------------------------------------------------------


def _teams(membership: Membership):
    return Team.objects.filter(organization_id=membership.organization_id).order_by("name")


def _caller_ids_page(request: HttpRequest, form, status: int = 200) -> HttpResponse:
    membership = request.membership
    region = membership.organization.default_region
    rows = [
        {"caller_id": item, "shown": format_phone(item.number, region)}
        for item in selectors.caller_id_list(membership=membership)
    ]
    context = {"tab": "caller_ids", "rows": rows, "form": form}
    return render(request, "calls/settings_caller_ids.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def caller_id_list(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    if request.method == "GET":
        return _caller_ids_page(request, CallerIdForm(teams=_teams(membership)))
    form = CallerIdForm(request.POST, teams=_teams(membership))
    if form.is_valid():
        try:
            caller_id = caller_ids.caller_id_create(membership=membership, data=form.to_service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(number)s added.") % {"number": caller_id.number})
            return redirect("telephony_caller_id_list")
    return _caller_ids_page(request, form, status=422)


@require_http_methods(["GET", "POST"])
@member_view
def caller_id_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    caller_id = selectors.caller_id_get(membership=membership, caller_id_id=pk)
    if request.method == "GET":
        initial = {
            "number": caller_id.number,
            "label": caller_id.label,
            "team": caller_id.team_id,
            "region": caller_id.region,
            "is_default": caller_id.is_default,
        }
        form = CallerIdForm(initial=initial, teams=_teams(membership))
        context = {"tab": "caller_ids", "form": form, "caller_id": caller_id}
        return render(request, "calls/settings_caller_id_edit.html", context)
    form = CallerIdForm(request.POST, teams=_teams(membership))
    if form.is_valid():
        try:
            caller_ids.caller_id_update(membership=membership, caller_id_id=caller_id.pk, data=form.to_service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Caller ID saved."))
            return redirect("telephony_caller_id_list")
    context = {"tab": "caller_ids", "form": form, "caller_id": caller_id}
    return render(request, "calls/settings_caller_id_edit.html", context, status=422)


@require_POST
@member_view
def caller_id_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    caller_ids.caller_id_delete(membership=membership, caller_id_id=pk)
    messages.success(request, _("Caller ID removed."))
    return redirect("telephony_caller_id_list")


# ---- dispositions --------------------------------------------------------------------------------


def _dispositions_page(request: HttpRequest, form, status: int = 200) -> HttpResponse:
    statuses = dict(LeadStatus.choices)
    rows = [
        {
            "disposition": item,
            "label": disposition_label(item),
            "actions": item.actions or {},
            "status_label": statuses.get((item.actions or {}).get("lead_status") or "", ""),
        }
        for item in selectors.disposition_list(membership=request.membership)
    ]
    context = {"tab": "dispositions", "rows": rows, "form": form}
    return render(request, "calls/settings_dispositions.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def disposition_list(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    if request.method == "GET":
        return _dispositions_page(request, DispositionSettingsForm(membership=membership))
    form = DispositionSettingsForm(request.POST, membership=membership)
    if form.is_valid():
        try:
            disposition = dispositions.disposition_create(membership=membership, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Disposition “%(label)s” added.") % {"label": disposition.label})
            return redirect("telephony_disposition_list")
    return _dispositions_page(request, form, status=422)


@require_http_methods(["GET", "POST"])
@member_view
def disposition_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    disposition = selectors.disposition_get(membership=membership, disposition_id=pk)
    shown = disposition_label(disposition)
    context = {"tab": "dispositions", "disposition": disposition, "shown_label": shown}
    if request.method == "GET":
        form = DispositionSettingsForm(
            initial=disposition_initial(disposition, shown), creating=False, membership=membership
        )
        return render(request, "calls/settings_disposition_edit.html", {**context, "form": form})
    form = DispositionSettingsForm(request.POST, creating=False, membership=membership)
    if form.is_valid():
        try:
            dispositions.disposition_update(
                membership=membership, disposition_id=disposition.pk, data=form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Disposition saved."))
            return redirect("telephony_disposition_list")
    return render(request, "calls/settings_disposition_edit.html", {**context, "form": form}, status=422)


@require_POST
@member_view
def disposition_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    is_active = request.POST.get("is_active") == "1"
    try:
        disposition = dispositions.disposition_set_active(membership=membership, disposition_id=pk, is_active=is_active)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        label = disposition_label(disposition)
        if disposition.is_active:
            messages.success(request, _("“%(label)s” is offered to reps again.") % {"label": label})
        else:
            messages.success(request, _("“%(label)s” is switched off.") % {"label": label})
    return redirect("telephony_disposition_list")
