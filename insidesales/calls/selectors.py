"""Reads of the calls app, always scoped to the acting member.

Calls are seen by whoever may see the record called (owner, team and agency are copied onto the
call) and by whoever may see the agent's work (a manager sees their team's calls). Campaigns: admins
all; managers their teams' campaigns and those with no team; reps the campaigns of their team or
with no team; agency reps only their agency's campaigns."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from insidesales.calls.models import Call, Callback, Campaign, DncEntry
from insidesales.core.errors import NotFound
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import managed_team_ids, record_scope, visible_user_ids


def call_scope(membership: Membership) -> Q | None:
    scope = record_scope(membership)
    if scope is None:
        return None
    if membership.role == Role.AGENCY_REP:
        return scope
    users = visible_user_ids(membership)
    return scope if users is None else scope | Q(agent_id__in=users)


def call_list(*, membership: Membership) -> QuerySet[Call]:
    qs = Call.objects.filter(organization_id=membership.organization_id)
    scope = call_scope(membership)
    return qs.none() if scope is None else qs.filter(scope)


def call_get(*, membership: Membership, call_id: int, for_update: bool = False) -> Call:
    qs = call_list(membership=membership)
    if for_update:
        qs = qs.select_for_update()
    try:
        call = qs.filter(pk=int(call_id)).first()
    except (TypeError, ValueError):
        call = None
    if call is None:
        raise NotFound()
    return call


def campaign_scope(membership: Membership) -> Q | None:
    if not membership.is_active:
        return None
    role = membership.role
    if role == Role.ADMIN:
        return Q()
    if role == Role.AGENCY_REP:
        if membership.agency_id is None or not membership.agency.is_active:
            return None
        return Q(agency_id=membership.agency_id)
    if role == Role.MANAGER:
        return Q(agency__isnull=True) & (Q(team__isnull=True) | Q(team_id__in=managed_team_ids(membership)))
    if role == Role.INSIDE_REP:
        team = Q(team__isnull=True)
        if membership.team_id:
            team |= Q(team_id=membership.team_id)
        return Q(agency__isnull=True) & team
    return None  # field reps do not work call campaigns


def campaign_list(*, membership: Membership) -> QuerySet[Campaign]:
    qs = Campaign.objects.filter(organization_id=membership.organization_id)
    scope = campaign_scope(membership)
    return qs.none() if scope is None else qs.filter(scope)


def campaign_get(*, membership: Membership, campaign_id) -> Campaign:
    try:
        found = campaign_list(membership=membership).filter(pk=int(campaign_id)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound()
    return found


def dnc_list(*, membership: Membership, campaign_id: int | None = None) -> QuerySet[DncEntry]:
    """Admins and managers read the lists (others only add to them)."""
    qs = DncEntry.objects.filter(organization_id=membership.organization_id)
    if membership.role not in (Role.ADMIN, Role.MANAGER):
        return qs.none()
    if campaign_id is None:
        return qs.filter(campaign__isnull=True)
    campaign = campaign_get(membership=membership, campaign_id=campaign_id)
    return qs.filter(campaign=campaign)


def callback_list(*, membership: Membership) -> QuerySet[Callback]:
    """Callbacks on records this member may see: their own, and the team's open ones."""
    qs = Callback.objects.filter(organization_id=membership.organization_id)
    scope = record_scope(membership)
    if scope is None:
        return qs.none()
    if membership.role == Role.AGENCY_REP:
        return qs.filter(agency_id=membership.agency_id)
    users = visible_user_ids(membership)
    if users is None:
        return qs
    mine = Q(assignee_id__in=users)
    if membership.team_id:
        mine |= Q(team_id=membership.team_id, is_personal=False) | Q(
            team_id=membership.team_id, released_at__isnull=False
        )
    if membership.role == Role.MANAGER:
        mine |= Q(team_id__in=managed_team_ids(membership))
    return qs.filter(mine)
