"""Enrolling many records at once: a selection of ids, a saved view, a call's disposition. Each resolves the
records the actor may see and hands them to `enrollments_create` (services/sequences.py) in batches; the
counts of what was enrolled and skipped (and why) add up across batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from insidesales.core.errors import NotFound, ValidationError
from insidesales.crm.models import Contact, Lead
from insidesales.crm.selectors import saved_view_get
from insidesales.mail.models import Sequence
from insidesales.mail.selectors.sequences import saved_view_records
from insidesales.mail.services.sequences import EnrollResult, enrollments_create
from insidesales.orgs.models import Membership
from insidesales.orgs.visibility import visible_records

MODELS = {"lead": Lead, "contact": Contact}
BATCH = 2000
# One request enrolls at most this many records; the rest of a larger view is enrolled by running it again
# (those already in the sequence are skipped as "already").
MAX_RECORDS = 20_000


def _enroll_batches(*, actor: Membership, sequence: Sequence, record_type: str, records: Iterable[Any]) -> EnrollResult:
    total = EnrollResult()
    batch: list[Any] = []

    def flush() -> None:
        kwargs = {"leads": batch} if record_type == "lead" else {"contacts": batch}
        result = enrollments_create(actor=actor, sequence=sequence, **kwargs)
        total.enrolled.extend(result.enrolled)
        total.skipped.update(result.skipped)
        batch.clear()

    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return total


@transaction.atomic
def sequence_enroll_queryset(*, actor: Membership, sequence: Sequence, records: QuerySet) -> EnrollResult:
    """Enroll the records of a queryset already limited to what `actor` sees (at most MAX_RECORDS), all
    or none: a batch refused (no mailbox to send from, a concurrent enrollment) undoes the earlier ones."""
    record_type = "lead" if records.model is Lead else "contact"
    rows = records.only(
        "id", "email", "owner_id", "team_id", "agency_id", *(("status",) if record_type == "lead" else ())
    )
    return _enroll_batches(actor=actor, sequence=sequence, record_type=record_type, records=list(rows[:MAX_RECORDS]))


def sequence_enroll_ids(*, actor: Membership, sequence: Sequence, record_type: str, ids: Iterable[Any]) -> EnrollResult:
    """Enroll selected leads or contacts. An id the actor may not see makes the whole request NotFound and
    enrolls nothing, like every bulk action."""
    model = MODELS.get(record_type)
    if model is None:
        raise NotFound()
    try:
        wanted = {int(i) for i in ids}
    except (TypeError, ValueError, OverflowError) as exc:
        raise NotFound() from exc
    if not wanted:
        raise ValidationError(fields={"ids": [_("Select at least one record.")]})
    if len(wanted) > MAX_RECORDS:
        raise ValidationError(fields={"ids": [_("Select at most %(n)d records.") % {"n": MAX_RECORDS}]})
    records = visible_records(model.objects.filter(pk__in=wanted), actor)
    if records.count() != len(wanted):
        raise NotFound()
    return sequence_enroll_queryset(actor=actor, sequence=sequence, records=records.order_by("id"))


def sequence_enroll_saved_view(*, actor: Membership, sequence: Sequence, view_id: Any) -> EnrollResult:
    """Enroll what one of the actor's saved views of leads or contacts shows them, in the view's order."""
    view = saved_view_get(membership=actor, view_id=view_id)
    if view.record_type not in MODELS:
        raise ValidationError(fields={"saved_view": [_("Choose a saved view of leads or contacts.")]})
    return sequence_enroll_queryset(
        actor=actor, sequence=sequence, records=saved_view_records(membership=actor, view=view)
    )
