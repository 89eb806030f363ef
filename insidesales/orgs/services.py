"""Writes for organizations, people, agencies, API keys and the audit log."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.compiled import CompiledQuery
from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.orgs.models import Agency, ApiKey, AuditLog, Membership, Organization, Role, Team, User

API_KEY_PREFIX = "isk_"


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, float, bool, str)) or value is None:
        return value
    return str(value)


def snapshot(instance: Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Field values of `instance` (FKs as ids) for before/after comparison in the audit log."""
    names = fields or [f.attname for f in instance._meta.concrete_fields if not f.name.endswith("_key")]
    return {name: _plain(getattr(instance, name, None)) for name in names}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v and k != "updated_at"}


def audit_record(
    *,
    organization_id: int,
    actor: User | None,
    action: str,
    instance: Model | None = None,
    object_type: str = "",
    object_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row. Called by every service that writes."""
    return AuditLog.objects.create(
        organization_id=organization_id,
        actor=actor if actor and actor.pk else None,
        action=action,
        object_type=object_type or (instance._meta.model_name if instance is not None else ""),
        object_id=object_id if object_id is not None else (instance.pk if instance is not None else None),
        object_repr=str(instance)[:255] if instance is not None else "",
        changes=changes or {},
    )


def require_admin(membership: Membership) -> None:
    if membership.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators can do this."))


@transaction.atomic
def organization_create(*, name: str, slug: str, default_region: str = "US", time_zone: str = "UTC") -> Organization:
    organization = Organization.objects.create(name=name, slug=slug, default_region=default_region, time_zone=time_zone)
    from insidesales.crm.services import pipeline_create_default

    pipeline_create_default(organization=organization)
    return organization


@transaction.atomic
def member_add(
    *,
    actor: User | None,
    organization: Organization,
    email: str,
    full_name: str = "",
    role: str = Role.INSIDE_REP,
    team: Team | None = None,
    agency: Agency | None = None,
    password: str | None = None,
    language: str = "en",
) -> Membership:
    email = email.strip().lower()
    if role == Role.AGENCY_REP and agency is None:
        raise ValidationError(fields={"agency": [_("An agency rep needs an agency.")]})
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name, language=language)
    membership = Membership.objects.create(organization=organization, user=user, role=role, team=team, agency=agency)
    audit_record(
        organization_id=organization.pk,
        actor=actor,
        action="member.add",
        instance=membership,
        changes={"role": [None, role], "user": [None, email]},
    )
    return membership


@transaction.atomic
def agency_set_active(*, actor_membership: Membership, agency_id: int, is_active: bool) -> Agency:
    """Switch an agency on or off. Off takes effect on its users' next request."""
    require_admin(actor_membership)
    agency = Agency.objects.filter(organization_id=actor_membership.organization_id, pk=agency_id).first()
    if agency is None:
        raise NotFound()
    before = agency.is_active
    agency.is_active = is_active
    agency.save(update_fields=["is_active"])
    audit_record(
        organization_id=agency.organization_id,
        actor=actor_membership.user,
        action="agency.activate" if is_active else "agency.deactivate",
        instance=agency,
        changes={"is_active": [before, is_active]},
    )
    return agency


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, membership: Membership, name: str) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full secret, which is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(fields={"name": [_("Give the key a name.")]})
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization_id=membership.organization_id,
        user=membership.user,
        name=name[:100],
        prefix=prefix,
        key_hash=_hash_key(secret),
    )
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="api_key.create",
        instance=key,
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, membership: Membership, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(pk=key_id, user=membership.user, organization_id=membership.organization_id).first()
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="api_key.revoke",
            instance=key,
        )
    return key


def _live_key(prefix: str):
    return ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).order_by("pk")[:1]


# Every API request runs it: compiled to SQL once (see core/compiled.py).
_LIVE_KEY = CompiledQuery(_live_key, prefix="sentinel-prefix-7301915446")


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The live key for `secret`, or None. Updates last-used time at most once a minute."""
    if not secret or not secret.startswith(API_KEY_PREFIX):
        return None
    try:
        prefix = secret[len(API_KEY_PREFIX) :].split("_", 1)[0]
    except IndexError:
        return None
    found = _LIVE_KEY.run(prefix=prefix)
    key = found[0] if found else None
    if key is None or not secrets.compare_digest(key.key_hash, _hash_key(secret)) or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- login throttling ---------------------------------------------------------------------------


def _throttle_keys(email: str, ip: str) -> tuple[str, str]:
    from django.conf import settings

    # Counters live in fixed windows named by number: some cache backends (the database one) reset a key's
    # expiry to the default on `incr`, so the expiry alone cannot be trusted to end the window.
    window = int(time.time() // max(1, settings.LOGIN_THROTTLE_WINDOW))
    digest = hashlib.sha256(f"{email.lower()}|{ip}".encode()).hexdigest()[:32]
    return f"login-fail:acct:{digest}:{window}", f"login-fail:ip:{ip}:{window}"


def login_is_throttled(*, email: str, ip: str) -> bool:
    from django.conf import settings

    account_key, ip_key = _throttle_keys(email, ip)
    return (cache.get(account_key, 0) >= settings.LOGIN_THROTTLE_PER_ACCOUNT) or (
        cache.get(ip_key, 0) >= settings.LOGIN_THROTTLE_PER_IP
    )


def login_record_failure(*, email: str, ip: str) -> None:
    from django.conf import settings

    for key in _throttle_keys(email, ip):
        cache.add(key, 0, settings.LOGIN_THROTTLE_WINDOW)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, settings.LOGIN_THROTTLE_WINDOW)
        cache.touch(key, settings.LOGIN_THROTTLE_WINDOW)


def login_record_success(*, email: str, ip: str) -> None:
    cache.delete(_throttle_keys(email, ip)[0])


def password_reset_allowed(*, email: str, ip: str) -> bool:
    """Count a password-reset request; False (and nothing counted) once the address or the IP has used
    up its requests for the current window. Unknown addresses count like known ones."""
    from django.conf import settings

    window_seconds = max(1, settings.PASSWORD_RESET_THROTTLE_WINDOW)
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    limits = (
        (f"pwreset:addr:{digest}:{window}", settings.PASSWORD_RESET_PER_ADDRESS),
        (f"pwreset:ip:{ip}:{window}", settings.PASSWORD_RESET_PER_IP),
    )
    if any(cache.get(key, 0) >= limit for key, limit in limits):
        return False
    for key, _limit in limits:
        cache.add(key, 0, window_seconds)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window_seconds)
        cache.touch(key, window_seconds)
    return True


@transaction.atomic
def user_update_preferences(*, user: User, language: str | None = None, time_zone: str | None = None) -> User:
    before = snapshot(user, ["language", "time_zone"])
    if language is not None:
        if language not in ("en", "ru"):
            raise ValidationError(fields={"language": [_("Unknown language.")]})
        user.language = language
    if time_zone is not None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(fields={"time_zone": [_("Unknown time zone.")]}) from exc
        user.time_zone = time_zone
    user.save(update_fields=["language", "time_zone"])
    changes = diff(before, snapshot(user, ["language", "time_zone"]))
    for membership in user.memberships.all():
        audit_record(
            organization_id=membership.organization_id,
            actor=user,
            action="user.preferences",
            instance=user,
            changes=changes,
        )
    return user
