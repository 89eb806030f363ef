"""The organization's email settings pages: sending rules (admins only; a 404 for everyone else, like the
other admin pages) and the suppression list under settings/mail/suppressions/ (admins and managers read,
search and remove; everyone may add an address)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.core.pagination import paginate
from insidesales.mail.compose import clean_address
from insidesales.mail.models import SuppressionReason
from insidesales.mail.selectors.suppression_list import can_manage_suppressions, suppression_get, suppression_list
from insidesales.mail.services import mail_settings as rules
from insidesales.mail.services import suppression
from insidesales.mail.views.mailbox_forms import (
    MailSettingsForm,
    SuppressionAddForm,
    SuppressionSearchForm,
    add_service_errors,
)

PAGE = 50


def _settings_page(request: HttpRequest, form: MailSettingsForm, status: int = 200) -> HttpResponse:
    settings = rules.mail_settings_for(request.membership.organization_id)
    context = {"tab": "sending", "form": form, "warnings": rules.mail_settings_warnings(settings)}
    return render(request, "mail/settings_mail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def mail_settings_edit(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    if not membership.is_admin:
        raise Http404()
    if request.method == "GET":
        settings = rules.mail_settings_for(membership.organization_id)
        initial = {name: getattr(settings, name) for name in rules.FIELDS if name != "attachment_max_bytes"}
        initial["sending_weekdays"] = [str(day) for day in settings.weekdays()]
        initial["attachment_max_kb"] = settings.attachment_max_bytes // 1024
        return _settings_page(request, MailSettingsForm(initial=initial))
    form = MailSettingsForm(request.POST)
    if form.is_valid():
        try:
            rules.mail_settings_update(actor=membership, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Sending settings saved."))
            return redirect("mail_settings")
    return _settings_page(request, form, status=422)


# ---- the suppression list ---------------------------------------------------------------------------


def _suppressions_page(request: HttpRequest, add_form=None, status: int = 200) -> HttpResponse:
    membership = request.membership
    search = SuppressionSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    manage = can_manage_suppressions(membership)
    page = None
    if manage:
        cursor = request.GET.get("cursor") or None
        try:
            page = paginate(
                suppression_list(membership=membership, search=query), order="-id", cursor=cursor, limit=PAGE
            )
        except ValidationError:  # a cursor edited by hand: start again from the top
            page = paginate(suppression_list(membership=membership, search=query), order="-id", cursor=None, limit=PAGE)
    context = {
        "tab": "suppressions",
        "add_form": add_form or SuppressionAddForm(),
        "search": search,
        "query": query,
        "page": page,
        "can_manage": manage,
    }
    return render(request, "mail/suppression_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def suppression_list_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _suppressions_page(request)
    form = SuppressionAddForm(request.POST)
    if form.is_valid():
        try:
            address = clean_address(form.cleaned_data["email"].strip())
        except ValueError:
            form.add_error("email", _("Enter a valid email address, like name@example.com."))
        else:
            entry = suppression.suppression_add(
                organization_id=request.membership.organization_id,
                email=address,
                reason=SuppressionReason.MANUAL,
                actor=request.membership,
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("%(email)s will not be emailed again.") % {"email": entry.email})
            return redirect("suppression_list")
    return _suppressions_page(request, add_form=form, status=422)


@require_POST
@member_view
def suppression_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = suppression_get(membership=request.membership, suppression_id=pk, for_removal=True)
    suppression.suppression_remove(actor=request.membership, suppression=entry)
    messages.success(request, _("%(email)s was taken off the suppression list.") % {"email": entry.email})
    back = reverse("suppression_list")
    query = request.POST.get("q", "").strip()
    return redirect(f"{back}?{urlencode({'q': query})}" if query else back)
