"""The one set of visibility rules. Every selector that returns records goes through `visible_records`.

- admin: the whole organization
- manager: records of the teams they manage (by team or by an owner in those teams), their own,
  and the unassigned pool
- inside rep: their own records, plus the unassigned pool when the organization allows it
- field rep: their own records (accounts and what was booked for them)
- agency rep: only records assigned to their agency, and nothing once the agency is switched off
An object outside these answers 404 everywhere.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from insidesales.orgs.models import Membership, Role

M = TypeVar("M", bound=Model)


def unassigned_q() -> Q:
    return Q(owner__isnull=True, agency__isnull=True)


def managed_team_ids(membership: Membership) -> list[int]:
    cached = getattr(membership, "_managed_team_ids", None)
    if cached is None:
        cached = list(
            membership.user.managed_teams.filter(organization_id=membership.organization_id).values_list(
                "id", flat=True
            )
        )
        membership._managed_team_ids = cached  # type: ignore[attr-defined]
    return cached


def managed_user_ids(membership: Membership) -> list[int]:
    cached = getattr(membership, "_managed_user_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(
                organization_id=membership.organization_id, team_id__in=managed_team_ids(membership)
            ).values_list("user_id", flat=True)
        )
        membership._managed_user_ids = cached  # type: ignore[attr-defined]
    return cached


def record_scope(membership: Membership | None) -> Q | None:
    """The Q a record (anything with owner/team/agency) must match; None means no access at all."""
    if membership is None or not membership.is_active:
        return None
    role = membership.role
    if role == Role.ADMIN:
        return Q()
    if role == Role.AGENCY_REP:
        if membership.agency_id is None or not membership.agency.is_active:
            return None
        return Q(agency_id=membership.agency_id)
    own = Q(owner_id=membership.user_id)
    if role == Role.MANAGER:
        scope = own | unassigned_q()
        teams = managed_team_ids(membership)
        if teams:
            scope |= Q(team_id__in=teams) | Q(owner_id__in=managed_user_ids(membership))
        return scope
    if role == Role.INSIDE_REP:
        if membership.organization.reps_see_unassigned:
            return own | unassigned_q()
        return own
    if role == Role.FIELD_REP:
        return own
    return None


def visible_records(queryset: QuerySet[M], membership: Membership | None) -> QuerySet[M]:
    """Restrict a queryset of an AssignableRecord model to what `membership` may see."""
    if membership is None:
        return queryset.none()
    scope = record_scope(membership)
    queryset = queryset.filter(organization_id=membership.organization_id)
    if scope is None:
        return queryset.none()
    return queryset.filter(scope)


def visible_user_ids(membership: Membership) -> list[int] | None:
    """Users whose tasks and work this member may see; None means everyone in the organization."""
    if membership.role == Role.ADMIN:
        return None
    if membership.role == Role.MANAGER:
        return list({membership.user_id, *managed_user_ids(membership)})
    return [membership.user_id]


def can_assign_to_others(membership: Membership) -> bool:
    return membership.role in (Role.ADMIN, Role.MANAGER)


def can_delete_records(membership: Membership) -> bool:
    return membership.role in (Role.ADMIN, Role.MANAGER)
