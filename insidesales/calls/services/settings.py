"""Admins' writes to the organization's telephony settings: the provider and its credentials, the
abandonment and recording notices, and the calling windows.

Where things go: non-secret provider settings in `TelephonySettings.provider_config` (the keys are
`SIP_FIELDS` and `TWILIO_FIELDS`), secrets in `credentials_encrypted` (`SECRET_FIELDS`, encrypted with
`calls.secrets`). Secrets are write-only: an empty value keeps the stored one, `clear_<name>` removes
it, and the audit log records which fields changed, never their values."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from insidesales.calls.models import ProviderKind, TelephonySettings
from insidesales.calls.secrets import CredentialsUnreadable, decrypt_credentials, encrypt_credentials
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.windows import WindowRules
from insidesales.core.errors import ValidationError
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record, require_admin

SIP_FIELDS = (
    "trunk_host",
    "trunk_port",
    "transport",
    "sip_username",
    "from_domain",
    "bind_host",
    "bind_port",
    "announcement_uri",
)
TWILIO_FIELDS = ("account_sid", "public_url")  # `public_url` is also what the callback view checks signatures on
SECRET_FIELDS = ("sip_password", "auth_token")
SIP_DEFAULTS: dict[str, Any] = {"trunk_port": 5060, "transport": "udp", "bind_host": "0.0.0.0", "bind_port": 5060}
SIP_TRANSPORTS = ("udp",)  # the SIP adapter speaks UDP only (see docs/telephony.md)
MAX_RELEASE_MINUTES = 7 * 24 * 60
MAX_NOTICE_LENGTH = 1000
MAX_SECRET_LENGTH = 200

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_AUTH_TOKEN = re.compile(r"^[0-9A-Za-z]{32}$")
_SIP_URI = re.compile(r"^sips?:[^\s<>\"]+$")
_SIP_USER = re.compile(r"^[^\s\"\\:@<>]+$")


# ---- reading what is stored ------------------------------------------------------------------


def stored_credentials(config: TelephonySettings) -> tuple[dict[str, Any], bool]:
    """The decrypted secrets and whether they could be read (False: encrypted with a key we no longer have)."""
    try:
        return decrypt_credentials(config.credentials_encrypted), True
    except CredentialsUnreadable:
        return {}, False


def secret_hint(value: str) -> str:
    """What the page may show of a stored secret: its last two characters, when that gives little away."""
    return value[-2:] if len(value) >= 8 else ""


# ---- validation -------------------------------------------------------------------------------


def is_host(value: str) -> bool:
    """A DNS name or an IP address (v4 or v6)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253 or name.replace(".", "").isdigit():
        return False  # all digits: a mistyped IPv4 address, not a name
    return all(_HOST_LABEL.match(label) for label in name.split("."))


def _port(value: Any, errors: dict[str, list[str]], field: str) -> int | None:
    try:
        port = int(value)
    except (TypeError, ValueError):
        errors[field] = [_("Enter a port number from 1 to 65535.")]
        return None
    if not 1 <= port <= 65535:
        errors[field] = [_("Enter a port number from 1 to 65535.")]
        return None
    return port


def _clean_sip(data: Mapping[str, Any], required: bool, errors: dict[str, list[str]]) -> dict[str, Any]:
    values = {name: data.get(name) if data.get(name) is not None else SIP_DEFAULTS.get(name, "") for name in SIP_FIELDS}
    for name in ("trunk_host", "sip_username", "from_domain", "bind_host", "announcement_uri", "transport"):
        values[name] = str(values[name] or "").strip()
    for name in ("trunk_host", "from_domain"):
        if not values[name]:
            if required:
                errors[name] = [_("Required for a SIP trunk.")]
        elif not is_host(values[name]):
            errors[name] = [_("Enter a host name (sip.example.com) or an IP address.")]
    for name in ("trunk_port", "bind_port"):
        values[name] = _port(values[name] if values[name] not in ("", None) else SIP_DEFAULTS[name], errors, name)
    values["transport"] = (values["transport"] or "udp").lower()
    if values["transport"] not in SIP_TRANSPORTS:
        errors["transport"] = [_("Only UDP is supported.")]
    values["bind_host"] = values["bind_host"] or SIP_DEFAULTS["bind_host"]
    try:
        ipaddress.ip_address(values["bind_host"])
    except ValueError:
        errors["bind_host"] = [_("Enter an IP address of this server (0.0.0.0 listens on all of them).")]
    if values["sip_username"] and (len(values["sip_username"]) > 100 or not _SIP_USER.match(values["sip_username"])):
        errors["sip_username"] = [_("A user name has no spaces, quotes, colons or @ signs.")]
    if values["announcement_uri"] and not _SIP_URI.match(values["announcement_uri"]):
        errors["announcement_uri"] = [_("Enter a SIP URI such as sip:notice@media.example.com.")]
    return values


def _clean_twilio(data: Mapping[str, Any], required: bool, errors: dict[str, list[str]]) -> dict[str, Any]:
    sid = str(data.get("account_sid") or "").strip()
    url = str(data.get("public_url") or "").strip().rstrip("/")
    if not sid:
        if required:
            errors["account_sid"] = [_("Required for Twilio.")]
    elif not _ACCOUNT_SID.match(sid):
        errors["account_sid"] = [_("An Account SID is “AC” followed by 32 hexadecimal digits.")]
    if not url:
        if required:
            errors["public_url"] = [_("Required for Twilio: its status callbacks are sent here.")]
    else:
        schemes = ["https", "http"] if django_settings.DEBUG else ["https"]
        try:
            URLValidator(schemes=schemes)(url)
        except DjangoValidationError:
            ok = False
        else:
            ok = "?" not in url and "#" not in url
        if not ok:
            errors["public_url"] = [
                _("Enter this server's public address, such as https://sales.example.com.")
                if "https" in schemes and len(schemes) > 1
                else _("Enter this server's public https address, such as https://sales.example.com.")
            ]
    return {"account_sid": sid, "public_url": url}


def _clean_secrets(
    data: Mapping[str, Any], stored: dict[str, Any], readable: bool, errors: dict[str, list[str]]
) -> tuple[dict[str, Any], set[str]]:
    """The secrets to store after this update, and the names of those that changed. Clearing a secret
    that can no longer be decrypted counts as a change, so the unreadable value goes."""
    secrets, changed = dict(stored), set()
    for name in SECRET_FIELDS:
        new = str(data.get(name) or "")
        if data.get(f"clear_{name}") and not new:
            if name in secrets or not readable:
                secrets.pop(name, None)
                changed.add(name)
            continue
        if not new:
            continue  # empty: keep what is stored
        if len(new) > MAX_SECRET_LENGTH or new != new.strip():
            errors[name] = [_("Enter the secret without spaces around it (at most 200 characters).")]
            continue
        if name == "auth_token" and not _AUTH_TOKEN.match(new):
            errors[name] = [_("A Twilio auth token is 32 letters and digits.")]
            continue
        if secrets.get(name) != new:
            secrets[name] = new
            changed.add(name)
    return secrets, changed


def _clean_notices(notices: Any, errors: dict[str, list[str]]) -> dict[str, str]:
    """Recording notices by country ("*" = everywhere else)."""
    cleaned: dict[str, str] = {}
    problems: list[str] = []
    for code, text in dict(notices or {}).items():
        code, text = str(code).strip().upper(), str(text or "").strip()
        if code != "*" and code not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(_("“%(code)s” is not a country code (such as US or GB) or *.") % {"code": code})
        elif not text:
            problems.append(_("Write the notice for %(code)s.") % {"code": code})
        elif len(text) > MAX_NOTICE_LENGTH:
            problems.append(_("The notice for %(code)s is longer than 1000 characters.") % {"code": code})
        else:
            cleaned[code] = text
    if problems:
        errors["recording_notices"] = problems
    return cleaned


def _clean_abandon_message(value: Any, errors: dict[str, list[str]]) -> str:
    """Played as written (empty: `config.DEFAULT_ABANDON_MESSAGE`, filled in per call)."""
    text = str(value or "").strip()
    if len(text) > MAX_NOTICE_LENGTH:
        errors["abandon_message"] = [_("Keep the message under 1000 characters.")]
    return text


def _release_minutes(value: Any, errors: dict[str, list[str]]) -> int | None:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if not 1 <= minutes <= MAX_RELEASE_MINUTES:
        errors["callback_release_minutes"] = [_("Enter a number of minutes from 1 to 10080 (a week).")]
        return None
    return minutes


# ---- writes -----------------------------------------------------------------------------------


@transaction.atomic
def telephony_settings_update(*, membership: Membership, data: Mapping[str, Any]) -> TelephonySettings:
    """Save the provider page. `data`: `provider`, the `SIP_FIELDS` and `TWILIO_FIELDS`, each secret of
    `SECRET_FIELDS` (empty keeps it) with `clear_<secret>`, `abandon_message`, `recording_enabled`,
    `recording_notices` ({country or "*": text}) and `callback_release_minutes`.

    The chosen provider's settings are required; the other provider's are kept (checked when given),
    so switching back and forth loses nothing. ValidationError with every problem by field."""
    require_admin(membership)
    config = telephony_settings(membership.organization_id)
    config = TelephonySettings.objects.select_for_update().get(pk=config.pk)
    errors: dict[str, list[str]] = {}
    provider = str(data.get("provider") or "")
    if provider not in ProviderKind.values:
        errors["provider"] = [_("Choose a provider.")]
    stored, readable = stored_credentials(config)
    provider_config = {
        **config.provider_config,
        **_clean_sip(data, provider == ProviderKind.SIP, errors),
        **_clean_twilio(data, provider == ProviderKind.TWILIO, errors),
    }
    secrets, secrets_changed = _clean_secrets(data, stored, readable, errors)
    if provider == ProviderKind.SIP and secrets.get("sip_password") and not provider_config.get("sip_username"):
        errors.setdefault("sip_username", []).append(_("A password needs a user name."))
    if provider == ProviderKind.TWILIO and not secrets.get("auth_token") and "auth_token" not in errors:
        errors["auth_token"] = [_("Required for Twilio.")]
    values = {
        "provider": provider,
        "provider_config": provider_config,
        "abandon_message": _clean_abandon_message(data.get("abandon_message"), errors),
        "recording_enabled": bool(data.get("recording_enabled")),
        "recording_notices": _clean_notices(data.get("recording_notices"), errors),
        "callback_release_minutes": _release_minutes(data.get("callback_release_minutes"), errors),
    }
    if values["recording_enabled"] and not values["recording_notices"] and "recording_notices" not in errors:
        errors["recording_notices"] = [_("Calls are recorded: write the notice callees hear (* for every country).")]
    if errors:
        raise ValidationError(fields=errors)

    changed = {
        name
        for name in SIP_FIELDS + TWILIO_FIELDS
        if config.provider_config.get(name, SIP_DEFAULTS.get(name, "")) != provider_config[name]
    }
    changed |= {name for name, value in values.items() if name != "provider_config" and getattr(config, name) != value}
    changed |= secrets_changed
    if not changed:
        return config
    for name, value in values.items():
        setattr(config, name, value)
    if secrets_changed:
        config.credentials_encrypted = encrypt_credentials(secrets)
    config.save()
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="telephony.update",
        instance=config,
        changes={"changed": sorted(changed)},  # names only: secrets (and their hints) stay out of the log
    )
    return config


@transaction.atomic
def window_rules_update(*, membership: Membership, rules: Mapping[str, Any]) -> TelephonySettings:
    """Replace the calling-window rules (`WindowRules.to_json`'s form); stored normalized."""
    require_admin(membership)
    try:
        parsed = WindowRules.from_json(rules)
    except (ValueError, TypeError) as error:
        raise ValidationError(
            fields={"window_rules": [_("These calling-window rules are not valid: %(detail)s") % {"detail": error}]}
        ) from error
    config = telephony_settings(membership.organization_id)
    config = TelephonySettings.objects.select_for_update().get(pk=config.pk)
    try:
        before = WindowRules.from_json(config.window_rules or {}).to_json()
    except (ValueError, TypeError):
        before = {}
    after = parsed.to_json()
    changed = sorted(key for key in after if before.get(key) != after[key])
    if not changed:
        return config
    config.window_rules = after
    config.save(update_fields=["window_rules", "updated_at"])
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="telephony.windows_update",
        instance=config,
        changes={"changed": changed},
    )
    return config
