"""Inbound calls: find who is calling (a lead or contact with that number, whatever format it was typed
in — numbers are kept in E.164), create a lead for an unknown caller, and route the call to the
record's owner if they are at the desktop, else to a free rep of the record's team, else to any free
rep who may see the record. The record pops on the answering rep's screen (live event). Nobody free:
the call is missed and a callback is scheduled for the owner or the team."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from insidesales.calls.models import AgentSession, AgentState, Call, Callback, CallDirection
from insidesales.calls.services.timeline import call_timeline_sync
from insidesales.core import live
from insidesales.core.errors import Conflict
from insidesales.core.phones import parse_phone
from insidesales.crm.models import ActivityKind, Contact, Lead, LeadSource
from insidesales.crm.services.activities import activity_log
from insidesales.orgs.models import Membership, Organization
from insidesales.orgs.visibility import record_scope


@dataclass(frozen=True)
class InboundResult:
    call: Call
    record: Lead | Contact
    created_lead: bool
    agent_id: int | None


def caller_record(organization: Organization, number: str) -> Lead | Contact | None:
    """The contact or lead with this number: contacts first (existing customers), then leads; the most
    recently active one when several share it."""
    parsed = parse_phone(number, organization.default_region)
    if parsed is None:
        return None
    for model in (Contact, Lead):
        found = (
            model.objects.filter(organization=organization, phone=parsed.e164)
            .order_by("-last_activity_at", "-id")
            .first()
        )
        if found is not None:
            return found
    return None


def _free_agent(organization: Organization, record) -> int | None:
    """The rep to ring: the owner if ready; else the ready rep of the record's team who has waited
    longest; else any ready rep who may see the record."""
    from insidesales.calls.services.agents import PRESENCE

    ready = AgentSession.objects.filter(
        organization=organization, state=AgentState.READY, seen_at__gte=timezone.now() - PRESENCE
    ).order_by("state_since")  # ready and at the desktop now
    if record.owner_id and ready.filter(user_id=record.owner_id).exists():
        return record.owner_id
    members = {
        m.user_id: m
        for m in Membership.objects.filter(
            organization=organization, user_id__in=ready.values("user_id"), is_active=True
        ).select_related("organization", "agency", "user")
    }
    sessions = list(ready.values_list("user_id", flat=True))
    team_first = sorted(sessions, key=lambda uid: members.get(uid) is None or members[uid].team_id != record.team_id)
    for user_id in team_first:
        membership = members.get(user_id)
        if membership is None:
            continue
        scope = record_scope(membership)
        if scope is not None and type(record).objects.filter(pk=record.pk).filter(scope).exists():
            return user_id
    return None


@transaction.atomic
def call_inbound_receive(
    *, organization: Organization, provider: str, provider_call_id: str, from_number: str, to_number: str
) -> InboundResult:
    """An incoming call arrived: identify the caller, route it, pop the record. Idempotent per provider
    call id (a repeated webhook gives back the same call)."""
    existing = (
        Call.objects.filter(organization=organization, provider=provider, provider_call_id=provider_call_id)
        .exclude(provider_call_id="")
        .first()
    )
    if (
        existing is None
        and provider_call_id
        and Call.objects.filter(provider=provider, provider_call_id=provider_call_id).exists()
    ):
        raise Conflict("this provider call belongs to another organization")
    if existing is not None and provider_call_id:
        record = existing.lead or existing.contact
        return InboundResult(existing, record, False, existing.agent_id)
    parsed = parse_phone(from_number, organization.default_region)
    caller = parsed.e164 if parsed else from_number[:20]
    record = caller_record(organization, caller)
    created = False
    if record is None:
        record = Lead.objects.create(
            organization=organization,
            last_name=caller,
            phone=caller if parsed else "",
            phone_raw=from_number[:64],
            country=parsed.country if parsed else "",
            time_zone=parsed.time_zone if parsed else "",
            source=LeadSource.INBOUND_CALL,
        )
        activity_log(record=record, kind=ActivityKind.CREATED, actor=None, data={"source": "inbound_call"})
        created = True
    agent_id = _free_agent(organization, record)
    now = timezone.now()
    call = Call.objects.create(
        organization=organization,
        direction=CallDirection.INBOUND,
        provider=provider,
        provider_call_id=provider_call_id,
        from_number=caller,
        to_number=to_number[:20],
        agent_id=agent_id,
        lead=record if isinstance(record, Lead) else None,
        contact=record if isinstance(record, Contact) else None,
        owner_id=record.owner_id,
        team_id=record.team_id,
        agency_id=record.agency_id,
        queued_at=now,
        dispatched_at=now,
    )
    call_timeline_sync(call)
    if agent_id is not None:
        AgentSession.objects.filter(organization=organization, user_id=agent_id, state=AgentState.READY).update(
            state=AgentState.ON_CALL,
            state_since=now,
            current_call=call,
            current_lead=record if isinstance(record, Lead) else None,
        )
        live.publish(f"agent:{agent_id}", {"call": call.pk, "inbound": True, "status": call.status})
    else:
        _missed(organization, record, call, now)
    live.publish(f"org:{organization.pk}:calls", {"call": call.pk, "status": call.status})
    return InboundResult(call, record, created, agent_id)


def call_missed(*, call_id: int) -> None:
    """The rep an incoming call rang did not take it: they go back to ready, a callback is scheduled."""
    call = Call.objects.select_related("organization", "lead", "contact").get(pk=call_id)
    if call.agent_id:
        AgentSession.objects.filter(
            organization_id=call.organization_id, user_id=call.agent_id, current_call=call
        ).update(state=AgentState.READY, state_since=timezone.now(), current_call=None)
    if not Callback.objects.filter(call=call).exists():
        _missed(call.organization, call.lead or call.contact, call, timezone.now())


def _missed(organization: Organization, record, call: Call, now: dt.datetime) -> None:
    """Nobody free to answer: a callback within the hour for the owner (or anyone on the team)."""
    Callback.objects.create(
        organization=organization,
        lead=record if isinstance(record, Lead) else None,
        contact=record if isinstance(record, Contact) else None,
        due_at=now + dt.timedelta(minutes=5),
        assignee_id=record.owner_id,
        team_id=record.team_id,
        agency_id=record.agency_id,
        is_personal=bool(record.owner_id),
        call=call,
        note=call.from_number,
    )


def call_inbound_simulate(*, membership: Membership, from_number: str) -> InboundResult:
    """The demo's incoming call (simulated carrier only): as if the number called the organization; the
    rep it is routed to is connected at once."""
    import secrets

    from django.utils.translation import gettext as _

    from insidesales.calls.models import ProviderKind
    from insidesales.calls.providers.base import EventKind, ProviderEvent
    from insidesales.calls.services.config import telephony_settings
    from insidesales.calls.services.events import call_event_apply
    from insidesales.core.errors import Conflict, ValidationError

    if telephony_settings(membership.organization_id).provider != ProviderKind.SIMULATED:
        raise Conflict(_("Incoming calls are simulated only with the simulated carrier."))
    if parse_phone(from_number, membership.organization.default_region) is None:
        raise ValidationError(fields={"number": [_("This does not look like a phone number.")]})
    provider_id = f"sim-in-{secrets.token_hex(6)}"
    result = call_inbound_receive(
        organization=membership.organization,
        provider=ProviderKind.SIMULATED,
        provider_call_id=provider_id,
        from_number=from_number,
        to_number="",
    )
    now = timezone.now()
    kinds = [EventKind.RINGING] + ([EventKind.ANSWERED, EventKind.BRIDGED] if result.agent_id else [])
    for kind in kinds:
        call_event_apply(
            ProviderEvent(
                provider=ProviderKind.SIMULATED,
                provider_call_id=provider_id,
                kind=kind,
                occurred_at=now,
                event_id=f"{provider_id}:{kind}",
                data={"answered_by": "human"} if kind == EventKind.ANSWERED else {},
            )
        )
    if not result.agent_id:
        call_event_apply(
            ProviderEvent(
                provider=ProviderKind.SIMULATED,
                provider_call_id=provider_id,
                kind=EventKind.NO_ANSWER,
                occurred_at=now,
                event_id=f"{provider_id}:no_answer",
            )
        )
    result.call.refresh_from_db()
    return result
