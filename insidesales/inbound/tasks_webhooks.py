"""Background tasks of outgoing webhooks. Thin: each calls `insidesales.inbound.delivery`, which claims
rows, so a task run twice (or by two workers) sends nothing twice.

`deliver_webhook` is queued when an event commits and again for each retry's time; the sweep runs every
minute and sends whatever is due but was not handed to a task (a lost enqueue, a restore, a crash)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

SWEEP_EVERY = dt.timedelta(minutes=1)


@task()
def deliver_webhook(delivery_id: int) -> bool:
    """Send one delivery if it is due and nobody else is sending it."""
    from insidesales.inbound.delivery import deliver_one

    return deliver_one(delivery_id=delivery_id) is not None


@task()
def deliver_due_webhooks() -> int:
    """Send every due delivery, then queue the next sweep a minute later."""
    from insidesales.inbound.delivery import deliver_due

    try:
        return deliver_due()
    finally:
        schedule_webhook_sweep()


def schedule_webhook_sweep() -> bool:
    """Queue the minutely sweep unless one is already waiting (see `core.recurring`)."""
    from insidesales.core.recurring import schedule_next

    return schedule_next(deliver_due_webhooks, SWEEP_EVERY)
