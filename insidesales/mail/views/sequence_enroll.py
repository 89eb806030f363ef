"""Enrolling from the record pages: one lead or contact from its page (with its current sequences), and a
selection from the leads or contacts list (the list's bulk bar posts here). Skipped records are counted by
reason in the message shown."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from insidesales.core.errors import ApplicationError, Conflict, NotFound, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.models import Contact, Lead
from insidesales.crm.selectors import record_get
from insidesales.mail.selectors import sequences as selectors
from insidesales.mail.services.sequence_enrolling import sequence_enroll_ids, sequence_enroll_saved_view
from insidesales.mail.services.sequences import EnrollResult, enrollment_create
from insidesales.mail.views.sequence_forms import EnrollForm

MODELS = {"lead": Lead, "contact": Contact}
LIST_URLS = {"lead": "lead_list", "contact": "contact_list"}
DETAIL_URLS = {"lead": "lead_detail", "contact": "contact_detail"}


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def wants_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request and htmx.target == target


def flash_result(request: HttpRequest, result: EnrollResult) -> None:
    """ "12 enrolled." and, when some were left out, why: "Not enrolled: suppressed: 2, no email address: 1"."""
    count = len(result.enrolled)
    if count:
        messages.success(request, ngettext("%(n)d enrolled.", "%(n)d enrolled.", count) % {"n": count})
    if result.skipped:
        text = _("Not enrolled: %(why)s.") % {"why": result.skipped_text()}
        (messages.warning if count else messages.error)(request, text)
    if not count and not result.skipped:
        messages.info(request, _("Nothing to enroll."))


def enroll_saved_view(*, membership, sequence, view_id: Any) -> EnrollResult:
    if not str(view_id or "").isdigit():
        raise ValidationError(fields={"saved_view": [_("Choose a saved view.")]})
    return sequence_enroll_saved_view(actor=membership, sequence=sequence, view_id=view_id)


def _error_text(exc: ApplicationError) -> str:
    if isinstance(exc, ValidationError) and exc.fields:
        return " ".join(str(m) for ms in exc.fields.values() for m in ms)
    return exc.message


@require_http_methods(["GET", "POST"])
@member_view
def record_enroll(request: HttpRequest, pk: int, *, record_type: str) -> HttpResponse:
    """A lead's or contact's sequences and the form to enroll it in one more. An htmx request for
    `#record-sequences` (the card on the record's page) gets the card only."""
    membership = request.membership
    record = record_get(membership=membership, model=MODELS[record_type], record_id=pk)
    back = safe_next(request, reverse(DETAIL_URLS[record_type], args=[record.pk]))
    sequences = list(selectors.sequences_to_enroll(membership=membership))
    form = EnrollForm(request.POST or None, sequences=sequences)
    if request.method == "POST":
        if not str(request.POST.get("sequence", "")).isdigit():
            raise NotFound()
        sequence = selectors.sequence_get(membership=membership, sequence_id=request.POST["sequence"])
        try:
            enrollment_create(actor=membership, sequence=sequence, **{record_type: record})
        except (Conflict, ValidationError) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Enrolled in “%(name)s”.") % {"name": sequence.name})
        return redirect(back)
    found = {record_type: record}
    context = {
        "record": record,
        "record_type": record_type,
        "detail_url": reverse(DETAIL_URLS[record_type], args=[record.pk]),
        "enrollments": selectors.record_enrollments(membership=membership, **found),
        "form": form,
        "sequences": sequences,
        "next": back,
    }
    if wants_partial(request, "record-sequences"):
        return render(request, "mail/sequence_enroll_record.html#record_sequences", context)
    return render(request, "mail/sequence_enroll_record.html", context)


@require_POST
@member_view
def bulk_enroll(request: HttpRequest, *, record_type: str) -> HttpResponse:
    """From the list's bulk bar: first a page to pick the sequence, then the enrollment and its counts."""
    membership = request.membership
    ids = request.POST.getlist("ids")
    back = safe_next(request, reverse(LIST_URLS[record_type]))
    chosen = request.POST.get("sequence", "")
    if not chosen.isdigit():
        if not ids:
            messages.error(request, _("Select at least one record."))
            return redirect(back)
        sequences = list(selectors.sequences_to_enroll(membership=membership))
        context = {"ids": ids, "count": len(ids), "next": back, "record_type": record_type, "sequences": sequences}
        return render(request, "mail/sequence_enroll_bulk.html", context)
    sequence = selectors.sequence_get(membership=membership, sequence_id=chosen)
    try:
        result = sequence_enroll_ids(actor=membership, sequence=sequence, record_type=record_type, ids=ids)
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    else:
        flash_result(request, result)
    return redirect(back)
