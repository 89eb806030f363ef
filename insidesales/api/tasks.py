"""Background tasks of the API app. Thin: call the function that does the work; safe to run twice."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

PURGE_EVERY = dt.timedelta(hours=1)


@task()
def purge_idempotency_keys() -> int:
    """Forget Idempotency-Key answers older than 24 hours, then queue the next run an hour later."""
    from insidesales.api.idempotency import idempotency_purge_expired

    deleted = idempotency_purge_expired()
    schedule_idempotency_purge()
    return deleted


def schedule_idempotency_purge() -> bool:
    """Queue the hourly purge unless a run is already waiting (the worker calls this when it starts, and
    each run queues the next: restarts never start a second chain). False when nothing was queued,
    also with a task backend other than the database one (whose waiting tasks this cannot see)."""
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(purge_idempotency_keys.get_backend(), DatabaseBackend):
        return False

    waiting = DBTaskResult.objects.filter(
        task_path=purge_idempotency_keys.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    purge_idempotency_keys.using(run_after=timezone.now() + PURGE_EVERY).enqueue()
    return True
