"""Placing, ending and wrapping up calls: click-to-call, hang-up, disposition and its actions."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.calls import gate
from insidesales.calls.models import (
    FINAL_CALL_STATUSES,
    AgentSession,
    AgentState,
    Call,
    CallDirection,
    CallerId,
    CallStatus,
    Disposition,
    DncSource,
    ProviderKind,
)
from insidesales.calls.selectors import call_get, campaign_get
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.services.timeline import call_timeline_sync
from insidesales.core import live
from insidesales.core.errors import Conflict, ValidationError
from insidesales.crm.models import Company, Contact, Lead
from insidesales.crm.services.common import get_visible
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.services import audit_record

CALLERS = (Role.ADMIN, Role.MANAGER, Role.INSIDE_REP, Role.FIELD_REP, Role.AGENCY_REP)
RECORD_TYPES = {"lead": Lead, "contact": Contact, "company": Company}


class CallBlocked(Conflict):
    """The call must not be placed (do-not-call, outside the callee's calling window...)."""

    title = "Call not allowed"

    def __init__(self, refusal: gate.Refusal) -> None:
        super().__init__(refusal.message, extra={"reason": refusal.code, "next_allowed_at": refusal.next_iso})
        self.refusal = refusal


def caller_id_for(*, organization_id: int, team_id: int | None, to_number: str, preferred: CallerId | None) -> str:
    """The number to show: the campaign's, else local presence (a number of ours in the callee's region),
    else the team's, else the organization's default."""
    if preferred is not None:
        return preferred.number
    numbers = list(CallerId.objects.filter(organization_id=organization_id).order_by("-is_default", "id"))
    local = gate.local_presence(to_number, [(n.number, n.region) for n in numbers])
    if local:
        return local
    for number in numbers:
        if team_id and number.team_id == team_id:
            return number.number
    for number in numbers:
        if number.is_default or number.team_id is None:
            return number.number
    return numbers[0].number if numbers else ""


def call_start(
    *, membership: Membership, record_type: str, record_id: int, number: str | None = None, campaign_id=None
) -> Call:
    """Click-to-call: check the call may be placed and queue it for the dialer worker, which rings the
    rep's phone and the callee and connects them. The call is on the record's timeline at once."""
    model = RECORD_TYPES.get(record_type)
    if model is None or membership.role not in CALLERS:
        from insidesales.core.errors import NotFound

        raise NotFound()
    record = get_visible(model, membership, record_id)
    to_number = record.phone if number is None else number
    if not to_number:
        raise ValidationError(fields={"number": [_("This record has no phone number.")]})
    if to_number != record.phone and to_number != getattr(getattr(record, "company", None), "phone", None):
        raise ValidationError(fields={"number": [_("Call a number stored on the record.")]})
    _no_call_in_progress(membership)
    campaign = campaign_get(membership=membership, campaign_id=campaign_id) if campaign_id else None
    settings = telephony_settings(membership.organization_id)
    now = timezone.now()
    refusal = gate.outbound_refusal(
        organization_id=membership.organization_id,
        rules=settings.window_rules,
        number=to_number,
        country=getattr(record, "country", ""),
        time_zone=getattr(record, "time_zone", ""),
        campaign_id=campaign_id,
        now=now,
    )
    if refusal is not None:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="call.blocked",
            instance=record,
            changes={"number": [None, to_number], "reason": [None, refusal.code]},
        )
        raise CallBlocked(refusal)
    from_number = caller_id_for(
        organization_id=membership.organization_id,
        team_id=membership.team_id,
        to_number=to_number,
        preferred=campaign.caller_id if campaign else None,
    )
    if not from_number and settings.provider != ProviderKind.SIMULATED:
        # Telemarketing rules require a caller ID the callee can call back; carriers reject calls without one.
        raise Conflict(_("No caller ID is set up: an admin adds the organization's numbers in the telephony settings."))
    # Not atomic above this point: a refused call's audit row stays even though the refusal is raised.
    with transaction.atomic():
        # One call at a time per rep, even for a double click: the member's row is the lock.
        Membership.objects.select_for_update().filter(pk=membership.pk).first()
        _no_call_in_progress(membership)
        call = Call.objects.create(
            organization_id=membership.organization_id,
            direction=CallDirection.OUTBOUND,
            provider=settings.provider,
            from_number=from_number,
            campaign=campaign,
            to_number=to_number,
            agent=membership.user,
            lead=record if model is Lead else None,
            contact=record if model is Contact else None,
            company=record if model is Company else None,
            owner_id=record.owner_id,
            team_id=record.team_id,
            agency_id=record.agency_id,
            queued_at=now,
        )
        call_timeline_sync(call)
        # A rep ready at the desktop who dials by hand is on this call: the dialer connects nobody else to them.
        AgentSession.objects.filter(
            organization_id=membership.organization_id, user=membership.user, state=AgentState.READY
        ).update(state=AgentState.ON_CALL, state_since=now, current_call=call)
        live.publish("dialer:queue", {"call": call.pk})
        live.publish(f"agent:{membership.user_id}", {"call": call.pk, "status": call.status})
    return call


def _no_call_in_progress(membership: Membership) -> None:
    from insidesales.calls.services.agents import undisposed_call

    if undisposed_call(membership) is not None:
        # After each conversation the rep records how it went before the next call.
        raise Conflict(_("Choose the outcome of your last call first."))
    if (
        Call.objects.filter(
            organization_id=membership.organization_id, agent=membership.user, direction=CallDirection.OUTBOUND
        )
        .exclude(status__in=FINAL_CALL_STATUSES)
        .filter(queued_at__gte=timezone.now() - dt.timedelta(hours=4))
        .exists()
    ):
        raise Conflict(_("Finish your current call first."))


@transaction.atomic
def call_hangup(*, membership: Membership, call_id: int) -> Call:
    """Ask the dialer to end the call (it cancels a ringing call, hangs up an answered one)."""
    call = call_get(membership=membership, call_id=call_id, for_update=True)
    if call.status in FINAL_CALL_STATUSES:
        return call
    if call.agent_id != membership.user_id and membership.role not in (Role.ADMIN, Role.MANAGER):
        raise Conflict(_("Only the rep on the call or a supervisor can end it."))
    if call.hangup_requested_at is None:
        call.hangup_requested_at = timezone.now()
        call.save(update_fields=["hangup_requested_at", "updated_at"])
        live.publish("dialer:queue", {"hangup": call.pk})
    if call.direction == CallDirection.INBOUND and call.provider == ProviderKind.SIMULATED:
        # A simulated incoming call has no carrier leg a worker holds: it ends here.
        from insidesales.calls.providers.base import EventKind, ProviderEvent
        from insidesales.calls.services.events import call_event_apply

        call_event_apply(
            ProviderEvent(
                provider=call.provider,
                provider_call_id=call.provider_call_id,
                kind=EventKind.COMPLETED,
                occurred_at=timezone.now(),
                event_id=f"{call.provider_call_id}:completed",
            )
        )
        call.refresh_from_db()
    return call


@transaction.atomic
def call_dispose(
    *,
    membership: Membership,
    call_id: int,
    disposition_key: str,
    note: str = "",
    callback_at: dt.datetime | None = None,
    callback_personal: bool = True,
) -> Call:
    """Record how the call went and run the disposition's actions (callback, lead status, DNC)."""
    call = call_get(membership=membership, call_id=call_id, for_update=True)
    if call.agent_id != membership.user_id and membership.role not in (Role.ADMIN, Role.MANAGER):
        raise Conflict(_("Only the rep who took the call can set its outcome."))
    disposition = Disposition.objects.filter(
        organization_id=membership.organization_id, key=disposition_key, is_active=True
    ).first()
    errors: dict[str, list[str]] = {}
    if disposition is None:
        errors["disposition"] = [_("Choose how the call went.")]
    note = (note or "").strip()
    if len(note) > 20000:
        errors["note"] = [_("Notes are limited to 20,000 characters.")]
    actions = disposition.actions if disposition else {}
    if actions.get("callback"):
        if not (call.lead_id or call.contact_id):
            errors["disposition"] = [_("A callback is promised to a lead or a contact: call them from their page.")]
        elif callback_at is None:
            errors["callback_at"] = [_("Choose when to call back.")]
        elif callback_at <= timezone.now():
            errors["callback_at"] = [_("A callback must be in the future.")]
    if errors:
        raise ValidationError(fields=errors)
    if call.status not in FINAL_CALL_STATUSES and call.status != CallStatus.QUEUED:
        raise Conflict(_("Hang up before choosing the outcome."))
    before = call.disposition.key if call.disposition_id else None
    call.disposition = disposition
    call.disposed_at = timezone.now()
    call.note = note
    call.save(update_fields=["disposition", "disposed_at", "note", "updated_at"])
    call_timeline_sync(call)
    record = call.lead or call.contact
    if actions.get("add_to_dnc") and call.to_number:
        from insidesales.calls.services.dnc import dnc_add

        dnc_add(membership=membership, number=call.to_number, source=DncSource.DISPOSITION, reason=disposition.key)
    if actions.get("callback") and record is not None:
        from insidesales.calls.services.callbacks import callback_schedule

        callback_schedule(
            membership=membership,
            record=record,
            due_at=callback_at,
            personal=callback_personal,
            note=note[:500],
            call=call,
        )
    status = actions.get("lead_status")
    if status and call.lead_id and call.lead.status in ("new", "working") and status != call.lead.status:
        from insidesales.crm.services.leads import _set_status

        _set_status(call.lead, status, membership.user)
    if actions.get("retry"):
        from insidesales.calls.services.campaigns import campaign_lead_retry

        campaign_lead_retry(call=call)
    if actions.get("enroll_sequence"):
        from insidesales.calls.services.dispositions import disposition_enroll

        disposition_enroll(membership=membership, call=call, disposition=disposition)
    # The rep who wrapped this call up is ready for the next (the agent desktop shows the next lead).
    AgentSession.objects.filter(
        organization_id=membership.organization_id, user=membership.user, state=AgentState.WRAP_UP
    ).update(state=AgentState.READY, state_since=timezone.now(), current_call=None, current_lead=None)
    live.publish(f"agent:{membership.user_id}", {"state": AgentState.READY})
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="call.dispose",
        instance=call,
        changes={"disposition": [before, disposition.key]},
    )
    return call
