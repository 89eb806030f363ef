"""`/routing-rules`: the organization's inbound routing rules (admins write, managers read), and
`POST /routing-rules/test` ("which rule would take this lead, and who would get it" — changing nothing);
`/me/availability` and `/availability/{user_id}`: reps' availability for inbound leads
(`insidesales.inbound.services.routing_rules`)."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field

from insidesales.api.schemas import MAX_ID, Flag, Id, InDatetime, Input, UtcDatetime, text, unset
from insidesales.inbound.models import AssignTo, SlaAction
from insidesales.inbound.routing import OPERATORS
from insidesales.inbound.services import routing_rules as service

router = Router(tags=["routing"])
me_router = Router(tags=["routing"])
availability_router = Router(tags=["routing"])

RuleId = Path(..., ge=1, le=MAX_ID, description="The rule's id.")
UserId = Path(..., ge=1, le=MAX_ID, description="The user's id.")
AssignToValue = Literal[tuple(AssignTo.values)]  # type: ignore[valid-type]
SlaActionValue = Literal[tuple(SlaAction.values)]  # type: ignore[valid-type]
OperatorValue = Literal[OPERATORS]  # type: ignore[valid-type]
ConditionValue = (
    text(200) | Annotated[float, Field(allow_inf_nan=False)] | Annotated[list[text(200)], Field(max_length=100)]
)


class Condition(Schema):
    field: text(60, min_length=1) = Field(
        description="A lead fact (country, time_zone, region, source, form, channel, company_name, company_size, "
        "email_domain, title, language, utm_source, utm_medium, utm_campaign) or `custom:<key>` of a lead custom field."
    )
    op: OperatorValue
    value: ConditionValue = Field(
        "", description="A list (or comma-separated text) for in / not_in; a number for gte / lte."
    )


class RuleOut(Schema):
    id: int
    name: str
    position: int = Field(description="Rules are tried by position; the default rule always last.")
    is_active: bool
    is_default: bool
    conditions: list[dict[str, Any]]
    assign_to: AssignToValue
    user_id: int | None
    team_id: int | None
    agency_id: int | None
    weights: dict[str, int] = Field(description="Round robin: weight by user id; members not listed weigh 1.")
    prefer_account_owner: bool
    skip_offline: bool
    sla_minutes: int | None
    sla_working_hours: bool
    sla_action: SlaActionValue
    sla_max_reassignments: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class RuleIn(Input):
    name: text(100, min_length=1)
    conditions: Annotated[list[Condition], Field(max_length=service.MAX_CONDITIONS)] = []
    assign_to: AssignToValue = AssignTo.ROUND_ROBIN
    user_id: Id | None = Field(None, description="assign_to=user: the person.")
    team_id: Id | None = Field(None, description="assign_to=round_robin or least_open: the team.")
    agency_id: Id | None = Field(None, description="assign_to=agency: the agency.")
    weights: dict[
        Annotated[str, Field(max_length=20)], Annotated[int, Field(ge=0, le=service.MAX_WEIGHT, strict=True)]
    ] = {}
    prefer_account_owner: Flag = True
    skip_offline: Flag = True
    sla_minutes: Annotated[int, Field(ge=1, le=service.SLA_MAX_MINUTES, strict=True)] | None = None
    sla_working_hours: Flag = True
    sla_action: SlaActionValue = SlaAction.BOTH
    sla_max_reassignments: Annotated[int, Field(ge=0, le=service.MAX_REASSIGNMENTS, strict=True)] = 2
    is_active: Flag = True


class RuleUpdateIn(Input):
    """Only the fields sent change."""

    name: text(100, min_length=1) = unset()
    conditions: Annotated[list[Condition], Field(max_length=service.MAX_CONDITIONS)] = unset()
    assign_to: AssignToValue = unset()
    user_id: Id | None = unset()
    team_id: Id | None = unset()
    agency_id: Id | None = unset()
    weights: dict[
        Annotated[str, Field(max_length=20)], Annotated[int, Field(ge=0, le=service.MAX_WEIGHT, strict=True)]
    ] = unset()
    prefer_account_owner: Flag = unset()
    skip_offline: Flag = unset()
    sla_minutes: Annotated[int, Field(ge=1, le=service.SLA_MAX_MINUTES, strict=True)] | None = unset()
    sla_working_hours: Flag = unset()
    sla_action: SlaActionValue = unset()
    sla_max_reassignments: Annotated[int, Field(ge=0, le=service.MAX_REASSIGNMENTS, strict=True)] = unset()
    is_active: Flag = unset()


class Utm(Input):
    source: text(200) = ""
    medium: text(200) = ""
    campaign: text(200) = ""


class RoutingTestIn(Input):
    lead_id: Id | None = Field(
        None, description="An existing lead you can see; the other lead fields are then ignored."
    )
    country: text(2) = ""
    time_zone: text(64) = ""
    source: text(20) = ""
    company_name: text(255) = ""
    email: text(254) = ""
    title: text(150) = ""
    custom: dict[Annotated[str, Field(max_length=50)], text(200) | int | float | bool | None] = {}
    form_id: Id | None = None
    channel: Literal["", "form", "api"] = ""
    utm: Utm = Field(default_factory=Utm)


class SkippedRep(Schema):
    rep: str
    reason: str


class RuleTraceOut(Schema):
    rule_id: int
    name: str
    matched: bool = Field(description="Whether this rule took the lead (only the last one tried can).")
    why: list[str] = Field(description="Each condition with its verdict, and why an assignment failed.")
    skipped: list[SkippedRep]


class RoutingTestOut(Schema):
    rule_id: int | None
    rule_name: str | None
    owner_id: int | None
    owner_name: str | None
    team_id: int | None
    agency_id: int | None
    reason: str
    trace: list[RuleTraceOut]


class AvailabilityOut(Schema):
    user_id: int
    accepts_inbound: bool
    away_from: UtcDatetime | None
    away_until: UtcDatetime | None
    max_open_leads: int | None
    available_now: bool = Field(description="Whether routing would give this rep a lead now (online rules apply).")
    state: str = Field(description="Online, or why not: offline, paused, out of office, at capacity...")


class AvailabilityIn(Input):
    """The whole availability: fields not sent take their defaults (takes leads, not away, no limit)."""

    accepts_inbound: Flag = True
    away_from: InDatetime | None = None
    away_until: InDatetime | None = Field(None, description="Set with or without away_from (then: from now).")
    max_open_leads: Annotated[int, Field(ge=0, le=service.MAX_OPEN_LEADS, strict=True)] | None = None


def _rule_out(rule: Any) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RuleOut.model_fields}


@router.get(
    "",
    response=list[RuleOut],
    operation_id="routing_rule_list",
    summary="List routing rules",
    description="In the order they are tried, the default rule last. Admins and managers; others get 404.",
)
def list_rules(request: HttpRequest):
    return [_rule_out(r) for r in service.routing_rule_list(membership=request.auth)]


@router.post(
    "",
    response={201: RuleOut},
    operation_id="routing_rule_create",
    summary="Add a routing rule",
    description="Admins. The new rule is tried after the others, before the default rule.",
)
def create_rule(request: HttpRequest, payload: RuleIn):
    data = payload.model_dump()
    rule = service.routing_rule_create(membership=request.auth, data=data)
    return Status(201, _rule_out(rule))


@router.post(
    "/test",
    response=RoutingTestOut,
    operation_id="routing_test",
    summary="Test a lead against the rules",
    description="Which rule would take the lead and who would get it, with every rule tried and every rep passed "
    "over. Changes nothing. Admins and managers.",
)
def test_lead(request: HttpRequest, payload: RoutingTestIn):
    data = payload.model_dump()
    decision, _facts = service.routing_test(membership=request.auth, lead_id=data.pop("lead_id"), data=data)
    return {
        "rule_id": decision.rule.pk if decision.rule else None,
        "rule_name": decision.rule.name if decision.rule else None,
        "owner_id": decision.owner_id,
        "owner_name": decision.owner.name if decision.owner else None,
        "team_id": decision.team_id,
        "agency_id": decision.agency_id,
        "reason": decision.reason,
        "trace": [
            {
                "rule_id": t.rule_id,
                "name": t.name,
                "matched": t.matched,
                "why": t.why,
                "skipped": [{"rep": rep, "reason": reason} for rep, reason in t.skipped],
            }
            for t in decision.trace
        ],
    }


@router.get("/{int:id}", response=RuleOut, operation_id="routing_rule_get", summary="Get a routing rule")
def get_rule(request: HttpRequest, id: int = RuleId):
    return _rule_out(service.routing_rule_get(membership=request.auth, rule_id=id))


@router.patch(
    "/{int:id}",
    response=RuleOut,
    operation_id="routing_rule_update",
    summary="Change a routing rule",
    description="Admins. Only the fields sent change. The default rule has no conditions and is always on.",
)
def update_rule(request: HttpRequest, payload: RuleUpdateIn, id: int = RuleId):
    rule = service.routing_rule_update(membership=request.auth, rule_id=id, data=payload.model_dump(exclude_unset=True))
    return _rule_out(rule)


@router.post(
    "/{int:id}/move-up",
    response=RuleOut,
    operation_id="routing_rule_move_up",
    summary="Try a routing rule earlier",
    description="Admins. Swaps it with the rule before it; the default rule stays last (409).",
)
def move_rule_up(request: HttpRequest, id: int = RuleId):
    return _rule_out(service.routing_rule_move(membership=request.auth, rule_id=id, direction="up"))


@router.post(
    "/{int:id}/move-down",
    response=RuleOut,
    operation_id="routing_rule_move_down",
    summary="Try a routing rule later",
    description="Admins. Swaps it with the rule after it, never past the default rule.",
)
def move_rule_down(request: HttpRequest, id: int = RuleId):
    return _rule_out(service.routing_rule_move(membership=request.auth, rule_id=id, direction="down"))


@router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="routing_rule_delete",
    summary="Remove a routing rule",
    description="Admins. The default rule cannot be removed (409).",
)
def delete_rule(request: HttpRequest, id: int = RuleId):
    service.routing_rule_delete(membership=request.auth, rule_id=id)
    return Status(204, None)


# --- availability ------------------------------------------------------------------------------------------


def _availability_out(membership: Any, user_id: int) -> dict[str, Any]:
    row = service.availability_rows(membership=membership, user_id=user_id)[0]
    return {
        "user_id": user_id,
        **{name: getattr(row["availability"], name) for name in service.AVAILABILITY_FIELDS},
        "available_now": row["available"],
        "state": str(row["state"]),
    }


@me_router.get("", response=AvailabilityOut, operation_id="my_availability_get", summary="Get my availability")
def get_my_availability(request: HttpRequest):
    return _availability_out(request.auth, request.auth.user_id)


@me_router.put(
    "",
    response=AvailabilityOut,
    operation_id="my_availability_set",
    summary="Set my availability",
    description="The whole availability: fields not sent take their defaults.",
)
def set_my_availability(request: HttpRequest, payload: AvailabilityIn):
    service.availability_update(membership=request.auth, user_id=request.auth.user_id, data=payload.model_dump())
    return _availability_out(request.auth, request.auth.user_id)


@availability_router.get(
    "/{int:user_id}",
    response=AvailabilityOut,
    operation_id="availability_get",
    summary="Get a rep's availability",
    description="Yours; a manager's team members'; anyone's for admins. Others answer 404.",
)
def get_availability(request: HttpRequest, user_id: int = UserId):
    return _availability_out(request.auth, user_id)


@availability_router.put(
    "/{int:user_id}",
    response=AvailabilityOut,
    operation_id="availability_set",
    summary="Set a rep's availability",
    description="Managers for their teams' members, admins for anyone. Fields not sent take their defaults.",
)
def set_availability(request: HttpRequest, payload: AvailabilityIn, user_id: int = UserId):
    service.availability_update(membership=request.auth, user_id=user_id, data=payload.model_dump())
    return _availability_out(request.auth, user_id)
