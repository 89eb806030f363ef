"""Organization configuration readable by everyone: tags, custom fields, pipelines, saved views."""

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field

from insidesales.api.schemas import MAX_ID, Flag, Id, Input, UserRef, text, user_ref
from insidesales.crm import selectors, services
from insidesales.crm.models import CustomFieldType, RecordType

RecordTypeName = Literal[tuple(RecordType.values)]  # type: ignore[valid-type]

tags_router = Router(tags=["tags"])
custom_fields_router = Router(tags=["custom fields"])
pipelines_router = Router(tags=["pipelines"])
saved_views_router = Router(tags=["saved views"])


# --- tags -----------------------------------------------------------------------------------------


class TagFull(Schema):
    id: int
    name: str
    color: str


class TagCreate(Input):
    name: text(64, min_length=1)
    color: str = Field("#64748b", pattern=r"^#[0-9a-fA-F]{6}$")


@tags_router.get("", response=list[TagFull], operation_id="tag_list", summary="List tags")
def list_tags(request: HttpRequest):
    return list(selectors.tag_list(membership=request.auth)[:1000])


@tags_router.post(
    "",
    response={201: TagFull},
    operation_id="tag_create",
    summary="Create a tag",
    description="Creating a tag that exists answers the existing one.",
)
def create_tag(request: HttpRequest, payload: TagCreate):
    return Status(201, services.tag_create(membership=request.auth, name=payload.name, color=payload.color))


# --- custom fields ----------------------------------------------------------------------------------


class CustomFieldOut(Schema):
    id: int
    record_type: str
    key: str = Field(description="The key in a record's `custom` object and in `custom.<key>` filters.")
    label: str
    field_type: str
    choices: list[Any]
    required: bool
    position: int


class CustomFieldCreate(Input):
    record_type: RecordTypeName
    label: text(100, min_length=1)
    field_type: Literal[tuple(CustomFieldType.values)]  # type: ignore[valid-type]
    choices: Annotated[list[text(100)], Field(max_length=200)] = []
    required: Flag = False
    key: text(50) = Field("", description="Made from the label when empty.")


@custom_fields_router.get(
    "", response=list[CustomFieldOut], operation_id="custom_field_list", summary="List custom fields"
)
def list_custom_fields(request: HttpRequest, record_type: RecordTypeName | None = None):
    return list(selectors.custom_field_list(membership=request.auth, record_type=record_type))


@custom_fields_router.post(
    "",
    response={201: CustomFieldOut},
    operation_id="custom_field_create",
    summary="Create a custom field",
    description="Administrators only.",
)
def create_custom_field(request: HttpRequest, payload: CustomFieldCreate):
    field = services.custom_field_create(membership=request.auth, **payload.model_dump())
    return Status(201, field)


# --- pipelines --------------------------------------------------------------------------------------


class StageOut(Schema):
    id: int
    name: str
    kind: str = Field(description="open, won or lost.")
    probability: int
    position: int


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Any) -> list[Any]:
        return list(obj.stages.all())


@pipelines_router.get(
    "", response=list[PipelineOut], operation_id="pipeline_list", summary="List pipelines with their stages"
)
def list_pipelines(request: HttpRequest):
    return list(selectors.pipeline_list(membership=request.auth))


# --- saved views ------------------------------------------------------------------------------------


class SavedViewOut(Schema):
    id: int
    record_type: str
    name: str
    filters: dict[str, Any] = Field(description="List query parameters, as the list operation takes them.")
    columns: list[str]
    sort: str
    team_id: int | None = Field(description="Shared with this team; null = personal.")
    owner: UserRef

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.owner)


FilterValue = text(200) | Annotated[list[text(200)], Field(max_length=50)]


class SavedViewCreate(Input):
    record_type: RecordTypeName
    name: text(100, min_length=1)
    filters: Annotated[dict[text(100), FilterValue], Field(max_length=50)] = {}
    columns: Annotated[list[text(50)], Field(max_length=50)] = []
    sort: text(50) = ""
    team_id: Id | None = Field(None, description="Share with a team you are in or manage.")


@saved_views_router.get("", response=list[SavedViewOut], operation_id="saved_view_list", summary="List saved views")
def list_saved_views(request: HttpRequest, record_type: RecordTypeName | None = None):
    return list(selectors.saved_view_list(membership=request.auth, record_type=record_type)[:500])


@saved_views_router.post("", response={201: SavedViewOut}, operation_id="saved_view_create", summary="Save a view")
def create_saved_view(request: HttpRequest, payload: SavedViewCreate):
    view = services.saved_view_save(membership=request.auth, **payload.model_dump())
    return Status(201, view)


@saved_views_router.delete(
    "/{int:id}", response={204: None}, operation_id="saved_view_delete", summary="Delete one of my saved views"
)
def delete_saved_view(request: HttpRequest, id: int = Path(..., ge=1, le=MAX_ID)):
    services.saved_view_delete(membership=request.auth, view_id=id)
    return Status(204, None)
