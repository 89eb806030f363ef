"""What every page asks about an organization, read once per change instead of once per request.

A list page lists every assignable user twice (filter and bulk assignment), the teams, agencies, tags
and the member's saved views: five or six queries that give the same answer until someone changes
people, teams, agencies, tags or saved views. Each such change raises the organization's
`directory_version` (signal receivers below, in the same transaction as the change); the membership
read at the start of every request carries the version, and `remembered()` keeps a selector's result
per (membership, what) for as long as the version stays the same.

The selectors stay the only place that decides what a member may see: this module keeps their
answers, it never filters anything itself. Each process keeps its own copy; the version in the
database keeps every process honest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

_cache: dict[tuple[int, str], tuple[int, Any]] = {}
_lock = threading.Lock()
MAX_ENTRIES = 20_000


def bump(organization_id: int | None) -> None:
    """Mark everything remembered about the organization as out of date."""
    from insidesales.orgs.models import Organization

    if organization_id:
        Organization.objects.filter(pk=organization_id).update(directory_version=F("directory_version") + 1)


def remembered(membership: Any, what: str, compute: Callable[[], Any]) -> Any:
    """`compute()` for this membership, reused while the organization's directory version is unchanged."""
    version = membership.organization.directory_version
    key = (membership.pk, what)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = compute()
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (version, value)
    return value


def forget_all() -> None:
    """Drop every remembered answer (tests, whose rolled-back rows reuse ids)."""
    with _lock:
        _cache.clear()


# --- what raises the version --------------------------------------------------------------------

USER_FIELDS_SHOWN = {"full_name", "email", "is_active"}


def _bump_for_instance(sender, instance, **kwargs) -> None:
    bump(getattr(instance, "organization_id", None))


def _bump_for_user(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not (set(update_fields) & USER_FIELDS_SHOWN):
        return  # e.g. last_login on every sign-in, a new password
    _bump_user_organizations(instance.pk)


def _bump_user_organizations(user_id: int) -> None:
    from insidesales.orgs.models import Membership

    for organization_id in set(Membership.objects.filter(user_id=user_id).values_list("organization_id", flat=True)):
        bump(organization_id)


def _bump_for_team_managers(sender, instance, action, reverse, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # changed from the user's side (user.managed_teams)
        _bump_user_organizations(instance.pk)
    else:
        bump(instance.organization_id)


def connect() -> None:
    from insidesales.crm.models import SavedView, Tag
    from insidesales.orgs.models import Agency, Membership, Team, User

    for model in (Membership, Team, Agency, Tag, SavedView):
        post_save.connect(_bump_for_instance, sender=model, dispatch_uid=f"directory-save-{model.__name__}")
        post_delete.connect(_bump_for_instance, sender=model, dispatch_uid=f"directory-delete-{model.__name__}")
    post_save.connect(_bump_for_user, sender=User, dispatch_uid="directory-save-user")
    m2m_changed.connect(_bump_for_team_managers, sender=Team.managers.through, dispatch_uid="directory-managers")
