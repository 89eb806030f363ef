"""`/do-not-call`: the numbers nobody in the organization (or one campaign) may call — list, add, import,
remove, and check one number. Anyone who calls may add and check; only admins and managers read the list,
import and remove (`insidesales.calls.services.dnc`)."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from insidesales.api.routers.calls import Cursor, Limit, problem_doc
from insidesales.api.schemas import MAX_ID, Id, Input, QueryId, UserRef, UtcDatetime, text, user_ref
from insidesales.calls import selectors
from insidesales.calls.models import DncSource
from insidesales.calls.services import dnc
from insidesales.core.pagination import paginate

router = Router(tags=["do-not-call"])
EntryId = Path(..., ge=1, le=MAX_ID, description="The do-not-call entry's id.")
CampaignList = Query(None, description="A campaign's list instead of the organization's.")


class DncEntryOut(Schema):
    id: int
    number: str = Field(description="E.164.")
    campaign_id: int | None = Field(description="Null for the organization-wide list.")
    source: Literal[tuple(DncSource.values)]  # type: ignore[valid-type]
    reason: str
    added_by: UserRef | None
    created_at: UtcDatetime

    @staticmethod
    def resolve_added_by(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.added_by) if obj.added_by_id else None


class DncPage(Schema):
    items: list[DncEntryOut]
    next_cursor: str | None


class DncAddIn(Input):
    number: text(64, min_length=1) = Field(description="Any format; read in the organization's region.")
    reason: text(255) = ""
    campaign_id: Id | None = Field(None, description="Only for this campaign; the organization's list when omitted.")


class DncImportIn(Input):
    numbers: list[text(64)] = Field(min_length=1, max_length=100000)
    reason: text(255) = ""
    campaign_id: Id | None = Field(None, description="Only for this campaign; the organization's list when omitted.")


class DncBadNumber(Schema):
    index: int = Field(description="The position in `numbers`, from 0.")
    text: str
    message: str


class DncImportOut(Schema):
    added: int
    already: int = Field(description="Numbers that were on the list before.")
    bad: list[DncBadNumber] = Field(description="Entries that are not phone numbers; the others were kept.")


class DncCheckOut(Schema):
    number_e164: str
    blocked: bool = Field(description="Whether the organization-wide do-not-call list holds the number.")


@router.get(
    "",
    response=DncPage,
    operation_id="dnc_list",
    summary="List do-not-call numbers",
    description="Admins and managers read the lists; for other roles the list is empty (they may add numbers and "
    "check one with `/do-not-call/check`). Newest first.",
    openapi_extra={"responses": problem_doc(404, "No such campaign, or not one you can see.")},
)
def list_dnc(
    request: HttpRequest,
    campaign_id: QueryId | None = CampaignList,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    entries = selectors.dnc_list(membership=request.auth, campaign_id=campaign_id)
    # By id, newest first: the primary key orders entries as they were added, with no other index needed.
    page = paginate(entries, order="-id", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: DncEntryOut},
    operation_id="dnc_add",
    summary="Add a number to the do-not-call list",
    description="Anyone who calls may add a number. A number already on the list answers its existing entry.",
)
def add_dnc(request: HttpRequest, payload: DncAddIn):
    entry = dnc.dnc_add(
        membership=request.auth,
        number=payload.number,
        campaign_id=payload.campaign_id,
        source=DncSource.API,
        reason=payload.reason,
    )
    return Status(201, entry)


@router.post(
    "/import",
    response=DncImportOut,
    operation_id="dnc_import",
    summary="Import do-not-call numbers",
    description="Admins and managers. Good numbers are added (or were there already); each entry that is not a "
    "phone number is reported with its position.",
)
def import_dnc(request: HttpRequest, payload: DncImportIn):
    # A leading blank line: the import reads a first line without digits as a file's header, a JSON list has none.
    lines = ["", *payload.numbers]
    report = dnc.dnc_import(
        membership=request.auth, lines=lines, campaign_id=payload.campaign_id, reason=payload.reason
    )
    bad = [{"index": line - 2, "text": entry, "message": message} for line, entry, message in report.bad_rows]
    return {"added": report.added, "already": report.already, "bad": bad}


@router.get(
    "/check",
    response=DncCheckOut,
    operation_id="dnc_check",
    summary="Is a number on the do-not-call list?",
    description="For anyone who calls: whether the organization-wide list blocks the number (any format).",
)
def check_dnc(request: HttpRequest, number: str = Query(..., min_length=1, max_length=64, pattern=r"^[^\x00]*$")):
    e164, blocked = selectors.dnc_check(membership=request.auth, number=number)
    return {"number_e164": e164, "blocked": blocked}


@router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="dnc_remove",
    summary="Take a number off the do-not-call list",
    description="Admins and managers; other roles answer 403.",
)
def remove_dnc(request: HttpRequest, id: int = EntryId):
    dnc.dnc_remove(membership=request.auth, entry_id=id)
    return Status(204, None)
