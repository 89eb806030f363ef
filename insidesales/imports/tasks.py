"""Background tasks of imports. Thin: take ids, call a service; safe to run twice (an import resumes
after its last committed batch, and a finished one is left alone)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

PURGE_EVERY = dt.timedelta(hours=1)


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
def purge_expired_data() -> dict[str, int]:
    """Remove the import files that are due (see `imports.retention`) and erase the copies kept for
    merges that can no longer be undone (see `imports.merge`), then queue the next run."""
    from insidesales.imports.merge import merge_copies_erase
    from insidesales.imports.retention import import_files_purge

    done = {**import_files_purge(), "merges": merge_copies_erase()}
    schedule_expired_data_purge()
    return done


def schedule_expired_data_purge() -> bool:
    from insidesales.core.recurring import schedule_next

    return schedule_next(purge_expired_data, PURGE_EVERY)
