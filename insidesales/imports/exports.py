"""Exporting a list (or a saved view) to CSV or XLSX: every visible row that matches, streamed.

Rows come from the same scoped queryset as the list page (`crm.selectors.record_queryset` plus the
list's filters and sort), read in chunks, so a million rows never sit in memory. Every text cell is
neutralized against formula injection; headers are the field names an import recognizes, so an
exported file can be fixed and imported back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from insidesales.crm import selectors
from insidesales.crm.filters import MODEL_FILTERSETS
from insidesales.crm.models import Company, Contact, CustomField, Deal, Lead
from insidesales.imports.csvsafe import neutralize
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record

CHUNK = 2000
RECORD_TYPE = {Lead: "lead", Contact: "contact", Company: "company", Deal: "deal"}

# (header, attribute path) per record type; "owner" is exported as the owner's email (what an import
# reads back), choice fields by their label, tags by name.
COLUMNS: dict[type, list[tuple[Any, str]]] = {
    Lead: [
        (gettext_lazy("ID"), "id"),
        (gettext_lazy("First name"), "first_name"),
        (gettext_lazy("Last name"), "last_name"),
        (gettext_lazy("Job title"), "title"),
        (gettext_lazy("Company"), "company_name"),
        (gettext_lazy("Email"), "email"),
        (gettext_lazy("Phone"), "phone"),
        (gettext_lazy("Country"), "country"),
        (gettext_lazy("Time zone"), "time_zone"),
        (gettext_lazy("Source"), "get_source_display"),
        (gettext_lazy("Status"), "get_status_display"),
        (gettext_lazy("Owner"), "owner.email"),
        (gettext_lazy("Agency"), "agency.name"),
        (gettext_lazy("Tags"), "tags"),
        (gettext_lazy("Notes"), "notes"),
        (gettext_lazy("Created"), "created_at"),
        (gettext_lazy("Last activity"), "last_activity_at"),
    ],
    Contact: [
        (gettext_lazy("ID"), "id"),
        (gettext_lazy("First name"), "first_name"),
        (gettext_lazy("Last name"), "last_name"),
        (gettext_lazy("Job title"), "title"),
        (gettext_lazy("Company"), "company.name"),
        (gettext_lazy("Email"), "email"),
        (gettext_lazy("Phone"), "phone"),
        (gettext_lazy("Country"), "country"),
        (gettext_lazy("Owner"), "owner.email"),
        (gettext_lazy("Agency"), "agency.name"),
        (gettext_lazy("Tags"), "tags"),
        (gettext_lazy("Created"), "created_at"),
        (gettext_lazy("Last activity"), "last_activity_at"),
    ],
    Company: [
        (gettext_lazy("ID"), "id"),
        (pgettext_lazy("name of a thing", "Name"), "name"),
        (gettext_lazy("Domain"), "domain"),
        (gettext_lazy("Industry"), "industry"),
        (gettext_lazy("Employees"), "employees"),
        (gettext_lazy("Phone"), "phone"),
        (gettext_lazy("Country"), "country"),
        (gettext_lazy("City"), "city"),
        (gettext_lazy("Owner"), "owner.email"),
        (gettext_lazy("Agency"), "agency.name"),
        (gettext_lazy("Tags"), "tags"),
        (gettext_lazy("Created"), "created_at"),
        (gettext_lazy("Last activity"), "last_activity_at"),
    ],
    Deal: [
        (gettext_lazy("ID"), "id"),
        (pgettext_lazy("name of a thing", "Name"), "name"),
        (gettext_lazy("Company"), "company.name"),
        (gettext_lazy("Stage"), "stage.name"),
        (gettext_lazy("Amount"), "amount"),
        (gettext_lazy("Currency"), "currency"),
        (gettext_lazy("Expected close"), "expected_close"),
        (gettext_lazy("Owner"), "owner.email"),
        (gettext_lazy("Agency"), "agency.name"),
        (gettext_lazy("Tags"), "tags"),
        (gettext_lazy("Created"), "created_at"),
        (gettext_lazy("Last activity"), "last_activity_at"),
    ],
}
RELATED = {
    Lead: ("owner", "agency"),
    Contact: ("owner", "agency", "company"),
    Company: ("owner", "agency"),
    Deal: ("owner", "agency", "company", "stage"),
}


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _getter(model: type, path: str) -> Callable[[Any], Any]:
    if path == "tags":
        return lambda record: ", ".join(tag.name for tag in selectors.record_tags(record))
    if path.startswith("get_") and path.endswith("_display"):
        # get_<field>_display, with the labels translated once per export instead of once per cell.
        name = path.removeprefix("get_").removesuffix("_display")
        labels = {value: str(label) for value, label in model._meta.get_field(name).flatchoices}
        return lambda record: labels.get(getattr(record, name), getattr(record, name))
    head, _sep, tail = path.partition(".")
    if tail:
        return lambda record: getattr(getattr(record, head), tail) if getattr(record, f"{head}_id", None) else ""
    return lambda record: getattr(record, path)


def _text(value: Any, zone: Any = None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone or timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def export_rows(
    *, membership: Membership, model: type, filters: dict[str, Any], sort: str
) -> tuple[list[str], Iterator[list[str]]]:
    """Headers, and the rows (text cells) of every visible record matching the list's filters, in the
    list's order. The writers below make the cells safe for spreadsheets."""
    filterset = MODEL_FILTERSETS[model]
    record_type = RECORD_TYPE[model]
    custom = list(CustomField.objects.filter(organization_id=membership.organization_id, record_type=record_type))
    columns = COLUMNS[model]
    headers = [str(label) for label, _path in columns] + [definition.label for definition in custom]
    getters = [_getter(model, path) for _label, path in columns]
    queryset = filterset.apply(selectors.record_queryset(membership=membership, model=model), filters, membership)
    order = sort or filterset.default_sort
    field = order.lstrip("-")
    ordering = [f"-{field}", "-id"] if order.startswith("-") else [field, "id"]
    queryset = queryset.select_related(*RELATED[model]).order_by(*ordering)

    zone = timezone.get_current_timezone()  # the exporting user's, read once

    def rows() -> Iterator[list[str]]:
        chunk: list[Any] = []
        for record in queryset.iterator(chunk_size=CHUNK):
            chunk.append(record)
            if len(chunk) >= CHUNK:
                yield from _chunk_rows(chunk)
                chunk = []
        if chunk:
            yield from _chunk_rows(chunk)

    def _chunk_rows(records: list[Any]) -> Iterator[list[str]]:
        selectors.attach_tags(records, model)
        for record in records:
            cells = [_text(get(record), zone) for get in getters]
            values = record.custom or {}
            cells += [_text(values.get(definition.key), zone) for definition in custom]
            yield cells

    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action=f"{record_type}.export",
        object_type=record_type,
        changes={"filters": [None, {k: v for k, v in filters.items()}], "sort": [None, order]},
    )
    return headers, rows()


class _Line:
    """A file-like target for csv.writer that hands back what was written."""

    def __init__(self) -> None:
        self.value = ""

    def write(self, text: str) -> None:
        self.value += text


def csv_stream(headers: list[str], rows: Iterator[list[str]]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (Excel then reads Cyrillic correctly), in pieces of about 64 KB."""
    line = _Line()
    writer = csv.writer(line)
    writer.writerow([neutralize(h) for h in headers])
    buffer = ["\ufeff" + line.value]
    size = 0
    for row in rows:
        line.value = ""
        writer.writerow([neutralize(cell) for cell in row])
        buffer.append(line.value)
        size += len(line.value)
        if size >= 65536:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def xlsx_file(headers: list[str], rows: Iterator[list[str]]) -> io.BufferedRandom:
    """An XLSX workbook (one sheet) in a temporary file, written row by row (openpyxl's write-only mode).

    Every cell is a text cell (openpyxl would otherwise store a string starting with "=" as a
    formula), and neutralized as in CSV, so it stays text even when the sheet is edited or saved as CSV."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Export"))

    def text_cells(values: list[str]) -> list:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=neutralize(ILLEGAL_CHARACTERS_RE.sub("", value)))
            cell.data_type = "s"
            cells.append(cell)
        return cells

    sheet.append(text_cells(headers))  # neutralized like every cell
    for row in rows:
        sheet.append(text_cells(row))
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
