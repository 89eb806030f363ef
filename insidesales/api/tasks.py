"""Background tasks of the API app. Thin: call the function that does the work; safe to run twice."""

from __future__ import annotations

from django_tasks import task


@task()
def purge_idempotency_keys() -> int:
    """Forget Idempotency-Key answers older than 24 hours (schedule it, e.g. hourly)."""
    from insidesales.api.idempotency import idempotency_purge_expired

    return idempotency_purge_expired()
