"""Turning one row of an uploaded list into lead, contact or company values, or into the reasons it
cannot be imported.

A row cleaner is built once per import (custom-field definitions, users by email, tags by name
and the assignment rules are read then), and cleans each row with no queries, so millions of rows
cost only Python work. The rules are the ones `crm.services.leads` applies to a lead typed in a form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from insidesales.core.phones import country_time_zone, parse_phone
from insidesales.core.text import company_search_key, normalize_email
from insidesales.crm.models import LeadSource
from insidesales.crm.services.common import coerce_custom_value, name_keys
from insidesales.imports.csvsafe import unneutralize

TEXT_LIMITS = {"first_name": 100, "last_name": 100, "title": 150, "company_name": 255}
NOTES_LIMIT = 10_000
# The syntax Django's EmailValidator accepts for the common case, checked without its per-call
# overhead; anything this does not accept goes through Django's validator itself.
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass
class Assignment:
    owner_id: int | None = None
    team_id: int | None = None
    agency_id: int | None = None


@dataclass
class CleanRow:
    values: dict[str, Any]
    tag_ids: list[int] = field(default_factory=list)
    derived: set[str] = field(default_factory=set)  # e.g. country and time zone worked out from the phone


class RowCleaner:
    """What every record type's rows share: cells by target, names, email, country, time zone and
    phone, owner, tags and custom fields. Subclasses say which values a record type has."""

    TEXT_LIMITS: dict[str, int] = TEXT_LIMITS
    MODEL = "lead"

    def __init__(
        self,
        *,
        mapping: list[str],
        region: str,
        custom_fields: dict[str, Any],
        owners: dict[str, Assignment] | None,
        default: Assignment,
        tags: dict[str, int],
        source: str = "",
    ) -> None:
        """`owners`: assignment by the email in an "owner" column (None: the column is not allowed for
        this user); `default`: assignment of rows without one; `tags`: tag ids by lower-cased name."""
        self.columns = [(index, key) for index, key in enumerate(mapping) if key]
        self.region = region or "US"
        self.custom_fields = custom_fields
        self.owners = owners
        self.default = default
        self.tags = tags
        self.required_custom = [key for key, definition in custom_fields.items() if definition.required]

    def source_labels(self, language_labels: list[tuple[str, str]]) -> None:
        """Lead sources by their names in another language (only leads have a source)."""

    def read(self, cells: list[str]) -> dict[str, str]:
        raw: dict[str, str] = {}
        for index, key in self.columns:
            if index < len(cells):
                text = unneutralize(cells[index].strip())
                if text:
                    raw[key] = text
        return raw

    @staticmethod
    def split_name(raw: dict[str, str]) -> None:
        if "name" in raw and not ("first_name" in raw or "last_name" in raw):
            first, _sep, last = raw["name"].rpartition(" ")
            raw["first_name"], raw["last_name"] = (first, last) if first else ("", last)

    def texts(self, raw: dict[str, str], values: dict[str, Any], errors: list[str]) -> None:
        for name, limit in self.TEXT_LIMITS.items():
            text = raw.get(name)
            if text:
                if len(text) > limit:
                    errors.append(
                        _("%(field)s: at most %(n)d characters.") % {"field": _label(name, self.MODEL), "n": limit}
                    )
                values[name] = text[:limit]

    @staticmethod
    def email(text: str | None, errors: list[str]) -> str:
        if not text:
            return ""
        email = normalize_email(text)
        if not _EMAIL.match(email) and not _django_email_ok(email):
            errors.append(_("Email: “%(value)s” is not a valid address.") % {"value": email[:100]})
        return email

    def place(self, raw: dict[str, str], values: dict[str, Any], errors: list[str], *, zone: bool) -> set[str]:
        """Country, phone (E.164, read in the row's country or the organization's region) and, where
        the record has one, the time zone; returns the names of values worked out from other cells."""
        country = raw.get("country")
        if country:
            country = country.upper()
            if not _COUNTRY.match(country):
                errors.append(
                    _("Country: use a two-letter code such as US or RU, not “%(value)s”.") % {"value": country[:50]}
                )
            values["country"] = country
        if zone:
            time_zone = raw.get("time_zone")
            if time_zone:
                if not _zone_ok(time_zone):
                    errors.append(_("Time zone: “%(value)s” is unknown.") % {"value": time_zone[:64]})
                values["time_zone"] = time_zone
        derived: set[str] = set()  # values worked out from other cells, not read from one
        phone = raw.get("phone")
        if phone:
            values["phone_raw"] = phone[:64]
            parsed = parse_phone(phone, values["country"] or self.region)
            if parsed is None:
                errors.append(_("Phone: “%(value)s” does not look like a phone number.") % {"value": phone[:64]})
            else:
                values["phone"] = parsed.e164
                if not values["country"] and parsed.country:
                    values["country"] = parsed.country
                    derived.add("country")
                if zone and not values["time_zone"] and parsed.time_zone:
                    values["time_zone"] = parsed.time_zone
                    derived.add("time_zone")
        if zone and values["country"] and not values["time_zone"]:
            values["time_zone"] = country_time_zone(values["country"])
            derived.add("time_zone")
        return derived

    def owned(self, raw: dict[str, str], values: dict[str, Any], errors: list[str]) -> list[int]:
        """What every record type's row has: the assignment, the tag ids (returned), the custom fields."""
        self.assignment(raw, values, errors)
        tag_ids = self.tag_ids(raw, errors)
        values["custom"] = self.custom(raw, errors)
        return tag_ids

    def assignment(self, raw: dict[str, str], values: dict[str, Any], errors: list[str]) -> None:
        assignment = self.default
        owner = raw.get("owner")
        if owner and self.owners is not None:
            found_owner = self.owners.get(normalize_email(owner))
            if found_owner is None:
                errors.append(_("Owner: no user you can assign to has the email “%(value)s”.") % {"value": owner[:100]})
            else:
                assignment = found_owner
        values["owner_id"] = assignment.owner_id
        values["team_id"] = assignment.team_id
        values["agency_id"] = assignment.agency_id

    def tag_ids(self, raw: dict[str, str], errors: list[str]) -> list[int]:
        tag_ids: list[int] = []
        if raw.get("tags"):
            for name in raw["tags"].split(","):
                name = name.strip()
                if not name:
                    continue
                tag_id = self.tags.get(name.lower())
                if tag_id is None:
                    errors.append(_("Tags: there is no tag named “%(value)s”.") % {"value": name[:50]})
                elif tag_id not in tag_ids:
                    tag_ids.append(tag_id)
        return tag_ids

    def custom(self, raw: dict[str, str], errors: list[str]) -> dict[str, Any]:
        custom: dict[str, Any] = {}
        for key, text in raw.items():
            if key.startswith("custom."):
                definition = self.custom_fields.get(key[7:])
                if definition is None:
                    continue
                try:
                    custom[definition.key] = coerce_custom_value(definition, text)
                except ValueError as exc:
                    errors.append(f"{definition.label}: {exc}")
        for key in self.required_custom:
            if custom.get(key) in (None, ""):
                errors.append(_("%(field)s: this field is required.") % {"field": self.custom_fields[key].label})
        return custom


class LeadRowCleaner(RowCleaner):
    def __init__(self, *, source: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source if source in LeadSource.values else LeadSource.COLD_LIST
        self.sources = {}
        for value, label in LeadSource.choices:
            self.sources[value] = value
            self.sources[str(label).lower()] = value

    def source_labels(self, language_labels: list[tuple[str, str]]) -> None:
        """Also accept source names in another language (the import runs in a task, in English)."""
        for value, label in language_labels:
            self.sources[label.lower()] = value

    def clean(self, cells: list[str]) -> tuple[CleanRow | None, list[str]]:
        errors: list[str] = []
        raw = self.read(cells)
        values: dict[str, Any] = {
            "first_name": "",
            "last_name": "",
            "title": "",
            "company_name": "",
            "email": "",
            "phone": "",
            "phone_raw": "",
            "country": "",
            "time_zone": "",
            "source": self.source,
            "notes": "",
        }
        self.split_name(raw)
        self.texts(raw, values, errors)
        if "notes" in raw:
            values["notes"] = raw["notes"][:NOTES_LIMIT]
        values["email"] = self.email(raw.get("email"), errors)
        derived = self.place(raw, values, errors, zone=True)
        source = raw.get("source")
        if source:
            found = self.sources.get(source.lower())
            if found is None:
                errors.append(_("Source: “%(value)s” is not one of the lead sources.") % {"value": source[:50]})
            else:
                values["source"] = found
        tag_ids = self.owned(raw, values, errors)
        if not (
            values["first_name"] or values["last_name"] or values["company_name"] or values["email"] or values["phone"]
        ):
            if not errors:
                errors.append(_("The row has no name, company, email or phone."))
        if errors:
            return None, errors
        values["name_key"], values["name_rev_key"] = name_keys(values["first_name"], values["last_name"])
        values["company_key"] = company_search_key(values["company_name"])
        return CleanRow(values=values, tag_ids=tag_ids, derived=derived), []


def normalize_domain(text: str) -> str:
    """ "https://www.Acme.com/about" → "acme.com" (as a company's domain is stored)."""
    domain = text.strip().lower()
    for prefix in ("http://", "https://"):
        domain = domain.removeprefix(prefix)
    domain = domain.removeprefix("www.").split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return domain.rsplit("@", 1)[-1].strip(".")


_DOMAIN = re.compile(
    r"^(?:[a-z0-9\u00a0-\uffff](?:[a-z0-9\u00a0-\uffff-]{0,61}[a-z0-9\u00a0-\uffff])?\.)+[a-z\u00a0-\uffff]{2,63}$"
)


def _domain(text: str | None, label: str, errors: list[str]) -> str:
    if not text:
        return ""
    domain = normalize_domain(text)
    if not _DOMAIN.match(domain) or len(domain) > 255:
        errors.append(_("%(field)s: “%(value)s” is not a web address.") % {"field": label, "value": text[:100]})
    return domain[:255]


class ContactRowCleaner(RowCleaner):
    """Contacts: a person, and the company to link them to (found or created by the import)."""

    TEXT_LIMITS = {"first_name": 100, "last_name": 100, "title": 150, "company_name": 255}
    MODEL = "contact"

    def clean(self, cells: list[str]) -> tuple[CleanRow | None, list[str]]:
        errors: list[str] = []
        raw = self.read(cells)
        values: dict[str, Any] = {
            "first_name": "",
            "last_name": "",
            "title": "",
            "company_name": "",
            "company_domain": "",
            "company_id": None,
            "email": "",
            "phone": "",
            "phone_raw": "",
            "country": "",
            "time_zone": "",
        }
        self.split_name(raw)
        self.texts(raw, values, errors)
        values["company_domain"] = _domain(raw.get("company_domain"), str(_("Company website")), errors)
        values["email"] = self.email(raw.get("email"), errors)
        derived = self.place(raw, values, errors, zone=True)
        tag_ids = self.owned(raw, values, errors)
        if not values["last_name"] and not errors:
            errors.append(_("%(field)s: this field is required.") % {"field": _label("last_name", "contact")})
        if errors:
            return None, errors
        values["name_key"], values["name_rev_key"] = name_keys(values["first_name"], values["last_name"])
        return CleanRow(values=values, tag_ids=tag_ids, derived=derived), []


class CompanyRowCleaner(RowCleaner):
    TEXT_LIMITS = {"name": 255, "industry": 100, "city": 100}
    MODEL = "company"

    def clean(self, cells: list[str]) -> tuple[CleanRow | None, list[str]]:
        errors: list[str] = []
        raw = self.read(cells)
        values: dict[str, Any] = {
            "name": "",
            "domain": "",
            "industry": "",
            "employees": None,
            "phone": "",
            "phone_raw": "",
            "country": "",
            "city": "",
        }
        self.texts(raw, values, errors)
        values["domain"] = _domain(raw.get("domain"), str(_("Website")), errors)
        employees = raw.get("employees")
        if employees:
            digits = employees.replace(" ", "").replace("\u00a0", "").replace(",", "")
            if not digits.isdigit() or len(digits) > 9:
                errors.append(_("Employees: “%(value)s” is not a whole number.") % {"value": employees[:50]})
            else:
                values["employees"] = int(digits)
        derived = self.place(raw, values, errors, zone=False)
        tag_ids = self.owned(raw, values, errors)
        if not values["name"] and not errors:
            errors.append(_("Company name: this field is required."))
        if errors:
            return None, errors
        values["name_key"] = company_search_key(values["name"])
        return CleanRow(values=values, tag_ids=tag_ids, derived=derived), []


CLEANERS = {"lead": LeadRowCleaner, "contact": ContactRowCleaner, "company": CompanyRowCleaner}


def _label(name: str, model_name: str = "lead") -> str:
    """A field's name as the forms show it (the lead's where the record type has no such field)."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    for model in (apps.get_model("crm", model_name), apps.get_model("crm", "lead")):
        try:
            return str(model._meta.get_field(name).verbose_name).capitalize()
        except FieldDoesNotExist:
            continue
    return name


def _django_email_ok(email: str) -> bool:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


_ZONES: dict[str, bool] = {}


def _zone_ok(name: str) -> bool:
    known = _ZONES.get(name)
    if known is None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(name)
            known = True
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            known = False
        if len(_ZONES) < 10_000:
            _ZONES[name] = known
    return known
