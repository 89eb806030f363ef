"""Agents at the desktop: their state (ready / on a call / wrap-up / paused with a reason / offline), the
campaign they work, the lead in front of them, and dialing that lead in preview mode."""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.calls.models import (
    FINAL_CALL_STATUSES,
    AgentSession,
    AgentShift,
    AgentState,
    Call,
    CampaignLead,
    CampaignLeadState,
    CampaignMode,
    CampaignStatus,
)
from insidesales.calls.selectors import campaign_get
from insidesales.core import live
from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.orgs.models import Membership, Role

DESK_ROLES = (Role.ADMIN, Role.MANAGER, Role.INSIDE_REP, Role.AGENCY_REP)
# A ready rep whose desktop has not been seen for this long (closed tab, lost network) gets no calls; after
# AWAY_OFFLINE they are signed out of the dialer (their shift ends when they were last seen).
PRESENCE = dt.timedelta(seconds=60)
AWAY_OFFLINE = dt.timedelta(minutes=10)
PAUSE_REASONS = ("break", "lunch", "meeting", "training", "admin", "other")


def agent_session(membership: Membership) -> AgentSession:
    found = AgentSession.objects.filter(organization_id=membership.organization_id, user=membership.user).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return AgentSession.objects.create(organization_id=membership.organization_id, user=membership.user)
    except IntegrityError:
        return AgentSession.objects.get(organization_id=membership.organization_id, user=membership.user)


def undisposed_call(membership: Membership) -> Call | None:
    """The rep's last finished call still waiting for its outcome (a rep must choose one)."""
    return (
        Call.objects.filter(
            organization_id=membership.organization_id,
            agent=membership.user,
            status__in=FINAL_CALL_STATUSES,
            disposition__isnull=True,
            answered_at__isnull=False,
            queued_at__gte=timezone.now() - dt.timedelta(hours=12),
        )
        .order_by("-queued_at")
        .first()
    )


@transaction.atomic
def agent_state_set(
    *, membership: Membership, state: str, campaign_id: int | None = None, pause_reason: str = ""
) -> AgentSession:
    if membership.role not in DESK_ROLES:
        raise PermissionDenied(_("Field reps do not work call campaigns."))
    if state not in (AgentState.READY, AgentState.PAUSED, AgentState.OFFLINE):
        raise ValidationError(fields={"state": [_("Choose ready, paused or offline.")]})
    session = AgentSession.objects.select_for_update().get(pk=agent_session(membership).pk)
    campaign = campaign_get(membership=membership, campaign_id=campaign_id) if campaign_id else None
    if session.state == AgentState.ON_CALL and state != AgentState.OFFLINE:
        raise Conflict(_("You are on a call."))
    if state == AgentState.READY:
        if campaign is None and session.campaign_id is None:
            raise ValidationError(fields={"campaign": [_("Choose a campaign to work.")]})
        if undisposed_call(membership) is not None:
            raise Conflict(_("Choose the outcome of your last call first."))
    if state == AgentState.PAUSED and pause_reason not in PAUSE_REASONS:
        raise ValidationError(fields={"pause_reason": [_("Say why you pause.")]})
    if state == AgentState.READY and campaign is None and session.campaign_id:
        # Ready again on the campaign the rep worked: it must still be one they may work, and running.
        campaign = campaign_get(membership=membership, campaign_id=session.campaign_id)
    if campaign is not None and campaign.status != CampaignStatus.ACTIVE and state == AgentState.READY:
        raise Conflict(_("This campaign is not running."))
    now = timezone.now()
    switching = campaign is not None and campaign.pk != session.campaign_id
    if switching or state == AgentState.OFFLINE:
        _release_lead(session)
        AgentShift.objects.filter(
            organization_id=membership.organization_id, user=membership.user, ended_at__isnull=True
        ).update(ended_at=now)
    if switching:
        session.campaign = campaign
    if state != AgentState.OFFLINE and (switching or session.state == AgentState.OFFLINE):
        AgentShift.objects.create(
            organization_id=membership.organization_id, user=membership.user, campaign=session.campaign, started_at=now
        )
    session.state = state
    session.pause_reason = pause_reason if state == AgentState.PAUSED else ""
    session.state_since = timezone.now()
    session.seen_at = timezone.now()
    session.save()
    live.publish(f"agent:{membership.user_id}", {"state": state})
    live.publish(f"org:{membership.organization_id}:agents", {"user": membership.user_id, "state": state})
    return session


def _release_lead(session: AgentSession) -> None:
    """Put back a previewed lead the agent did not call."""
    if session.current_lead_id and session.campaign_id:
        CampaignLead.objects.filter(
            campaign_id=session.campaign_id,
            lead_id=session.current_lead_id,
            state=CampaignLeadState.DIALING,
            call__isnull=True,
        ).update(state=CampaignLeadState.PENDING, agent=None)
    session.current_lead = None


@transaction.atomic
def agent_skip_lead(*, membership: Membership) -> AgentSession:
    """Preview: not this one now — the lead goes back to the queue and the next is offered."""
    session = AgentSession.objects.select_for_update().get(pk=agent_session(membership).pk)
    if session.current_lead_id:
        # A due callback skipped comes back in a quarter of an hour, not at once.
        from insidesales.calls.models import Callback

        Callback.objects.filter(
            organization_id=membership.organization_id,
            lead_id=session.current_lead_id,
            done_at__isnull=True,
            due_at__lte=timezone.now(),
        ).update(due_at=timezone.now() + dt.timedelta(minutes=15))
    _release_lead(session)
    session.save(update_fields=["current_lead", "updated_at"])
    return session


@transaction.atomic
def agent_dial_current(*, membership: Membership) -> Call:
    """Preview: the rep dials the lead on their screen (through every check click-to-call makes)."""
    from insidesales.calls.services.dialing import call_start

    session = AgentSession.objects.select_for_update().get(pk=agent_session(membership).pk)
    if not session.current_lead_id or not session.campaign_id:
        raise Conflict(_("There is no lead on your screen."))
    if session.state != AgentState.READY:
        raise Conflict(_("Go ready first."))
    campaign = campaign_get(membership=membership, campaign_id=session.campaign_id)
    if campaign.mode != CampaignMode.PREVIEW:
        raise Conflict(_("The dialer places this campaign's calls."))
    call = call_start(
        membership=membership, record_type="lead", record_id=session.current_lead_id, campaign_id=campaign.pk
    )
    CampaignLead.objects.filter(campaign=campaign, lead_id=session.current_lead_id).update(call=call)
    # The rep is calling back: their due callbacks on this lead are done.
    from insidesales.calls.models import Callback

    Callback.objects.filter(
        organization_id=membership.organization_id,
        lead_id=session.current_lead_id,
        done_at__isnull=True,
        due_at__lte=timezone.now(),
    ).update(done_at=timezone.now(), call=call)
    session.state = AgentState.ON_CALL
    session.state_since = timezone.now()
    session.current_call = call
    session.save()
    return call


_SIP_URI = re.compile(r"^sips?:[A-Za-z0-9._~%+-]+@[A-Za-z0-9.-]+(:\d{1,5})?$")
_CLIENT = re.compile(r"^client:[A-Za-z0-9_.-]{1,100}$")


@transaction.atomic
def agent_endpoint_set(*, membership: Membership, endpoint: str) -> AgentSession:
    """Where the rep takes calls: a SIP address on the organization's own PBX or trunk domain, `client:<name>`
    (Twilio's browser phone), or a phone number of the organization's country that is not on the
    do-not-call list. Calls ring there with the organization's caller ID (and a SIP host is never sent
    the trunk's password), so a rep cannot point them at a host or number of their choosing elsewhere.
    Empty clears it. Audited."""
    from insidesales.calls.services.config import telephony_settings
    from insidesales.calls.services.dnc import blocked_numbers
    from insidesales.core.phones import parse_phone
    from insidesales.orgs.services import audit_record

    value = (endpoint or "").strip()
    errors: list[str] = []
    sip = _SIP_URI.match(value)
    provider = telephony_settings(membership.organization_id).provider
    if value and provider == "sip" and not sip:
        # A SIP trunk rings SIP addresses only (a softphone or desk phone on the PBX).
        raise ValidationError(fields={"endpoint": [_("With a SIP trunk, enter the SIP address of your phone.")]})
    if sip:
        config = telephony_settings(membership.organization_id).provider_config or {}
        allowed = {str(config.get(key, "")).lower() for key in ("trunk_host", "from_domain")} - {""}
        host = value.split("@", 1)[1].split(":", 1)[0].lower()
        if host not in allowed:
            errors.append(
                _("Use a SIP address on your organization's phone system (%(hosts)s).")
                % {"hosts": ", ".join(sorted(allowed)) or _("none is set up")}
            )
    elif value and not _CLIENT.match(value):
        region = membership.organization.default_region
        parsed = parse_phone(value, region)
        if parsed is None:
            errors.append(_("Enter a SIP address (sip:you@pbx.example.com), client:name or a phone number."))
        elif parsed.country and parsed.country != region:
            errors.append(_("Use a phone number in your organization's country."))
        elif blocked_numbers(membership.organization_id, None, [parsed.e164]):
            errors.append(_("This number is on the do-not-call list."))
        else:
            value = parsed.e164
    if errors:
        raise ValidationError(fields={"endpoint": errors})
    session = AgentSession.objects.select_for_update().get(pk=agent_session(membership).pk)
    if session.endpoint != value:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="agent.phone",
            instance=session,
            changes={"endpoint": [session.endpoint, value[:200]]},
        )
    session.endpoint = value[:200]
    session.save(update_fields=["endpoint", "updated_at"])
    return session


def agent_seen(*, membership: Membership) -> None:
    """The rep's desktop is open (called by its event stream every few seconds)."""
    AgentSession.objects.filter(organization_id=membership.organization_id, user_id=membership.user_id).update(
        seen_at=timezone.now()
    )


def agents_sign_out_away(now: dt.datetime) -> int:
    """Ready or paused reps whose desktop has been gone for AWAY_OFFLINE go offline (calls in progress
    and wrap-ups are left alone)."""
    away = AgentSession.objects.filter(state__in=(AgentState.READY, AgentState.PAUSED), seen_at__lt=now - AWAY_OFFLINE)
    count = 0
    for session in away:
        AgentShift.objects.filter(
            organization_id=session.organization_id, user_id=session.user_id, ended_at__isnull=True
        ).update(ended_at=session.seen_at)
        _release_lead(session)
        session.state, session.state_since = AgentState.OFFLINE, now
        session.save(update_fields=["state", "state_since", "current_lead", "campaign", "updated_at"])
        count += 1
    return count
