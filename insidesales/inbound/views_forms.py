"""The web form settings pages (settings/forms/): the list, a new form, and each form's tabs — settings with
the field editor, "Use it" (the embed snippets), recent submissions and spam review. Admins change forms;
managers may look; everyone else gets a 404. Thin: read the form, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.core.pagination import paginate
from insidesales.inbound import selectors_forms as selectors
from insidesales.inbound.forms_ui import (
    NEW_FORM_FIELDS,
    ROWS_PREFIX,
    FieldRowFormSet,
    WebFormSettingsForm,
    add_service_errors,
    field_rows_initial,
    fields_from_rows,
    label_rows,
    new_form_initial,
    settings_initial,
)
from insidesales.inbound.models import WebForm
from insidesales.inbound.services import forms as service
from insidesales.orgs.models import Membership

SUBMISSIONS_PER_PAGE = 50
SAMPLE_VALUE_MAX = 300


def _viewer(request: HttpRequest) -> Membership:
    if not selectors.can_view_forms(request.membership):
        raise Http404()
    return request.membership


def _admin(request: HttpRequest) -> Membership:
    """The admin's membership; everyone else gets a 404, as for the other admin pages."""
    if not request.membership.is_admin:
        raise Http404()
    return request.membership


def _rows(membership: Membership, data=None, fields=None):
    catalog = selectors.field_catalog(membership=membership)
    if data is not None:
        formset = FieldRowFormSet(data, prefix=ROWS_PREFIX)
    else:
        formset = FieldRowFormSet(initial=field_rows_initial(fields or [], catalog), prefix=ROWS_PREFIX)
    return label_rows(formset, catalog)


def _read(request: HttpRequest, membership: Membership):
    """The settings form and field rows as posted, and the service's data when both are well-formed."""
    form = WebFormSettingsForm(request.POST)
    rows = _rows(membership, data=request.POST)
    data = None
    if form.is_valid() and rows.is_valid():
        data = form.to_service_data(fields_from_rows(rows))
    return form, rows, data


def _field_errors(rows, leftover) -> list[str]:
    errors = list(leftover)
    if rows.is_bound and not rows.is_valid():
        errors += [str(e) for e in rows.non_form_errors()]
        for row in rows.forms:
            label = getattr(row, "field_name", "")
            for messages_ in row.errors.values():
                errors += [f"{label}: {m}" if label else str(m) for m in messages_]
    return errors


# ---- list and new form -------------------------------------------------------------------------------


@require_GET
@member_view
def web_form_list(request: HttpRequest) -> HttpResponse:
    membership = _viewer(request)
    forms = list(selectors.web_form_list(membership=membership))
    context = {"forms": forms, "can_edit": membership.is_admin, "recent_days": selectors.RECENT_DAYS}
    return render(request, "inbound/forms/list.html", context)


@require_http_methods(["GET", "POST"])
@member_view
def web_form_create(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    if request.method == "GET":
        form = WebFormSettingsForm(initial=new_form_initial(request.LANGUAGE_CODE))
        rows = _rows(membership, fields=NEW_FORM_FIELDS)
        return render(request, "inbound/forms/create.html", {"form": form, "rows": rows, "field_errors": []})
    form, rows, data = _read(request, membership)
    leftover: list[str] = []
    if data is not None:
        try:
            created = service.web_form_create(membership=membership, data=data)
        except ValidationError as exc:
            leftover = add_service_errors(form, exc)
        else:
            messages.success(request, _("Form “%(name)s” created.") % {"name": created.name})
            return redirect("web_form_use", created.pk)
    context = {"form": form, "rows": rows, "field_errors": _field_errors(rows, leftover)}
    return render(request, "inbound/forms/create.html", context, status=422)


# ---- one form's tabs -----------------------------------------------------------------------------------


def _tab(request: HttpRequest, web_form: WebForm, tab: str, template: str, status: int = 200, **context: Any):
    context.update(web_form=web_form, tab=tab, can_edit=request.membership.is_admin)
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def web_form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The settings tab: the editor for admins, a read-only summary for managers."""
    membership = _viewer(request) if request.method == "GET" else _admin(request)
    web_form = selectors.web_form_get(membership=membership, form_id=pk)
    if request.method == "GET":
        if not membership.is_admin:
            catalog = selectors.field_catalog(membership=membership)
            shown = [{**item, "name": catalog.get(item["key"], item["key"])} for item in web_form.fields]
            return _tab(request, web_form, "settings", "inbound/forms/settings_view.html", shown_fields=shown)
        form = WebFormSettingsForm(initial=settings_initial(web_form))
        rows = _rows(membership, fields=web_form.fields)
        return _tab(request, web_form, "settings", "inbound/forms/settings.html", form=form, rows=rows, field_errors=[])
    form, rows, data = _read(request, membership)
    leftover: list[str] = []
    if data is not None:
        try:
            service.web_form_update(membership=membership, form_id=web_form.pk, data=data)
        except ValidationError as exc:
            leftover = add_service_errors(form, exc)
        else:
            messages.success(request, _("Form saved."))
            return redirect("web_form_detail", web_form.pk)
    return _tab(
        request,
        web_form,
        "settings",
        "inbound/forms/settings.html",
        status=422,
        form=form,
        rows=rows,
        field_errors=_field_errors(rows, leftover),
    )


def _snippets(web_form: WebForm, request: HttpRequest) -> list[dict[str, str]]:
    """The embed snippets from `insidesales.inbound.embedding`, when that module is installed."""
    try:
        from insidesales.inbound.embedding import snippets  # type: ignore[import-not-found]
    except ImportError:
        return []
    found = snippets(web_form, request) or {}
    titles = {
        "hosted_url": (_("Link to the hosted page"), _("Send it or link to it; it works without your own site.")),
        "iframe": (_("Embed in a frame"), _("Paste into your page's HTML where the form should appear.")),
        "script": (_("Embed with a script"), _("The form takes your page's width and grows with its content.")),
        "html": (_("Plain HTML form"), _("Style it yourself; it posts to the same address.")),
    }
    return [
        {"key": key, "title": titles[key][0], "help": titles[key][1], "text": found[key]}
        for key in titles
        if found.get(key)
    ]


@require_GET
@member_view
def web_form_use(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _viewer(request)
    web_form = selectors.web_form_get(membership=membership, form_id=pk)
    return _tab(request, web_form, "use", "inbound/forms/use.html", snippets=_snippets(web_form, request))


@require_GET
@member_view
def web_form_submissions(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _viewer(request)
    web_form = selectors.web_form_get(membership=membership, form_id=pk)
    queryset = selectors.web_form_submissions(membership=membership, form=web_form).select_related("lead", "contact")
    cursor = request.GET.get("cursor") or None
    try:
        page = paginate(queryset, order="-received_at", cursor=cursor, limit=SUBMISSIONS_PER_PAGE)
    except ValidationError as exc:
        raise Http404() from exc
    leads, contacts = selectors.visible_record_ids(membership=membership, submissions=page.items)
    rows = [
        {
            "submission": item,
            "lead": item.lead if item.lead_id in leads else None,
            "contact": item.contact if item.contact_id in contacts else None,
            "hidden_record": bool(
                (item.lead_id and item.lead_id not in leads) or (item.contact_id and item.contact_id not in contacts)
            ),
            "utm_source": str((item.utm or {}).get("source") or (item.utm or {}).get("utm_source") or ""),
            "utm_campaign": str((item.utm or {}).get("campaign") or (item.utm or {}).get("utm_campaign") or ""),
        }
        for item in page.items
    ]
    next_query = urlencode({"cursor": page.next_cursor}) if page.next_cursor else ""
    return _tab(
        request,
        web_form,
        "submissions",
        "inbound/forms/submissions.html",
        rows=rows,
        next_query=next_query,
        first_page=bool(cursor),
    )


def _sample_items(data: Any) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return [("", str(data)[:SAMPLE_VALUE_MAX])]
    return [(str(key)[:100], str(value)[:SAMPLE_VALUE_MAX]) for key, value in list(data.items())[:30]]


@require_GET
@member_view
def web_form_spam(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _viewer(request)
    web_form = selectors.web_form_get(membership=membership, form_id=pk)
    counts = selectors.web_form_rejections(membership=membership, form=web_form)
    samples = [
        {"sample": sample, "items": _sample_items(sample.data)}
        for sample in selectors.web_form_rejected_samples(membership=membership, form=web_form)
    ]
    totals = {"day": sum(c["day"] for c in counts), "week": sum(c["week"] for c in counts)}
    return _tab(request, web_form, "spam", "inbound/forms/spam.html", counts=counts, totals=totals, samples=samples)


@require_POST
@member_view
def web_form_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    is_active = request.POST.get("is_active") == "1"
    web_form = service.web_form_set_active(membership=membership, form_id=pk, is_active=is_active)
    if web_form.is_active:
        messages.success(request, _("“%(name)s” takes submissions again.") % {"name": web_form.name})
    else:
        messages.success(
            request, _("“%(name)s” is switched off: it refuses new submissions.") % {"name": web_form.name}
        )
    return redirect("web_form_detail", web_form.pk)


@require_POST
@member_view
def web_form_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    web_form = selectors.web_form_get(membership=membership, form_id=pk)
    service.web_form_delete(membership=membership, form_id=web_form.pk)
    messages.success(request, _("Form “%(name)s” deleted; its submissions are kept.") % {"name": web_form.name})
    return redirect("web_form_list")
