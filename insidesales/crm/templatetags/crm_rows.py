"""The rows of a record list, written in Python: one tag for the whole table body.

The list page shows 50 rows of up to 12 columns. Walking a template loop with an `{% if %}` chain per
cell, resolving the same variables and reversing the same URL 50 times, cost more than everything
else on the page; here whatever is the same for every row (URL patterns, badges, owners' names, date
formats) is worked out once per page. Every value is escaped exactly as the template engine would
(`_esc` is Django's `conditional_escape` without its lazy-string wrapper).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
from typing import Any

from django import template
from django.conf import settings
from django.template.base import render_value_in_context
from django.template.defaultfilters import floatformat
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from insidesales.core.dates import DateFormatter
from insidesales.core.phones import format_phone
from insidesales.crm.selectors import record_tags
from insidesales.crm.templatetags.crm_tags import field_value, stage_badge, status_badge, tag_color

register = template.Library()

_PK = 987654321987654321  # a placeholder id: reverse once per page, then put each row's id in


def _esc(value: Any) -> str:
    if isinstance(value, SafeData):
        return str(value)
    return html.escape(str(value))


def _url_pattern(name: str) -> tuple[str, str]:
    head, _sep, tail = reverse(name, args=[_PK]).partition(str(_PK))
    return head, tail


class RowWriter:
    """Writes `<tr>`s for one page: per-page work in `__init__`, per-row work in `row`."""

    def __init__(self, context: template.Context, columns: list, kind: Any, region: str, agency_names: dict):
        self.context = context
        self.keys = [key for key, _label in columns]
        self.region = region or "US"
        self.agency_names = agency_names
        self.detail = _url_pattern(kind.names["detail"])
        self.company = _url_pattern("company_detail") if "company" in self.keys else ("", "")
        self.select_label = _esc(_("Select"))
        unassigned = _esc(_("Unassigned"))
        self.unassigned = f'<span class="muted">{unassigned}</span>'
        self.agency_fallback = _("Agency")
        self.format_datetime = DateFormatter(get_format("SHORT_DATETIME_FORMAT"))
        self.format_date = DateFormatter(get_format("SHORT_DATE_FORMAT"))
        use_tz = settings.USE_TZ if context.use_tz is None else context.use_tz
        self.zone = timezone.get_current_timezone() if use_tz else None
        self.cache: dict[tuple, str] = {}  # badges, owners and tags repeat across rows

    def cached(self, key: tuple, make) -> str:
        value = self.cache.get(key)
        if value is None:
            value = self.cache[key] = make()
        return value

    def datetime(self, value: Any) -> str:
        if value is None:
            return '<span class="nowrap"></span>'
        if self.zone is not None and type(value) is dt.datetime and value.utcoffset() is not None:
            local = value.astimezone(self.zone)  # what template_localtime does, the zone read once a page
        else:
            local = template_localtime(value, use_tz=self.context.use_tz)
        return f'<span class="nowrap">{_esc(self.format_datetime(local))}</span>'

    def cell(self, record: Any, key: str) -> str:
        """One cell's inner HTML, escaped."""
        if key == "name":
            return f'<a href="{self.detail[0]}{record.pk}{self.detail[1]}">{_esc(record)}</a>'
        if key == "phone":
            if not record.phone:
                return ""
            shown = _esc(format_phone(record.phone, self.region))
            kind = type(record).__name__.lower()
            if kind in ("lead", "contact", "company"):  # click-to-call: a page asking to confirm, then the call
                return f'<a class="crm-tel nowrap" href="{_dial_prefix()}{kind}/{record.pk}/">{shown}</a>'
            return f'<a class="crm-tel nowrap" href="tel:{_esc(record.phone)}">{shown}</a>'
        if key == "email":
            email = _esc(record.email)
            return f'<a href="mailto:{email}">{email}</a>' if email else ""
        if key == "status":
            return self.cached(("status", record.status), lambda: str(status_badge(record.status)))
        if key == "owner":
            if record.owner_id and record.owner:
                return self.cached(("owner", record.owner_id), lambda: _esc(record.owner))
            if record.agency_id:
                name = self.agency_names.get(record.agency_id) or self.agency_fallback
                return self.cached(("agency", record.agency_id), lambda: f'<span class="muted">{_esc(name)}</span>')
            return self.unassigned
        if key == "company":
            company = record.company if record.company_id else None
            if company is None:
                return ""
            return f'<a href="{self.company[0]}{record.company_id}{self.company[1]}">{_esc(company)}</a>'
        if key == "stage":
            if record.stage_id is None:
                return ""
            return self.cached(("stage", record.stage_id), lambda: str(stage_badge(record.stage)))
        if key == "amount":
            return f'<span class="nowrap">{_esc(floatformat(record.amount, "2g"))} {_esc(record.currency)}</span>'
        if key == "tags":
            return "".join(
                self.cached(
                    ("tag", tag.pk),
                    lambda tag=tag: (
                        f'<span class="crm-tag" style="--tag: {_esc(tag_color(tag.color))}">{_esc(tag.name)}</span>'
                    ),
                )
                for tag in record_tags(record)
            )
        if key in ("last_activity_at", "created_at"):
            return self.datetime(getattr(record, key))
        if key == "expected_close":
            shown = self.format_date(record.expected_close) if record.expected_close else ""
            return f'<span class="nowrap">{_esc(shown)}</span>'
        value = field_value(record, key)
        if value is None:
            return ""
        if type(value) is str:  # nothing to localize: escape it as the template would
            return html.escape(value)
        return _esc(render_value_in_context(value, self.context))

    def row(self, record: Any) -> str:
        cells = "".join(
            (
                f'<td class="num">{self.cell(record, key)}</td>'
                if key == "amount"
                else f"<td>{self.cell(record, key)}</td>"
            )
            for key in self.keys
        )
        label = f"{self.select_label} {_esc(record)}"
        return (
            f'<tr><td class="crm-check"><input type="checkbox" name="ids" value="{record.pk}" aria-label="{label}">'
            f"</td>{cells}</tr>"
        )


@register.simple_tag(takes_context=True)
def record_rows(
    context: template.Context, records: list, columns: list, kind: Any, region: str, agency_names: dict
) -> SafeString:
    """`{% record_rows page.items columns kind region agency_names %}`: the `<tr>`s of a list page."""
    writer = RowWriter(context, columns, kind, region, agency_names)
    return mark_safe("\n".join(writer.row(record) for record in records))  # every value is escaped above


@functools.lru_cache(maxsize=8)
def _dial_prefix_for(prefix: str, urlconf: str) -> str:
    return reverse("call_dial_lead", args=[1]).removesuffix("lead/1/")


def _dial_prefix() -> str:
    return _dial_prefix_for(get_script_prefix(), str(get_urlconf() or settings.ROOT_URLCONF))
