"""Background tasks of imports. Thin: take ids, call a service; safe to run twice (an import resumes
after its last committed batch, and a finished one is left alone)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

PURGE_FILES_EVERY = dt.timedelta(hours=1)


@task()
def run_import(job_id: int) -> int | None:
    from insidesales.imports.services import import_run

    job = import_run(job_id=job_id)
    return job.rows_done if job is not None else None


@task()
def run_duplicate_scan(scan_id: int) -> int | None:
    from insidesales.imports.duplicates import scan_run

    scan = scan_run(scan_id=scan_id)
    return scan.pairs_count if scan is not None else None


@task()
def run_import_undo(job_id: int) -> str | None:
    from insidesales.imports.services import import_undo_run

    job = import_undo_run(job_id=job_id)
    return job.status if job is not None else None


@task()
def purge_import_files() -> dict[str, int]:
    """Remove the import files that are due (see `imports.retention`), then queue the next run."""
    from insidesales.imports.retention import import_files_purge

    removed = import_files_purge()
    schedule_import_file_purge()
    return removed


def schedule_import_file_purge() -> bool:
    from insidesales.core.recurring import schedule_next

    return schedule_next(purge_import_files, PURGE_FILES_EVERY)
