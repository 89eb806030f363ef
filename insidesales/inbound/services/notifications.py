"""Alerts for people: a new inbound lead for its rep, a reassigned one, a missed deadline for the managers.

`notify` writes the Notification rows and the live events in the caller's transaction: the alert exists
exactly when what it announces was committed, and a crash can neither lose it nor send it twice (the
unique constraint on (submission, user, kind, step) refuses a second). The email copy goes out from the
worker (`notification_email_send`), claimed row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from insidesales.core.models import LiveEvent
from insidesales.inbound.models import Notification

EMAIL_BATCH = 200


def topic(user_id: int) -> str:
    return f"notify:{user_id}"


def notify(
    *,
    organization_id: int,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str = "",
    lead_id: int | None = None,
    contact_id: int | None = None,
    submission_id: int | None = None,
    step: int = 0,
    now: dt.datetime | None = None,
    fresh: bool = False,
) -> list[Notification]:
    """Alert each of `user_ids` (in the current transaction); already-alerted ones are skipped (`fresh`: the
    submission was created in this transaction, so nobody was alerted about it yet)."""
    now = now or timezone.now()
    wanted = sorted(set(user_ids))
    if not wanted:
        return []
    if submission_id is not None and not fresh:
        done = set(
            Notification.objects.filter(
                submission_id=submission_id, kind=kind, step=step, user_id__in=wanted
            ).values_list("user_id", flat=True)
        )
        wanted = [u for u in wanted if u not in done]
    rows = [
        Notification(
            organization_id=organization_id,
            user_id=uid,
            kind=kind,
            title=title[:255],
            body=body[:500],
            lead_id=lead_id,
            contact_id=contact_id,
            submission_id=submission_id,
            step=step,
            created_at=now,
        )
        for uid in wanted
    ]
    if not rows:
        return []
    with transaction.atomic(savepoint=False):
        Notification.objects.bulk_create(rows)
        if rows[0].pk is None:  # backends that do not return ids: read them back
            rows = list(
                Notification.objects.filter(
                    submission_id=submission_id, kind=kind, step=step, user_id__in=wanted, created_at=now
                ).order_by("user_id")
            )
        LiveEvent.objects.bulk_create(
            [
                LiveEvent(
                    topic=topic(n.user_id),
                    payload={
                        "id": n.pk,
                        "kind": n.kind,
                        "title": n.title,
                        "body": n.body,
                        "lead": n.lead_id,
                        "contact": n.contact_id,
                        "url": n.link,
                        "submission": n.submission_id,
                    },
                )
                for n in rows
            ]
        )
    from insidesales.inbound.services.notification_email import schedule_soon

    transaction.on_commit(schedule_soon)
    return rows


def notification_read(*, membership, notification_id: int) -> Notification:
    """Mark one of my alerts read (someone else's, or a missing one, is NotFound)."""
    from insidesales.core.errors import one_or_not_found
    from insidesales.inbound.selectors_notifications import notification_scope

    note = one_or_not_found(notification_scope(membership=membership), notification_id)
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    return note


def notifications_read_all(*, membership) -> int:
    from insidesales.inbound.selectors_notifications import notification_scope

    return notification_scope(membership=membership).filter(read_at__isnull=True).update(read_at=timezone.now())
