"""Callbacks: promised calls, personal or for the team, surfaced at the top of a rep's queue when due;
an overdue personal callback goes to the team after the organization's delay."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.calls.models import Call, Callback
from insidesales.calls.selectors import callback_list
from insidesales.calls.services.config import telephony_settings
from insidesales.core.errors import NotFound, ValidationError
from insidesales.crm.models import ActivityKind, Lead
from insidesales.crm.services.activities import activity_log
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record


@transaction.atomic
def callback_schedule(
    *,
    membership: Membership,
    record,
    due_at: dt.datetime,
    personal: bool = True,
    note: str = "",
    call: Call | None = None,
) -> Callback:
    if due_at is None or timezone.is_naive(due_at):
        raise ValidationError(fields={"callback_at": [_("Choose when to call back.")]})
    is_lead = isinstance(record, Lead)
    callback = Callback.objects.create(
        organization_id=membership.organization_id,
        lead=record if is_lead else None,
        contact=None if is_lead else record,
        due_at=due_at,
        assignee=membership.user,
        team_id=membership.team_id or record.team_id,
        agency_id=record.agency_id,
        is_personal=personal,
        note=note[:500],
        call=call,
        created_by=membership.user,
    )
    activity_log(
        record=record,
        kind=ActivityKind.TASK,
        actor=membership.user,
        subject=_("Callback scheduled")[:255],
        body=note,
        data={"callback_id": callback.pk, "due_at": due_at.isoformat(), "personal": personal},
    )
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="callback.schedule",
        instance=callback,
        changes={"due_at": [None, due_at.isoformat()]},
    )
    return callback


@transaction.atomic
def callback_complete(*, membership: Membership, callback_id: int, call: Call | None = None) -> Callback:
    callback = callback_list(membership=membership).select_for_update().filter(pk=callback_id).first()
    if callback is None:
        raise NotFound()
    if callback.done_at is None:
        callback.done_at = timezone.now()
        if call is not None:
            callback.call = call
        callback.save(update_fields=["done_at", "call", "updated_at"])
    return callback


def callbacks_due(*, membership: Membership, now: dt.datetime | None = None, limit: int = 20) -> list[Callback]:
    """The callbacks this rep should make now, personal first, oldest due first."""
    now = now or timezone.now()
    mine = Q(assignee_id=membership.user_id)
    team = Q(pk__in=[])
    if membership.team_id:
        team = Q(team_id=membership.team_id) & (Q(is_personal=False) | Q(released_at__isnull=False))
    qs = (
        callback_list(membership=membership)
        .filter(done_at__isnull=True, due_at__lte=now)
        .filter(mine | team)
        .select_related("lead", "contact")
        .order_by("due_at", "id")
    )
    rows = list(qs[: limit * 2])
    rows.sort(key=lambda c: (c.assignee_id != membership.user_id, c.due_at))
    return rows[:limit]


def callbacks_release_overdue(*, now: dt.datetime | None = None) -> int:
    """Hand overdue personal callbacks to the team (per organization delay). Safe to run any time."""
    now = now or timezone.now()
    released = 0
    org_ids = (
        Callback.objects.filter(done_at__isnull=True, is_personal=True, released_at__isnull=True, due_at__lt=now)
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for org_id in list(org_ids):
        delay = dt.timedelta(minutes=telephony_settings(org_id).callback_release_minutes)
        released += Callback.objects.filter(
            organization_id=org_id,
            done_at__isnull=True,
            is_personal=True,
            released_at__isnull=True,
            due_at__lt=now - delay,
        ).update(released_at=now)
    return released
