"""Duplicate pages: the pairs to review, the side-by-side merge, "not duplicates", scan now, undo —
for leads (`/duplicates/`), contacts (`/duplicates/contacts/`) and companies (`/duplicates/companies/`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.core.pagination import paginate
from insidesales.crm.models import Company
from insidesales.imports import duplicates, merge
from insidesales.orgs.visibility import can_delete_records

PAGE_SIZE = 50
# Per kind: URL names (the lead ones are the original, unprefixed names) and the words of its pages.
KIND_ORDER = ("lead", "contact", "company")
PLURAL = {"lead": "leads", "contact": "contacts", "company": "companies"}
TAB_LABELS = {
    "lead": gettext_lazy("Leads"),
    "contact": gettext_lazy("Contacts"),
    "company": gettext_lazy("Companies"),
}
HEADINGS = {
    "lead": gettext_lazy("Duplicate leads"),
    "contact": gettext_lazy("Duplicate contacts"),
    "company": gettext_lazy("Duplicate companies"),
}
MERGE_TITLES = {
    "lead": gettext_lazy("Merge leads"),
    "contact": gettext_lazy("Merge contacts"),
    "company": gettext_lazy("Merge companies"),
}
RECORD_HEADS = {"lead": gettext_lazy("Lead"), "contact": gettext_lazy("Contact"), "company": gettext_lazy("Company")}
EMPTY = {
    "lead": gettext_lazy("No possible duplicates among the leads you can see."),
    "contact": gettext_lazy("No possible duplicates among the contacts you can see."),
    "company": gettext_lazy("No possible duplicates among the companies you can see."),
}
MERGE_HELP = {
    "lead": gettext_lazy(
        "Choose the lead to keep and, for each field, the value it keeps. Timeline, tasks and tags of the other "
        "lead move to the one you keep; the other lead is deleted. You can undo the merge afterwards."
    ),
    "contact": gettext_lazy(
        "Choose the contact to keep and, for each field, the value it keeps. Timeline, tasks, deals and tags of the "
        "other contact move to the one you keep; the other contact is deleted. You can undo the merge afterwards."
    ),
    "company": gettext_lazy(
        "Choose the company to keep and, for each field, the value it keeps. Contacts, deals, timeline, tasks and "
        "tags of the other company move to the one you keep; the other company is deleted. You can undo the merge "
        "afterwards."
    ),
}
MERGED = {
    "lead": gettext_lazy("Merged. %(name)s was merged into this lead."),
    "contact": gettext_lazy("Merged. %(name)s was merged into this contact."),
    "company": gettext_lazy("Merged. %(name)s was merged into this company."),
}


def url_name(kind: str, name: str) -> str:
    """`duplicate_list`, `contact_duplicate_list`, `company_merge_undo`, ..."""
    return name if kind == "lead" else f"{kind}_{name}"


def _tabs(membership: Any, kind: str) -> list[dict[str, Any]]:
    return [
        {"label": TAB_LABELS[k], "url": url_name(k, "duplicate_list"), "current": k == kind}
        for k in KIND_ORDER
        if duplicates.can_review(membership, k)
    ]


@require_GET
@member_view
def duplicate_list(request: HttpRequest, kind: str = "lead") -> HttpResponse:
    membership = request.membership
    if not duplicates.can_review(membership, kind):
        reviewable = [k for k in KIND_ORDER if duplicates.can_review(membership, k)]
        if kind == "lead" and reviewable:  # field reps review contacts and companies, not leads
            return redirect(url_name(reviewable[0], "duplicate_list"))
        raise PermissionDenied(_("Your role does not review duplicates."))
    pairs = duplicates.pair_list(membership=membership, kind=kind)
    try:
        page = paginate(pairs, order="-score", cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except ValidationError:
        page = paginate(pairs, order="-score", cursor=None, limit=PAGE_SIZE)
    context = {
        "kind": kind,
        "tabs": _tabs(membership, kind),
        "heading": HEADINGS[kind],
        "record_head": RECORD_HEADS[kind],
        "empty": EMPTY[kind],
        "names": {name: url_name(kind, name) for name in ("duplicate_merge", "duplicate_dismiss", "merge_undo")},
        "detail": f"{kind}_detail",
        "rows": [(pair, duplicates.reason_labels(pair.reasons)) for pair in page.items],
        "next_cursor": page.next_cursor,
        "scan": duplicates.latest_scan(organization_id=membership.organization_id),
        "next_scan": duplicates.pending_scan(organization_id=membership.organization_id),
        "can_see_counts": duplicates.sees_organization_counts(membership),
        "merges": merge.merge_list(membership=membership, kind=kind),
    }
    return render(request, "imports/duplicate_list.html", context)


@require_POST
@member_view
def duplicate_scan(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind") if request.POST.get("kind") in KIND_ORDER else "lead"
    duplicates.scan_now(membership=request.membership)
    messages.success(request, _("A scan for duplicates has been queued; the list refreshes when it is done."))
    return redirect(url_name(kind, "duplicate_list"))


@require_POST
@member_view
def duplicate_dismiss(request: HttpRequest, pair_id: int, kind: str = "lead") -> HttpResponse:
    duplicates.pair_dismiss(membership=request.membership, pair_id=pair_id, kind=kind)
    messages.success(request, _("Marked as not duplicates; this pair will not be offered again."))
    return redirect(url_name(kind, "duplicate_list"))


@require_http_methods(["GET", "POST"])
@member_view
def duplicate_merge(request: HttpRequest, pair_id: int, kind: str = "lead") -> HttpResponse:
    """Both records side by side; the person picks the record to keep and, per field, the value."""
    membership = request.membership
    spec = merge.MERGE_KINDS[kind]
    pair = duplicates.pair_get(membership=membership, pair_id=pair_id, kind=kind)
    keep = request.POST.get("keep") or request.GET.get("keep") or str(_default_keep(membership, pair))
    survivor, other = (pair.left, pair.right) if keep != str(pair.right_id) else (pair.right, pair.left)
    choices = merge.merge_defaults(survivor, other)
    errors: dict[str, list[str]] = {}
    message = ""
    if request.method == "POST" and request.POST.get("action") == "merge":
        chosen = {name: request.POST.get(name, "") for name in spec.choosable if request.POST.get(name)}
        try:
            done = merge.record_merge(
                kind=kind, membership=membership, survivor_id=survivor.pk, other_id=other.pk, choices=chosen
            )
        except ValidationError as exc:
            errors, message = {k: [str(m) for m in v] for k, v in exc.fields.items()}, str(exc.message)
            choices.update(chosen)
        except (Conflict, PermissionDenied) as exc:
            message = str(exc.message)
        else:
            messages.success(request, MERGED[kind] % {"name": done.merged_name})
            return redirect(f"{kind}_detail", pk=survivor.pk)
    fields = [
        {
            "name": name,
            "label": spec.model._meta.get_field(name).verbose_name,
            "survivor": _shown(survivor, name),
            "other": _shown(other, name),
            "choice": choices.get(name),
            "same": merge.value_of(survivor, name) == merge.value_of(other, name),
            "errors": errors.get(name, []),
        }
        for name in spec.choosable
    ]
    context = {
        "kind": kind,
        "pair": pair,
        "survivor": survivor,
        "other": other,
        "survivor_facts": _facts(survivor),
        "other_facts": _facts(other),
        "fields": fields,
        "title": MERGE_TITLES[kind],
        "help": MERGE_HELP[kind],
        "list_url": url_name(kind, "duplicate_list"),
        "detail": f"{kind}_detail",
        "reasons": duplicates.reason_labels(pair.reasons),
        "percent": round(pair.score * 100),
        "message": message,
    }
    return render(request, "imports/duplicate_merge.html", context, status=400 if message else 200)


def _default_keep(membership, pair) -> int:
    """The older record, unless the member may merge away only their own records and that is theirs."""
    if not can_delete_records(membership) and pair.left.owner_id == membership.user_id != pair.right.owner_id:
        return pair.right_id
    return pair.left_id


def _facts(record: Any) -> str:
    """What the merge page says under a record's number: a lead's status, else its owner."""
    if hasattr(record, "get_status_display"):
        return record.get_status_display()
    return str(record.owner) if record.owner_id else str(_("Unassigned"))


def _shown(record: Any, name: str) -> str:
    if name == "phone":
        return record.phone_raw or record.phone
    if name == "source":
        return record.get_source_display()
    if name == "company" and not isinstance(record, Company):
        return str(record.company) if record.company_id else ""
    value = getattr(record, name)
    return "" if value is None else str(value)


@require_POST
@member_view
def merge_undo(request: HttpRequest, merge_id: int, kind: str = "lead") -> HttpResponse:
    try:
        done = merge.merge_undo(membership=request.membership, merge_id=merge_id, kind=kind)
    except (Conflict, ValidationError) as exc:
        messages.error(request, exc.message)
        return redirect(url_name(kind, "duplicate_list"))
    messages.success(request, _("The merge was undone: %(name)s is back.") % {"name": done.merged_name})
    return redirect(f"{kind}_detail", pk=done.merged_id)
