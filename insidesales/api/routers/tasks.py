"""`/tasks`: my to-dos (and, for managers, my team's): list, today, create, read, update, complete, delete."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field, model_validator

from insidesales.api.schemas import MAX_ID, Flag, Id, InDatetime, Input, UserRef, UtcDatetime, text, unset, user_ref
from insidesales.crm import selectors, services
from insidesales.crm.models import Company, Contact, Deal, Lead

router = Router(tags=["tasks"])
RECORD_MODELS = {"lead": Lead, "contact": Contact, "company": Company, "deal": Deal}
TaskId = Path(..., ge=1, le=MAX_ID, description="The task's id.")


class RecordRef(Schema):
    type: Literal["lead", "contact", "company", "deal"]
    id: int
    name: str


class TaskOut(Schema):
    id: int
    title: str
    notes: str
    due_at: UtcDatetime | None
    remind_at: UtcDatetime | None
    completed_at: UtcDatetime | None
    assignee: UserRef
    record: RecordRef | None = Field(description="The record the task is about, if any.")
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @staticmethod
    def resolve_assignee(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.assignee)

    @staticmethod
    def resolve_record(obj: Any) -> dict[str, Any] | None:
        for kind in RECORD_MODELS:
            if getattr(obj, f"{kind}_id"):
                return {"type": kind, "id": getattr(obj, f"{kind}_id"), "name": str(getattr(obj, kind))}
        return None


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None


class TaskCreate(Input):
    title: text(255, min_length=1)
    notes: text(20000) = ""
    due_at: InDatetime | None = None
    remind_at: InDatetime | None = Field(None, description="When to email a reminder; before `due_at`.")
    assignee_id: Id | None = Field(None, description="Yourself when omitted; managers may pick their team.")
    record_type: Literal["lead", "contact", "company", "deal"] | None = None
    record_id: Id | None = Field(None, description="With `record_type`: the record the task is about.")

    @model_validator(mode="after")
    def _record_pair(self) -> "TaskCreate":
        if (self.record_type is None) != (self.record_id is None):
            raise ValueError("record_type and record_id go together.")
        return self


class TaskUpdate(Input):
    title: text(255, min_length=1) = unset()
    notes: text(20000) = unset()
    due_at: InDatetime | None = unset("Null clears it.")
    remind_at: InDatetime | None = unset("Null clears it.")
    assignee_id: Id = unset()


class CompleteIn(Input):
    done: Flag = Field(True, description="false reopens the task.")


@router.get(
    "",
    response=TaskPage,
    operation_id="task_list",
    summary="List tasks",
    description="Open tasks with a due time, soonest first. `assignee` is `me` (default), `all` (everyone you "
    "may see) or a user id.",
)
def list_tasks(
    request: HttpRequest,
    assignee: str = Query("me", pattern=r"^(me|all|[1-9][0-9]{0,17})$"),
    include_completed: bool = Query(False),
    cursor: str | None = Query(None, max_length=1000, pattern=r"^[A-Za-z0-9_\-]*$"),
    limit: int = Query(50, ge=1, le=200),
):
    membership = request.auth
    assignee_id = {"me": membership.user_id, "all": None}.get(assignee) if assignee in ("me", "all") else int(assignee)
    page = selectors.task_list(
        membership=membership,
        assignee_id=assignee_id,
        open_only=not include_completed,
        cursor=cursor or None,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/today",
    response=list[TaskOut],
    operation_id="task_today",
    summary="My tasks for today",
    description="My open tasks due by the end of today in my time zone, overdue first.",
)
def tasks_today(request: HttpRequest):
    tasks = selectors.tasks_today(membership=request.auth)
    for task in tasks:
        task.assignee = request.auth.user  # every one is mine: no query per row
    return tasks


@router.post("", response={201: TaskOut}, operation_id="task_create", summary="Create a task")
def create_task(request: HttpRequest, payload: TaskCreate):
    task = services.task_create(
        membership=request.auth,
        title=payload.title,
        notes=payload.notes,
        due_at=payload.due_at,
        remind_at=payload.remind_at,
        assignee_id=payload.assignee_id,
        record_type=RECORD_MODELS[payload.record_type] if payload.record_type else None,
        record_id=payload.record_id,
    )
    return Status(201, task)


@router.get("/{int:id}", response=TaskOut, operation_id="task_get", summary="Get a task")
def get_task(request: HttpRequest, id: int = TaskId):
    return services.task_get(membership=request.auth, task_id=id)


@router.patch(
    "/{int:id}",
    response=TaskOut,
    operation_id="task_update",
    summary="Update a task",
    description="Only sent fields change.",
)
def update_task(request: HttpRequest, payload: TaskUpdate, id: int = TaskId):
    return services.task_update(membership=request.auth, task_id=id, **payload.model_dump(exclude_unset=True))


@router.post("/{int:id}/complete", response=TaskOut, operation_id="task_complete", summary="Complete a task")
def complete_task(request: HttpRequest, payload: CompleteIn | None = None, id: int = TaskId):
    return services.task_complete(membership=request.auth, task_id=id, done=payload.done if payload else True)


@router.delete("/{int:id}", response={204: None}, operation_id="task_delete", summary="Delete a task")
def delete_task(request: HttpRequest, id: int = TaskId):
    services.task_delete(membership=request.auth, task_id=id)
    return Status(204, None)
