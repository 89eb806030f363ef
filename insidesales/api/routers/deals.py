"""`/deals`: the shared record operations plus the stage verbs (move-stage, won, lost)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Schema
from pydantic import Field

from insidesales.api.routers.records import RecordApi, RecordId, record_router
from insidesales.api.schemas import (
    READ_ONLY,
    Id,
    InDate,
    Input,
    Money,
    NamedRef,
    OwnedIn,
    RecordIn,
    RecordOut,
    UtcDatetime,
    text,
    unset,
)
from insidesales.crm import services
from insidesales.crm.models import Deal


class StageRef(Schema):
    id: int
    name: str
    kind: str = Field(description="open, won or lost: what the stage means whatever its name.")


class DealOut(RecordOut):
    name: str
    company: NamedRef | None
    contact_id: int | None
    pipeline_id: int
    stage: StageRef
    amount: str = Field(description="Decimal with two places, as a string (no rounding in transit).")
    currency: str = Field(description="ISO 4217.")
    expected_close: dt.date | None
    closed_at: UtcDatetime | None
    lost_reason: str

    @staticmethod
    def resolve_company(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.company.pk, "name": obj.company.name} if obj.company_id else None

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return str(Decimal(obj.amount).quantize(Decimal("0.01")))


class DealFields(RecordIn):
    company_id: Id | None = unset("A company visible to you; null detaches it.")
    contact_id: Id | None = unset("A contact visible to you; null detaches it.")
    amount: Money = unset()
    currency: str = unset("ISO 4217; the organization's currency when not given.", pattern=r"^[A-Za-z]{3}$")
    expected_close: InDate | None = unset("YYYY-MM-DD.")


class DealCreate(DealFields, OwnedIn):
    name: text(255, min_length=1)
    pipeline_id: Id = unset("The default pipeline when not given.")
    stage_id: Id = unset("A stage of that pipeline; its first open stage when not given.")


class DealUpdate(DealFields):
    name: text(255, min_length=1) = unset()
    lost_reason: text(255) = unset()
    stage_id: int = unset("Read-only: use the move-stage, won and lost operations.", json_schema_extra=READ_ONLY)
    pipeline_id: int = unset("Read-only.", json_schema_extra=READ_ONLY)


class MoveStageIn(Input):
    stage_id: Id = Field(description="A stage of the deal's pipeline.")
    lost_reason: text(255) = Field("", description="Required when the stage is a lost one.")


class LostIn(Input):
    reason: text(255, min_length=1)


def _create(membership: Any, data: dict[str, Any]) -> Deal:
    return services.record_create(membership=membership, model=Deal, data=data)


def _update(membership: Any, record_id: int, data: dict[str, Any]) -> Deal:
    return services.record_update(membership=membership, model=Deal, record_id=record_id, data=data)


def _assign(membership: Any, record_id: int, *, owner_id: int | None, agency_id: int | None) -> Deal:
    return services.record_assign(
        membership=membership, model=Deal, record_id=record_id, owner_id=owner_id, agency_id=agency_id
    )


def _delete(membership: Any, record_id: int) -> None:
    services.record_delete(membership=membership, model=Deal, record_id=record_id)


DEALS = RecordApi(
    model=Deal,
    name="deal",
    plural="deals",
    out=DealOut,
    create_in=DealCreate,
    update_in=DealUpdate,
    create=_create,
    update=_update,
    assign=_assign,
    delete=_delete,
)
router = record_router(DEALS)


@router.post(
    "/{int:id}/move-stage",
    response=DealOut,
    operation_id="deal_move_stage",
    summary="Move a deal to a stage",
    description="Won and lost stages close the deal; open stages reopen it. A lost stage needs `lost_reason`.",
)
def move_stage(request: HttpRequest, payload: MoveStageIn, id: int = RecordId):
    return services.deal_move_stage(
        membership=request.auth, deal_id=id, stage_id=payload.stage_id, lost_reason=payload.lost_reason
    )


@router.post("/{int:id}/won", response=DealOut, operation_id="deal_mark_won", summary="Mark a deal won")
def mark_won(request: HttpRequest, id: int = RecordId):
    return services.deal_mark_won(membership=request.auth, deal_id=id)


@router.post("/{int:id}/lost", response=DealOut, operation_id="deal_mark_lost", summary="Mark a deal lost")
def mark_lost(request: HttpRequest, payload: LostIn, id: int = RecordId):
    return services.deal_mark_lost(membership=request.auth, deal_id=id, reason=payload.reason)
