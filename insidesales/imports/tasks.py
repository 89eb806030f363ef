"""Background tasks of imports. Thin: take ids, call a service; safe to run twice (an import resumes
after its last committed batch, and a finished one is left alone)."""

from __future__ import annotations

from django_tasks import task


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
