"""Template helpers for the record pages: phone formatting, status and stage badges, plain field values."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from insidesales.core.phones import format_phone
from insidesales.crm.models import LeadStatus, StageKind

register = template.Library()
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


@register.filter
def phone(value: str, region: str = "US") -> str:
    """`{{ lead.phone|phone:region }}`: national format in the organization's region, else international."""
    return format_phone(value or "", region or "US")


@register.simple_tag
def status_badge(status: str) -> str:
    """A lead status as a coloured badge (escaped by format_html)."""
    try:
        label = LeadStatus(status).label
    except ValueError:
        label = status
    return format_html('<span class="badge badge-{}">{}</span>', status, label)


@register.simple_tag
def stage_badge(stage: Any) -> str:
    """A deal stage name coloured by its kind (open / won / lost)."""
    if stage is None:
        return ""
    kind = stage.kind if stage.kind in StageKind.values else "open"
    return format_html('<span class="badge badge-{}">{}</span>', kind, stage.name)


@register.filter
def status_label(code: str) -> str:
    """A lead status code ("working") as its translated label."""
    try:
        return str(LeadStatus(code).label)
    except ValueError:
        return code


@register.filter
def field_value(record: Any, name: str) -> Any:
    """A plain attribute of a record, with choice fields shown by their label."""
    display = getattr(record, f"get_{name}_display", None)
    if callable(display):
        return display()
    return getattr(record, name, "")


@register.filter
def custom_value(value: Any) -> str:
    """A custom field value for reading: yes/no for booleans, a dash for empty."""
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if value in (None, ""):
        return "—"
    return str(value)


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    """`{{ names|lookup:record.agency_id }}`: a dict entry, or empty."""
    return (mapping or {}).get(key, "")


@register.filter
def tag_color(value: str) -> str:
    """A tag colour fit for a style attribute: only #rgb / #rrggbb pass, anything else becomes grey."""
    text = str(value or "")
    if COLOR_RE.match(text):
        return text
    return "#64748b"
