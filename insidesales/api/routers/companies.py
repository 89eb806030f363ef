"""`/companies`: the accounts we sell to."""

from typing import Annotated, Any

from django.http import HttpRequest
from pydantic import Field

from insidesales.api.routers.record_duplicates import COMPANY_MERGE_IN, COMPANY_MERGE_OUT
from insidesales.api.routers.records import RecordApi, RecordId, record_router
from insidesales.api.schemas import Country, OwnedIn, RecordIn, RecordOut, text, unset
from insidesales.crm import services
from insidesales.crm.models import Company
from insidesales.imports.merge import record_merge


class CompanyOut(RecordOut):
    name: str
    domain: str
    industry: str
    employees: int | None
    phone: str = Field(description="E.164, e.g. +14155550100; empty when unknown.")
    phone_raw: str = Field(description="The phone as it was entered.")
    country: str = Field(description="ISO 3166-1 alpha-2.")
    city: str


class CompanyFields(RecordIn):
    domain: text(255) = unset("e.g. example.com; a scheme and www. are dropped.")
    industry: text(100) = unset()
    employees: Annotated[int, Field(ge=0, le=2_147_483_647, strict=True)] | None = unset(
        "Head count; null when unknown."
    )
    phone: text(64) = unset("Any format; stored as E.164, read in the organization's region.")
    country: Country = unset("ISO 3166-1 alpha-2; filled from the phone when not given.")
    city: text(100) = unset()


class CompanyCreate(CompanyFields, OwnedIn):
    name: text(255, min_length=1)


class CompanyUpdate(CompanyFields):
    name: text(255, min_length=1) = unset()


def _create(membership: Any, data: dict[str, Any]) -> Company:
    return services.record_create(membership=membership, model=Company, data=data)


def _update(membership: Any, record_id: int, data: dict[str, Any]) -> Company:
    return services.record_update(membership=membership, model=Company, record_id=record_id, data=data)


def _assign(membership: Any, record_id: int, *, owner_id: int | None, agency_id: int | None) -> Company:
    return services.record_assign(
        membership=membership, model=Company, record_id=record_id, owner_id=owner_id, agency_id=agency_id
    )


def _delete(membership: Any, record_id: int) -> None:
    services.record_delete(membership=membership, model=Company, record_id=record_id)


COMPANIES = RecordApi(
    model=Company,
    name="company",
    plural="companies",
    out=CompanyOut,
    create_in=CompanyCreate,
    update_in=CompanyUpdate,
    create=_create,
    update=_update,
    assign=_assign,
    delete=_delete,
)
router = record_router(COMPANIES)


@router.post(
    "/{int:id}/merge",
    response=COMPANY_MERGE_OUT,
    operation_id="company_merge",
    summary="Merge another company into this one",
    description=(
        "Contacts, deals, timeline entries, tasks and tags of the other company move to this one; the other "
        "company is deleted. Undo with `POST /merges/companies/{id}/undo`."
    ),
)
def merge_into(request: HttpRequest, payload: COMPANY_MERGE_IN, id: int = RecordId):  # type: ignore[valid-type]
    return record_merge(
        kind="company",
        membership=request.auth,
        survivor_id=id,
        other_id=payload.other_id,
        choices=payload.choices,
    )
