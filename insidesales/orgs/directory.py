"""What every page asks about an organization, read once per change instead of once per request.

A list page lists every assignable user twice (filter and bulk assignment), the teams, agencies, tags
and the member's saved views, a detail page the custom fields: queries that give the same answer
until someone changes people, teams, agencies, tags, saved views or custom fields. Each such change
raises the organization's `directory_version` (signal receivers below, in the same transaction as the
change); the membership read at the start of every request carries the version, and `remembered()`
keeps a selector's result per (membership, what) for as long as the version stays the same.

The selectors stay the only place that decides what a member may see: this module keeps their
answers, it never filters anything itself. Each process keeps its own copy; the version in the
database keeps every process honest.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

# (organization id, membership id, what) -> the answer; every entry belongs to the version in
# _versions[organization id]: when a request brings another version, the organization's entries go.
_cache: dict[tuple[int, int, str], Any] = {}
_versions: dict[int, int] = {}
# Model instances shared by the entries of one organization (a list of users is kept once per user,
# not once per member who sees it): (organization id, model, pk) -> instance.
_shared: dict[tuple[int, type, Any], Any] = {}
_lock = threading.Lock()
MAX_ENTRIES = 20_000


def bump(organization_id: int | None) -> None:
    """Mark everything remembered about the organization as out of date.

    The new version is random, not the old one plus one: a version number can then never come back
    (after a restore, or when something moves between organizations) and match an old answer."""
    from insidesales.orgs.models import Organization

    if organization_id:
        Organization.objects.filter(pk=organization_id).update(directory_version=secrets.randbits(62))


def _drop_organization(organization_id: int) -> None:
    for key in [k for k in _cache if k[0] == organization_id]:
        del _cache[key]
    for key in [k for k in _shared if k[0] == organization_id]:
        del _shared[key]


def _share(organization_id: int, value: Any) -> Any:
    """The answer with each model instance replaced by the organization's one copy of it."""
    if not isinstance(value, tuple):
        return value
    out = []
    for item in value:
        if isinstance(item, tuple):
            out.append(_share(organization_id, item))
        elif getattr(item, "pk", None) is not None and hasattr(item, "_meta"):
            out.append(_shared.setdefault((organization_id, type(item), item.pk), item))
        else:
            out.append(item)
    return tuple(out)


def remembered(membership: Any, what: str, compute: Callable[[], Any], *, shared: bool = False) -> Any:
    """`compute()` (a tuple) for this membership, reused while the organization's directory version
    is the one this request's membership was read with. `shared=True` keeps one answer for every
    member of the organization: only for answers that do not depend on who asks."""
    organization_id = membership.organization_id
    version = membership.organization.directory_version
    key = (organization_id, 0 if shared else membership.pk, what)
    with _lock:
        if _versions.get(organization_id) == version and key in _cache:
            return _cache[key]
    value = compute()
    with _lock:
        if _versions.get(organization_id) != version:
            _drop_organization(organization_id)
            _versions[organization_id] = version
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
            _shared.clear()
        value = _cache[key] = _share(organization_id, value)
    return value


def forget_all() -> None:
    """Drop every remembered answer (tests, whose rolled-back rows reuse ids)."""
    with _lock:
        _cache.clear()
        _shared.clear()
        _versions.clear()


# --- what raises the version --------------------------------------------------------------------

USER_FIELDS_SHOWN = {"full_name", "email", "is_active"}


def _bump_for_instance(sender, instance, **kwargs) -> None:
    bump(getattr(instance, "organization_id", None))


def _bump_organization_left(sender, instance, raw=False, **kwargs) -> None:
    """A row moved to another organization (possible in the admin): the one it leaves changes too."""
    if raw or instance.pk is None or instance._state.adding:
        return
    before = sender.objects.filter(pk=instance.pk).values_list("organization_id", flat=True).first()
    if before is not None and before != instance.organization_id:
        bump(before)


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
    from insidesales.crm.models import CustomField, SavedView, Tag
    from insidesales.orgs.models import Agency, Membership, Team, User

    for model in (Membership, Team, Agency, Tag, SavedView, CustomField):
        post_save.connect(_bump_for_instance, sender=model, dispatch_uid=f"directory-save-{model.__name__}")
        post_delete.connect(_bump_for_instance, sender=model, dispatch_uid=f"directory-delete-{model.__name__}")
        pre_save.connect(_bump_organization_left, sender=model, dispatch_uid=f"directory-move-{model.__name__}")
    post_save.connect(_bump_for_user, sender=User, dispatch_uid="directory-save-user")
    m2m_changed.connect(_bump_for_team_managers, sender=Team.managers.through, dispatch_uid="directory-managers")
