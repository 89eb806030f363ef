"""Keyset (cursor) pagination: pages never count or skip rows, so page 1000 costs what page 1 costs."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from insidesales.core.errors import ValidationError


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None = None


def _encode(values: list[Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, Decimal):
            return {"dec": str(v)}
        return v

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor() -> ValidationError:
    return ValidationError(_("Invalid cursor."), fields={"cursor": [_("Invalid cursor.")]})


def _decode(cursor: str) -> list[Any]:
    # Cursors come from clients: anything malformed is a 422, never a server error.
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list):
            raise ValueError
        out = []
        for v in values:
            if isinstance(v, dict) and set(v) == {"dt"}:
                out.append(dt.datetime.fromisoformat(v["dt"]))
            elif isinstance(v, dict) and set(v) == {"dec"}:
                out.append(Decimal(v["dec"]))
            elif isinstance(v, (dict, list)):
                raise ValueError
            else:
                out.append(v)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise _invalid_cursor() from exc
    return out


def paginate(queryset: QuerySet, *, order: str, cursor: str | None, limit: int = 50) -> Page:
    """Order by `order` (e.g. "-last_activity_at") then id in the same direction, and cut a page."""
    limit = max(1, min(int(limit or 50), 200))
    descending = order.startswith("-")
    field = order.lstrip("-")
    ordering = [f"-{field}", "-id"] if descending else [field, "id"]
    queryset = queryset.order_by(*ordering)
    if cursor:
        values = _decode(cursor)
        if len(values) != 2:
            raise _invalid_cursor()
        value, last_id = values
        if not _fits(queryset.model._meta.pk, last_id) or not _fits(queryset.model._meta.get_field(field), value):
            raise _invalid_cursor()
        queryset = _after(queryset, field=field, value=value, last_id=last_id, descending=descending)
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, field), last.pk])
    return Page(items=rows, next_cursor=next_cursor)


BIGINT = 2**63


def _fits(model_field: Any, value: Any) -> bool:
    """Whether a cursor value has the type of the sort column, so the database is never handed nonsense."""
    if value is None:
        return model_field.null
    kind = model_field.get_internal_type()
    if kind == "DateTimeField":
        return isinstance(value, dt.datetime) and value.tzinfo is not None
    if kind == "DecimalField":
        return isinstance(value, Decimal) and value.is_finite() and abs(value) < Decimal(10) ** model_field.max_digits
    if kind in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "PositiveIntegerField"):
        return isinstance(value, int) and not isinstance(value, bool) and -BIGINT <= value < BIGINT
    if kind in ("CharField", "TextField", "SlugField", "EmailField"):
        return isinstance(value, str)
    try:
        model_field.to_python(value)
    except (DjangoValidationError, TypeError, ValueError, ArithmeticError):
        return False
    return True


def _after(queryset: QuerySet, *, field: str, value: Any, last_id: int, descending: bool) -> QuerySet:
    """Rows after (value, id) in sort order, as a row-value comparison both databases serve from an index."""
    from django.db import connection

    model = queryset.model
    model_field = model._meta.get_field(field)
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model_field.column)
    op = "<" if descending else ">"
    if value is None:
        return queryset.filter(**{f"{field}__isnull": True, f"id__{'lt' if descending else 'gt'}": last_id})
    db_value = model_field.get_db_prep_value(model_field.to_python(value), connection)
    return queryset.extra(where=[f"({table}.{column}, {table}.id) {op} (%s, %s)"], params=[db_value, last_id])


__all__ = ["Page", "paginate", "F"]
