"""`/calls`, `/dispositions` and `/callbacks`: click-to-call, hang-up and the outcome of a call, the outcomes
to choose from, and the callbacks promised to callees (the do-not-call list is `do_not_call.py`).

Every operation calls the calls app's services and selectors (`insidesales.calls`); this module only
shapes input and output. A call refused by the do-not-call list or the callee's calling window answers a
409 problem with `code` `call_blocked`, the refusal's `reason` and, when waiting is all it takes,
`next_allowed_at`.
"""

import json
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field, model_validator

from insidesales.api.errors import PROBLEM_CONTENT_TYPE, problem_response
from insidesales.api.schemas import (
    MAX_ID,
    Flag,
    Id,
    InDatetime,
    Input,
    NamedRef,
    QueryId,
    UserRef,
    UtcDatetime,
    text,
    user_ref,
)
from insidesales.calls import selectors
from insidesales.calls.compliance import Reason
from insidesales.calls.models import CallDirection, CallStatus
from insidesales.calls.services import callbacks, dialing
from insidesales.calls.services.config import disposition_label, dispositions_ensure

router = Router(tags=["calls"])
dispositions_router = Router(tags=["calls"])
callbacks_router = Router(tags=["calls"])

CallId = Path(..., ge=1, le=MAX_ID, description="The call's id.")
CallbackId = Path(..., ge=1, le=MAX_ID, description="The callback's id.")
Cursor = Query(None, max_length=1000, pattern=r"^[A-Za-z0-9_\-]*$")
Limit = Query(50, ge=1, le=200)
TimeBound = Query(None, description="ISO 8601 with its offset (`Z`, or `+` sent as `%2B`).")
CallStatusValue = Literal[tuple(CallStatus.values)]  # type: ignore[valid-type]
Direction = Literal[tuple(CallDirection.values)]  # type: ignore[valid-type]
REFUSALS = [reason.value for reason in Reason if reason != Reason.ALLOWED]


def problem_doc(status: int, description: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error answer for the OpenAPI document: the shared Problem, with extra fields when given."""
    schema: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}
    if extra:
        schema = {"allOf": [schema, {"type": "object", "properties": extra}]}
    return {str(status): {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}}}}


# --- calls ----------------------------------------------------------------------------------------


class DispositionRef(Schema):
    key: str
    label: str = Field(description="In the request's language for the built-in outcomes, else as named.")


class CallOut(Schema):
    id: int
    direction: Direction
    status: CallStatusValue
    provider: str = Field(description="simulated, sip or twilio.")
    provider_call_id: str = Field(description="The provider's id of the call; empty until it is placed.")
    from_number: str = Field(description="E.164: the caller id shown (outbound) or the caller (inbound).")
    to_number: str = Field(description="E.164.")
    agent: UserRef | None = Field(description="The rep on the call.")
    campaign: NamedRef | None
    lead_id: int | None
    contact_id: int | None
    company_id: int | None
    queued_at: UtcDatetime
    started_at: UtcDatetime | None
    ringing_at: UtcDatetime | None
    answered_at: UtcDatetime | None
    bridged_at: UtcDatetime | None = Field(description="When the callee and the rep were connected.")
    ended_at: UtcDatetime | None
    hangup_requested_at: UtcDatetime | None
    duration_s: int | None = Field(description="Seconds from answer to hang-up; 0 when never answered.")
    answered_by: str = Field(description="`human`, `machine` or empty when unknown.")
    abandoned: bool = Field(description="Answered by a person no rep was free for.")
    recording_url: str
    failure_reason: str
    disposition: DispositionRef | None = Field(description="How the call went, once the rep has said so.")
    disposed_at: UtcDatetime | None
    note: str

    @staticmethod
    def resolve_agent(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.agent) if obj.agent_id else None

    @staticmethod
    def resolve_campaign(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.campaign_id, "name": obj.campaign.name} if obj.campaign_id else None

    @staticmethod
    def resolve_disposition(obj: Any) -> dict[str, Any] | None:
        if not obj.disposition_id:
            return None
        return {"key": obj.disposition.key, "label": disposition_label(obj.disposition)}


class CallPage(Schema):
    items: list[CallOut]
    next_cursor: str | None


class CallStartIn(Input):
    """Exactly one of `lead_id`, `contact_id` and `company_id`."""

    lead_id: Id | None = Field(None, description="The lead to call.")
    contact_id: Id | None = Field(None, description="The contact to call.")
    company_id: Id | None = Field(None, description="The company to call (its main number).")
    number: text(64, min_length=1) | None = Field(
        None, description="A number stored on the record (E.164), e.g. its company's; the record's phone when omitted."
    )

    @model_validator(mode="after")
    def _one_record(self) -> "CallStartIn":
        if sum(value is not None for value in (self.lead_id, self.contact_id, self.company_id)) != 1:
            raise ValueError(_("Send one of lead_id, contact_id and company_id."))
        return self


class DispositionIn(Input):
    disposition: text(40, min_length=1) = Field(description="The key of one of the active dispositions.")
    note: text(20000) = ""
    callback_at: InDatetime | None = Field(
        None, description="When to call back, with its offset; required by outcomes that schedule a callback."
    )
    callback_for_team: Flag = Field(False, description="Anyone on my team may make the callback, not only me.")


BLOCKED_DOC = problem_doc(
    409,
    "The call may not be placed (`code` `call_blocked`: do-not-call list or calling window, see `reason`), "
    "or you are on another call (`code` `conflict`), or the same Idempotency-Key is in flight.",
    {
        "reason": {"type": "string", "enum": REFUSALS, "description": "Why the call was refused."},
        "next_allowed_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "When the callee's calling window opens, if waiting is all it takes.",
        },
    },
)


def _call_blocked(exc: dialing.CallBlocked) -> HttpResponse:
    """The refusal as a 409 problem carrying its reason and the next allowed time (`CallBlocked.extra`)."""
    response = problem_response(409, exc.message, code="call_blocked")
    body = json.loads(response.content)
    response.content = json.dumps({**exc.extra, **body}, ensure_ascii=False)
    return response


@router.get(
    "",
    response=CallPage,
    operation_id="call_list",
    summary="List calls",
    description="The calls you may see (those of records you see, and your team's as a manager), newest first. "
    "`since` (inclusive) and `until` (exclusive) bound the time the call was queued.",
)
def list_calls(
    request: HttpRequest,
    agent_id: QueryId | None = None,
    lead_id: QueryId | None = None,
    contact_id: QueryId | None = None,
    campaign_id: QueryId | None = None,
    status: CallStatusValue | None = None,
    direction: Direction | None = None,
    since: InDatetime | None = TimeBound,
    until: InDatetime | None = TimeBound,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    page = selectors.call_page(
        membership=request.auth,
        agent_id=agent_id,
        lead_id=lead_id,
        contact_id=contact_id,
        campaign_id=campaign_id,
        status=status,
        direction=direction,
        since=since,
        until=until,
        cursor=cursor or None,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: CallOut},
    operation_id="call_start",
    summary="Call a lead, contact or company (click-to-call)",
    description="Checks the do-not-call lists and the callee's calling window, then queues the call: the dialer "
    "rings your phone and the callee and connects you. The call is on the record's timeline at once.",
    openapi_extra={"responses": BLOCKED_DOC},
)
def start_call(request: HttpRequest, payload: CallStartIn):
    record_type, record_id = next(
        (kind, pk)
        for kind, pk in (("lead", payload.lead_id), ("contact", payload.contact_id), ("company", payload.company_id))
        if pk is not None
    )
    try:
        call = dialing.call_start(
            membership=request.auth, record_type=record_type, record_id=record_id, number=payload.number
        )
    except dialing.CallBlocked as exc:
        return _call_blocked(exc)
    return Status(201, call)


@router.get("/{int:id}", response=CallOut, operation_id="call_get", summary="Get a call")
def get_call(request: HttpRequest, id: int = CallId):
    return selectors.call_get(membership=request.auth, call_id=id)


@router.post(
    "/{int:id}/hangup",
    response=CallOut,
    operation_id="call_hangup",
    summary="Hang up a call",
    description="Asks the dialer to end the call (cancels it while ringing). The rep on the call, an admin or a "
    "manager may; a call that has ended answers as it is.",
)
def hangup_call(request: HttpRequest, id: int = CallId):
    return dialing.call_hangup(membership=request.auth, call_id=id)


@router.post(
    "/{int:id}/disposition",
    response=CallOut,
    operation_id="call_dispose",
    summary="Say how a call went",
    description="Sets the call's disposition and note and runs the disposition's actions: a callback (then "
    "`callback_at` is required), the lead's status, the do-not-call list. Only after the call has ended.",
)
def dispose_call(request: HttpRequest, payload: DispositionIn, id: int = CallId):
    membership = request.auth
    selectors.call_get(membership=membership, call_id=id)  # 404 before the defaults below are written
    dispositions_ensure(membership.organization_id)
    return dialing.call_dispose(
        membership=membership,
        call_id=id,
        disposition_key=payload.disposition,
        note=payload.note,
        callback_at=payload.callback_at,
        callback_personal=not payload.callback_for_team,
    )


# --- dispositions ---------------------------------------------------------------------------------


class DispositionOut(Schema):
    key: str
    label: str = Field(description="In the request's language for the built-in outcomes, else as named.")
    hotkey: str
    is_contact: bool = Field(description="Counts as a conversation with the callee.")
    actions: dict[str, Any] = Field(
        description="What choosing it does: `callback` (asks for `callback_at`), `lead_status`, `add_to_dnc`, `retry`."
    )

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return disposition_label(obj)


@dispositions_router.get(
    "",
    response=list[DispositionOut],
    operation_id="disposition_list",
    summary="List dispositions",
    description="The organization's active call outcomes in their order (the defaults are created on first use).",
)
def list_dispositions(request: HttpRequest):
    return dispositions_ensure(request.auth.organization_id)


# --- callbacks ------------------------------------------------------------------------------------


class CallbackOut(Schema):
    id: int
    lead_id: int | None
    contact_id: int | None
    due_at: UtcDatetime
    assignee: UserRef | None = Field(description="Who promised it.")
    team_id: int | None
    agency_id: int | None
    is_personal: bool = Field(description="Only for the assignee until it is released to the team.")
    released_at: UtcDatetime | None = Field(description="When an overdue personal callback went to the team.")
    done_at: UtcDatetime | None
    call_id: int | None = Field(description="The call it was promised on (or made with, once done).")
    note: str
    created_at: UtcDatetime

    @staticmethod
    def resolve_assignee(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.assignee) if obj.assignee_id else None


class CallbackPage(Schema):
    items: list[CallbackOut]
    next_cursor: str | None


@callbacks_router.get(
    "",
    response=CallbackPage,
    operation_id="callback_list",
    summary="List callbacks",
    description="Open callbacks you may see (yours, your team's shared or released ones, your teams' as a "
    "manager), soonest due first; `due=true` keeps those due now.",
)
def list_callbacks(request: HttpRequest, due: bool = Query(False), cursor: str | None = Cursor, limit: int = Limit):
    page = selectors.callback_page(membership=request.auth, due_only=due, cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@callbacks_router.post(
    "/{int:id}/complete",
    response=CallbackOut,
    operation_id="callback_complete",
    summary="Complete a callback",
    description="Marks the callback done (completing a done one changes nothing).",
)
def complete_callback(request: HttpRequest, id: int = CallbackId):
    return callbacks.callback_complete(membership=request.auth, callback_id=id)
