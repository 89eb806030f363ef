"""The organization's suppression list: addresses nobody in it emails again (unsubscribes, hard bounces,
complaints, added by hand). Every send path asks `is_suppressed` (or `ensure_not_suppressed`) first."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict
from insidesales.mail.models import Suppression, SuppressionReason


class AddressSuppressed(Conflict):
    """The address is on the organization's suppression list: nothing may be sent to it."""

    title = "Address suppressed"
    code = "address_suppressed"  # the API problem's `code`


def normalize_address(email: str) -> str:
    return (email or "").strip().lower()


def is_suppressed(*, organization_id: int, email: str) -> bool:
    return Suppression.objects.filter(organization_id=organization_id, email=normalize_address(email)).exists()


def suppressed_among(*, organization_id: int, emails: list[str]) -> set[str]:
    """Which of `emails` (normalized) are suppressed, in one query."""
    wanted = {normalize_address(e) for e in emails if e}
    if not wanted:
        return set()
    return set(
        Suppression.objects.filter(organization_id=organization_id, email__in=wanted).values_list("email", flat=True)
    )


def ensure_not_suppressed(*, organization_id: int, email: str) -> None:
    entry = Suppression.objects.filter(organization_id=organization_id, email=normalize_address(email)).first()
    if entry is not None:
        raise AddressSuppressed(
            _("%(email)s is on the organization's suppression list (%(reason)s): nothing can be sent to it.")
            % {"email": entry.email, "reason": entry.get_reason_display()},
            extra={"email": entry.email, "reason": entry.reason},
        )


def suppression_add(*, organization_id: int, email: str, reason: str, actor: Any = None, note: str = "") -> Suppression:
    """Suppress `email` (idempotent: an address already listed keeps its first reason)."""
    address = normalize_address(email)
    if reason not in SuppressionReason.values:
        raise ValueError(reason)
    existing = Suppression.objects.filter(organization_id=organization_id, email=address).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(
                organization_id=organization_id,
                email=address,
                reason=reason,
                note=note[:500],
                created_by=getattr(actor, "user", actor) if actor is not None else None,
            )
    except IntegrityError:  # added by a concurrent request
        return Suppression.objects.get(organization_id=organization_id, email=address)


def suppression_remove(*, actor: Any, suppression: Suppression) -> None:
    suppression.delete()
