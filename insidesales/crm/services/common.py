"""Helpers shared by the record services: field normalization, custom-field validation, scoping."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from insidesales.core.compiled import CompiledQuery
from insidesales.core.errors import NotFound, ValidationError
from insidesales.core.phones import country_time_zone, parse_phone
from insidesales.core.text import normalize_email, search_key
from insidesales.crm.models import CustomField, CustomFieldType
from insidesales.orgs.models import Agency, Membership, Role, Team, User
from insidesales.orgs.visibility import visible_records


def clean_email(value: str, errors: dict[str, list[str]], field: str = "email") -> str:
    email = normalize_email(value)
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors.setdefault(field, []).append(_("Enter a valid email address."))
    return email


def apply_phone(instance: Any, raw: str | None, region: str, errors: dict[str, list[str]]) -> None:
    """Set phone (E.164), phone_raw, and — where the record has them and they are empty — country and time zone."""
    if raw is None:
        return
    raw = raw.strip()
    instance.phone_raw = raw[:64]
    if not raw:
        instance.phone = ""
        return
    parsed = parse_phone(raw, region)
    if parsed is None:
        errors.setdefault("phone", []).append(_("This does not look like a phone number."))
        return
    instance.phone = parsed.e164
    if hasattr(instance, "country") and parsed.country and not instance.country:
        instance.country = parsed.country
    if hasattr(instance, "time_zone") and parsed.time_zone and not instance.time_zone:
        instance.time_zone = parsed.time_zone


def fill_time_zone(instance: Any) -> None:
    if hasattr(instance, "time_zone") and not instance.time_zone and getattr(instance, "country", ""):
        instance.time_zone = country_time_zone(instance.country)


COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def clean_country(value: str, errors: dict[str, list[str]]) -> str:
    country = (value or "").strip().upper()
    if country and not COUNTRY_RE.match(country):
        errors.setdefault("country", []).append(_("Use a two-letter country code, e.g. US or RU."))
    return country


def clean_time_zone(value: str, errors: dict[str, list[str]]) -> str:
    import zoneinfo

    value = (value or "").strip()
    if value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.setdefault("time_zone", []).append(_("Unknown time zone."))
    return value


def _custom_fields(organization_id: int, record_type: str):
    return CustomField.objects.filter(organization_id=organization_id, record_type=record_type)


# Every record written asks for its type's custom fields: compiled to SQL once (core/compiled.py).
_CUSTOM_FIELDS = CompiledQuery(_custom_fields, organization_id=-7_301_915_453, record_type="\x01sentinel-type")


def clean_custom(
    *,
    organization_id: int,
    record_type: str,
    current: dict[str, Any],
    values: dict[str, Any] | None,
    errors: dict[str, list[str]],
    creating: bool,
) -> dict[str, Any]:
    """Validate typed custom-field values; unknown keys are refused, required ones enforced."""
    result = dict(current or {})
    definitions = {f.key: f for f in _CUSTOM_FIELDS.run(organization_id=organization_id, record_type=record_type)}
    for key, raw in (values or {}).items():
        definition = definitions.get(key)
        if definition is None:
            errors.setdefault(f"custom.{key}", []).append(_("Unknown custom field."))
            continue
        try:
            result[key] = coerce_custom_value(definition, raw)
        except ValueError as exc:
            errors.setdefault(f"custom.{key}", []).append(str(exc))
    if creating or values:
        for key, definition in definitions.items():
            if definition.required and result.get(key) in (None, ""):
                errors.setdefault(f"custom.{key}", []).append(_("This field is required."))
    return result


def coerce_custom_value(definition: CustomField, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    kind = definition.field_type
    if kind == CustomFieldType.TEXT:
        return str(raw)[:2000]
    if kind == CustomFieldType.NUMBER:
        try:
            number = Decimal(str(raw).replace(",", ".").strip())
        except InvalidOperation as exc:
            raise ValueError(_("Enter a number.")) from exc
        if not number.is_finite():
            raise ValueError(_("Enter a number."))
        return float(number) if number != number.to_integral_value() else int(number)
    if kind == CustomFieldType.DATE:
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError as exc:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from exc
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on", "да"}:
            return True
        if text in {"0", "false", "no", "off", "нет"}:
            return False
        raise ValueError(_("Enter yes or no."))
    if kind == CustomFieldType.CHOICE:
        if str(raw) not in [str(c) for c in definition.choices]:
            raise ValueError(_("Choose one of: %(choices)s") % {"choices": ", ".join(map(str, definition.choices))})
        return str(raw)
    raise ValueError(_("Unsupported field type."))


def resolve_owner(
    membership: Membership, owner_id: int | None, errors: dict[str, list[str]]
) -> tuple[User | None, Team | None, Agency | None, bool]:
    """Check that `owner_id` may be given records by this member; returns owner, their team and agency."""
    if owner_id is None:
        return None, None, None, False
    if membership.role not in (Role.ADMIN, Role.MANAGER) and owner_id != membership.user_id:
        errors.setdefault("owner", []).append(_("You can only assign records to yourself."))
        return None, None, None, False
    target = (
        Membership.objects.select_related("user", "team", "agency")
        .filter(organization_id=membership.organization_id, user_id=owner_id, is_active=True)
        .first()
    )
    if target is None:
        errors.setdefault("owner", []).append(_("Unknown user."))
        return None, None, None, False
    if membership.role == Role.MANAGER and owner_id != membership.user_id:
        from insidesales.orgs.visibility import managed_team_ids

        if target.team_id not in managed_team_ids(membership):
            errors.setdefault("owner", []).append(_("You can only assign to members of your teams."))
            return None, None, None, False
    return target.user, target.team, target.agency, True


def parse_id(value: Any) -> int | None:
    """An id typed or sent by a client, or None when it cannot be one (so lookups never crash on it)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def get_visible(model: type, membership: Membership, pk: Any, *, for_update: bool = False):
    """The record if this member can see it, else NotFound — missing and out of scope look alike."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    qs = visible_records(model.objects.all(), membership)
    if for_update:
        qs = qs.select_for_update()
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)


def name_keys(first: str, last: str) -> tuple[str, str]:
    return search_key(first, last), search_key(last, first)
