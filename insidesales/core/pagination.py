"""Keyset (cursor) pagination: pages never count or skip rows, so page 1000 costs what page 1 costs."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet

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


def _decode(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list):
            raise ValueError
    except (ValueError, TypeError) as exc:
        raise ValidationError("Invalid cursor.", fields={"cursor": ["Invalid cursor."]}) from exc
    out = []
    for v in values:
        if isinstance(v, dict) and "dt" in v:
            out.append(dt.datetime.fromisoformat(v["dt"]))
        elif isinstance(v, dict) and "dec" in v:
            out.append(Decimal(v["dec"]))
        else:
            out.append(v)
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
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Invalid cursor."]})
        value, last_id = values
        if not isinstance(last_id, int):
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Invalid cursor."]})
        queryset = _after(queryset, field=field, value=value, last_id=last_id, descending=descending)
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, field), last.pk])
    return Page(items=rows, next_cursor=next_cursor)


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
