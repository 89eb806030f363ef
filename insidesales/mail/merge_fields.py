"""What a merge template may read: the recipient's language (which variant of a template), and the merge
context — plain dicts built from the record, its company, its owner and the sender, never model objects."""

from __future__ import annotations

from typing import Any

RUSSIAN_COUNTRIES = frozenset({"RU", "BY", "KZ", "KG"})
LANGUAGE_WORDS = {
    "ru": "ru",
    "rus": "ru",
    "russian": "ru",
    "русский": "ru",
    "рус": "ru",
    "en": "en",
    "eng": "en",
    "english": "en",
    "английский": "en",
}

# ---- languages -----------------------------------------------------------------------------------------


def language_for(record: Any) -> str:
    """ "ru" for a record whose custom "language" field says Russian, or (when it says nothing) whose country is
    Russia, Belarus, Kazakhstan or Kyrgyzstan; "en" otherwise."""
    if record is None:
        return "en"
    custom = getattr(record, "custom", None) or {}
    said = LANGUAGE_WORDS.get(str(custom.get("language") or "").strip().lower())
    if said:
        return said
    country = (getattr(record, "country", "") or "").upper()
    if not country:
        company = getattr(record, "company", None) if hasattr(record, "company_id") else None
        country = (getattr(company, "country", "") or "").upper()
    return "ru" if country in RUSSIAN_COUNTRIES else "en"


def template_variant_for(template: Any, language: str) -> Any:
    """The template's variant in `language`, else in its default language, else any; None without variants.
    Reads `template.variants.all()` once per template object (prefetched: no query at all), so a batch that
    sends one template to thousands of leads asks for its variants once."""
    variants = getattr(template, "_merge_variants", None)
    if variants is None:
        variants = list(template.variants.all())
        template._merge_variants = variants
    if not variants:
        return None
    by_language = {variant.language: variant for variant in variants}
    return (
        by_language.get(language)
        or by_language.get(template.default_language)
        or min(variants, key=lambda v: v.pk or 0)
    )


# ---- the merge context ---------------------------------------------------------------------------------

LEAD_FIELDS = ("first_name", "last_name", "title", "email", "phone", "city", "country")
CONTACT_FIELDS = ("first_name", "last_name", "title", "email", "phone", "city", "country")
COMPANY_FIELDS = ("name", "domain", "industry", "phone", "city", "country")


def _split_name(full_name: str) -> tuple[str, str]:
    first, _sep, last = (full_name or "").strip().partition(" ")
    return first, last.strip()


def _custom(record: Any) -> dict[str, Any]:
    """A record's custom values as plain scalars (text, numbers, yes/no); anything else is left out."""
    values: dict[str, Any] = {}
    for key, value in (getattr(record, "custom", None) or {}).items():
        if value is None:
            values[str(key)] = ""
        elif isinstance(value, str | int | float | bool):
            values[str(key)] = value
    return values


def _fields(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    custom = _custom(record)
    # Custom values first, so a built-in field with the same key wins: `lead.email` is always the address.
    values: dict[str, Any] = dict(custom)
    for name in names:
        value = getattr(record, name, None)
        if value is not None or name not in values:
            values[name] = "" if value is None else value
    values["custom"] = custom
    return values


def _person(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    values = _fields(record, names)
    values["full_name"] = f"{values.get('first_name') or ''} {values.get('last_name') or ''}".strip()
    return values


def _user(user: Any) -> dict[str, Any]:
    if user is None:
        return {}
    full_name = (getattr(user, "full_name", "") or "").strip()
    first, last = _split_name(full_name)
    return {"first_name": first, "last_name": last, "full_name": full_name, "email": getattr(user, "email", "")}


def _company(company: Any) -> dict[str, Any]:
    return _fields(company, COMPANY_FIELDS) if company is not None else {}


def _loaded(record: Any, relation: str) -> Any:
    """A foreign key only when it is set (no query for an empty one)."""
    return getattr(record, relation) if getattr(record, f"{relation}_id", None) else None


def merge_context(*, organization: Any, lead: Any = None, contact: Any = None, sender: Any = None, company: Any = None):
    """The merge fields of one email, as plain dicts (never model objects):

    - `lead.*`: first_name, last_name, full_name, title, company, email, phone, city, country, and each custom
      field both as `lead.<key>` and `lead.custom.<key>` (built-in names win over custom keys);
    - `contact.*`: the same for a contact, with `contact.company` its company's name;
    - `company.*`: name, domain, industry, phone, city, country and custom fields — the contact's company, the
      lead's converted company, or for a lead without one just `company.name` (the lead's company name);
    - `owner.*`: first_name, last_name, full_name, email of the record's owner;
    - `sender.*`: the same for the sending user, plus `sender.name` (the mailbox's display name, else the full
      name) and `sender.email` (the mailbox's address). `sender` is a Mailbox or a User;
    - `organization.name`.
    """
    context: dict[str, Any] = {"organization": {"name": getattr(organization, "name", "") or ""}}
    record = lead if lead is not None else contact
    company_fallback: dict[str, Any] = {}
    if lead is not None:
        values = _person(lead, LEAD_FIELDS)
        values["company"] = lead.company_name or ""
        context["lead"] = values
        company = company if company is not None else _loaded(lead, "converted_company")
        company_fallback = {"name": lead.company_name or "", "custom": {}}
    if contact is not None:
        values = _person(contact, CONTACT_FIELDS)
        contact_company = _loaded(contact, "company")
        values["company"] = contact_company.name if contact_company is not None else ""
        context["contact"] = values
        company = company if company is not None else contact_company
    context["company"] = _company(company) if company is not None else company_fallback
    owner_record = record if record is not None else company
    context["owner"] = _user(_loaded(owner_record, "owner")) if owner_record is not None else {}
    context["sender"] = _sender(sender)
    return context


def _sender(sender: Any) -> dict[str, Any]:
    if sender is None:
        return {}
    if hasattr(sender, "smtp_host"):  # a Mailbox: the person behind it, with the mailbox's name and address
        values = _user(sender.user)
        values["name"] = sender.display_name or values.get("full_name") or sender.email
        values["email"] = sender.email
        return values
    values = _user(sender)
    values["name"] = values.get("full_name") or values.get("email", "")
    return values


# What a template is checked against when it is saved, and previewed with when no lead is chosen.
SAMPLE_CONTEXT: dict[str, Any] = {
    "lead": {
        "first_name": "Anna",
        "last_name": "Smith",
        "full_name": "Anna Smith",
        "title": "Head of Sales",
        "company": "Example Ltd",
        "email": "anna@example.com",
        "phone": "+14155550100",
        "city": "",
        "country": "US",
        "custom": {},
    },
    "contact": {},
    "company": {"name": "Example Ltd", "domain": "example.com", "industry": "Software", "custom": {}},
    "owner": {"first_name": "Sam", "last_name": "Rep", "full_name": "Sam Rep", "email": "sam@example.com"},
    "sender": {
        "first_name": "Sam",
        "last_name": "Rep",
        "full_name": "Sam Rep",
        "name": "Sam Rep",
        "email": "sam@example.com",
    },
    "organization": {"name": "Example Ltd"},
}
