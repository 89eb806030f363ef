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
    """Queue the hourly purge unless a run is already waiting (see `core.recurring`)."""
    from insidesales.core.recurring import schedule_next

    return schedule_next(purge_idempotency_keys, PURGE_EVERY)
