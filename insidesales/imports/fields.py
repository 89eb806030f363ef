"""What a column of an uploaded list can become, and which column most likely is which.

Header suggestions compare a normalized header ("E-mail адрес" → "e mail адрес") with the names
people give such columns in English and Russian exports (our own export's headers included), so a file
from another CRM or from Excel maps itself in most cases; the user checks and corrects the mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from insidesales.core.text import search_key


@dataclass(frozen=True)
class Target:
    key: str
    label: str | Promise
    aliases: tuple[str, ...] = ()


# Lead fields an import can fill. "name" is split into first and last name when no such columns exist.
LEAD_TARGETS = (
    Target("first_name", _("First name"), ("first name", "firstname", "given name", "имя", "first")),
    Target("last_name", _("Last name"), ("last name", "lastname", "surname", "family name", "фамилия", "last")),
    Target(
        "name",
        _("Full name (split into first and last)"),
        ("name", "full name", "contact", "фио", "контакт", "имя фамилия", "полное имя", "contact name"),
    ),
    Target("title", _("Job title"), ("title", "job title", "position", "role", "должность", "позиция")),
    Target(
        "company_name",
        _("Company"),
        (
            "company",
            "company name",
            "organization",
            "organisation",
            "account",
            "account name",
            "компания",
            "организация",
            "название компании",
            "фирма",
        ),
    ),
    Target(
        "email",
        _("Email"),
        (
            "email",
            "e mail",
            "email address",
            "mail",
            "эл почта",
            "электронная почта",
            "почта",
            "e mail адрес",
            "адрес электронной почты",
        ),
    ),
    Target(
        "phone",
        _("Phone"),
        (
            "phone",
            "phone number",
            "telephone",
            "tel",
            "mobile",
            "mobile phone",
            "cell",
            "телефон",
            "тел",
            "мобильный",
            "мобильный телефон",
            "номер телефона",
        ),
    ),
    Target("country", _("Country (two-letter code)"), ("country", "country code", "страна", "код страны")),
    Target("time_zone", _("Time zone"), ("time zone", "timezone", "tz", "часовой пояс")),
    Target("source", _("Source"), ("source", "lead source", "источник", "источник лида")),
    Target(
        "notes",
        _("Notes"),
        ("notes", "note", "comment", "comments", "description", "заметки", "примечание", "комментарий", "описание"),
    ),
    Target(
        "owner",
        _("Owner (email of a user)"),
        ("owner", "owner email", "assigned to", "rep", "sales rep", "ответственный", "менеджер", "владелец"),
    ),
    Target("tags", _("Tags (comma-separated)"), ("tags", "tag", "labels", "теги", "метки")),
)

_BY_KEY = {t.key: t for t in LEAD_TARGETS}
WEBSITE_ALIASES = ("website", "web site", "site", "url", "domain", "company website", "сайт", "домен", "веб сайт")

# Contact fields. The company columns link each contact to a company: an existing one with the same
# domain (or the domain of a work email) or the same name, else one the import creates.
CONTACT_TARGETS = (
    _BY_KEY["first_name"],
    _BY_KEY["last_name"],
    _BY_KEY["name"],
    _BY_KEY["title"],
    Target("company_name", _("Company (linked by name or domain)"), _BY_KEY["company_name"].aliases),
    Target(
        "company_domain",
        _("Company website or domain"),
        (*WEBSITE_ALIASES, "company domain"),
    ),
    _BY_KEY["email"],
    _BY_KEY["phone"],
    _BY_KEY["country"],
    _BY_KEY["time_zone"],
    _BY_KEY["owner"],
    _BY_KEY["tags"],
)

COMPANY_TARGETS = (
    # A companies file's "Name" column is the company's name (and "Company" too).
    Target("name", _("Company name"), (*_BY_KEY["company_name"].aliases, "name", "название", "наименование")),
    Target(
        "domain",
        _("Website or domain"),
        WEBSITE_ALIASES,
    ),
    Target("industry", _("Industry"), ("industry", "sector", "отрасль", "сфера", "сфера деятельности")),
    Target(
        "employees",
        _("Employees (a whole number)"),
        ("employees", "headcount", "number of employees", "staff", "сотрудники", "число сотрудников", "штат"),
    ),
    _BY_KEY["phone"],
    _BY_KEY["country"],
    Target("city", _("City"), ("city", "town", "город", "населенный пункт")),
    _BY_KEY["owner"],
    _BY_KEY["tags"],
)

TARGETS = {"lead": LEAD_TARGETS, "contact": CONTACT_TARGETS, "company": COMPANY_TARGETS}
SKIP = ""  # mapping value for a column that is not imported


def _norm(header: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", search_key(header)).replace("_", " ").split())


def targets_for(record_type: str, custom_fields: list) -> list[tuple[str, str | Promise]]:
    """(key, label) of every target, custom fields last as `custom.<key>`."""
    choices = [(t.key, t.label) for t in TARGETS[record_type]]
    choices += [(f"custom.{f.key}", f.label) for f in custom_fields]
    return choices


def suggest_mapping(record_type: str, headers: list[str], custom_fields: list) -> list[str]:
    """One target key (or SKIP) per header; each target is suggested for at most one column."""
    known: dict[str, str] = {}
    for target in TARGETS[record_type]:
        for alias in (target.key.replace("_", " "), str(target.label), *target.aliases):
            known.setdefault(_norm(alias), target.key)
    for definition in custom_fields:
        for alias in (definition.key.replace("_", " "), definition.label):
            known.setdefault(_norm(alias), f"custom.{definition.key}")
    used: set[str] = set()
    mapping = []
    for header in headers:
        key = known.get(_norm(header), SKIP)
        if key in used:
            key = SKIP
        used.add(key)
        mapping.append(key)
    if record_type != "company" and "name" in used and ("first_name" in used or "last_name" in used):
        mapping = [SKIP if key == "name" else key for key in mapping]  # real first/last columns win
    return mapping
