"""One filter definition per listable record type, shared by the htmx list pages and the API."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from insidesales.core.phones import looks_like_phone, search_candidates
from insidesales.core.text import company_search_key, normalize_email, search_key
from insidesales.crm.models import (
    Company,
    Contact,
    CustomField,
    CustomFieldType,
    Deal,
    Lead,
    LeadSource,
    LeadStatus,
    StageKind,
)
from insidesales.orgs.models import Membership


def _id(value: Any) -> int:
    """A database id; beyond 64 bits the drivers refuse it, so it is an invalid value, not a crash."""
    number = int(str(value))
    if abs(number) >= 2**63:
        raise ValueError(value)
    return number


@dataclass(frozen=True)
class Filter:
    name: str
    label: Any
    kind: str  # user | choice | multichoice | id | text | date_from | date_to
    lookup: str = ""
    choices: tuple = ()


@dataclass
class FilterSet:
    model: type
    record_type: str
    filters: list[Filter]
    sorts: dict[str, Any]
    columns: dict[str, Any]
    default_columns: list[str]
    search_fields: tuple[str, ...]
    default_sort: str = "-last_activity_at"
    by_name: dict[str, Filter] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.filters}

    def clean(self, raw: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
        """Turn query parameters (a QueryDict or dict) into typed filters; unknown values become errors."""
        cleaned: dict[str, Any] = {}
        getlist = (
            raw.getlist if hasattr(raw, "getlist") else (lambda k: raw[k] if isinstance(raw.get(k), list) else [raw[k]])
        )
        for key in list(raw.keys()):
            values = [v for v in getlist(key) if v not in (None, "")]
            if not values:
                continue
            if key == "q":
                cleaned["q"] = str(values[0]).strip()[:200]
                continue
            if key.startswith("custom."):
                cleaned[key] = str(values[0])[:200]
                continue
            spec = self.by_name.get(key)
            if spec is None:
                continue
            try:
                cleaned[key] = self._clean_one(spec, values)
            except ValueError:
                errors.setdefault(key, []).append(_("Invalid value."))
        return cleaned

    def _clean_one(self, spec: Filter, values: list[Any]) -> Any:
        if spec.kind == "user":
            value = str(values[0])
            if value in ("me", "none"):
                return value
            return _id(value)
        if spec.kind == "id":
            return _id(values[0])
        if spec.kind == "multichoice":
            allowed = {c[0] for c in spec.choices}
            items = [str(v) for raw in values for v in str(raw).split(",") if v]
            if any(v not in allowed for v in items):
                raise ValueError
            return items
        if spec.kind == "choice":
            if str(values[0]) not in {c[0] for c in spec.choices}:
                raise ValueError
            return str(values[0])
        if spec.kind in ("date_from", "date_to"):
            return dt.date.fromisoformat(str(values[0])).isoformat()
        return str(values[0]).strip()[:200]

    def apply(self, queryset: QuerySet, cleaned: dict[str, Any], membership: Membership) -> QuerySet:
        for key, value in cleaned.items():
            if key == "q":
                queryset = apply_search(queryset, value, membership, self.search_fields)
                continue
            if key.startswith("custom."):
                queryset = self._apply_custom(queryset, key[7:], value, membership)
                continue
            spec = self.by_name[key]
            if spec.kind == "user":
                if value == "me":
                    queryset = queryset.filter(owner_id=membership.user_id)
                elif value == "none":
                    queryset = queryset.filter(owner__isnull=True)
                else:
                    queryset = queryset.filter(owner_id=value)
            elif spec.kind == "multichoice":
                queryset = (
                    queryset.filter(**{f"{spec.lookup or key}__in": value})
                    if len(value) > 1
                    else queryset.filter(**{spec.lookup or key: value[0]})
                )
            elif spec.kind == "date_from":
                queryset = queryset.filter(**{f"{spec.lookup}__date__gte": value})
            elif spec.kind == "date_to":
                queryset = queryset.filter(**{f"{spec.lookup}__date__lte": value})
            else:
                queryset = queryset.filter(**{spec.lookup or key: value})
        return queryset

    def _apply_custom(self, queryset: QuerySet, key: str, value: str, membership: Membership) -> QuerySet:
        definition = CustomField.objects.filter(
            organization_id=membership.organization_id, record_type=self.record_type, key=key
        ).first()
        if definition is None:
            return queryset.none()
        if definition.field_type == CustomFieldType.BOOLEAN:
            return queryset.filter(**{f"custom__{key}": value.lower() in ("1", "true", "yes", "on")})
        if definition.field_type == CustomFieldType.NUMBER:
            try:
                number = float(value)
            except ValueError:
                return queryset.none()
            if not math.isfinite(number):
                return queryset.none()  # nan/inf are never stored (the service refuses them)
            return queryset.filter(**{f"custom__{key}": int(number) if number.is_integer() else number})
        return queryset.filter(**{f"custom__{key}": value})


def apply_search(queryset: QuerySet, text: str, membership: Membership, fields: tuple[str, ...]) -> QuerySet:
    """Search by email (exact or prefix), by phone in any format, or by name/company prefix."""
    text = (text or "").strip()
    if not text:
        return queryset
    model_fields = {f.name for f in queryset.model._meta.get_fields()}
    if "@" in text and "email" in model_fields:
        email = normalize_email(text)
        return queryset.filter(email__prefix=email)
    if looks_like_phone(text) and "phone" in model_fields:
        return queryset.filter(phone__in=search_candidates(text, membership.organization.default_region))
    condition = Q()
    for name, key in name_search_keys(queryset.model, fields, text):
        condition |= Q(**{f"{name}__prefix": key})
    return queryset.filter(condition)


# Key columns holding `company_search_key` (legal form left out) rather than `search_key`.
COMPANY_KEY_FIELDS = {(Company, "name_key"), (Lead, "company_key")}


def is_name_search(model: type, text: str) -> bool:
    """True when `apply_search` would look `text` up by name prefixes (not by email or phone)."""
    text = (text or "").strip()
    model_fields = {f.name for f in model._meta.get_fields()}
    if "@" in text and "email" in model_fields:
        return False
    return bool(text) and not (looks_like_phone(text) and "phone" in model_fields)


def name_search_keys(model: type, fields: tuple[str, ...], text: str) -> list[tuple[str, str]]:
    """(column, prefix) pairs a name search tries. Company columns get both forms of the text, so
    "ООО Ромаш" finds keys stored before legal forms were left out, and "Ромаш" finds the new ones."""
    key = search_key(text)
    pairs: list[tuple[str, str]] = []
    for name in fields:
        keys = [key]
        if (model, name) in COMPANY_KEY_FIELDS:
            company_key = company_search_key(text)
            if company_key and company_key != key:
                keys.append(company_key)
        pairs.extend((name, k) for k in keys if k)
    return pairs


USER = gettext_lazy("Owner")
# Russian says "имя" for a person's name and "название" for a company's or a deal's.
PERSON_NAME = pgettext_lazy("name of a person", "Name")
THING_NAME = pgettext_lazy("name of a thing", "Name")
COMMON_FILTERS = [
    Filter("owner", USER, "user"),
    Filter("team", gettext_lazy("Team"), "id", "team_id"),
    Filter("agency", gettext_lazy("Agency"), "id", "agency_id"),
    Filter("tag", gettext_lazy("Tag"), "id", "tags__id"),
    Filter("created_from", gettext_lazy("Created from"), "date_from", "created_at"),
    Filter("created_to", gettext_lazy("Created to"), "date_to", "created_at"),
]
COMMON_SORTS = {
    "last_activity_at": gettext_lazy("Last activity"),
    "created_at": gettext_lazy("Created"),
    "name_key": THING_NAME,
}
PERSON_SORTS = {**COMMON_SORTS, "name_key": PERSON_NAME}

LEAD_FILTERS = FilterSet(
    model=Lead,
    record_type="lead",
    filters=[
        Filter("status", gettext_lazy("Status"), "multichoice", "status", tuple(LeadStatus.choices)),
        Filter("source", gettext_lazy("Source"), "multichoice", "source", tuple(LeadSource.choices)),
        Filter("country", gettext_lazy("Country"), "text", "country"),
        *COMMON_FILTERS,
    ],
    sorts=PERSON_SORTS,
    columns={
        "name": PERSON_NAME,
        "company_name": gettext_lazy("Company"),
        "email": gettext_lazy("Email"),
        "phone": gettext_lazy("Phone"),
        "status": gettext_lazy("Status"),
        "source": gettext_lazy("Source"),
        "owner": USER,
        "country": gettext_lazy("Country"),
        "time_zone": gettext_lazy("Time zone"),
        "tags": gettext_lazy("Tags"),
        "last_activity_at": gettext_lazy("Last activity"),
        "created_at": gettext_lazy("Created"),
    },
    default_columns=["name", "company_name", "phone", "email", "status", "owner", "last_activity_at"],
    search_fields=("name_key", "name_rev_key", "company_key"),
)

CONTACT_FILTERS = FilterSet(
    model=Contact,
    record_type="contact",
    filters=[
        Filter("company", gettext_lazy("Company"), "id", "company_id"),
        Filter("country", gettext_lazy("Country"), "text", "country"),
        *COMMON_FILTERS,
    ],
    sorts=PERSON_SORTS,
    columns={
        "name": PERSON_NAME,
        "company": gettext_lazy("Company"),
        "title": gettext_lazy("Job title"),
        "email": gettext_lazy("Email"),
        "phone": gettext_lazy("Phone"),
        "owner": USER,
        "country": gettext_lazy("Country"),
        "tags": gettext_lazy("Tags"),
        "last_activity_at": gettext_lazy("Last activity"),
        "created_at": gettext_lazy("Created"),
    },
    default_columns=["name", "company", "title", "phone", "email", "owner", "last_activity_at"],
    search_fields=("name_key", "name_rev_key"),
)

COMPANY_FILTERS = FilterSet(
    model=Company,
    record_type="company",
    filters=[
        Filter("industry", gettext_lazy("Industry"), "text", "industry"),
        Filter("country", gettext_lazy("Country"), "text", "country"),
        *COMMON_FILTERS,
    ],
    sorts=COMMON_SORTS,
    columns={
        "name": THING_NAME,
        "domain": gettext_lazy("Domain"),
        "industry": gettext_lazy("Industry"),
        "employees": gettext_lazy("Employees"),
        "phone": gettext_lazy("Phone"),
        "owner": USER,
        "country": gettext_lazy("Country"),
        "city": gettext_lazy("City"),
        "tags": gettext_lazy("Tags"),
        "last_activity_at": gettext_lazy("Last activity"),
        "created_at": gettext_lazy("Created"),
    },
    default_columns=["name", "domain", "industry", "country", "owner", "last_activity_at"],
    search_fields=("name_key",),
)

DEAL_FILTERS = FilterSet(
    model=Deal,
    record_type="deal",
    filters=[
        Filter("pipeline", gettext_lazy("Pipeline"), "id", "pipeline_id"),
        Filter("stage", gettext_lazy("Stage"), "id", "stage_id"),
        Filter("stage_kind", gettext_lazy("Open / won / lost"), "choice", "stage__kind", tuple(StageKind.choices)),
        Filter("company", gettext_lazy("Company"), "id", "company_id"),
        Filter("contact", gettext_lazy("Contact"), "id", "contact_id"),
        *COMMON_FILTERS,
    ],
    sorts={**COMMON_SORTS, "amount": gettext_lazy("Amount")},
    columns={
        "name": THING_NAME,
        "company": gettext_lazy("Company"),
        "stage": gettext_lazy("Stage"),
        "amount": gettext_lazy("Amount"),
        "expected_close": gettext_lazy("Expected close"),
        "owner": USER,
        "tags": gettext_lazy("Tags"),
        "last_activity_at": gettext_lazy("Last activity"),
        "created_at": gettext_lazy("Created"),
    },
    default_columns=["name", "company", "stage", "amount", "expected_close", "owner", "last_activity_at"],
    search_fields=("name_key",),
)

FILTERSETS: dict[str, FilterSet] = {
    "lead": LEAD_FILTERS,
    "contact": CONTACT_FILTERS,
    "company": COMPANY_FILTERS,
    "deal": DEAL_FILTERS,
}
MODEL_FILTERSETS = {fs.model: fs for fs in FILTERSETS.values()}
