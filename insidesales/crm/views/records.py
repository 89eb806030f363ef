"""Generic list, detail, create/edit, delete, assign, notes, timeline and bulk views for every record type.

Each view gets its `kind` (a RecordKind) from the URL configuration, so leads, contacts, companies
and deals share one implementation. Views only parse input, call a selector or service, and render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.crm import selectors, services
from insidesales.crm.forms import (
    BulkActionForm,
    FilterForm,
    NoteForm,
    RecordForm,
    SaveViewForm,
    TaskForm,
    add_service_errors,
    parse_assignee,
)
from insidesales.crm.views.detail import (
    detail_context,
    fields_context,
    task_users,
    tasks_context,
    timeline_context,
    wants_partial,
)
from insidesales.crm.views.kinds import RecordKind
from insidesales.crm.views.listing import PAGE_SIZE, list_options, read_list_state
from insidesales.crm.views.saved_views import shareable_teams
from insidesales.orgs.directory import remembered


def error_text(exc: ApplicationError) -> str:
    """One line for a flash message: the field messages of a ValidationError, else its message."""
    if isinstance(exc, ValidationError) and exc.fields:
        return " ".join(str(m) for messages_ in exc.fields.values() for m in messages_)
    return exc.message


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- list ------------------------------------------------------------------------------------------


@require_GET
@member_view
def record_list(request: HttpRequest, *, kind: RecordKind) -> HttpResponse:
    membership = request.membership
    state = read_list_state(request.GET, kind.filterset, membership)
    cursor = request.GET.get("cursor") or None
    query = {"membership": membership, "model": kind.model, "filters": state.filters, "sort": state.sort}
    try:
        page = selectors.record_list(**query, cursor=cursor, limit=PAGE_SIZE)
    except ValidationError as exc:  # a stale or hand-edited cursor: show the first page and say so
        state.errors.update(exc.fields)
        cursor = None
        page = selectors.record_list(**query, limit=PAGE_SIZE)
    options = list_options(membership, kind.record_type)
    context = {
        "kind": kind,
        "page": page,
        "state": state,
        "cursor": cursor,
        "columns": [(key, kind.filterset.columns[key]) for key in state.columns],
        "region": membership.organization.default_region,
        "agency_names": {a.pk: a.name for a in options.agencies},
        "list_url": reverse(kind.names["list"]),
        "next_query": state.querystring(cursor=page.next_cursor) if page.next_cursor else "",
        "first_query": state.querystring() if cursor else None,
        "current_query": state.querystring(cursor=cursor),
        "filter_form": FilterForm(state=state, options=options, membership=membership),
        "bulk_form": BulkActionForm(kind=kind, options=options, membership=membership),
        "save_view_form": SaveViewForm(teams=shareable_teams(membership, teams=options.teams or None)),
        "saved_views": list(
            remembered(
                membership,
                f"saved_views:{kind.record_type}",
                lambda: tuple(selectors.saved_view_list(membership=membership, record_type=kind.record_type)),
            )
        ),
    }
    partial = wants_partial(request, "results")
    response = render(request, "crm/record_list.html#results" if partial else "crm/record_list.html", context)
    if partial:
        # The address bar gets the tidy form of the state, not every empty field of the filter form.
        query = state.querystring(cursor=cursor)
        response["HX-Push-Url"] = f"{context['list_url']}?{query}" if query else context["list_url"]
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_POST
@member_view
def record_bulk(request: HttpRequest, *, kind: RecordKind) -> HttpResponse:
    """Bulk assign / tag / status / delete. Any id outside the user's scope → 404 and nothing changes."""
    membership = request.membership
    ids = request.POST.getlist("ids")
    back = safe_next(request, reverse(kind.names["list"]))
    action = request.POST.get("action", "")
    try:
        if action == "assign":
            owner_id, agency_id = parse_assignee(request.POST.get("target", ""))
            done = services.records_bulk_assign(
                membership=membership, model=kind.model, ids=ids, owner_id=owner_id, agency_id=agency_id
            )
            messages.success(request, ngettext("%(n)d record assigned.", "%(n)d records assigned.", done) % {"n": done})
        elif action == "tag":
            tag = request.POST.get("tag", "")
            if not (tag.isascii() and tag.isdigit()):
                raise ValidationError(fields={"tag": [_("Choose a tag.")]})
            done = services.records_bulk_tag(membership=membership, model=kind.model, ids=ids, tag_id=int(tag))
            messages.success(
                request, ngettext("Tag added to %(n)d record.", "Tag added to %(n)d records.", done) % {"n": done}
            )
        elif action == "status" and kind.record_type == "lead":
            done = services.leads_bulk_status(
                membership=membership,
                ids=ids,
                status=request.POST.get("status", ""),
                reason=request.POST.get("reason", ""),
            )
            messages.success(
                request, ngettext("Status changed on %(n)d lead.", "Status changed on %(n)d leads.", done) % {"n": done}
            )
        elif action == "campaign" and kind.record_type == "lead":
            from insidesales.calls.selectors import campaign_list
            from insidesales.calls.services.campaigns import campaign_add_leads

            campaign = request.POST.get("campaign", "")
            if not (campaign.isascii() and campaign.isdigit()):
                campaigns = campaign_list(membership=membership).exclude(status="finished").order_by("name")
                context = {"kind": kind, "ids": ids, "next": back, "count": len(ids), "campaigns": campaigns}
                return render(request, "crm/bulk_campaign.html", context)
            done = campaign_add_leads(membership=membership, campaign_id=int(campaign), lead_ids=ids)
            messages.success(
                request,
                ngettext("%(n)d lead added to the campaign.", "%(n)d leads added to the campaign.", done) % {"n": done},
            )
        elif action == "delete":
            if ids and request.POST.get("confirm") != "yes":
                context = {"kind": kind, "ids": ids, "next": back, "count": len(ids)}
                return render(request, "crm/bulk_confirm.html", context)
            done = services.records_bulk_delete(membership=membership, model=kind.model, ids=ids)
            messages.success(request, ngettext("%(n)d record deleted.", "%(n)d records deleted.", done) % {"n": done})
        else:
            messages.error(request, _("Choose an action."))
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, error_text(exc))
    return redirect(back)


# --- detail and its parts --------------------------------------------------------------------------


@require_GET
@member_view
def record_detail(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    record = selectors.record_get(membership=request.membership, model=kind.model, record_id=pk)
    return render(request, "crm/record_detail.html", detail_context(request, kind, record))


@require_GET
@member_view
def record_timeline(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    """Older timeline entries: the items partial for "Load more", a plain page without JavaScript."""
    membership = request.membership
    record = selectors.record_get(membership=membership, model=kind.model, record_id=pk)
    try:
        context = timeline_context(membership, kind, record, cursor=request.GET.get("cursor") or None)
    except ValidationError:
        context = timeline_context(membership, kind, record)
    if getattr(request, "htmx", None):
        return render(request, "crm/record_detail.html#timeline_items", context)
    return render(request, "crm/timeline.html", context)


@require_POST
@member_view
def record_notes(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    membership = request.membership
    record = selectors.record_get(membership=membership, model=kind.model, record_id=pk)
    form = NoteForm(request.POST, auto_id="note_%s")
    if form.is_valid():
        try:
            services.note_add(
                membership=membership, record_type=kind.model, record_id=record.pk, body=form.cleaned_data["body"]
            )
            form = NoteForm(auto_id="note_%s")
        except ValidationError as exc:
            add_service_errors(form, exc)
    if not form.errors and not wants_partial(request, "timeline"):
        return redirect(reverse(kind.names["detail"], args=[record.pk]) + "#timeline")
    record = selectors.record_get(membership=membership, model=kind.model, record_id=pk)
    if wants_partial(request, "timeline"):
        context = {**timeline_context(membership, kind, record), "note_form": form}
        return render(request, "crm/record_detail.html#timeline", context)
    return render(request, "crm/record_detail.html", detail_context(request, kind, record, note_form=form))


@require_POST
@member_view
def record_task_add(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    membership = request.membership
    record = selectors.record_get(membership=membership, model=kind.model, record_id=pk)
    form = TaskForm(request.POST, membership=membership, users=task_users(membership), auto_id="task_%s")
    if form.is_valid():
        try:
            services.task_create(
                membership=membership, record_type=kind.model, record_id=record.pk, **form.to_service_data()
            )
            form = None
        except ValidationError as exc:
            add_service_errors(form, exc)
    if wants_partial(request, "tasks-card"):
        return render(request, "crm/record_detail.html#tasks_card", tasks_context(membership, kind, record, form=form))
    if form is None:
        messages.success(request, _("Task added."))
        return redirect(reverse(kind.names["detail"], args=[record.pk]) + "#tasks-card")
    return render(request, "crm/record_detail.html", detail_context(request, kind, record, task_form=form))


@require_POST
@member_view
def record_assign(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    membership = request.membership
    detail = reverse(kind.names["detail"], args=[pk])
    try:
        owner_id, agency_id = parse_assignee(request.POST.get("target", ""))
        record = kind.assign(membership=membership, record_id=pk, owner_id=owner_id, agency_id=agency_id)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, error_text(exc))
        return redirect(detail)
    messages.success(request, _("Owner changed."))
    # Handing a record to someone else may take it out of the user's sight: then go back to the list.
    visible = selectors.record_queryset(membership=membership, model=kind.model).filter(pk=record.pk).exists()
    return redirect(detail if visible else reverse(kind.names["list"]))


@require_POST
@member_view
def record_delete(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    try:
        kind.delete(membership=request.membership, record_id=pk)
    except PermissionDenied as exc:
        messages.error(request, exc.message)
        return redirect(kind.names["detail"], pk)
    messages.success(request, _("Deleted."))
    return redirect(kind.names["list"])


# --- create and edit -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_view
def record_create(request: HttpRequest, *, kind: RecordKind) -> HttpResponse:
    membership = request.membership
    if request.method == "POST":
        form = RecordForm(request.POST, kind=kind, membership=membership)
        if form.is_valid():
            try:
                record = kind.create(membership=membership, data=form.to_service_data())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Created “%(name)s”.") % {"name": record})
                return redirect(kind.names["detail"], record.pk)
    else:
        form = RecordForm(kind=kind, membership=membership)
    context = {"kind": kind, "form": form, "action": reverse(kind.names["create"]), "record": None}
    return render(request, "crm/record_form.html", context)


@require_http_methods(["GET", "POST"])
@member_view
def record_edit(request: HttpRequest, pk: int, *, kind: RecordKind) -> HttpResponse:
    """The edit page; aimed at the fields card by htmx it edits inline and swaps the card back on save."""
    membership = request.membership
    record = selectors.record_get(membership=membership, model=kind.model, record_id=pk)
    try:
        services.refuse_converted(record)
    except ValidationError as exc:
        messages.error(request, exc.message)
        return redirect(kind.names["detail"], record.pk)
    inline = wants_partial(request, "fields-card")
    if request.method == "POST":
        form = RecordForm(request.POST, kind=kind, membership=membership, record=record)
        if form.is_valid():
            try:
                kind.update(membership=membership, record_id=record.pk, data=form.to_service_data())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if inline:
                    # The card swaps back; the page title follows out of band (the name may have changed).
                    record = selectors.record_get(membership=membership, model=kind.model, record_id=pk)
                    context = {**fields_context(membership, kind, record), "oob": True}
                    return render(request, "crm/record_detail.html#inline_saved", context)
                messages.success(request, _("Saved."))
                return redirect(kind.names["detail"], record.pk)
    else:
        form = RecordForm(kind=kind, membership=membership, record=record)
    context: dict[str, Any] = {
        "kind": kind,
        "form": form,
        "record": record,
        "inline": inline,
        "action": reverse(kind.names["edit"], args=[record.pk]),
    }
    return render(request, "crm/record_form.html#record_form" if inline else "crm/record_form.html", context)
