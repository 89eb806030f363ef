"""The four record types the generic views serve, and which service does each write for each of them.

Leads have their own services (status verbs live there); companies, contacts and deals share the
`record_*` services with a `model=` argument. This table hides that difference from the views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from insidesales.crm import services
from insidesales.crm.filters import FILTERSETS, FilterSet
from insidesales.crm.models import Company, Contact, Deal, Lead
from insidesales.orgs.models import Membership

URL_VERBS = ("list", "create", "detail", "edit", "delete", "assign", "notes", "timeline", "bulk", "task_add", "export")


@dataclass(frozen=True)
class RecordKind:
    """One listable record type as the UI sees it: model, URL prefix, labels and editable fields."""

    record_type: str
    model: type
    plural: str
    label: Any
    label_plural: Any
    new_label: Any
    form_fields: tuple[str, ...]
    # Shown in the fields card of the detail page (form fields plus read-only ones).
    detail_fields: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # URL names follow the contract `<type>_<verb>`; templates use `{% url kind.names.detail pk %}`.
        self.names.update({verb: f"{self.record_type}_{verb}" for verb in URL_VERBS})

    @property
    def filterset(self) -> FilterSet:
        return FILTERSETS[self.record_type]

    def create(self, *, membership: Membership, data: dict[str, Any]) -> Any:
        if self.model is Lead:
            return services.lead_create(membership=membership, data=data)
        return services.record_create(membership=membership, model=self.model, data=data)

    def update(self, *, membership: Membership, record_id: int, data: dict[str, Any]) -> Any:
        if self.model is Lead:
            return services.lead_update(membership=membership, lead_id=record_id, data=data)
        return services.record_update(membership=membership, model=self.model, record_id=record_id, data=data)

    def delete(self, *, membership: Membership, record_id: int) -> None:
        if self.model is Lead:
            services.lead_delete(membership=membership, lead_id=record_id)
        else:
            services.record_delete(membership=membership, model=self.model, record_id=record_id)

    def assign(self, *, membership: Membership, record_id: int, owner_id: int | None, agency_id: int | None) -> Any:
        if self.model is Lead:
            return services.lead_assign(
                membership=membership, lead_id=record_id, owner_id=owner_id, agency_id=agency_id
            )
        return services.record_assign(
            membership=membership, model=self.model, record_id=record_id, owner_id=owner_id, agency_id=agency_id
        )


LEAD = RecordKind(
    record_type="lead",
    model=Lead,
    plural="leads",
    label=_("Lead"),
    label_plural=_("Leads"),
    new_label=_("New lead"),
    form_fields=(
        "first_name",
        "last_name",
        "title",
        "company_name",
        "email",
        "phone",
        "country",
        "time_zone",
        "source",
        "notes",
    ),
    detail_fields=("title", "company_name", "email", "phone", "country", "time_zone", "source", "notes"),
)
CONTACT = RecordKind(
    record_type="contact",
    model=Contact,
    plural="contacts",
    label=_("Contact"),
    label_plural=_("Contacts"),
    new_label=_("New contact"),
    form_fields=("first_name", "last_name", "title", "company", "email", "phone", "country", "time_zone"),
    detail_fields=("title", "company", "email", "phone", "country", "time_zone"),
)
COMPANY = RecordKind(
    record_type="company",
    model=Company,
    plural="companies",
    label=_("Company"),
    label_plural=_("Companies"),
    new_label=_("New company"),
    form_fields=("name", "domain", "industry", "employees", "phone", "country", "city"),
    detail_fields=("domain", "industry", "employees", "phone", "country", "city"),
)
DEAL = RecordKind(
    record_type="deal",
    model=Deal,
    plural="deals",
    label=_("Deal"),
    label_plural=_("Deals"),
    new_label=_("New deal"),
    form_fields=("name", "company", "contact", "pipeline", "stage", "amount", "currency", "expected_close"),
    detail_fields=("company", "contact", "pipeline", "stage", "amount", "expected_close", "closed_at", "lost_reason"),
)

RECORD_KINDS: dict[str, RecordKind] = {k.record_type: k for k in (LEAD, CONTACT, COMPANY, DEAL)}
KIND_BY_MODEL: dict[type, RecordKind] = {k.model: k for k in RECORD_KINDS.values()}
