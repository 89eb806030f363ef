"""The cells of a list row, written in Python: one tag per row instead of a branch per cell.

The list page shows 50 rows of up to 12 columns; walking an `{% if %}/{% elif %}` chain of a dozen
branches for every cell cost more than everything else on the page. Every value is escaped here
(`format_html` / `conditional_escape`), exactly as the template engine would.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from insidesales.core.phones import format_phone
from insidesales.crm.templatetags.crm_tags import field_value, stage_badge, status_badge, tag_color

register = template.Library()


def _datetime(context: template.Context, value: Any) -> str:
    if value is None:
        return format_html('<span class="nowrap">{}</span>', "")
    local = template_localtime(value, use_tz=context.use_tz)
    return format_html('<span class="nowrap">{}</span>', date_filter(local, "SHORT_DATETIME_FORMAT"))


def _cell(context: template.Context, record: Any, key: str, kind: Any, region: str, agency_names: dict) -> Any:
    """One cell's inner HTML (safe), as the list template used to write it."""
    if key == "name":
        return format_html('<a href="{}">{}</a>', reverse(kind.names["detail"], args=[record.pk]), record)
    if key == "phone":
        if not record.phone:
            return ""
        return format_html(
            '<a class="crm-tel nowrap" href="tel:{}">{}</a>', record.phone, format_phone(record.phone, region or "US")
        )
    if key == "email":
        return format_html('<a href="mailto:{}">{}</a>', record.email, record.email) if record.email else ""
    if key == "status":
        return status_badge(record.status)
    if key == "owner":
        if record.owner_id and record.owner:
            return conditional_escape(record.owner)
        if record.agency_id:
            return format_html('<span class="muted">{}</span>', agency_names.get(record.agency_id) or _("Agency"))
        return format_html('<span class="muted">{}</span>', _("Unassigned"))
    if key == "company":
        company = record.company if record.company_id else None
        if company is None:
            return ""
        return format_html('<a href="{}">{}</a>', reverse("company_detail", args=[record.company_id]), company)
    if key == "stage":
        return stage_badge(record.stage)
    if key == "amount":
        return format_html('<span class="nowrap">{} {}</span>', floatformat(record.amount, "2g"), record.currency)
    if key == "tags":
        return mark_safe(  # each piece is escaped by format_html
            "".join(
                format_html('<span class="crm-tag" style="--tag: {}">{}</span>', tag_color(tag.color), tag.name)
                for tag in record.tags.all()
            )
        )
    if key in ("last_activity_at", "created_at"):
        return _datetime(context, getattr(record, key))
    if key == "expected_close":
        return format_html('<span class="nowrap">{}</span>', date_filter(record.expected_close, "SHORT_DATE_FORMAT"))
    value = field_value(record, key)
    return render_value_in_context("" if value is None else value, context)


@register.simple_tag(takes_context=True)
def record_cells(
    context: template.Context, record: Any, columns: list, kind: Any, region: str, agency_names: dict
) -> SafeString:
    """`{% record_cells record columns kind region agency_names %}`: the row's `<td>`s for the chosen columns."""
    cells = []
    for key, _label in columns:
        opening = '<td class="num">' if key == "amount" else "<td>"
        cells.append(f"{opening}{conditional_escape(_cell(context, record, key, kind, region, agency_names))}</td>")
    return mark_safe("".join(cells))  # every cell is escaped above
