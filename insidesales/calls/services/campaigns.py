"""Call campaigns: built from a saved view of leads (or a list of leads), dialled in one mode, each lead
tried up to `max_attempts` times with a spacing per outcome; leads that must not be called are skipped
with the reason kept on their campaign entry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.calls import gate
from insidesales.calls.models import (
    DEFAULT_RETRY_MINUTES,
    Call,
    CallerId,
    CallStatus,
    Campaign,
    CampaignLead,
    CampaignLeadState,
    CampaignMode,
    CampaignOrder,
    CampaignStatus,
)
from insidesales.calls.selectors import campaign_get
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.services.dnc import blocked_numbers
from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.crm.filters import LEAD_FILTERS
from insidesales.crm.models import Lead, SavedView
from insidesales.orgs.models import Agency, Membership, Role, Team
from insidesales.orgs.services import audit_record
from insidesales.orgs.visibility import managed_team_ids, visible_records

MANAGERS = (Role.ADMIN, Role.MANAGER)
MAX_LINES_PER_AGENT = Decimal("5")
# Outcomes after which a lead is called again later (if attempts remain), and those that end it.
RETRY_OUTCOMES = frozenset(DEFAULT_RETRY_MINUTES)
ORDERINGS = {
    CampaignOrder.NEWEST: ("-lead__created_at", "-lead_id"),
    CampaignOrder.OLDEST: ("lead__created_at", "lead_id"),
    CampaignOrder.STALEST: ("lead__last_activity_at", "lead_id"),
}


def _clean(membership: Membership, data: dict[str, Any], campaign: Campaign | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    org = membership.organization_id
    name = (data.get("name") or (campaign.name if campaign else "")).strip()
    if not name:
        errors["name"] = [_("Give the campaign a name.")]
    out["name"] = name[:200]
    mode = data.get("mode", campaign.mode if campaign else CampaignMode.PREVIEW)
    if mode not in CampaignMode.values:
        errors["mode"] = [_("Choose a dialing mode.")]
    out["mode"] = mode
    try:
        lines = Decimal(str(data.get("lines_per_agent", campaign.lines_per_agent if campaign else 1)))
    except InvalidOperation:
        lines = Decimal("0")
    if not Decimal("1") <= lines <= MAX_LINES_PER_AGENT:
        errors["lines_per_agent"] = [_("Between 1 and 5 lines per ready agent.")]
    out["lines_per_agent"] = lines
    try:
        attempts = int(data.get("max_attempts", campaign.max_attempts if campaign else 3))
    except (TypeError, ValueError):
        attempts = 0
    if not 1 <= attempts <= 20:
        errors["max_attempts"] = [_("Between 1 and 20 attempts.")]
    out["max_attempts"] = attempts
    order = data.get("order", campaign.order if campaign else CampaignOrder.VIEW)
    out["order"] = order if order in CampaignOrder.values else CampaignOrder.VIEW
    retry = dict(campaign.retry_minutes if campaign else {})
    for outcome, minutes in (data.get("retry_minutes") or {}).items():
        if outcome not in RETRY_OUTCOMES:
            errors.setdefault("retry_minutes", []).append(_("Unknown outcome: %(name)s") % {"name": outcome})
            continue
        try:
            value = int(minutes)
        except (TypeError, ValueError):
            value = -1
        if not 1 <= value <= 60 * 24 * 30:
            errors.setdefault("retry_minutes", []).append(_("Wait between 1 minute and 30 days."))
            continue
        if outcome == "abandoned" and value < DEFAULT_RETRY_MINUTES["abandoned"]:
            # The message an abandoned callee hears promises three days of quiet (and UK Ofcom asks for it).
            errors.setdefault("retry_minutes", []).append(_("Wait at least 72 hours after an abandoned call."))
            continue
        retry[outcome] = value
    out["retry_minutes"] = retry
    out["talk_track"] = str(data.get("talk_track", campaign.talk_track if campaign else ""))[:20000]
    out["check_24h_window"] = bool(data.get("check_24h_window", campaign.check_24h_window if campaign else False))
    for key, model in (("team_id", Team), ("agency_id", Agency), ("caller_id_id", CallerId)):
        value = data.get(key, getattr(campaign, key) if campaign else None)
        if value in (None, ""):
            out[key] = None
        elif not model.objects.filter(organization_id=org, pk=value).exists():
            errors[key.removesuffix("_id")] = [_("Choose one from the list.")]
        else:
            out[key] = int(value)
    if out.get("team_id") and out.get("agency_id"):
        errors["agency"] = [_("A campaign is for a team or for an agency, not both.")]
    if membership.role == Role.MANAGER:
        if out.get("agency_id"):
            errors["agency"] = [_("Only admins run campaigns for agencies.")]
        if out.get("team_id") and out["team_id"] not in managed_team_ids(membership):
            errors["team"] = [_("Choose one of your teams.")]
    view_id = data.get("saved_view_id", campaign.saved_view_id if campaign else None)
    if view_id not in (None, ""):
        view = SavedView.objects.filter(organization_id=org, pk=view_id, record_type="lead").first()
        visible = view is not None and (view.owner_id == membership.user_id or view.team_id is not None)
        if not visible:
            errors["saved_view"] = [_("Choose one of your saved views of leads.")]
        out["saved_view_id"] = int(view_id) if visible else None
    else:
        out["saved_view_id"] = None
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)
    return out


@transaction.atomic
def campaign_create(*, membership: Membership, data: dict[str, Any]) -> Campaign:
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers create call campaigns."))
    values = _clean(membership, data, None)
    campaign = Campaign.objects.create(organization_id=membership.organization_id, created_by=membership.user, **values)
    lead_ids = data.get("lead_ids") or []
    campaign_populate(membership=membership, campaign=campaign, lead_ids=lead_ids)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="campaign.create",
        instance=campaign,
        changes={"name": [None, campaign.name], "mode": [None, campaign.mode]},
    )
    return campaign


@transaction.atomic
def campaign_update(*, membership: Membership, campaign_id: int, data: dict[str, Any]) -> Campaign:
    campaign = campaign_get(membership=membership, campaign_id=campaign_id)
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers change call campaigns."))
    values = _clean(membership, data, campaign)
    changes = {k: [str(getattr(campaign, k)), str(v)] for k, v in values.items() if getattr(campaign, k) != v}
    for key, value in values.items():
        setattr(campaign, key, value)
    campaign.save()
    if changes:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="campaign.update",
            instance=campaign,
            changes=changes,
        )
    return campaign


@transaction.atomic
def campaign_talk_track_update(*, membership: Membership, campaign_id: int, text: str) -> Campaign:
    """The talk track is guidance the reps who work the campaign keep up to date themselves."""
    campaign = campaign_get(membership=membership, campaign_id=campaign_id)
    text = (text or "")[:20000]
    if text != campaign.talk_track:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="campaign.talk_track",
            instance=campaign,
            changes={"talk_track": [len(campaign.talk_track), len(text)]},
        )
        campaign.talk_track = text
        campaign.save(update_fields=["talk_track", "updated_at"])
    return campaign


@transaction.atomic
def campaign_set_status(*, membership: Membership, campaign_id: int, status: str) -> Campaign:
    campaign = campaign_get(membership=membership, campaign_id=campaign_id)
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers start and stop call campaigns."))
    if status not in CampaignStatus.values:
        raise ValidationError(fields={"status": [_("Unknown status.")]})
    if status == CampaignStatus.ACTIVE and campaign.saved_view_id:
        campaign_populate(membership=membership, campaign=campaign)
    if status != campaign.status:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="campaign.status",
            instance=campaign,
            changes={"status": [campaign.status, status]},
        )
        campaign.status = status
        campaign.save(update_fields=["status", "updated_at"])
    return campaign


def _view_leads(membership: Membership, campaign: Campaign):
    view = campaign.saved_view
    errors: dict[str, list[str]] = {}
    cleaned = LEAD_FILTERS.clean(view.filters or {}, errors)
    qs = LEAD_FILTERS.apply(visible_records(Lead.objects.all(), membership), {} if errors else cleaned, membership)
    sort = view.sort if view.sort.lstrip("-") in LEAD_FILTERS.sorts else LEAD_FILTERS.default_sort
    return qs.order_by(sort, "-id" if sort.startswith("-") else "id")


def campaign_populate(*, membership: Membership, campaign: Campaign, lead_ids: list[int] | None = None) -> int:
    """Add the leads of the campaign's saved view (or `lead_ids`) that are not in it yet, as seen by
    `membership`, with priorities in the view's order. Returns how many were added."""
    if lead_ids:
        leads = visible_records(Lead.objects.filter(pk__in=lead_ids), membership).order_by("id")
    elif campaign.saved_view_id:
        leads = _view_leads(membership, campaign)
    else:
        return 0
    leads = leads.exclude(phone="")
    if campaign.agency_id:
        leads = leads.filter(agency_id=campaign.agency_id)
    present = set(CampaignLead.objects.filter(campaign=campaign).values_list("lead_id", flat=True))
    base = CampaignLead.objects.filter(campaign=campaign).count()
    new = []
    for position, lead_id in enumerate(leads.values_list("id", flat=True)[:200_000]):
        if lead_id not in present:
            new.append(CampaignLead(campaign=campaign, lead_id=lead_id, priority=-(base + position)))
    CampaignLead.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def campaign_add_leads(*, membership: Membership, campaign_id: int, lead_ids: list[int]) -> int:
    """Put selected leads in a campaign's queue (those already in it stay as they are). A lead the member
    may not see makes the whole request NotFound, like every bulk action. Returns how many were added."""
    from insidesales.core.errors import NotFound

    campaign = campaign_get(membership=membership, campaign_id=campaign_id)
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers add leads to call campaigns."))
    try:
        wanted = {int(i) for i in lead_ids}
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    if not wanted:
        raise ValidationError(fields={"ids": [_("Select at least one lead.")]})
    visible = visible_records(Lead.objects.filter(pk__in=wanted), membership).count()
    if visible != len(wanted):
        raise NotFound()
    added = campaign_populate(membership=membership, campaign=campaign, lead_ids=sorted(wanted))
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="campaign.add_leads",
        instance=campaign,
        changes={"leads_added": [None, added]},
    )
    return added


def _ordered(qs, campaign: Campaign):
    return qs.order_by(*ORDERINGS.get(campaign.order, ("-priority", "id")))


def campaign_next_leads(
    *, campaign: Campaign, count: int, scope: Q | None, agent_id: int | None = None, now: dt.datetime | None = None
) -> list[CampaignLead]:
    """Reserve up to `count` leads to call now: due, in `scope` (leads the working agents may see),
    passing the do-not-call and calling-window checks. Leads that fail are skipped with the reason
    kept (blocked for good, or put back until their window opens)."""
    if count <= 0 or scope is None:
        return []
    now = now or timezone.now()
    settings = telephony_settings(campaign.organization_id)
    picked: list[CampaignLead] = []
    looked = 0
    while len(picked) < count and looked < 2000:
        batch = list(
            _ordered(
                CampaignLead.objects.filter(
                    campaign=campaign, state=CampaignLeadState.PENDING, next_attempt_at__lte=now
                ).filter(Q(lead__organization_id=campaign.organization_id) & _prefixed(scope)),
                campaign,
            ).select_related("lead")[: max(20, count * 3)]
        )
        if not batch:
            break
        looked += len(batch)
        blocked = blocked_numbers(campaign.organization_id, campaign.pk, [e.lead.phone for e in batch])
        for entry in batch:
            lead = entry.lead
            refusal = gate.outbound_refusal(
                organization_id=campaign.organization_id,
                rules=settings.window_rules,
                number=lead.phone,
                country=lead.country,
                time_zone=lead.time_zone,
                campaign_id=campaign.pk,
                now=now,
                dnc=blocked,
            )
            if refusal is not None:
                _skip(entry, refusal, now)
                continue
            claimed = CampaignLead.objects.filter(pk=entry.pk, state=CampaignLeadState.PENDING).update(
                state=CampaignLeadState.DIALING, agent_id=agent_id, skip_reason="", skip_message=""
            )
            if claimed:
                entry.state, entry.agent_id = CampaignLeadState.DIALING, agent_id
                picked.append(entry)
                if len(picked) >= count:
                    break
    return picked


def _prefixed(scope: Q) -> Q:
    """A record-scope Q (owner_id=..., team_id=...) applied through `lead__`."""
    out = Q()
    out.connector, out.negated = scope.connector, scope.negated
    for child in scope.children:
        out.children.append(_prefixed(child) if isinstance(child, Q) else (f"lead__{child[0]}", child[1]))
    return out


def _skip(entry: CampaignLead, refusal: gate.Refusal, now: dt.datetime) -> None:
    """Keep why a lead was not called: for good (do-not-call, bad number) or until its window opens."""
    fields = {"skip_reason": refusal.code[:40], "skip_message": refusal.message[:255]}
    if refusal.next_allowed_at is not None:
        fields["next_attempt_at"] = refusal.next_allowed_at
    else:
        fields["state"] = CampaignLeadState.BLOCKED
    CampaignLead.objects.filter(pk=entry.pk).update(**fields)


def campaign_lead_finished(*, call: Call) -> None:
    """After a campaign call ends: count the attempt and decide when (or whether) to call again."""
    if call.campaign_id is None or call.lead_id is None:
        return
    campaign = call.campaign
    entry = CampaignLead.objects.filter(campaign_id=call.campaign_id, lead_id=call.lead_id).first()
    if entry is None or entry.call_id not in (None, call.pk):
        return
    outcome = call.status
    attempts_after = entry.attempts + 1
    entry.attempts = attempts_after
    entry.last_outcome = outcome
    entry.call = None
    retry = {**DEFAULT_RETRY_MINUTES, **(campaign.retry_minutes or {})}
    if outcome in retry and outcome != CallStatus.COMPLETED and attempts_after < campaign.max_attempts:
        entry.state = CampaignLeadState.PENDING
        entry.next_attempt_at = timezone.now() + dt.timedelta(minutes=retry[outcome])
        entry.agent = None
    elif outcome == CallStatus.COMPLETED:
        entry.state = CampaignLeadState.DONE  # the disposition may put it back (`campaign_lead_retry`)
    else:
        entry.state = CampaignLeadState.EXHAUSTED
    entry.save(update_fields=["attempts", "last_outcome", "call", "state", "next_attempt_at", "agent"])


def campaign_lead_retry(*, call: Call) -> None:
    """A disposition that asks for another try ("left voicemail"): back in the queue after the spacing."""
    if call.campaign_id is None or call.lead_id is None:
        return
    campaign = call.campaign
    entry = CampaignLead.objects.filter(campaign_id=call.campaign_id, lead_id=call.lead_id).first()
    if entry is None or entry.attempts >= campaign.max_attempts:
        return
    minutes = {**DEFAULT_RETRY_MINUTES, **(campaign.retry_minutes or {})}.get("no_answer", 120)
    CampaignLead.objects.filter(pk=entry.pk).update(
        state=CampaignLeadState.PENDING, next_attempt_at=timezone.now() + dt.timedelta(minutes=minutes), agent=None
    )
