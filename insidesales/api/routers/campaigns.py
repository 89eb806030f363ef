"""`/campaigns` and `/me/dialer`: call campaigns (list, create, change, start and stop, the talk track, adding
leads, the abandonment compliance report) and the caller's own state at the dialer (ready, paused, offline;
the phone the dialer rings).

Every operation calls the calls app's services, selectors and reports (`insidesales.calls`); this module only
shapes input and output. A campaign is looked up before anything that depends on it is checked, so one the
caller may not see answers 404 exactly like a missing id.
"""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from django.db.models import Count
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import BeforeValidator, Field, WithJsonSchema

from insidesales.api.routers.calls import Cursor, Limit
from insidesales.api.schemas import MAX_ID, Flag, Id, Input, UserRef, UtcDatetime, text, unset, user_ref
from insidesales.calls import reports, selectors
from insidesales.calls.models import (
    DEFAULT_RETRY_MINUTES,
    AgentState,
    Campaign,
    CampaignLead,
    CampaignLeadState,
    CampaignMode,
    CampaignOrder,
    CampaignStatus,
)
from insidesales.calls.pacing import LEGAL_LIMIT
from insidesales.calls.services import agents
from insidesales.calls.services import campaigns as service
from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.core.pagination import paginate
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import managed_team_ids

router = Router(tags=["campaigns"])
dialer_router = Router(tags=["dialer"])

CampaignId = Path(..., ge=1, le=MAX_ID, description="The campaign's id.")
Mode = Literal[tuple(CampaignMode.values)]  # type: ignore[valid-type]
StatusValue = Literal[tuple(CampaignStatus.values)]  # type: ignore[valid-type]
Order = Literal[tuple(CampaignOrder.values)]  # type: ignore[valid-type]
RetryOutcome = Literal[tuple(DEFAULT_RETRY_MINUTES)]  # type: ignore[valid-type]
PauseReason = Literal[("", *agents.PAUSE_REASONS)]  # type: ignore[valid-type]


def _number_only(value: Any) -> Any:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    raise ValueError(_("Give a number, e.g. 1.5."))


# A JSON number (text such as "1.5" is refused), kept exact as a Decimal: at most one decimal place.
Lines = Annotated[
    Decimal,
    BeforeValidator(_number_only),
    Field(ge=1, le=5, decimal_places=1),
    WithJsonSchema({"type": "number", "minimum": 1, "maximum": 5}),
]
Attempts = Annotated[int, Field(ge=1, le=20, strict=True)]
RetryMinutes = dict[RetryOutcome, Annotated[int, Field(ge=1, le=60 * 24 * 30, strict=True)]]
# The services name a referenced object's field without `_id`; the API names the request's field.
API_FIELD_NAMES = {
    "team": "team_id",
    "agency": "agency_id",
    "caller_id": "caller_id_id",
    "saved_view": "saved_view_id",
    "campaign": "campaign_id",
}
T = TypeVar("T")


def _api_fields(call: Callable[[], T]) -> T:
    """Run a service call; its validation errors come back under the request's field names."""
    try:
        return call()
    except ValidationError as exc:
        fields = {API_FIELD_NAMES.get(name, name): messages for name, messages in exc.fields.items()}
        raise ValidationError(exc.message, fields=fields) from exc


# --- campaigns ------------------------------------------------------------------------------------


class CampaignOut(Schema):
    id: int
    name: str
    status: StatusValue
    mode: Mode
    lines_per_agent: float = Field(description="Lines dialled per ready agent (power and predictive modes).")
    max_attempts: int = Field(description="Calls per lead at most.")
    order: Order = Field(description="Which leads are called first (`view`: the saved view's order).")
    retry_minutes: dict[str, int] = Field(
        description="Minutes before a lead is called again, per outcome of the last call (defaults filled in)."
    )
    team_id: int | None = Field(description="Only this team's reps work it; null for every team.")
    agency_id: int | None = Field(description="An agency's campaign: only its reps work it, only on its leads.")
    caller_id_id: int | None = Field(description="The number shown to callees; null for the default.")
    saved_view_id: int | None = Field(description="The saved view of leads it takes its leads from.")
    check_24h_window: bool = Field(description="Also keeps abandonment at or below the limit over every 24 hours.")
    created_by: UserRef | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @staticmethod
    def resolve_lines_per_agent(obj: Any) -> float:
        return float(obj.lines_per_agent)

    @staticmethod
    def resolve_retry_minutes(obj: Any) -> dict[str, int]:
        return {**DEFAULT_RETRY_MINUTES, **(obj.retry_minutes or {})}

    @staticmethod
    def resolve_created_by(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.created_by) if obj.created_by_id else None


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


class QueueCounts(Schema):
    pending: int = Field(description="Waiting to be called (now or after their retry spacing).")
    dialing: int = Field(description="Being called, or on a rep's screen in preview mode.")
    done: int = Field(description="Reached.")
    exhausted: int = Field(description="Out of attempts.")
    blocked: int = Field(description="Not callable: do-not-call list or a number that is not one.")


class Abandonment(Schema):
    live_answers: int = Field(description="Calls a person answered.")
    abandoned: int = Field(description="Of those, calls no rep was connected to in time.")
    rate_pct: float | None = Field(description="Abandoned share of live answers in percent; null with no answers.")


class CampaignDetailOut(CampaignOut):
    talk_track: str = Field(description="What the reps say; `{{ lead.first_name }}`-style fields are filled in.")
    queue: QueueCounts = Field(description="The campaign's leads by where they are in the queue.")
    abandonment_24h: Abandonment = Field(description="Over the last 24 hours.")
    abandonment_30d: Abandonment = Field(description="Over the last 30 days.")
    abandonment_limit_pct: float = Field(description="The abandonment rate the dialer keeps under, in percent.")


class CampaignCreateIn(Input):
    name: text(200) = Field(description="Required.")
    mode: Mode = CampaignMode.PREVIEW
    lines_per_agent: Lines = Field(1, description="1 to 5, in steps of 0.1.")
    max_attempts: Attempts = 3
    order: Order = CampaignOrder.VIEW
    retry_minutes: RetryMinutes = Field(
        default_factory=dict, description="Per outcome, 1 minute to 30 days; outcomes not given keep their defaults."
    )
    team_id: Id | None = Field(None, description="Managers: one of their teams.")
    agency_id: Id | None = Field(None, description="Admins only; not together with `team_id`.")
    caller_id_id: Id | None = None
    check_24h_window: Flag = False
    talk_track: text(20000) = ""
    saved_view_id: Id | None = Field(None, description="One of your saved views of leads (or a team's).")
    lead_ids: list[Id] = Field(
        default_factory=list,
        max_length=10000,
        description="Leads to put in the queue; those you may not see, or without a phone, are left out.",
    )


class CampaignUpdateIn(Input):
    """Only the fields sent change; send null to clear a reference."""

    name: text(200) = unset()
    mode: Mode = unset()
    lines_per_agent: Lines = unset("1 to 5, in steps of 0.1.")
    max_attempts: Attempts = unset()
    order: Order = unset()
    retry_minutes: RetryMinutes = unset("Per outcome; outcomes not given keep their values.")
    team_id: Id | None = unset()
    agency_id: Id | None = unset()
    caller_id_id: Id | None = unset()
    check_24h_window: Flag = unset()
    talk_track: text(20000) = unset()
    saved_view_id: Id | None = unset()


class CampaignStatusIn(Input):
    status: StatusValue = Field(description="`active` starts it (taking in new leads of its saved view).")


class TalkTrackIn(Input):
    talk_track: text(20000)


class AddLeadsIn(Input):
    lead_ids: list[Id] = Field(min_length=1, max_length=10000)


class AddLeadsOut(Schema):
    added: int = Field(description="Leads put in the queue (not those already in it, or without a phone).")


def _detail(campaign: Campaign) -> Campaign:
    """The campaign with its queue counts and abandonment rates, for `CampaignDetailOut`."""
    # Every lead of the campaign is counted, as on its page: the queue's size is no one's record.
    by_state = dict(
        CampaignLead.objects.filter(campaign=campaign)
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    now = timezone.now()
    rates = {
        "abandonment_24h": reports.abandonment(campaign.pk, now - dt.timedelta(hours=24)),
        "abandonment_30d": reports.abandonment(campaign.pk, now - dt.timedelta(days=30)),
    }
    campaign.queue = {state: by_state.get(state, 0) for state in CampaignLeadState.values}
    for name, rate in rates.items():
        setattr(campaign, name, {"live_answers": rate.answers, "abandoned": rate.abandoned, "rate_pct": rate.pct})
    campaign.abandonment_limit_pct = LEGAL_LIMIT * 100
    return campaign


@router.get(
    "",
    response=CampaignPage,
    operation_id="campaign_list",
    summary="List call campaigns",
    description="The campaigns you may see (admins all; managers their teams' and those for every team; reps "
    "their team's and those for every team; agency reps their agency's), newest first.",
)
def list_campaigns(
    request: HttpRequest,
    status: StatusValue | None = None,
    mode: Mode | None = None,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    campaigns = selectors.campaign_list(membership=request.auth).select_related("created_by")
    campaigns = campaigns.filter(**{k: v for k, v in {"status": status, "mode": mode}.items() if v is not None})
    # By id, newest first: the primary key orders campaigns as they were created, with no other index needed.
    page = paginate(campaigns, order="-id", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: CampaignDetailOut},
    operation_id="campaign_create",
    summary="Create a call campaign",
    description="Admins and managers. It starts as a draft; its leads come from `saved_view_id` (when it starts) "
    "and `lead_ids`.",
)
def create_campaign(request: HttpRequest, payload: CampaignCreateIn):
    data = payload.model_dump(exclude_unset=True)
    campaign = _api_fields(lambda: service.campaign_create(membership=request.auth, data=data))
    return Status(201, _detail(campaign))


@router.get(
    "/{int:id}",
    response=CampaignDetailOut,
    operation_id="campaign_get",
    summary="Get a call campaign",
    description="With its leads counted by queue state and its abandonment over the last 24 hours and 30 days.",
)
def get_campaign(request: HttpRequest, id: int = CampaignId):
    return _detail(selectors.campaign_get(membership=request.auth, campaign_id=id))


@router.patch(
    "/{int:id}",
    response=CampaignDetailOut,
    operation_id="campaign_update",
    summary="Change a call campaign",
    description="Admins and managers. Its status changes with `POST /campaigns/{id}/status`.",
)
def update_campaign(request: HttpRequest, payload: CampaignUpdateIn, id: int = CampaignId):
    data = payload.model_dump(exclude_unset=True)
    campaign = _api_fields(lambda: service.campaign_update(membership=request.auth, campaign_id=id, data=data))
    return _detail(campaign)


@router.post(
    "/{int:id}/status",
    response=CampaignDetailOut,
    operation_id="campaign_set_status",
    summary="Start, pause or finish a call campaign",
    description="Admins and managers. Audited.",
)
def set_campaign_status(request: HttpRequest, payload: CampaignStatusIn, id: int = CampaignId):
    return _detail(service.campaign_set_status(membership=request.auth, campaign_id=id, status=payload.status))


@router.put(
    "/{int:id}/talk-track",
    response=CampaignDetailOut,
    operation_id="campaign_talk_track_update",
    summary="Replace a campaign's talk track",
    description="Anyone who may see the campaign keeps its talk track up to date, reps included. Audited.",
)
def update_talk_track(request: HttpRequest, payload: TalkTrackIn, id: int = CampaignId):
    campaign = service.campaign_talk_track_update(membership=request.auth, campaign_id=id, text=payload.talk_track)
    return _detail(campaign)


@router.post(
    "/{int:id}/leads",
    response=AddLeadsOut,
    operation_id="campaign_add_leads",
    summary="Add leads to a call campaign",
    description="Admins and managers. Leads already in the queue stay as they are; a lead you may not see makes "
    "the whole request 404 and adds nothing. Audited.",
)
def add_leads(request: HttpRequest, payload: AddLeadsIn, id: int = CampaignId):
    added = service.campaign_add_leads(membership=request.auth, campaign_id=id, lead_ids=payload.lead_ids)
    return {"added": added}


@router.get(
    "/{int:id}/compliance",
    operation_id="campaign_compliance",
    summary="Abandonment compliance report (CSV)",
    description="Admins, and the managers of the campaign's team. A summary (live answers, abandoned calls, the "
    "rate, the worst rolling 24-hour and 30-day windows), a blank row, then every call the campaign placed in the "
    "last `days` days.",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The report (an attachment).",
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def campaign_compliance(request: HttpRequest, id: int = CampaignId, days: int = Query(30, ge=1, le=400)):
    membership = request.auth
    campaign = selectors.campaign_get(membership=membership, campaign_id=id)
    if membership.role not in service.MANAGERS:
        raise PermissionDenied(_("The compliance report is for admins and managers."))
    if membership.role == Role.MANAGER and campaign.team_id not in managed_team_ids(membership):
        # As on the campaign's page: it lists every call of the campaign, so it is for the admins or the
        # manager of the campaign's team.
        raise PermissionDenied(_("The compliance report of this campaign is for admins."))
    until = timezone.now()
    rows = reports.compliance_csv(campaign, until - dt.timedelta(days=days), until)
    response = StreamingHttpResponse((chunk.encode("utf-8") for chunk in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-compliance.csv"'
    return response


# --- the caller at the dialer ---------------------------------------------------------------------


class DialerOut(Schema):
    state: Literal[tuple(AgentState.values)]  # type: ignore[valid-type]
    campaign_id: int | None = Field(description="The campaign you work.")
    pause_reason: str = Field(description="Why you pause (paused only), else empty.")
    state_since: UtcDatetime
    endpoint: str = Field(description="Where the dialer rings you: a SIP URI, `client:<name>` or E.164.")
    current_call_id: int | None
    current_lead_id: int | None = Field(description="The lead on your screen (preview mode).")


class DialerStateIn(Input):
    state: Literal["ready", "paused", "offline"]
    campaign_id: Id | None = Field(
        None, description="The campaign to work (an active one you may see); the current one when omitted."
    )
    pause_reason: PauseReason = Field("", description="Required to pause.")


class DialerPhoneIn(Input):
    endpoint: text(200) = Field(
        description="A SIP address on the organization's PBX or trunk domain (`sip:you@pbx.example.com`), "
        "`client:<name>`, or a phone number of the organization's country not on the do-not-call list; empty "
        "clears it."
    )


def _agent(request: HttpRequest) -> Membership:
    membership = request.auth
    if membership.role not in agents.DESK_ROLES:
        raise PermissionDenied(_("Field reps do not work call campaigns."))
    return membership


@dialer_router.get(
    "",
    response=DialerOut,
    operation_id="dialer_get",
    summary="My state at the dialer",
    description="Your state, the campaign you work, your current call and lead, and your phone. Field reps get 403.",
)
def get_dialer(request: HttpRequest):
    return agents.agent_session(_agent(request))


@dialer_router.post(
    "/state",
    response=DialerOut,
    operation_id="dialer_state_set",
    summary="Go ready, pause or go offline",
    description="Ready needs a campaign (an active one you may see) and the outcome of your last call chosen; "
    "paused needs a `pause_reason`. On a call you may only go offline (else 409). Field reps get 403.",
)
def set_dialer_state(request: HttpRequest, payload: DialerStateIn):
    return _api_fields(
        lambda: agents.agent_state_set(
            membership=request.auth,
            state=payload.state,
            campaign_id=payload.campaign_id,
            pause_reason=payload.pause_reason,
        )
    )


@dialer_router.put(
    "/phone",
    response=DialerOut,
    operation_id="dialer_phone_set",
    summary="Set where the dialer rings me",
    description="A phone number is read in the organization's region and stored as E.164. Audited. Field reps get 403.",
)
def set_dialer_phone(request: HttpRequest, payload: DialerPhoneIn):
    return agents.agent_endpoint_set(membership=_agent(request), endpoint=payload.endpoint)
