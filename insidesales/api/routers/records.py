"""The operations every record type shares (list, create, read, update, delete, assign, notes, timeline, bulk).

`record_router(spec)` builds them for one type from a `RecordApi` spec; the type's own module adds its verbs.
List filters come from `crm/filters.py` — the same FilterSet the list pages use — so the query parameters
documented here and the ones the UI sends mean the same thing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field, create_model, model_validator

from insidesales.api.fast_out import page_response
from insidesales.api.schemas import (
    MAX_ID,
    NO_NUL,
    ActivityOut,
    ActivityPage,
    AssignIn,
    BulkResult,
    Id,
    Input,
    NoteIn,
    QueryId,
)
from insidesales.core.errors import NotFound, ValidationError
from insidesales.crm import selectors, services
from insidesales.crm.filters import MODEL_FILTERSETS, Filter, FilterSet
from insidesales.crm.models import DisqualifyReason
from insidesales.imports import exports
from insidesales.orgs.models import Membership

RecordId = Path(..., ge=1, le=MAX_ID, description="The record's id.")


@dataclass
class RecordApi:
    """How one record type plugs into the shared operations."""

    model: type
    name: str  # "lead": used in operation ids and summaries
    plural: str  # "leads": the URL prefix and the OpenAPI tag
    out: type[Schema]
    create_in: type[Schema]
    update_in: type[Schema]
    create: Callable[[Membership, dict[str, Any]], Any]
    update: Callable[[Membership, int, dict[str, Any]], Any]
    assign: Callable[..., Any]
    delete: Callable[[Membership, int], None]
    bulk_actions: tuple[str, ...] = ("assign", "tag", "untag", "delete")
    list_description: str = ""
    filterset: FilterSet = field(init=False)

    def __post_init__(self) -> None:
        self.filterset = MODEL_FILTERSETS[self.model]

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


def _choice_pattern(choices: tuple) -> str:
    values = "|".join(re.escape(str(value)) for value, _label in choices)
    return rf"^({values})(,({values}))*$"


def _filter_field(spec: Filter) -> tuple[Any, Any]:
    label = str(spec.label)
    if spec.kind == "user":
        return str | None, Field(
            None, pattern=r"^(me|none|[1-9][0-9]{0,17})$", description=f"{label}: a user id, `me` or `none`."
        )
    if spec.kind == "id":
        return QueryId | None, Field(None, description=f"{label} id.")
    if spec.kind == "multichoice":
        allowed = ", ".join(str(value) for value, _label in spec.choices)
        return list[str] | None, Field(
            None,
            description=f"{label}: one or more of {allowed}; repeat the parameter or separate values with commas.",
            json_schema_extra={"items": {"type": "string", "pattern": _choice_pattern(spec.choices)}},
        )
    if spec.kind == "choice":
        values = tuple(str(value) for value, _label in spec.choices)
        return Literal[values] | None, Field(None, description=label)  # type: ignore[valid-type]
    if spec.kind in ("date_from", "date_to"):
        return str | None, Field(
            None,
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description=f"{label} (YYYY-MM-DD, inclusive).",
            json_schema_extra={"format": "date"},
        )
    return str | None, Field(None, max_length=200, pattern=NO_NUL, description=label)


def list_query_schema(api: RecordApi) -> type[Schema]:
    """The list operation's query parameters, generated from the type's FilterSet."""
    filterset = api.filterset
    sorts = tuple(value for key in filterset.sorts for value in (key, f"-{key}"))
    fields: dict[str, Any] = {
        "q": (
            str | None,
            Field(None, max_length=200, pattern=NO_NUL, description="Search by name, email (prefix) or phone."),
        )
    }
    for spec in filterset.filters:
        fields[spec.name] = _filter_field(spec)
    fields["sort"] = (
        Literal[sorts] | None,  # type: ignore[valid-type]
        Field(None, description=f"Sort order; `-` means descending. Default `{filterset.default_sort}`."),
    )
    fields["cursor"] = (
        str | None,
        Field(None, max_length=1000, pattern=r"^[A-Za-z0-9_\-]*$", description="`next_cursor` of the previous page."),
    )
    fields["limit"] = (int, Field(50, ge=1, le=200, description="Page size."))
    name = api.name.title().replace("_", "")
    return create_model(f"{name}ListQuery", __base__=Schema, **fields)


def export_query_schema(api: RecordApi) -> type[Schema]:
    """The export operation's parameters: the list's filters and sort (no pages), a format, a saved view."""
    fields = {
        name: (info.annotation, info)
        for name, info in list_query_schema(api).model_fields.items()
        if name not in ("cursor", "limit")
    }
    fields["format"] = (Literal["csv", "xlsx"], Field("csv", description="`csv` (UTF-8 with BOM) or `xlsx`."))
    fields["view"] = (
        int | None,
        Field(
            None,
            ge=1,
            le=MAX_ID,
            description="A saved view of this record type: its filters and sort replace the others.",
        ),
    )
    name = api.name.title().replace("_", "")
    return create_model(f"{name}ExportQuery", __base__=Schema, **fields)


EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": exports.XLSX_TYPE}


class BulkBase(Input):
    """Base of the `/bulk` bodies; each type adds its `action` choices (leads also `status`)."""

    ids: list[Id] = Field(min_length=1, max_length=1000)
    owner_id: Id | None = Field(None, description="assign: the new owner (owner_id and agency_id null = the pool).")
    agency_id: Id | None = Field(None, description="assign: the agency.")
    tag_id: Id | None = Field(None, description="tag, untag: the tag.")

    @model_validator(mode="after")
    def _needs(self) -> "BulkBase":
        action = getattr(self, "action", "")
        if action in ("tag", "untag") and self.tag_id is None:
            raise ValueError(_("tag_id is required for this action."))
        if action == "status" and getattr(self, "status", None) is None:
            raise ValueError(_("status is required for this action."))
        return self


BULK_STATUS_FIELDS: dict[str, Any] = {
    "status": (
        Literal["working", "qualified", "disqualified"] | None,
        Field(None, description="status: the new status."),
    ),
    "reason": (
        Literal[("", *DisqualifyReason.values)],  # type: ignore[valid-type]
        Field("", description="status=disqualified: the reason."),
    ),
}


def _custom_filters_checked(request: HttpRequest) -> None:
    for key, values in request.GET.lists():
        if any("\x00" in v for v in (key, *values)):
            raise ValidationError(fields={key: [_("Text may not contain NUL characters.")]})


def record_router(api: RecordApi) -> Router:
    router = Router(tags=[api.plural])
    model, name, title = api.model, api.name, api.title
    ListQuery = list_query_schema(api)
    Out = api.out
    Page = create_model(
        f"{name.title().replace('_', '')}Page",
        __base__=Schema,
        items=(list[Out], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, Field(description="Pass as `cursor` for the next page; null on the last page.")),
    )
    CreateIn, UpdateIn = api.create_in, api.update_in
    actions = api.bulk_actions

    BulkIn = create_model(
        f"{name.title().replace('_', '')}BulkIn",
        __base__=BulkBase,
        action=(Literal[actions], ...),  # type: ignore[valid-type]
        **(BULK_STATUS_FIELDS if "status" in actions else {}),
    )

    @router.get(
        "",
        response=Page,
        operation_id=f"{name}_list",
        summary=f"List {api.plural}",
        description=(
            f"{api.plural.capitalize()} visible to the caller, newest activity first, a page at a time. "
            "Filter with the parameters below and with `custom.<key>=<value>` for custom fields. "
            "Pages are cursor-based: there is no total count."
        ),
    )
    def list_records(request: HttpRequest, params: Query[ListQuery]):  # type: ignore[valid-type]
        _custom_filters_checked(request)
        errors: dict[str, list[str]] = {}
        cleaned = api.filterset.clean(request.GET, errors)
        if errors:
            raise ValidationError(fields=errors)
        page = selectors.record_list(
            membership=request.auth,
            model=model,
            filters=cleaned,
            sort=params.sort or "",
            cursor=params.cursor or None,
            limit=params.limit,
        )
        # Same JSON as `{"items": page.items, ...}` through the Page schema, without per-field validation.
        return page_response(page.items, page.next_cursor, Out)

    ExportQuery = export_query_schema(api)

    @router.get(
        "/export",
        operation_id=f"{name}_export",
        summary=f"Export {api.plural} to CSV or XLSX",
        description=(
            f"Every {title} visible to the caller that matches the filters (or the saved view `view`), in the "
            "list's order, as a file: CSV is streamed, XLSX written row by row. The same columns as the web "
            "export (owners by email, choices by label, custom fields as columns); cells a spreadsheet would run "
            "as a formula are neutralized. Audited."
        ),
        openapi_extra={
            "responses": {
                "200": {
                    "description": "The file (an attachment).",
                    "content": {
                        kind.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                        for kind in EXPORT_TYPES.values()
                    },
                }
            }
        },
    )
    def export_records(request: HttpRequest, params: Query[ExportQuery]):  # type: ignore[valid-type]
        _custom_filters_checked(request)
        membership = request.auth
        errors: dict[str, list[str]] = {}
        if params.view:
            view = selectors.saved_view_get(membership=membership, view_id=params.view)
            if view.record_type != api.filterset.record_type:
                raise NotFound()
            filters, sort = api.filterset.clean(view.filters or {}, errors), view.sort or ""
        else:
            filters, sort = api.filterset.clean(request.GET, errors), params.sort or ""
        if errors:
            raise ValidationError(fields=errors)
        headers, rows = exports.export_rows(membership=membership, model=model, filters=filters, sort=sort)
        stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
        if params.format == "xlsx":
            return FileResponse(
                exports.xlsx_file(headers, rows),
                as_attachment=True,
                filename=f"{api.plural}-{stamp}.xlsx",
                content_type=exports.XLSX_TYPE,
            )
        response = StreamingHttpResponse(exports.csv_stream(headers, rows), content_type=EXPORT_TYPES["csv"])
        response["Content-Disposition"] = f'attachment; filename="{api.plural}-{stamp}.csv"'
        return response

    @router.post("", response={201: Out}, operation_id=f"{name}_create", summary=f"Create a {title}")
    def create_record(request: HttpRequest, payload: CreateIn):  # type: ignore[valid-type]
        return Status(201, api.create(request.auth, payload.model_dump(exclude_unset=True)))

    @router.post("/bulk", response=BulkResult, operation_id=f"{name}_bulk", summary=f"Act on many {api.plural}")
    def bulk(request: HttpRequest, payload: BulkIn):  # type: ignore[valid-type]
        """All or nothing: if any id is not visible to the caller, nothing changes and the answer is 404."""
        membership: Membership = request.auth
        if payload.action == "assign":
            affected = services.records_bulk_assign(
                membership=membership,
                model=model,
                ids=payload.ids,
                owner_id=payload.owner_id,
                agency_id=payload.agency_id,
            )
        elif payload.action in ("tag", "untag"):
            affected = services.records_bulk_tag(
                membership=membership,
                model=model,
                ids=payload.ids,
                tag_id=payload.tag_id,
                remove=payload.action == "untag",
            )
        elif payload.action == "status":
            affected = services.leads_bulk_status(
                membership=membership, ids=payload.ids, status=payload.status, reason=payload.reason
            )
        else:
            affected = services.records_bulk_delete(membership=membership, model=model, ids=payload.ids)
        return {"affected": affected}

    @router.get("/{int:id}", response=Out, operation_id=f"{name}_get", summary=f"Get a {title}")
    def get_record(request: HttpRequest, id: int = RecordId):
        return selectors.record_get(membership=request.auth, model=model, record_id=id)

    @router.patch(
        "/{int:id}",
        response=Out,
        operation_id=f"{name}_update",
        summary=f"Update a {title}",
        description="Only the fields sent change. Assignment and status have their own operations.",
    )
    def update_record(request: HttpRequest, payload: UpdateIn, id: int = RecordId):  # type: ignore[valid-type]
        return api.update(request.auth, id, payload.model_dump(exclude_unset=True))

    @router.delete("/{int:id}", response={204: None}, operation_id=f"{name}_delete", summary=f"Delete a {title}")
    def delete_record(request: HttpRequest, id: int = RecordId):
        api.delete(request.auth, id)
        return Status(204, None)

    @router.post(
        "/{int:id}/assign",
        response=Out,
        operation_id=f"{name}_assign",
        summary=f"Assign a {title}",
        description="Give it to a user (`owner_id`), to an agency (`agency_id`), or back to the pool (both null).",
    )
    def assign(request: HttpRequest, payload: AssignIn, id: int = RecordId):
        return api.assign(request.auth, id, owner_id=payload.owner_id, agency_id=payload.agency_id)

    @router.post(
        "/{int:id}/notes",
        response={201: ActivityOut},
        operation_id=f"{name}_note_add",
        summary=f"Add a note to a {title}",
    )
    def add_note(request: HttpRequest, payload: NoteIn, id: int = RecordId):
        note = services.note_add(membership=request.auth, record_type=model, record_id=id, body=payload.body)
        return Status(201, note)

    @router.get(
        "/{int:id}/timeline",
        response=ActivityPage,
        operation_id=f"{name}_timeline",
        summary=f"A {title}'s timeline",
        description="Notes, calls, emails, status changes and assignments, newest first, a page at a time.",
    )
    def get_timeline(
        request: HttpRequest,
        id: int = RecordId,
        cursor: str | None = Query(None, max_length=1000, pattern=r"^[A-Za-z0-9_\-]*$"),
        limit: int = Query(25, ge=1, le=200),
    ):
        record = selectors.record_get(membership=request.auth, model=model, record_id=id)
        page = selectors.timeline(membership=request.auth, record=record, cursor=cursor or None, limit=limit)
        return {"items": page.items, "next_cursor": page.next_cursor}

    return router
