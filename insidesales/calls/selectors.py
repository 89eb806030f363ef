"""Reads of the calls app, always scoped to the acting member.

Calls are seen by whoever may see the record called (owner, team and agency are copied onto the
call) and by whoever may see the agent's work (a manager sees their team's calls). Campaigns: admins
all; managers their teams' campaigns and those with no team; reps the campaigns of their team or
with no team; agency reps only their agency's campaigns."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.calls.models import Call, Callback, Campaign, DncEntry
from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.core.pagination import Page, paginate
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


def call_page(
    *,
    membership: Membership,
    agent_id: int | None = None,
    lead_id: int | None = None,
    contact_id: int | None = None,
    campaign_id: int | None = None,
    status: str | None = None,
    direction: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """A page of the calls this member sees, newest first (by `queued_at`), narrowed by the filters given;
    `since` is inclusive and `until` exclusive."""
    qs = call_list(membership=membership).select_related("agent", "campaign", "disposition")
    exact = {
        "agent_id": agent_id,
        "lead_id": lead_id,
        "contact_id": contact_id,
        "campaign_id": campaign_id,
        "status": status,
        "direction": direction,
    }
    qs = qs.filter(**{name: value for name, value in exact.items() if value is not None})
    if since is not None:
        qs = qs.filter(queued_at__gte=since)
    if until is not None:
        qs = qs.filter(queued_at__lt=until)
    return paginate(qs, order="-queued_at", cursor=cursor, limit=limit)


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
    qs = DncEntry.objects.filter(organization_id=membership.organization_id).select_related("added_by")
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
    # Only callbacks on records the member may see (a team callback must not name a lead hidden from them).
    from insidesales.crm.models import Contact, Lead
    from insidesales.orgs.visibility import visible_records

    org_leads = Lead.objects.filter(organization_id=membership.organization_id)
    org_contacts = Contact.objects.filter(organization_id=membership.organization_id)
    qs = qs.filter(
        Q(lead__in=visible_records(org_leads, membership).values("pk"))
        | Q(contact__in=visible_records(org_contacts, membership).values("pk"))
    )
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


def dnc_check(*, membership: Membership, number: str) -> tuple[str, bool]:
    """(the number in E.164, whether the organization-wide list blocks it), for anyone who may call;
    unlike `dnc_list`, it tells about one number without showing the list."""
    from insidesales.calls.services.dialing import CALLERS
    from insidesales.calls.services.dnc import blocked_numbers, dnc_normalize

    if membership.role not in CALLERS:
        raise PermissionDenied(_("Your role does not place calls."))
    e164 = dnc_normalize(number, membership.organization.default_region)
    if e164 is None:
        raise ValidationError(fields={"number": [_("This does not look like a phone number.")]})
    return e164, e164 in blocked_numbers(membership.organization_id, None, [e164])


def callback_page(
    *,
    membership: Membership,
    due_only: bool = False,
    now: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """A page of the open callbacks this member sees, soonest due first; `due_only`: those due by `now`."""
    qs = callback_list(membership=membership).filter(done_at__isnull=True).select_related("assignee")
    if due_only:
        qs = qs.filter(due_at__lte=now or timezone.now())
    return paginate(qs, order="due_at", cursor=cursor, limit=limit)
