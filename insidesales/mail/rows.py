"""Rows the sequence engine writes in bulk, as plain objects, and a writer for them.

A batch makes hundreds of emails, step runs and timeline entries; building a Django model instance for
each and preparing its values field by field cost more than rendering and sending the email. These
carry only what the engine, the outbox and `compose.build_mime` read, and are written with one prepared
statement (COPY on PostgreSQL) through `core.bulk_insert.BulkWriter`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import connection

from insidesales.core.bulk_insert import BulkWriter, allocate_ids, db_datetime


@dataclass(slots=True)
class EmailRow:
    """A new outgoing email (the columns of `EmailMessage` the engine fills; the rest take defaults)."""

    organization_id: int
    mailbox_id: int
    direction: str
    status: str
    message_id: str
    in_reply_to: str
    references: str
    thread_root: str
    from_address: str
    from_name: str
    to_addresses: list
    subject: str
    body_text: str
    body_html: str
    lead_id: int | None
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    team_id: int | None
    agency_id: int | None
    template_id: int | None
    enrollment_id: int
    step_id: int
    scheduled_at: dt.datetime
    claim_token: str = ""
    claimed_until: dt.datetime | None = None
    id: int | None = None
    # Read by the outbox, not written as given.
    mailbox: Any = field(default=None, repr=False)
    cc_addresses: list = field(default_factory=list)
    attempts: int = 0
    sent_at: dt.datetime | None = None
    kind: str = "message"
    created_by_id: int | None = None

    @property
    def pk(self) -> int | None:
        return self.id


@dataclass(slots=True)
class RunRow:
    """A new `StepRun`."""

    organization_id: int
    enrollment_id: int
    step_id: int
    outcome: str
    detail: str = ""
    message: EmailRow | None = field(default=None, repr=False)
    task_id: int | None = None
    callback_id: int | None = None
    id: int | None = None


EMAIL_COLUMNS = [f.name for f in fields(EmailRow)][: [f.name for f in fields(EmailRow)].index("mailbox")]
JSON_COLUMNS = {"to_addresses"}
TIME_COLUMNS = {"scheduled_at", "claimed_until"}


def insert_emails(rows: list[EmailRow], now: dt.datetime) -> None:
    from insidesales.mail.models import EmailMessage

    if not rows:
        return
    for row, pk in zip(rows, allocate_ids(EmailMessage, len(rows)), strict=True):
        row.id = pk
    vendor = connection.vendor
    names = [name for name in EMAIL_COLUMNS if name != "id"]
    columns = ["id", *names, "created_at", "updated_at"]  # attnames (`organization_id`) name fields too
    stamp = db_datetime(now, vendor)
    writer = BulkWriter(EmailMessage, columns)
    writer.write(
        [
            (
                row.id,
                *[_value(name, getattr(row, name), vendor) for name in names],
                stamp,
                stamp,
            )
            for row in rows
        ]
    )


def insert_runs(rows: list[RunRow], now: dt.datetime) -> None:
    from insidesales.mail.models import StepRun

    if not rows:
        return
    for row, pk in zip(rows, allocate_ids(StepRun, len(rows)), strict=True):
        row.id = pk
    stamp = db_datetime(now, connection.vendor)
    writer = BulkWriter(
        StepRun,
        ["id", "organization", "enrollment", "step", "created_at", "outcome", "detail", "message", "task", "callback"],
    )
    writer.write(
        [
            (
                r.id,
                r.organization_id,
                r.enrollment_id,
                r.step_id,
                stamp,
                r.outcome,
                r.detail,
                r.message.id if r.message is not None else None,
                r.task_id,
                r.callback_id,
            )
            for r in rows
        ]
    )


def _value(name: str, value: Any, vendor: str) -> Any:
    if value is None:
        return None
    if name in JSON_COLUMNS:
        return json.dumps(value)
    if name in TIME_COLUMNS:
        return db_datetime(value, vendor)
    return value
