"""`/contacts`: people at companies we deal with."""

from typing import Any

from django.http import HttpRequest
from pydantic import Field

from insidesales.api.routers.record_duplicates import CONTACT_MERGE_IN, CONTACT_MERGE_OUT
from insidesales.api.routers.records import RecordApi, RecordId, record_router
from insidesales.api.schemas import Country, Id, NamedRef, OwnedIn, RecordIn, RecordOut, text, unset
from insidesales.crm import services
from insidesales.crm.models import Contact
from insidesales.imports.merge import record_merge


class ContactOut(RecordOut):
    first_name: str
    last_name: str
    full_name: str
    title: str
    company: NamedRef | None
    email: str
    phone: str = Field(description="E.164, e.g. +14155550100; empty when unknown.")
    phone_raw: str = Field(description="The phone as it was entered.")
    country: str = Field(description="ISO 3166-1 alpha-2.")
    time_zone: str = Field(description="IANA zone, from the phone or the country when not given.")

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.company.pk, "name": obj.company.name} if obj.company_id else None


class ContactFields(RecordIn):
    first_name: text(100) = unset()
    title: text(150) = unset()
    company_id: Id | None = unset("A company visible to you; null detaches the contact.")
    email: text(254) = unset()
    phone: text(64) = unset("Any format; stored as E.164, read in the organization's region.")
    country: Country = unset("ISO 3166-1 alpha-2; filled from the phone when not given.")
    time_zone: text(64) = unset("IANA zone; filled from the phone or country when not given.")


class ContactCreate(ContactFields, OwnedIn):
    last_name: text(100, min_length=1)


class ContactUpdate(ContactFields):
    last_name: text(100, min_length=1) = unset()


def _create(membership: Any, data: dict[str, Any]) -> Contact:
    return services.record_create(membership=membership, model=Contact, data=data)


def _update(membership: Any, record_id: int, data: dict[str, Any]) -> Contact:
    return services.record_update(membership=membership, model=Contact, record_id=record_id, data=data)


def _assign(membership: Any, record_id: int, *, owner_id: int | None, agency_id: int | None) -> Contact:
    return services.record_assign(
        membership=membership, model=Contact, record_id=record_id, owner_id=owner_id, agency_id=agency_id
    )


def _delete(membership: Any, record_id: int) -> None:
    services.record_delete(membership=membership, model=Contact, record_id=record_id)


CONTACTS = RecordApi(
    model=Contact,
    name="contact",
    plural="contacts",
    out=ContactOut,
    create_in=ContactCreate,
    update_in=ContactUpdate,
    create=_create,
    update=_update,
    assign=_assign,
    delete=_delete,
)
router = record_router(CONTACTS)


@router.post(
    "/{int:id}/merge",
    response=CONTACT_MERGE_OUT,
    operation_id="contact_merge",
    summary="Merge another contact into this one",
    description=(
        "Timeline entries, tasks, deals and tags of the other contact move to this one; the other contact is "
        "deleted. Undo with `POST /merges/contacts/{id}/undo`."
    ),
)
def merge_into(request: HttpRequest, payload: CONTACT_MERGE_IN, id: int = RecordId):  # type: ignore[valid-type]
    return record_merge(
        kind="contact",
        membership=request.auth,
        survivor_id=id,
        other_id=payload.other_id,
        choices=payload.choices,
    )
