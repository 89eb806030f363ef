"""Sequence pages: the list with counts, creating and editing (admins and managers), the detail with its steps,
step editor (htmx) and report, enrolling a saved view, and the enrollments with stop / pause / resume.

Enrolling single records and list selections is in `sequence_enroll.py`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.selectors import saved_view_list
from insidesales.mail.models import EnrollmentState, StepKind
from insidesales.mail.selectors import sequences as selectors
from insidesales.mail.services import sequence_editing as editing
from insidesales.mail.services.sequences import enrollment_pause, enrollment_resume, enrollment_stop
from insidesales.mail.views.sequence_enroll import enroll_saved_view, flash_result, safe_next, wants_partial
from insidesales.mail.views.sequence_forms import SequenceForm, StepForm


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, str(error))
    if not exc.fields:
        form.add_error(None, exc.message)


def _error_text(exc: ApplicationError) -> str:
    if isinstance(exc, ValidationError) and exc.fields:
        return " ".join(str(m) for ms in exc.fields.values() for m in ms)
    return exc.message


@require_GET
@member_view
def sequence_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    status = request.GET.get("status", "")
    sequences = selectors.sequence_list(membership=membership).select_related("team", "agency")
    sequences = sequences.filter(status=status) if status else sequences.exclude(status="archived")
    sequences = list(sequences.order_by("name", "id")[:500])
    summaries = selectors.sequence_summaries(membership=membership, sequences=sequences)
    rows = [(s, summaries[s.pk]) for s in sequences]
    context = {
        "rows": rows,
        "status": status,
        "can_create": editing.can_create_sequences(membership),
    }
    return render(request, "mail/sequence_list.html", context)


@require_http_methods(["GET", "POST"])
@member_view
def sequence_create(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    if not editing.can_create_sequences(membership):
        raise PermissionDenied(_("Only admins and managers write sequences."))
    form = SequenceForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        try:
            sequence = editing.sequence_create(actor=membership, data=form.to_service_data())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Sequence created. Add its steps, then activate it."))
            return redirect("sequence_detail", sequence.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "mail/sequence_form.html", {"form": form, "sequence": None}, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def sequence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    sequence = selectors.sequence_get(membership=membership, sequence_id=pk)
    if not editing.can_edit_sequence(membership, sequence):
        raise PermissionDenied(_("Only admins and the managers of its team change this sequence."))
    form = SequenceForm(request.POST or None, membership=membership, sequence=sequence)
    if request.method == "POST" and form.is_valid():
        try:
            editing.sequence_update(actor=membership, sequence=sequence, data=form.to_service_data())
            status = form.cleaned_data.get("status")
            if status and status != sequence.status:
                editing.sequence_set_status(actor=membership, sequence=sequence, status=status)
        except ValidationError as exc:
            _form_errors(form, exc)
        except Conflict as exc:
            form.add_error("status", exc.message)
        else:
            messages.success(request, _("Sequence saved."))
            return redirect("sequence_detail", sequence.pk)
    status_code = 422 if request.method == "POST" else 200
    return render(request, "mail/sequence_form.html", {"form": form, "sequence": sequence}, status=status_code)


def _steps_context(request: HttpRequest, sequence, *, form: StepForm | None = None, editing_step=None) -> dict:
    membership = request.membership
    kind = request.GET.get("kind") or StepKind.AUTO_EMAIL
    return {
        "sequence": sequence,
        "steps": selectors.step_list(sequence=sequence),
        "can_edit": editing.can_edit_sequence(membership, sequence),
        "step_form": form or StepForm(membership=membership, kind=kind),
        "editing_step": editing_step,
        "kinds": StepKind,
    }


@require_GET
@member_view
def sequence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    sequence = selectors.sequence_get(membership=membership, sequence_id=pk)
    views = [v for v in saved_view_list(membership=membership) if v.record_type in ("lead", "contact")]
    context = {
        **_steps_context(request, sequence),
        "report": selectors.sequence_report(membership=membership, sequence=sequence),
        "saved_views": views,
    }
    return render(request, "mail/sequence_detail.html", context)


@require_POST
@member_view
def sequence_status(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    sequence = selectors.sequence_get(membership=membership, sequence_id=pk)
    try:
        editing.sequence_set_status(actor=membership, sequence=sequence, status=request.POST.get("status", ""))
    except (ValidationError, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The sequence is now “%(status)s”.") % {"status": sequence.get_status_display()})
    return redirect("sequence_detail", sequence.pk)


# --- steps (htmx: each answer is the steps card; without JavaScript, a page or a redirect) -------------


def _steps_answer(request: HttpRequest, sequence, *, form: StepForm | None = None, step=None) -> HttpResponse:
    """After a step write: htmx gets the steps card (with the form and its errors when refused: htmx swaps
    only 2xx answers); a plain form post gets the form page again (422) or goes back to the sequence."""
    if getattr(request, "htmx", None):
        context = _steps_context(request, sequence, form=form if form is not None and form.errors else None)
        if form is not None and form.errors:
            context["editing_step"] = step
        return render(request, "mail/sequence_detail.html#steps", context)
    if form is not None and form.errors:
        context = {"sequence": sequence, "step_form": form, "step": step}
        return render(request, "mail/sequence_step_form.html", context, status=422)
    return redirect(reverse("sequence_detail", args=[sequence.pk]) + "#steps")


@require_http_methods(["GET", "POST"])
@member_view
def step_create(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    sequence = selectors.sequence_get(membership=membership, sequence_id=pk)
    if not editing.can_edit_sequence(membership, sequence):
        raise PermissionDenied(_("Only admins and the managers of its team change this sequence."))
    kind = request.POST.get("kind") or request.GET.get("kind") or StepKind.AUTO_EMAIL
    if request.method == "GET":
        form = StepForm(membership=membership, kind=kind)
        if wants_partial(request, "step-form"):
            context = {"sequence": sequence, "step_form": form, "in_card": True}
            return render(request, "mail/sequence_step_form.html#step_form", context)
        return render(request, "mail/sequence_step_form.html", {"sequence": sequence, "step_form": form})
    form = StepForm(request.POST, membership=membership, kind=kind)
    if form.is_valid():
        try:
            editing.step_add(actor=membership, sequence=sequence, kind=form.kind, data=form.to_service_data())
        except (ValidationError, Conflict) as exc:
            if isinstance(exc, ValidationError):
                _form_errors(form, exc)
            else:
                form.add_error(None, exc.message)
        else:
            return _steps_answer(request, sequence)
    return _steps_answer(request, sequence, form=form)


@require_http_methods(["GET", "POST"])
@member_view
def step_edit(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    membership = request.membership
    step = selectors.step_get(membership=membership, sequence_id=pk, step_id=step_pk)
    sequence = step.sequence
    if not editing.can_edit_sequence(membership, sequence):
        raise PermissionDenied(_("Only admins and the managers of its team change this sequence."))
    kind = request.POST.get("kind") or request.GET.get("kind") or step.kind
    if request.method == "GET":
        form = StepForm(membership=membership, kind=kind, step=step)
        if kind != step.kind:
            form = StepForm(membership=membership, kind=kind, initial={"kind": kind, "wait_days": 2})
        context = {"sequence": sequence, "step_form": form, "step": step}
        if wants_partial(request, "step-form"):
            return render(request, "mail/sequence_step_form.html#step_form", {**context, "in_card": True})
        return render(request, "mail/sequence_step_form.html", context)
    form = StepForm(request.POST, membership=membership, kind=kind, step=step)
    if form.is_valid():
        try:
            editing.step_update(actor=membership, step=step, data=form.to_service_data())
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return _steps_answer(request, sequence)
    return _steps_answer(request, sequence, form=form, step=step)


@require_POST
@member_view
def step_delete(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    membership = request.membership
    step = selectors.step_get(membership=membership, sequence_id=pk, step_id=step_pk)
    editing.step_delete(actor=membership, step=step)
    return _steps_answer(request, step.sequence)


@require_POST
@member_view
def step_move(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    membership = request.membership
    step = selectors.step_get(membership=membership, sequence_id=pk, step_id=step_pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    editing.step_move(actor=membership, step=step, to_position=step.position + offset)
    return _steps_answer(request, step.sequence)


# --- enrolling a saved view, and the enrollments -------------------------------------------------


@require_POST
@member_view
def sequence_enroll(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    sequence = selectors.sequence_get(membership=membership, sequence_id=pk)
    try:
        result = enroll_saved_view(membership=membership, sequence=sequence, view_id=request.POST.get("saved_view"))
    except ApplicationError as exc:
        if exc.status == 404:
            raise
        messages.error(request, _error_text(exc))
    else:
        flash_result(request, result)
    return redirect("sequence_detail", sequence.pk)


@require_GET
@member_view
def sequence_enrollments(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    sequence = selectors.sequence_get(membership=membership, sequence_id=pk)
    state = request.GET.get("state", "")
    if state not in EnrollmentState.values:
        state = ""
    try:
        page = selectors.enrollment_page(
            membership=membership, sequence=sequence, state=state or None, cursor=request.GET.get("cursor") or None
        )
    except ValidationError:
        page = selectors.enrollment_page(membership=membership, sequence=sequence, state=state or None)
    context = {"sequence": sequence, "page": page, "state": state, "states": EnrollmentState}
    if wants_partial(request, "enrollments"):
        return render(request, "mail/sequence_enrollments.html#enrollments", context)
    return render(request, "mail/sequence_enrollments.html", context)


ENROLLMENT_VERBS = {"stop": enrollment_stop, "pause": enrollment_pause, "resume": enrollment_resume}
DONE = {
    "stop": gettext_lazy("Stopped: no more steps run for this enrollment."),
    "pause": gettext_lazy("Paused until resumed."),
    "resume": gettext_lazy("Resumed: its next step is due now."),
}


@require_POST
@member_view
def enrollment_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    membership = request.membership
    enrollment = selectors.enrollment_get(membership=membership, enrollment_id=pk)
    try:
        ENROLLMENT_VERBS[action](actor=membership, enrollment=enrollment)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, str(DONE[action]))
    return redirect(safe_next(request, reverse("sequence_enrollments", args=[enrollment.sequence_id])))
