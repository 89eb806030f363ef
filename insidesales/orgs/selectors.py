"""Reads for organizations and people, scoped to the acting membership."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from insidesales.core.errors import PermissionDenied
from insidesales.orgs.models import Agency, ApiKey, AuditLog, Membership, Role, Team, User
from insidesales.orgs.visibility import visible_user_ids


def member_list(*, membership: Membership) -> QuerySet[Membership]:
    """Colleagues this member may pick as owners/assignees and see work of."""
    qs = Membership.objects.select_related("user", "team", "agency").filter(
        organization_id=membership.organization_id, is_active=True
    )
    if membership.role == Role.AGENCY_REP:
        return qs.filter(agency_id=membership.agency_id)
    ids = visible_user_ids(membership)
    if ids is not None and membership.role != Role.MANAGER:
        # Reps may see every colleague's name (to hand over work) but not agency staff.
        qs = qs.filter(agency__isnull=True)
    return qs.order_by("user__full_name", "user__email")


def assignable_users(*, membership: Membership) -> QuerySet[User]:
    ids = member_list(membership=membership).values_list("user_id", flat=True)
    return User.objects.filter(pk__in=ids).order_by("full_name", "email")


def team_list(*, membership: Membership) -> QuerySet[Team]:
    return Team.objects.filter(organization_id=membership.organization_id).order_by("name")


def agency_list(*, membership: Membership) -> QuerySet[Agency]:
    qs = Agency.objects.filter(organization_id=membership.organization_id).order_by("name")
    if membership.role == Role.AGENCY_REP:
        return qs.filter(pk=membership.agency_id)
    return qs


def api_key_list(*, membership: Membership) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=membership.user, organization_id=membership.organization_id).order_by(
        "-created_at"
    )


def audit_log_list(*, membership: Membership, action: str = "", object_type: str = "") -> QuerySet[AuditLog]:
    """The organization's audit log, newest first; `action` matches as a prefix ("lead." = every lead action)."""
    if membership.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators can read the audit log."))
    qs = (
        AuditLog.objects.select_related("actor")
        .filter(organization_id=membership.organization_id)
        .order_by("-created_at", "-id")
    )
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    return qs


def agency_list_with_member_counts(*, membership: Membership) -> QuerySet[Agency]:
    """Agencies with `member_count` (active memberships), for the admins' agencies page."""
    return agency_list(membership=membership).annotate(member_count=Count("members", filter=Q(members__is_active=True)))
