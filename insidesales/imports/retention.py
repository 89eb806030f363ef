"""How long imported files stay on disk, and how much of them an organization may keep at once.

An uploaded list is personal data of thousands of people and can be gigabytes: it is kept only while
it is needed. The upload goes as soon as its import is done (undo works from the ids the import
recorded, not from the file) or failed over the file itself or its user's access, when nobody
started it within `IMPORT_UNSTARTED_KEEP_HOURS`, and `IMPORT_REPORT_KEEP_DAYS` after an import
stopped by an internal error (an operator may queue that run again: it resumes after its last
batch); the rejected-rows report, which people download to fix and import again,
`IMPORT_REPORT_KEEP_DAYS` after the import ended. The hourly `purge_import_files` task removes
what is due; a removal is claimed on the job's row first (a conditional UPDATE), so a purge and a
person starting the same upload never both win.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import ValidationError
from insidesales.imports.models import ImportJob, ImportStatus

ENDED = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.UNDOING, ImportStatus.UNDONE)


def stored_bytes(organization_id: int) -> int:
    """What the organization's import files take now: uploads and reports not removed yet."""
    jobs = ImportJob.objects.filter(organization_id=organization_id)
    uploads = jobs.filter(upload_removed_at__isnull=True).aggregate(n=Sum("file_size"))["n"] or 0
    reports = jobs.filter(report_removed_at__isnull=True).aggregate(n=Sum("report_bytes"))["n"] or 0
    return uploads + reports


def check_room(organization_id: int, size: int, used: int) -> None:
    """Refuse an upload that would take the organization's files past the limit."""
    limit = settings.IMPORT_STORAGE_LIMIT_BYTES
    if used + size > limit:
        message = _(
            "Your organization's import files would take more than the %(limit)s it may keep. "
            "Files of finished imports are removed automatically; try again later, or split the file."
        ) % {"limit": filesizeformat(limit)}
        raise ValidationError(message, fields={"file": [message]})


def upload_expired(job: ImportJob) -> bool:
    return job.status == ImportStatus.UPLOADED and job.upload_removed_at is not None


def expired_message() -> str:
    return _("This upload expired: files not imported within %(hours)d hours are removed. Upload it again.") % {
        "hours": settings.IMPORT_UNSTARTED_KEEP_HOURS
    }


def remove_upload(job: ImportJob) -> bool:
    """Remove the upload of an import that has ended (called when it is done, or failed over its
    file or its user's access). True when this call removed it."""
    claimed = ImportJob.objects.filter(pk=job.pk, status__in=ENDED, upload_removed_at__isnull=True).update(
        upload_removed_at=timezone.now()
    )
    if claimed:
        _unlink(upload_path(job))
    return bool(claimed)


def import_files_purge(now: dt.datetime | None = None) -> dict[str, int]:
    """Remove every upload and report that is due; returns how many of each went."""
    now = now or timezone.now()
    unstarted_before = now - dt.timedelta(hours=settings.IMPORT_UNSTARTED_KEEP_HOURS)
    report_before = now - dt.timedelta(days=settings.IMPORT_REPORT_KEEP_DAYS)
    due_upload = (
        Q(status__in=(ImportStatus.DONE, ImportStatus.UNDONE))
        | Q(status=ImportStatus.UNDOING, undo_from_status=ImportStatus.DONE)
        | Q(status__in=(ImportStatus.FAILED, ImportStatus.UNDOING), finished_at__lt=report_before)
        | Q(status=ImportStatus.UPLOADED, created_at__lt=unstarted_before)
    )
    uploads = reports = 0
    for job in ImportJob.objects.filter(due_upload, upload_removed_at__isnull=True).only("pk", "stored_as"):
        if ImportJob.objects.filter(due_upload, pk=job.pk, upload_removed_at__isnull=True).update(
            upload_removed_at=now
        ):
            _unlink(upload_path(job))
            uploads += 1
    due_report = Q(status__in=ENDED, finished_at__lt=report_before, report_removed_at__isnull=True)
    for job in ImportJob.objects.filter(due_report).only("pk", "stored_as"):
        if ImportJob.objects.filter(due_report, pk=job.pk).update(report_removed_at=now):
            _unlink(report_path(job))
            reports += 1
    return {"uploads": uploads, "reports": reports, "strays": _sweep_strays(now)}


STRAY_AFTER = dt.timedelta(days=1)


def _sweep_strays(now: dt.datetime) -> int:
    """Remove files of the imports directory that no import keeps (a process that died between
    marking a file removed and removing it, or while storing an upload), once a day old: an upload
    being written has no row yet."""
    from insidesales.imports.services import upload_dir

    kept = set()
    for stored_as, upload_gone, report_gone in ImportJob.objects.filter(
        Q(upload_removed_at__isnull=True) | Q(report_removed_at__isnull=True)
    ).values_list("stored_as", "upload_removed_at", "report_removed_at"):
        if upload_gone is None:
            kept.add(stored_as)
        if report_gone is None:
            kept.add(f"{stored_as}.rejected.csv")
    removed = 0
    for path in upload_dir().iterdir():
        if path.name in kept or not path.is_file():
            continue
        if dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC) < now - STRAY_AFTER:
            _unlink(path)
            removed += 1
    return removed


def upload_path(job: ImportJob):
    from insidesales.imports.services import upload_dir

    return upload_dir() / job.stored_as


def report_path(job: ImportJob):
    from insidesales.imports.services import report_path as path

    return path(job)


def _unlink(path) -> None:
    path.unlink(missing_ok=True)
