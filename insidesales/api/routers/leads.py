"""`/leads`: the shared record operations plus the status verbs (start working, qualify, disqualify, convert)."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

from insidesales.api.routers.duplicates import MergeOut
from insidesales.api.routers.records import RecordApi, RecordId, record_router
from insidesales.api.schemas import (
    READ_ONLY,
    Country,
    Flag,
    Id,
    Input,
    Money,
    OwnedIn,
    RecordIn,
    RecordOut,
    UtcDatetime,
    text,
    unset,
)
from insidesales.crm import services
from insidesales.crm.models import DisqualifyReason, Lead, LeadSource, LeadStatus
from insidesales.imports.merge import CHOOSABLE, lead_merge

Source = Literal[tuple(LeadSource.values)]  # type: ignore[valid-type]


class LeadOut(RecordOut):
    first_name: str
    last_name: str
    full_name: str
    title: str
    company_name: str
    email: str
    phone: str = Field(description="E.164, e.g. +14155550100; empty when unknown.")
    phone_raw: str = Field(description="The phone as it was entered.")
    country: str = Field(description="ISO 3166-1 alpha-2.")
    time_zone: str = Field(description="IANA zone, from the phone or the country when not given.")
    source: str
    status: str
    disqualify_reason: str
    notes: str
    converted_at: UtcDatetime | None
    converted_contact_id: int | None
    converted_company_id: int | None
    converted_deal_id: int | None


class LeadFields(RecordIn):
    first_name: text(100) = unset()
    last_name: text(100) = unset()
    title: text(150) = unset()
    company_name: text(255) = unset()
    email: text(254) = unset()
    phone: text(64) = unset("Any format; stored as E.164, read in the organization's region.")
    country: Country = unset("ISO 3166-1 alpha-2; filled from the phone when not given.")
    time_zone: text(64) = unset("IANA zone, e.g. Europe/Moscow; filled from the phone or country when not given.")
    source: Source = unset()
    notes: text(20000) = unset()


class LeadCreate(LeadFields, OwnedIn):
    """At least one of a name, a company, an email or a phone."""


class LeadUpdate(LeadFields):
    status: str = unset(
        "Read-only: use the start-working, qualify, disqualify and convert operations.", json_schema_extra=READ_ONLY
    )


class NoteOptionalIn(Input):
    note: text(20000) = ""


class DisqualifyIn(Input):
    reason: Literal[tuple(DisqualifyReason.values)]  # type: ignore[valid-type]
    note: text(20000) = ""


class ConvertIn(Input):
    create_deal: Flag = True
    deal_name: text(255) = ""
    deal_amount: Money | None = None
    pipeline_id: Id | None = Field(None, description="The deal's pipeline; the default pipeline when omitted.")


class ConvertOut(Schema):
    lead_id: int
    status: str
    contact_id: int
    contact_created: bool
    company_id: int | None
    company_created: bool
    deal_id: int | None


def _create(membership: Any, data: dict[str, Any]) -> Lead:
    return services.lead_create(membership=membership, data=data)


def _update(membership: Any, lead_id: int, data: dict[str, Any]) -> Lead:
    return services.lead_update(membership=membership, lead_id=lead_id, data=data)


def _assign(membership: Any, lead_id: int, *, owner_id: int | None, agency_id: int | None) -> Lead:
    return services.lead_assign(membership=membership, lead_id=lead_id, owner_id=owner_id, agency_id=agency_id)


def _delete(membership: Any, lead_id: int) -> None:
    services.lead_delete(membership=membership, lead_id=lead_id)


LEADS = RecordApi(
    model=Lead,
    name="lead",
    plural="leads",
    out=LeadOut,
    create_in=LeadCreate,
    update_in=LeadUpdate,
    create=_create,
    update=_update,
    assign=_assign,
    delete=_delete,
    bulk_actions=("assign", "tag", "untag", "status", "delete"),
)
router = record_router(LEADS)
STATUSES = ", ".join(LeadStatus.values)


@router.post(
    "/{int:id}/start-working",
    response=LeadOut,
    operation_id="lead_start_working",
    summary="Start working a lead",
    description="new, qualified or disqualified → working.",
)
def start_working(request: HttpRequest, id: int = RecordId):
    return services.lead_start_working(membership=request.auth, lead_id=id)


@router.post(
    "/{int:id}/qualify",
    response=LeadOut,
    operation_id="lead_qualify",
    summary="Qualify a lead",
    description="new or working → qualified. The body is optional.",
)
def qualify(request: HttpRequest, payload: NoteOptionalIn | None = None, id: int = RecordId):
    note = payload.note if payload else ""
    return services.lead_qualify(membership=request.auth, lead_id=id, note=note)


@router.post(
    "/{int:id}/disqualify",
    response=LeadOut,
    operation_id="lead_disqualify",
    summary="Disqualify a lead",
    description="new, working or qualified → disqualified, with a reason.",
)
def disqualify(request: HttpRequest, payload: DisqualifyIn, id: int = RecordId):
    return services.lead_disqualify(membership=request.auth, lead_id=id, reason=payload.reason, note=payload.note)


@router.post(
    "/{int:id}/convert",
    response=ConvertOut,
    operation_id="lead_convert",
    summary="Convert a lead",
    description=(
        "Turn the lead into a contact at a company (merging into ones that match by email, phone or domain) "
        "and, unless `create_deal` is false, a deal. Answers the ids; the lead's status becomes converted."
    ),
)
def convert(request: HttpRequest, payload: ConvertIn | None = None, id: int = RecordId):
    payload = payload or ConvertIn()
    result = services.lead_convert(
        membership=request.auth,
        lead_id=id,
        create_deal=payload.create_deal,
        deal_name=payload.deal_name,
        deal_amount=payload.deal_amount,
        pipeline_id=payload.pipeline_id,
    )
    return {"lead_id": result["lead"].pk, "status": result["lead"].status, **_ids(result)}


def _ids(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("contact_id", "contact_created", "company_id", "company_created", "deal_id")
    return {key: result[key] for key in keys}


MergeChoice = Literal["survivor", "other", "both"]


class MergeIn(Input):
    other_id: Id = Field(description="The lead merged into this one and then deleted.")
    choices: dict[str, MergeChoice] = Field(
        default_factory=dict,
        description=(
            "Per field, whose value the kept lead keeps: `survivor` (this lead) or `other`; `both` for `notes`. "
            "Fields: " + ", ".join(CHOOSABLE) + ". Unlisted fields keep this lead's value, or the other's where "
            "this one has none; notes that differ are kept both."
        ),
    )


@router.post(
    "/{int:id}/merge",
    response=MergeOut,
    operation_id="lead_merge",
    summary="Merge another lead into this one",
    description=(
        "Timeline entries, tasks and tags of the other lead move to this one; the other lead is deleted. "
        "Undo with `POST /merges/{id}/undo`."
    ),
)
def merge_into(request: HttpRequest, payload: MergeIn, id: int = RecordId):
    return lead_merge(membership=request.auth, survivor_id=id, other_id=payload.other_id, choices=payload.choices)
