"""Admins' writes to the organization's web forms: create, change, switch on or off, delete. Every value is
checked here (fields, consent, redirect and allowed sites, spam limits), so the settings pages and the API
refuse the same things with the same words."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import idna
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from publicsuffixlist import PublicSuffixList

from insidesales.core.errors import ValidationError
from insidesales.crm.models import LeadSource
from insidesales.inbound.models import WebForm
from insidesales.inbound.selectors_forms import field_catalog, web_form_get
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record, require_admin

NAME_MAX = 100
TITLE_MAX = 200
TEXT_MAX = 5000
SUBMIT_LABEL_MAX = 60
FIELD_LABEL_MAX = 100
FIELDS_MAX = 40
DOMAINS_MAX = 50
MIN_FILL_RANGE = (0, 120)
PER_IP_PER_HOUR_RANGE = (1, 10_000)
PER_FORM_PER_MINUTE_RANGE = (1, 100_000)
CONTACT_KEYS = ("email", "phone")
# Everything an admin may set; `fields` and `allowed_domains` are lists, the rest plain values.
EDITABLE = (
    "name",
    "language",
    "title",
    "intro",
    "fields",
    "consent_text",
    "consent_required",
    "submit_label",
    "thank_you_message",
    "redirect_url",
    "allowed_domains",
    "source",
    "min_fill_seconds",
    "per_ip_per_hour",
    "per_form_per_minute",
    "is_active",
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# --- checks shared with the public side ------------------------------------------------------------------


def host_allowed(host: str, domains: list[str]) -> bool:
    """Whether `host` (already lower-case and in punycode) is one of `domains` or a subdomain of one."""
    host = host.rstrip(".").lower()
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def clean_domain(value: str) -> str:
    """A site's host name as stored: lower-case, punycode, no trailing dot ("Bücher.Example." becomes
    "xn--bcher-kva.example"). ValueError with the reason when it is not a host name (a URL, a path, a
    port, an IP address...)."""
    raw = value.strip()
    if raw.startswith("*."):  # subdomains are allowed anyway
        raw = raw[2:]
    raw = raw.rstrip(".")
    if not raw:
        raise ValueError(_("Enter a host name."))
    if "://" in raw or any(ch in raw for ch in "/:@?#\\ \t") or "%" in raw:
        raise ValueError(_("Enter only the host name, like example.com: no https://, path or port."))
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        pass
    else:
        raise ValueError(_("Enter a host name, not an IP address."))
    try:
        host = idna.encode(raw, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise ValueError(_("“%(value)s” is not a valid host name.") % {"value": raw}) from None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(_("“%(value)s” is not a valid host name.") % {"value": raw})
    if len(labels) < 2 or _public_suffixes().is_public(host):
        # "com", "co.uk" or "github.io" would let every site under them post, frame and redirect.
        raise ValueError(
            _("“%(value)s” is shared by many sites' owners; enter your own domain, like example.com.") % {"value": raw}
        )
    return host


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def redirect_problem(url: str, domains: list[str]) -> str | None:
    """Why `url` may not be a form's redirect (None: it may): http(s) only, to one of the form's sites."""
    try:
        parts = urlsplit(url)
        port = parts.port  # noqa: F841 - reading it checks it
    except ValueError:
        return _("Enter a full address, like https://example.com/thanks.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter a full address starting with https:// or http://.")
    if parts.username or parts.password:
        return _("The address may not contain a user name or password.")
    try:
        host = clean_domain(parts.hostname)
    except ValueError as exc:
        return str(exc)
    if not host_allowed(host, domains):
        return _("Redirects go only to your sites: add %(host)s (or its domain) to the form's sites.") % {"host": host}
    return None


# --- cleaning -------------------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, list[str]], strip: bool = True) -> str:
    value = data.get(name)
    value = "" if value is None else str(value)
    if strip:
        value = value.strip()
    if "\x00" in value:
        errors.setdefault(name, []).append(_("Text may not contain NUL characters."))
    if len(value) > limit:
        errors.setdefault(name, []).append(_("Keep it under %(limit)s characters.") % {"limit": limit + 1})
    return value


def _number(data: Mapping[str, Any], name: str, bounds: tuple[int, int], errors: dict[str, list[str]]) -> int:
    low, high = bounds
    value = data.get(name)
    try:
        if isinstance(value, bool) or value is None or value == "":
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_("Enter a whole number."))
        return low
    if not low <= number <= high:
        errors.setdefault(name, []).append(_("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high})
    return number


def _clean_fields(raw: Any, catalog: dict[str, str], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The form's fields in order: known keys only, each once, labels defaulting to the field's own."""
    if not isinstance(raw, (list, tuple)):
        errors["fields"] = [_("Choose the fields of the form.")]
        return []
    problems: list[str] = []
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, Mapping):
            problems.append(_("Each field needs a key, a label and whether it is required."))
            continue
        key = str(item.get("key") or "").strip()
        if key not in catalog:
            problems.append(_("“%(key)s” is not a lead field of this organization.") % {"key": key[:60]})
            continue
        if key in seen:
            problems.append(_("“%(label)s” is on the form twice.") % {"label": catalog[key]})
            continue
        seen.add(key)
        label = str(item.get("label") or "").strip() or catalog[key]
        if "\x00" in label:
            problems.append(_("Text may not contain NUL characters."))
        if len(label) > FIELD_LABEL_MAX:
            problems.append(
                _("The label of “%(field)s” is too long: at most %(limit)s characters.")
                % {"field": catalog[key], "limit": FIELD_LABEL_MAX}
            )
        cleaned.append({"key": key, "label": label, "required": bool(item.get("required"))})
    if len(cleaned) > FIELDS_MAX:
        problems.append(_("A form may have at most %(limit)s fields.") % {"limit": FIELDS_MAX})
    if not problems and not seen & set(CONTACT_KEYS):
        problems.append(_("Put the email or the phone field on the form, so someone can answer."))
    if problems:
        errors["fields"] = problems
    return cleaned


def _clean_domains(raw: Any, errors: dict[str, list[str]]) -> list[str]:
    if isinstance(raw, str):
        raw = re.split(r"[\s,;]+", raw)
    if not isinstance(raw, (list, tuple)):
        errors["allowed_domains"] = [_("List your sites' host names.")]
        return []
    domains: list[str] = []
    problems: list[str] = []
    for item in raw:
        if not str(item or "").strip():
            continue
        try:
            domain = clean_domain(str(item))
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if domain not in domains:
            domains.append(domain)
    if len(domains) > DOMAINS_MAX:
        problems.append(_("List at most %(limit)s sites.") % {"limit": DOMAINS_MAX})
    if problems:
        errors["allowed_domains"] = problems
    return domains


def _clean(membership: Membership, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every editable value checked and normalized; ValidationError with all the problems at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    values["name"] = _text(data, "name", NAME_MAX, errors)
    if not values["name"] and "name" not in errors:
        errors["name"] = [_("Give the form a name.")]
    language = str(data.get("language") or "")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose one of the offered languages.")]
    values["language"] = language
    values["title"] = _text(data, "title", TITLE_MAX, errors)
    values["intro"] = _text(data, "intro", TEXT_MAX, errors)
    values["fields"] = _clean_fields(data.get("fields"), field_catalog(membership=membership), errors)
    # Stored exactly as typed: each submission keeps a copy of the words the visitor agreed to.
    values["consent_text"] = _text(data, "consent_text", TEXT_MAX, errors, strip=False)
    if not values["consent_text"].strip():
        values["consent_text"] = ""
    values["consent_required"] = bool(data.get("consent_required"))
    if values["consent_required"] and not values["consent_text"]:
        errors["consent_text"] = [_("Write the consent text the visitor must agree to, or make consent optional.")]
    values["submit_label"] = _text(data, "submit_label", SUBMIT_LABEL_MAX, errors)
    values["thank_you_message"] = _text(data, "thank_you_message", TEXT_MAX, errors)
    values["allowed_domains"] = _clean_domains(data.get("allowed_domains") or [], errors)
    values["redirect_url"] = _text(data, "redirect_url", 500, errors)
    if values["redirect_url"] and "redirect_url" not in errors and "allowed_domains" not in errors:
        problem = redirect_problem(values["redirect_url"], values["allowed_domains"])
        if problem:
            errors["redirect_url"] = [problem]
    source = str(data.get("source") or LeadSource.WEB_FORM)
    if source not in LeadSource.values:
        errors["source"] = [_("Choose one of the lead sources.")]
    values["source"] = source
    values["min_fill_seconds"] = _number(data, "min_fill_seconds", MIN_FILL_RANGE, errors)
    values["per_ip_per_hour"] = _number(data, "per_ip_per_hour", PER_IP_PER_HOUR_RANGE, errors)
    values["per_form_per_minute"] = _number(data, "per_form_per_minute", PER_FORM_PER_MINUTE_RANGE, errors)
    values["is_active"] = bool(data.get("is_active", True))
    if errors:
        raise ValidationError(fields=errors)
    return values


def web_form_values(form: WebForm) -> dict[str, Any]:
    """A form's editable values, as `web_form_update` takes them (for partial updates and for the pages)."""
    return {name: getattr(form, name) for name in EDITABLE}


# --- writes ---------------------------------------------------------------------------------------------


@transaction.atomic
def web_form_create(*, membership: Membership, data: Mapping[str, Any]) -> WebForm:
    """A new form. `data` holds the names of `EDITABLE`; missing spam limits take the model's defaults."""
    require_admin(membership)
    defaults = web_form_values(WebForm(language=getattr(membership.user, "language", "") or "en"))
    defaults["consent_required"] = False  # until a consent text is written
    values = _clean(membership, {**defaults, **data})
    form = WebForm.objects.create(organization_id=membership.organization_id, created_by=membership.user, **values)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="web_form.create",
        instance=form,
        changes={name: [None, values[name]] for name in EDITABLE},
    )
    return form


@transaction.atomic
def web_form_update(*, membership: Membership, form_id: int, data: Mapping[str, Any]) -> WebForm:
    """Change a form; names missing from `data` keep their value (the API's partial update)."""
    form = web_form_get(membership=membership, form_id=form_id, for_update=True)
    require_admin(membership)
    values = _clean(membership, {**web_form_values(form), **data})
    changes = {name: [getattr(form, name), value] for name, value in values.items() if getattr(form, name) != value}
    if not changes:
        return form
    for name, value in values.items():
        setattr(form, name, value)
    form.save()
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="web_form.update",
        instance=form,
        changes=changes,
    )
    return form


@transaction.atomic
def web_form_set_active(*, membership: Membership, form_id: int, is_active: bool) -> WebForm:
    """Switch a form on or off: an inactive form's page and endpoint refuse new submissions."""
    form = web_form_get(membership=membership, form_id=form_id, for_update=True)
    require_admin(membership)
    if form.is_active != is_active:
        form.is_active = is_active
        form.save(update_fields=["is_active", "updated_at"])
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="web_form.set_active",
            instance=form,
            changes={"is_active": [not is_active, is_active]},
        )
    return form


@transaction.atomic
def web_form_delete(*, membership: Membership, form_id: int) -> None:
    """Delete a form. Its submissions stay (their form becomes empty); its spam counts and samples go."""
    form = web_form_get(membership=membership, form_id=form_id, for_update=True)
    require_admin(membership)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="web_form.delete",
        instance=form,
        changes={"name": [form.name, None]},
    )
    form.delete()
