"""Reads of a person's alerts: only ever their own."""

from __future__ import annotations

from django.db.models import QuerySet

from insidesales.inbound.models import Notification
from insidesales.orgs.models import Membership

UNREAD_CAP = 99


def notification_list(*, membership: Membership, limit: int = 50) -> list[Notification]:
    return list(
        Notification.objects.filter(organization_id=membership.organization_id, user_id=membership.user_id).order_by(
            "-id"
        )[:limit]
    )


def notification_scope(*, membership: Membership) -> QuerySet[Notification]:
    return Notification.objects.filter(organization_id=membership.organization_id, user_id=membership.user_id)


def unread_count(*, membership: Membership) -> int:
    """Unread alerts, counted up to 100 (the badge shows "99+")."""
    return len(
        notification_scope(membership=membership)
        .filter(read_at__isnull=True)
        .order_by("-id")
        .values_list("id", flat=True)[: UNREAD_CAP + 1]
    )
