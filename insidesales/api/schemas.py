"""Input and output shapes shared by every router: ids, text, times, people, tags, pages, timeline entries.

Outputs read only what the selectors already loaded (select_related / prefetch_related), so a list of N rows
costs the same number of queries as a list of one. Times go out as ISO 8601 in UTC.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from insidesales.crm.selectors import record_tags

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"

# In JSON bodies ids and flags must be real numbers and booleans ("5" or true is not an id);
# query parameters arrive as text, so they use the lax QueryId.
Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]
Flag = Annotated[bool, Field(strict=True)]


def text(max_length: int, *, min_length: int = 0, description: str | None = None) -> Any:
    """A string field type: length-limited, without NUL characters (databases refuse them)."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=NO_NUL, description=description)]


def _to_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError(_("The date is out of range.")) from exc


def _utc_iso(value: dt.datetime) -> str:
    value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds").replace("+00:00", "Z")


def _text_only(value: Any) -> Any:
    """Dates come as ISO 8601 text; a number (pydantic would read it as seconds since 1970) is refused."""
    if isinstance(value, str | dt.date):
        return value
    raise ValueError(_("Give the date as text in ISO 8601, e.g. 2026-11-29T10:00:00Z or 2026-11-29."))


# Inputs must say their offset ("Z" or "+03:00"); a bare local time would be ambiguous.
InDatetime = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_to_utc)]
InDate = Annotated[dt.date, BeforeValidator(_text_only)]
# Outputs are always UTC with a "Z", whatever zone a value was set in.
UtcDatetime = Annotated[
    dt.datetime,
    PlainSerializer(_utc_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]

# Empty clears it; otherwise two letters (any case: the services upper-case it).
Country = Annotated[str, Field(pattern=r"^([A-Za-z]{2})?$")]
Money = Annotated[Decimal, Field(ge=0, lt=10**12, max_digits=14, decimal_places=2)]
CustomValue = str | bool | int | Annotated[float, Field(allow_inf_nan=False)] | None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Input(Schema):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError(_("Text may not contain NUL characters."))
        return data


# --- references ---------------------------------------------------------------------------------


class UserRef(Schema):
    id: int
    name: str


class TagOut(Schema):
    id: int
    name: str
    color: str


class NamedRef(Schema):
    id: int
    name: str


def user_ref(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name or user.email}


# --- records: what every lead, contact, company and deal shares ------------------------------------


class RecordOut(Schema):
    id: int
    owner: UserRef | None = Field(description="The user who owns the record; null when unassigned or agency-held.")
    team_id: int | None
    agency_id: int | None
    tags: list[TagOut]
    custom: dict[str, Any] = Field(description="Custom field values by key.")
    last_activity_at: UtcDatetime
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.owner) if obj.owner_id else None

    @staticmethod
    def resolve_tags(obj: Any) -> list[Any]:
        return record_tags(obj)

    @staticmethod
    def resolve_custom(obj: Any) -> dict[str, Any]:
        return obj.custom or {}


READ_ONLY = {"readOnly": True}


def unset(
    description: str | None = None, *, json_schema_extra: dict[str, Any] | None = None, **constraints: Any
) -> Any:
    """Default of an optional input field: absent means "leave as is", so the schema shows no default."""
    extra = dict(json_schema_extra or {})

    def adjust(schema: dict[str, Any]) -> None:
        schema.pop("default", None)
        schema.update(extra)

    return Field(None, description=description, json_schema_extra=adjust, **constraints)


class RecordIn(Input):
    """Fields every record accepts on create and update."""

    tag_ids: Annotated[list[Id], Field(max_length=100)] = unset("Replaces the record's tags.")
    custom: dict[Annotated[str, Field(max_length=50)], CustomValue] = unset(
        "Custom field values by key; unknown keys are refused, keys not sent keep their values."
    )


class OwnedIn(Input):
    """Create only: who owns the new record (changing it later is the assign operation)."""

    owner_id: Id | None = unset(
        "Admins and managers may pick an owner (null = unassigned); other roles always own what they create."
    )


class AssignIn(Input):
    owner_id: Id | None = Field(None, description="Give the record to this user (and their team).")
    agency_id: Id | None = Field(None, description="Give the record to this agency.")


class NoteIn(Input):
    body: text(20000, min_length=1)


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str = Field(description="As stored: what a person wrote, or the service's own words (English).")
    summary: str = Field(
        description="The entry's one-line text in the request's language (Accept-Language), as the "
        "timeline shows it: built from `kind` and `data` for entries written by the services."
    )
    body: str
    data: dict[str, Any]
    actor: UserRef | None
    occurred_at: UtcDatetime

    @staticmethod
    def resolve_actor(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.actor) if obj.actor_id else None

    @staticmethod
    def resolve_summary(obj: Any) -> str:
        from insidesales.crm.templatetags.crm_tags import activity_summary

        record_type = next((name for name in ("lead", "contact", "company", "deal") if getattr(obj, f"{name}_id")), "")
        return str(activity_summary(obj, record_type))


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class BulkResult(Schema):
    affected: int = Field(description="How many records the action applied to.")
