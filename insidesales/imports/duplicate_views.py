"""Duplicate pages: the pairs to review, the side-by-side merge, "not duplicates", scan now, undo."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.core.pagination import paginate
from insidesales.crm.models import Lead
from insidesales.imports import duplicates, merge
from insidesales.orgs.visibility import can_delete_records

PAGE_SIZE = 50


@require_GET
@member_view
def duplicate_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    if not duplicates.can_review(membership):
        raise PermissionDenied(_("Your role does not review duplicates."))
    pairs = duplicates.pair_list(membership=membership)
    try:
        page = paginate(pairs, order="-score", cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except ValidationError:
        page = paginate(pairs, order="-score", cursor=None, limit=PAGE_SIZE)
    context = {
        "rows": [(pair, duplicates.reason_labels(pair.reasons)) for pair in page.items],
        "next_cursor": page.next_cursor,
        "scan": duplicates.latest_scan(organization_id=membership.organization_id),
        "next_scan": duplicates.pending_scan(organization_id=membership.organization_id),
        "can_see_counts": duplicates.sees_organization_counts(membership),
        "merges": merge.merge_list(membership=membership),
    }
    return render(request, "imports/duplicate_list.html", context)


@require_POST
@member_view
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    duplicates.scan_now(membership=request.membership)
    messages.success(request, _("A scan for duplicates has been queued; the list refreshes when it is done."))
    return redirect("duplicate_list")


@require_POST
@member_view
def duplicate_dismiss(request: HttpRequest, pair_id: int) -> HttpResponse:
    duplicates.pair_dismiss(membership=request.membership, pair_id=pair_id)
    messages.success(request, _("Marked as not duplicates; this pair will not be offered again."))
    return redirect("duplicate_list")


@require_http_methods(["GET", "POST"])
@member_view
def duplicate_merge(request: HttpRequest, pair_id: int) -> HttpResponse:
    """Both leads side by side; the person picks the lead to keep and, per field, the value."""
    membership = request.membership
    pair = duplicates.pair_get(membership=membership, pair_id=pair_id)
    keep = request.POST.get("keep") or request.GET.get("keep") or str(_default_keep(membership, pair))
    survivor, other = (pair.left, pair.right) if keep != str(pair.right_id) else (pair.right, pair.left)
    choices = merge.merge_defaults(survivor, other)
    errors: dict[str, list[str]] = {}
    message = ""
    if request.method == "POST" and request.POST.get("action") == "merge":
        chosen = {name: request.POST.get(name, "") for name in merge.CHOOSABLE if request.POST.get(name)}
        try:
            done = merge.lead_merge(membership=membership, survivor_id=survivor.pk, other_id=other.pk, choices=chosen)
        except ValidationError as exc:
            errors, message = {k: [str(m) for m in v] for k, v in exc.fields.items()}, str(exc.message)
            choices.update(chosen)
        except (Conflict, PermissionDenied) as exc:
            message = str(exc.message)
        else:
            messages.success(request, _("Merged. %(name)s was merged into this lead.") % {"name": done.merged_name})
            return redirect("lead_detail", pk=survivor.pk)
    fields = [
        {
            "name": name,
            "label": Lead._meta.get_field(name).verbose_name,
            "survivor": _shown(survivor, name),
            "other": _shown(other, name),
            "choice": choices.get(name),
            "same": getattr(survivor, name) == getattr(other, name),
            "errors": errors.get(name, []),
        }
        for name in merge.CHOOSABLE
    ]
    context = {
        "pair": pair,
        "survivor": survivor,
        "other": other,
        "fields": fields,
        "reasons": duplicates.reason_labels(pair.reasons),
        "percent": round(pair.score * 100),
        "message": message,
    }
    return render(request, "imports/duplicate_merge.html", context, status=400 if message else 200)


def _default_keep(membership, pair) -> int:
    """The older lead, unless the member may merge away only their own leads and that is theirs."""
    if not can_delete_records(membership) and pair.left.owner_id == membership.user_id != pair.right.owner_id:
        return pair.right_id
    return pair.left_id


def _shown(lead: Lead, name: str) -> str:
    if name == "phone":
        return lead.phone_raw or lead.phone
    if name == "source":
        return lead.get_source_display()
    return str(getattr(lead, name) or "")


@require_POST
@member_view
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    try:
        done = merge.merge_undo(membership=request.membership, merge_id=merge_id)
    except (Conflict, ValidationError) as exc:
        messages.error(request, exc.message)
        return redirect("duplicate_list")
    messages.success(request, _("The merge was undone: %(name)s is back.") % {"name": done.merged_name})
    return redirect("lead_detail", pk=done.merged_id)
