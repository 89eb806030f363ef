"""Template helpers for the record pages: phone formatting, status and stage badges, plain field values,
and timeline lines written in the reader's language."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.conf import settings
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from insidesales.core.phones import format_phone
from insidesales.crm.models import ActivityKind, DisqualifyReason, LeadSource, LeadStatus, StageKind, built_in_name

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
    return format_html('<span class="badge badge-{}">{}</span>', kind, str(stage))


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


# Entries people write (their subject is their own words) versus entries services write. A service's
# subject was stored in the actor's language at the time, so it is rebuilt here from `kind` and `data`.
AUTHORED_KINDS = {ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING, ActivityKind.TASK}


def _choice_label(choices: type, code: Any) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code or "")


def _unassigned_words() -> set[str]:
    """The word an assignment's subject holds when it emptied the owner, in every shipped language."""
    words = {"Unassigned"}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            words.add(_("Unassigned"))
    return words


@register.simple_tag
def activity_summary(event: Any, record_type: str = "") -> str:
    """The one-line text of a timeline entry in the reader's language (escaped by the template engine).

    People's entries keep their subject; entries written by services (created, status, assignment,
    conversion, stage) are rebuilt from their kind and data, so a Russian reader never sees English.
    """
    kind, data, subject = event.kind, event.data or {}, event.subject or ""
    if kind == ActivityKind.CALL and data.get("call_id"):
        return call_summary_line(data)
    if kind == ActivityKind.TASK and data.get("callback_id"):
        return callback_summary_line(data)
    if kind in AUTHORED_KINDS:
        return subject
    if kind == ActivityKind.STATUS_CHANGE:
        line = _("Status: %(from)s → %(to)s") % {
            "from": _choice_label(LeadStatus, data.get("from")),
            "to": _choice_label(LeadStatus, data.get("to")),
        }
        if data.get("reason"):
            line += " · " + _("Reason: %(reason)s") % {"reason": _choice_label(DisqualifyReason, data["reason"])}
        return line
    if kind == ActivityKind.ASSIGNMENT:
        if not subject or subject in _unassigned_words():
            return _("Returned to the pool")
        return _("Assigned to %(name)s") % {"name": subject}
    if kind == ActivityKind.INQUIRY:
        if data.get("form_name"):
            line = _("Inquiry via %(form)s") % {"form": data["form_name"]}
        else:
            line = _("Inquiry via the API")
        campaign = (data.get("utm") or {}).get("campaign")
        return f"{line} · {campaign}" if campaign else line
    if kind == ActivityKind.DEADLINE:
        if data.get("minutes"):
            return _("No call or email within %(n)d minutes") % {"n": int(data["minutes"])}
        return subject
    if kind == ActivityKind.STAGE_CHANGE:
        # The subject holds the stage names ("Old → New"): the organization's own words, except the
        # default stages' names, which are ours and read in the reader's language.
        change = " → ".join(built_in_name(part) for part in subject.split(" → "))
        return _("Stage: %(change)s") % {"change": change} if subject else ""
    if kind == ActivityKind.CREATED:
        if data.get("lead_id"):
            return _("Created from a lead")
        if data.get("source"):
            return _("Source: %(source)s") % {"source": _choice_label(LeadSource, data["source"])}
        if data.get("import"):
            return _("Imported from %(file)s") % {"file": data.get("file") or ""}
        return ""
    if kind == ActivityKind.MERGE:
        name = data.get("other_name") or ""
        if data.get("event") == "undone":
            return _("Merge with %(name)s undone") % {"name": name}
        return _("Merged with %(name)s") % {"name": name}
    if kind == ActivityKind.CONVERSION:
        if record_type == "contact":
            return _("Created from a lead")
        if record_type == "company" and ": " in subject:
            return _("Lead converted: %(name)s") % {"name": subject.split(": ", 1)[1]}
        return _("Lead converted")
    return subject


@register.simple_tag
def filter_fields(form: Any) -> SafeString:
    """`{% filter_fields filter_form %}`: the first row of a list's filter form — each filter with its
    label, multiple choices as a dropdown with the number chosen (sort and columns have their own row).
    Written in Python: as template code it was the list page's most expensive loop."""
    parts = []
    for field in form:
        name = field.name
        if name in ("sort", "cols"):
            continue
        label = conditional_escape(field.label)
        if "checkboxselectmultiple" in field.widget_type:
            value = field.value()
            count = f' <span class="crm-count">{len(value)}</span>' if value else ""
            parts.append(
                f'<details class="crm-dropdown"><summary>{label}{count}</summary>'
                f'<div class="crm-dropdown-body">{conditional_escape(field)}</div></details>'
            )
        else:
            search = " crm-filter-search" if name == "q" else ""
            label_for = conditional_escape(field.id_for_label)
            parts.append(
                f'<div class="field crm-filter{search}">'
                f'<label for="{label_for}">{label}</label>{conditional_escape(field)}</div>'
            )
    return mark_safe("\n".join(parts))  # labels, ids and widgets escaped above


def call_summary_line(data: dict) -> str:
    """A call placed or taken through the product: direction and number, how it ended, how long, the outcome."""
    from insidesales.calls.models import CallStatus
    from insidesales.calls.services.config import BUILT_IN_LABELS

    if data.get("direction") == "inbound":
        line = _("Call from %(number)s") % {"number": data.get("from") or "?"}
    else:
        line = _("Call to %(number)s") % {"number": data.get("to") or "?"}
    parts = [line, _choice_label(CallStatus, data.get("status"))]
    seconds = data.get("duration_s")
    if seconds:
        minutes, rest = divmod(int(seconds), 60)
        parts.append(_("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest})
    if data.get("disposition_label"):
        label = data["disposition_label"]
        parts.append(_("Outcome: %(outcome)s") % {"outcome": str(BUILT_IN_LABELS.get(label, label))})
    return " · ".join(parts)


def callback_summary_line(data: dict) -> str:
    """A callback promised on a call, in the reader's language and time zone."""
    import datetime as dt

    from django.utils import formats, timezone

    try:
        due = timezone.localtime(dt.datetime.fromisoformat(data["due_at"]))
    except (KeyError, TypeError, ValueError):
        return _("Callback scheduled")
    line = _("Callback scheduled for %(when)s") % {"when": formats.date_format(due, "SHORT_DATETIME_FORMAT")}
    if not data.get("personal", True):
        line += " · " + _("anyone on the team may take it")
    return line


@register.simple_tag
def inquiry_details(event: Any) -> list[tuple[str, str]]:
    """An inbound inquiry's particulars for its timeline entry, labelled in the reader's language: what was
    sent (each field), the consent text agreed to, where the sender came from (referrer, landing page, UTM)."""
    from insidesales.crm.models import Lead

    data = event.data or {}
    rows: list[tuple[str, str]] = []
    for key, value in (data.get("values") or {}).items():
        if value in (None, ""):
            continue
        if str(key).startswith("custom:"):
            label = str(key).removeprefix("custom:")
        else:
            try:
                label = str(Lead._meta.get_field(key).verbose_name).capitalize()
            except Exception:  # noqa: BLE001 - a field that no longer exists shows its key
                label = str(key)
        rows.append((label, str(value)))
    if data.get("consent_text"):
        rows.append((_("Consent given to"), data["consent_text"]))
    for key, label in (("referrer", _("Came from")), ("landing_page", _("Landing page"))):
        if data.get(key):
            rows.append((label, data[key]))
    for key, value in (data.get("utm") or {}).items():
        rows.append((f"utm_{key}", str(value)))
    return rows
