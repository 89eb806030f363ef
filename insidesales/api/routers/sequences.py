"""`/sequences` and `/enrollments`: email sequences (list, create, change, their steps), enrolling leads and
contacts (by ids or a saved view), the enrollments of a sequence, its report; one enrollment (stop, pause, resume).

Every operation calls the mail app's services and selectors (`insidesales.mail`); this module only shapes input
and output. A sequence or an enrollment the caller may not see answers 404 exactly like a missing id; a lead or
contact out of scope in an enrollment request makes the whole request 404 and enrolls nothing.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Schema, Status
from pydantic import Field, model_validator

from insidesales.api.routers.calls import Cursor, Limit
from insidesales.api.schemas import MAX_ID, Flag, Id, Input, UserRef, UtcDatetime, text, unset, user_ref
from insidesales.core.errors import ValidationError
from insidesales.mail.models import EnrollmentState, SequenceStatus, StepKind, StopReason
from insidesales.mail.selectors import sequences as selectors
from insidesales.mail.services import sequence_editing as editing
from insidesales.mail.services import sequence_enrolling as enrolling
from insidesales.mail.services.sequences import enrollment_pause, enrollment_resume, enrollment_stop

router = Router(tags=["sequences"])
enrollments_router = Router(tags=["sequences"])

SequenceId = Path(..., ge=1, le=MAX_ID, description="The sequence's id.")
StepId = Path(..., ge=1, le=MAX_ID, description="The step's id.")
EnrollmentId = Path(..., ge=1, le=MAX_ID, description="The enrollment's id.")
StatusValue = Literal[tuple(SequenceStatus.values)]  # type: ignore[valid-type]
Kind = Literal[tuple(StepKind.values)]  # type: ignore[valid-type]
State = Literal[tuple(EnrollmentState.values)]  # type: ignore[valid-type]
API_FIELD_NAMES = {"team": "team_id", "agency": "agency_id", "template": "template_id", "saved_view": "saved_view_id"}
T = TypeVar("T")


def _api_fields(call: Callable[[], T]) -> T:
    """Run a service call; its validation errors come back under the request's field names."""
    try:
        return call()
    except ValidationError as exc:
        fields = {API_FIELD_NAMES.get(name, name): messages for name, messages in exc.fields.items()}
        raise ValidationError(exc.message, fields=fields) from exc


# --- shapes --------------------------------------------------------------------------------------------


class StepOut(Schema):
    id: int
    position: int = Field(description="0 is the first step.")
    kind: Kind
    template_id: int | None
    subject: str
    body: str
    reply_in_thread: bool
    title: str = Field(description="The task's title (call, task and manual email steps).")
    wait_days: int = Field(description="Wait steps: how long.")
    business_days: bool
    window_start: dt.time | None = Field(description="Not before this time of the recipient's day.")
    window_end: dt.time | None = Field(description="Not after this time of the recipient's day.")


class SequenceOut(Schema):
    id: int
    name: str
    description: str
    status: StatusValue
    team_id: int | None = Field(description="The team it is for; null for everyone.")
    agency_id: int | None
    allow_parallel: bool = Field(description="Its leads may be in other active sequences at the same time.")
    owner: UserRef | None
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.owner) if obj.owner_id else None


class SequenceDetailOut(SequenceOut):
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj: Any) -> list[Any]:
        return selectors.step_list(sequence=obj)


class SequencePage(Schema):
    items: list[SequenceOut]
    next_cursor: str | None


class SequenceCreateIn(Input):
    name: text(150, min_length=1)
    description: text(5000) = ""
    team_id: Id | None = Field(None, description="Managers: one of their teams (required). Admins: null for everyone.")
    agency_id: Id | None = Field(None, description="Admins only; not together with `team_id`.")
    allow_parallel: Flag = False


class SequenceUpdateIn(Input):
    """Only the fields sent change. `status` runs the verb: activate (needs a step that does something),
    pause, or archive (stops its open enrollments)."""

    name: text(150, min_length=1) = unset()
    description: text(5000) = unset()
    team_id: Id | None = unset()
    agency_id: Id | None = unset()
    allow_parallel: Flag = unset()
    status: Literal["active", "paused", "archived"] = unset()


class StepIn(Input):
    kind: Kind
    template_id: Id | None = Field(None, description="Email steps: a template of yours or a shared one...")
    subject: text(255) = Field("", description="...or a subject and a body with merge fields.")
    body: text(50000) = ""
    reply_in_thread: Flag = True
    title: text(255) = ""
    wait_days: int = Field(1, ge=0, le=365, strict=True, description="Wait steps: 1 to 365.")
    business_days: Flag = False
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    position: int | None = Field(
        None, ge=0, le=1000, strict=True, description="Where to insert it; the end when omitted."
    )


class StepUpdateIn(Input):
    """Only the fields sent change; `position` moves the step (the others between shift by one)."""

    kind: Kind = unset()
    template_id: Id | None = unset()
    subject: text(255) = unset()
    body: text(50000) = unset()
    reply_in_thread: Flag = unset()
    title: text(255) = unset()
    wait_days: int = unset(ge=0, le=365, strict=True)
    business_days: Flag = unset()
    window_start: dt.time | None = unset()
    window_end: dt.time | None = unset()
    position: int = unset(ge=0, le=1000, strict=True)


class EnrollIn(Input):
    lead_ids: list[Id] | None = Field(None, max_length=enrolling.MAX_RECORDS)
    contact_ids: list[Id] | None = Field(None, max_length=enrolling.MAX_RECORDS)
    saved_view_id: Id | None = Field(None, description="One of your saved views of leads or contacts (or a team's).")

    @model_validator(mode="after")
    def _exactly_one(self) -> "EnrollIn":
        given = [name for name in ("lead_ids", "contact_ids", "saved_view_id") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(_("Send exactly one of lead_ids, contact_ids or saved_view_id."))
        return self


class EnrollOut(Schema):
    enrolled: int
    skipped: dict[str, int] = Field(
        description="Records left out, by reason: no_address, suppressed, closed, already, other_sequence."
    )


class EnrollmentOut(Schema):
    id: int
    sequence_id: int
    lead_id: int | None
    contact_id: int | None
    email: str
    state: State
    stop_reason: Literal[("", *StopReason.values)]  # type: ignore[valid-type]
    position: int = Field(description="The index of the next step it runs.")
    next_run_at: UtcDatetime | None
    owner_id: int | None
    created_at: UtcDatetime
    finished_at: UtcDatetime | None


class EnrollmentPage(Schema):
    items: list[EnrollmentOut]
    next_cursor: str | None


class StepReport(Schema):
    id: int
    position: int
    kind: Kind
    runs: dict[str, int] = Field(description="Runs by outcome: sent, queued, task, callback, waited, skipped, failed.")
    runs_total: int
    emails_sent: int
    replies: int = Field(description="Emails of this step answered (In-Reply-To, or later in the thread).")
    bounces: int
    reply_rate: float | None = Field(description="Replies per email sent, in percent.")


class ReportOut(Schema):
    enrolled: int
    active: int
    paused: int
    finished: int
    stopped: int
    stopped_by_reason: dict[str, int]
    replied: int
    replied_pct: float | None
    bounced: int
    unsubscribed: int
    meetings: int
    steps: list[StepReport]


# --- sequences -----------------------------------------------------------------------------------------


@router.get(
    "",
    response=SequencePage,
    operation_id="sequence_list",
    summary="List sequences",
    description="The sequences you may see (admins all; managers their teams' and those for everyone; reps their "
    "team's and those for everyone; agency reps their agency's), newest first.",
)
def list_sequences(
    request: HttpRequest, status: StatusValue | None = None, cursor: str | None = Cursor, limit: int = Limit
):
    from insidesales.core.pagination import paginate

    sequences = selectors.sequence_list(membership=request.auth).select_related("owner")
    if status is not None:
        sequences = sequences.filter(status=status)
    page = paginate(sequences, order="-id", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: SequenceDetailOut},
    operation_id="sequence_create",
    summary="Create a sequence",
    description="Admins and managers. It starts as a draft: add steps, then PATCH its status to `active`. Audited.",
)
def create_sequence(request: HttpRequest, payload: SequenceCreateIn):
    data = payload.model_dump()
    return Status(201, _api_fields(lambda: editing.sequence_create(actor=request.auth, data=data)))


@router.get(
    "/{int:id}", response=SequenceDetailOut, operation_id="sequence_get", summary="Get a sequence and its steps"
)
def get_sequence(request: HttpRequest, id: int = SequenceId):
    return selectors.sequence_get(membership=request.auth, sequence_id=id)


@router.patch(
    "/{int:id}",
    response=SequenceDetailOut,
    operation_id="sequence_update",
    summary="Change a sequence",
    description="Admins, and managers for their teams' sequences. Audited.",
)
def update_sequence(request: HttpRequest, payload: SequenceUpdateIn, id: int = SequenceId):
    sequence = selectors.sequence_get(membership=request.auth, sequence_id=id)
    data = payload.model_dump(exclude_unset=True)
    status = data.pop("status", None)
    if data or status is None:
        _api_fields(lambda: editing.sequence_update(actor=request.auth, sequence=sequence, data=data))
    if status is not None:
        editing.sequence_set_status(actor=request.auth, sequence=sequence, status=status)
    return sequence


# --- steps ---------------------------------------------------------------------------------------------


@router.get(
    "/{int:id}/steps", response=list[StepOut], operation_id="sequence_step_list", summary="List a sequence's steps"
)
def list_steps(request: HttpRequest, id: int = SequenceId):
    return selectors.step_list(sequence=selectors.sequence_get(membership=request.auth, sequence_id=id))


@router.post(
    "/{int:id}/steps",
    response={201: StepOut},
    operation_id="sequence_step_create",
    summary="Add a step",
    description="Email steps need a template or a subject and a body (merge syntax checked); waits 1 to 365 days; "
    "a window needs both ends, the start before the end.",
)
def create_step(request: HttpRequest, payload: StepIn, id: int = SequenceId):
    sequence = selectors.sequence_get(membership=request.auth, sequence_id=id)
    data = payload.model_dump()
    kind, position = data.pop("kind"), data.pop("position")
    step = _api_fields(
        lambda: editing.step_add(actor=request.auth, sequence=sequence, kind=kind, data=data, position=position)
    )
    return Status(201, step)


@router.get("/{int:id}/steps/{int:step_id}", response=StepOut, operation_id="sequence_step_get", summary="Get a step")
def get_step(request: HttpRequest, id: int = SequenceId, step_id: int = StepId):
    return selectors.step_get(membership=request.auth, sequence_id=id, step_id=step_id)


@router.patch(
    "/{int:id}/steps/{int:step_id}",
    response=StepOut,
    operation_id="sequence_step_update",
    summary="Change or move a step",
)
def update_step(request: HttpRequest, payload: StepUpdateIn, id: int = SequenceId, step_id: int = StepId):
    step = selectors.step_get(membership=request.auth, sequence_id=id, step_id=step_id)
    data = payload.model_dump(exclude_unset=True)
    position = data.pop("position", None)
    if data:
        step = _api_fields(lambda: editing.step_update(actor=request.auth, step=step, data=data))
    if position is not None:
        step = editing.step_move(actor=request.auth, step=step, to_position=position)
    return step


@router.delete(
    "/{int:id}/steps/{int:step_id}",
    response={204: None},
    operation_id="sequence_step_delete",
    summary="Delete a step",
    description="The later steps move up one; open enrollments keep their next step.",
)
def delete_step(request: HttpRequest, id: int = SequenceId, step_id: int = StepId):
    editing.step_delete(
        actor=request.auth, step=selectors.step_get(membership=request.auth, sequence_id=id, step_id=step_id)
    )
    return Status(204, None)


# --- enrollments ---------------------------------------------------------------------------------------


@router.post(
    "/{int:id}/enrollments",
    response=EnrollOut,
    operation_id="sequence_enroll",
    summary="Enroll leads or contacts",
    description="Send one of `lead_ids`, `contact_ids` or `saved_view_id`. Records without an address, suppressed, "
    "converted or disqualified, or already in a sequence are skipped and counted by reason. A record you may not "
    "see makes the whole request 404. The sequence must be active (409 otherwise).",
)
def enroll(request: HttpRequest, payload: EnrollIn, id: int = SequenceId):
    sequence = selectors.sequence_get(membership=request.auth, sequence_id=id)
    actor = request.auth

    def call():
        if payload.saved_view_id is not None:
            return enrolling.sequence_enroll_saved_view(actor=actor, sequence=sequence, view_id=payload.saved_view_id)
        if payload.lead_ids is not None:
            return enrolling.sequence_enroll_ids(
                actor=actor, sequence=sequence, record_type="lead", ids=payload.lead_ids
            )
        return enrolling.sequence_enroll_ids(
            actor=actor, sequence=sequence, record_type="contact", ids=payload.contact_ids or []
        )

    result = _api_fields(call)
    return {"enrolled": len(result.enrolled), "skipped": dict(result.skipped)}


@router.get(
    "/{int:id}/enrollments",
    response=EnrollmentPage,
    operation_id="sequence_enrollment_list",
    summary="List a sequence's enrollments",
    description="Those of records you may see, newest first.",
)
def list_enrollments(
    request: HttpRequest,
    id: int = SequenceId,
    state: State | None = None,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    sequence = selectors.sequence_get(membership=request.auth, sequence_id=id)
    page = selectors.enrollment_page(
        membership=request.auth, sequence=sequence, state=state, cursor=cursor or None, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/{int:id}/report",
    response=ReportOut,
    operation_id="sequence_report",
    summary="A sequence's report",
    description="Enrollments by state and stop reason, meetings, and per step runs, emails sent, replies and "
    "bounces; only the enrollments you may see are counted.",
)
def report(request: HttpRequest, id: int = SequenceId):
    sequence = selectors.sequence_get(membership=request.auth, sequence_id=id)
    return selectors.sequence_report(membership=request.auth, sequence=sequence)


@enrollments_router.get("/{int:id}", response=EnrollmentOut, operation_id="enrollment_get", summary="Get an enrollment")
def get_enrollment(request: HttpRequest, id: int = EnrollmentId):
    return selectors.enrollment_get(membership=request.auth, enrollment_id=id)


VERBS = {"stop": enrollment_stop, "pause": enrollment_pause, "resume": enrollment_resume}


def _verb_operation(action: str, summary: str) -> None:
    def operation(request: HttpRequest, id: int = EnrollmentId):
        enrollment = selectors.enrollment_get(membership=request.auth, enrollment_id=id)
        return VERBS[action](actor=request.auth, enrollment=enrollment)

    operation.__name__ = f"enrollment_{action}"
    enrollments_router.post(
        f"/{{int:id}}/{action}",
        response=EnrollmentOut,
        operation_id=f"enrollment_{action}",
        summary=summary,
        description="409 when its state does not allow it (e.g. stopping one that has ended).",
    )(operation)


_verb_operation("stop", "Stop an enrollment (no more steps)")
_verb_operation("pause", "Pause an enrollment")
_verb_operation("resume", "Resume a paused enrollment (its next step is due now)")
