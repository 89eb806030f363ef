"""Import pages: upload a file, map its columns, watch the progress, download rejected rows, undo."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.core.http import member_view
from insidesales.imports import exports, retention, services
from insidesales.imports.fields import targets_for
from insidesales.imports.forms import MappingForm, UploadForm
from insidesales.imports.models import DuplicatePolicy, ImportJob, ImportStatus
from insidesales.orgs.models import Role

UPLOAD_CHUNK = 1024 * 1024
LIST_URLS = {"lead": "/leads/", "contact": "/contacts/", "company": "/companies/"}


def _assignees(membership) -> list[tuple[str, str]]:
    """Who can receive the rows: managers and admins choose a user or (admins) an agency."""
    if membership.role not in (Role.ADMIN, Role.MANAGER):
        return []
    from insidesales.orgs.selectors import agency_list, assignable_users

    choices = [("", _("Nobody: the unassigned pool"))]
    choices += [(f"user:{u.pk}", str(u)) for u in assignable_users(membership=membership)]
    if membership.role == Role.ADMIN:
        choices += [
            (f"agency:{a.pk}", _("Agency: %(name)s") % {"name": a})
            for a in agency_list(membership=membership)
            if a.is_active
        ]
    return choices


@require_http_methods(["GET", "POST"])
@member_view
def import_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    allowed = services.can_import(membership)
    form = UploadForm(initial={"record_type": request.GET.get("type") or "lead"})
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied(_("Your role cannot import records."))
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = services.import_upload(
                    membership=membership,
                    file_name=upload.name,
                    chunks=upload.chunks(UPLOAD_CHUNK),
                    record_type=form.cleaned_data["record_type"] or "lead",
                )
            except ValidationError as exc:
                for message in exc.fields.get("file", [exc.message]):
                    form.add_error("file", str(message))
            else:
                return redirect("import_detail", job_id=job.pk)
    jobs = services.import_job_list(membership=membership)
    return render(request, "imports/import_list.html", {"form": form, "jobs": jobs, "allowed": allowed})


@require_http_methods(["GET", "POST"])
@member_view
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    membership = request.membership
    job = services.import_job_get(membership=membership, job_id=job_id)
    if job.status != ImportStatus.UPLOADED or retention.upload_expired(job):
        if request.method == "POST":
            return redirect("import_detail", job_id=job.pk)
        context = _progress_context(job)
        if job.flagged_count and job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            context["flags"] = services.import_flags(membership=membership, job=job)
            context["flag_detail"] = f"{job.record_type}_detail"
        return render(request, "imports/import_detail.html", context)
    targets = targets_for(job.record_type, services.custom_fields(job))
    assignees = _assignees(membership)
    form = MappingForm(
        request.POST or None,
        headers=job.headers,
        mapping=job.mapping,
        targets=targets,
        assignees=assignees,
        record_type=job.record_type,
    )
    if request.method == "POST" and form.is_valid():
        owner_id = agency_id = None
        kind, _sep, pk = (form.cleaned_data.get("assign") or "").partition(":")
        if kind == "user" and pk.isdigit():
            owner_id = int(pk)
        elif kind == "agency" and pk.isdigit():
            agency_id = int(pk)
        try:
            services.import_start(
                membership=membership,
                job_id=job.pk,
                mapping=form.mapping(),
                duplicate_policy=form.cleaned_data["duplicate_policy"],
                similar_policy=form.cleaned_data.get("similar_policy") or DuplicatePolicy.CREATE,
                assign_owner_id=owner_id,
                assign_agency_id=agency_id,
                source=form.cleaned_data.get("source", ""),
            )
        except ValidationError as exc:
            for name, errors in exc.fields.items():
                for error in errors:
                    form.add_error(None if name not in form.fields else name, str(error))
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            return redirect("import_detail", job_id=job.pk)
    try:
        preview = services.import_preview(job)
    except OSError:  # removed a moment ago (expired while the form was open)
        job.refresh_from_db()
        return render(request, "imports/import_detail.html", _progress_context(job))
    context = {"job": job, "form": form, "preview": preview, "columns": form.column_fields()}
    return render(request, "imports/import_mapping.html", context)


def _progress_context(job: ImportJob) -> dict:
    elapsed = None
    rate = eta = None
    if job.started_at and job.rows_done:
        end = job.finished_at.timestamp() if job.finished_at else time.time()
        elapsed = max(end - job.started_at.timestamp(), 0.001)
        rate = job.rows_done / elapsed
        if job.status == ImportStatus.RUNNING and job.bytes_done:
            share = job.bytes_done / max(job.file_size, 1)
            eta = elapsed * (1 - share) / share if share > 0 else None
    percent = (
        100
        if job.status in (ImportStatus.DONE, ImportStatus.UNDOING, ImportStatus.UNDONE)
        else int(100 * job.bytes_done / max(job.file_size, 1))
    )
    return {
        "job": job,
        "list_url": LIST_URLS[job.record_type],
        "percent": min(percent, 100),
        "rate": rate,
        "eta": eta,
        "active": job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.UNDOING),
        "has_report": job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING)
        and job.rejected_count > 0
        and job.report_removed_at is None
        and services.report_path(job).exists(),
        "expired": retention.upload_expired(job),
        "expired_message": retention.expired_message() if retention.upload_expired(job) else "",
        "report_keep_days": settings.IMPORT_REPORT_KEEP_DAYS,
    }


@require_GET
@member_view
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress panel alone, polled by the page while the import runs."""
    job = services.import_job_get(membership=request.membership, job_id=job_id)
    return render(request, "imports/import_detail.html#progress", _progress_context(job))


@require_GET
@member_view
def import_report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = services.import_job_get(membership=request.membership, job_id=job_id)
    path = services.report_path(job)
    if job.report_removed_at:
        raise Http404(
            _("The rejected-rows report of this import has been removed (reports are kept %(days)d days).")
            % {"days": settings.IMPORT_REPORT_KEEP_DAYS}
        )
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING) or not path.exists():  # only what was committed
        raise Http404(_("This import has no rejected rows."))
    name = job.file_name.rsplit(".", 1)[0] + "-rejected.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8")


@require_POST
@member_view
def import_undo(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = services.import_undo_request(membership=request.membership, job_id=job_id)
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The import of %(file)s is being undone: this page shows when it is done.") % {"file": job.file_name},
        )
    return redirect(reverse("import_detail", kwargs={"job_id": job_id}))


@require_GET
@member_view
def record_export(request: HttpRequest, *, kind) -> HttpResponse:
    """The list as it is filtered and sorted (or a saved view, `?view=`) as CSV or XLSX: every row the
    user may see, not just the page on screen."""
    from django.utils import timezone

    from insidesales.crm.views.listing import read_list_state

    state = read_list_state(request.GET, kind.filterset, request.membership)
    if state.errors:
        raise Http404(_("These filters are not valid."))
    headers, rows = exports.export_rows(
        membership=request.membership, model=kind.model, filters=state.filters, sort=state.sort
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    if request.GET.get("format") == "xlsx":
        handle = exports.xlsx_file(headers, rows)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{kind.plural}-{stamp}.xlsx",
            content_type=exports.XLSX_TYPE,
        )
    response = StreamingHttpResponse(exports.csv_stream(headers, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind.plural}-{stamp}.csv"'
    return response
