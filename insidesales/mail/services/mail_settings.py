"""The organization's sending rules (admins change them): daily cap and spacing per mailbox, sending hours and
days in the recipient's time zone, the company name and postal address printed in every sequence email's
footer, parallel sequences and the attachment size kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.mail.models import MailSettings
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record

MAX_DAILY_CAP = 100_000
MAX_SPACING_SECONDS = 24 * 3600
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
FIELDS = (
    "daily_cap_per_mailbox",
    "min_spacing_seconds",
    "sending_start",
    "sending_end",
    "sending_weekdays",
    "company_name",
    "physical_address",
    "allow_parallel_sequences",
    "attachment_max_bytes",
)


def mail_settings_for(organization_id: int) -> MailSettings:
    """The organization's sending rules, made with the defaults the first time they are asked for."""
    settings, _created = MailSettings.objects.get_or_create(organization_id=organization_id)
    return settings


def mail_settings_warnings(settings: MailSettings) -> list[str]:
    """What is missing for sequence emails to be lawful (a sender's name and postal address in the footer)."""
    warnings = []
    if not settings.company_name.strip():
        warnings.append(_("No company name yet: sequence emails must name the sender in their footer."))
    if not settings.physical_address.strip():
        warnings.append(_("No postal address yet: the law requires one in every marketing email's footer."))
    return warnings


def _number(value: Any, low: int, high: int, errors: dict, name: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}]
        return None
    return number


def _time(value: Any, errors: dict, name: str) -> dt.time | None:
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        errors[name] = [_("Enter a time like 09:00.")]
        return None


def _weekdays(value: Any, errors: dict) -> list[int] | None:
    try:
        days = sorted({int(day) for day in value})
    except (TypeError, ValueError):
        days = []
    if not days or any(not 0 <= day <= 6 for day in days):
        errors["sending_weekdays"] = [_("Choose at least one day.")]
        return None
    return days


def _text(value: Any, limit: int, errors: dict, name: str) -> str | None:
    text = str(value or "").strip().replace("\r\n", "\n")
    if "\x00" in text:
        errors[name] = [_("Text may not contain NUL characters.")]
        return None
    if len(text) > limit:
        errors[name] = [_("At most %(count)d characters.") % {"count": limit}]
        return None
    return text


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "daily_cap_per_mailbox":
            cleaned[name] = _number(value, 1, MAX_DAILY_CAP, errors, name)
        elif name == "min_spacing_seconds":
            cleaned[name] = _number(value, 0, MAX_SPACING_SECONDS, errors, name)
        elif name == "attachment_max_bytes":
            cleaned[name] = _number(value, 0, MAX_ATTACHMENT_BYTES, errors, name)
        elif name in ("sending_start", "sending_end"):
            cleaned[name] = _time(value, errors, name)
        elif name == "sending_weekdays":
            cleaned[name] = _weekdays(value, errors)
        elif name == "company_name":
            cleaned[name] = _text(value, 200, errors, name)
        elif name == "physical_address":
            cleaned[name] = _text(value, 1000, errors, name)
        elif name == "allow_parallel_sequences":
            cleaned[name] = bool(value)
        else:
            errors[name] = [_("Unknown setting.")]
    if errors:
        raise ValidationError(_("Check the sending settings."), fields=errors)
    return cleaned


@transaction.atomic
def mail_settings_update(*, actor: Membership, **fields: Any) -> MailSettings:
    """Change the organization's sending rules (admins only). Fields not given keep their values."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only admins change the organization's sending settings."))
    cleaned = _clean(fields)
    settings = mail_settings_for(actor.organization_id)
    settings = MailSettings.objects.select_for_update().get(pk=settings.pk)
    before = {name: getattr(settings, name) for name in FIELDS}
    for name, value in cleaned.items():
        setattr(settings, name, value)
    start, end = settings.sending_start, settings.sending_end
    if start >= end:
        raise ValidationError(
            _("Check the sending settings."),
            fields={"sending_end": [_("The end of the sending hours must be after their start.")]},
        )
    settings.save()
    changes = {
        name: [str(before[name]), str(getattr(settings, name))]
        for name in FIELDS
        if before[name] != getattr(settings, name)
    }
    if changes:
        audit_record(
            organization_id=actor.organization_id,
            actor=actor.user,
            action="mail_settings.update",
            instance=settings,
            changes=changes,
        )
    return settings
