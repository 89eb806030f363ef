"""`/mailboxes`: the caller's own mailboxes (list, connect, read, change, remove, test the connection), and
`/suppressions`: the organization's suppression list (list, add, check one address, remove).

Passwords go in and never come out: answers say only whether one is stored (`has_smtp_password`). Another
user's mailbox answers 404, for admins too. Everyone may add a suppressed address and check one; admins
and managers read the list and remove entries (`insidesales.mail.services`, `insidesales.mail.selectors`).
"""

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from insidesales.api.routers.calls import Cursor, Limit
from insidesales.api.schemas import MAX_ID, Flag, Input, UserRef, UtcDatetime, text, unset, user_ref
from insidesales.core.errors import ValidationError
from insidesales.core.pagination import paginate
from insidesales.mail.compose import clean_address
from insidesales.mail.models import Security, SuppressionReason
from insidesales.mail.selectors.mailboxes import mailbox_get, mailbox_list
from insidesales.mail.selectors.suppression_list import suppression_check, suppression_get, suppression_list
from insidesales.mail.services import mailboxes as service
from insidesales.mail.services import suppression

router = Router(tags=["mailboxes"])
suppressions_router = Router(tags=["suppressions"])

MailboxId = Path(..., ge=1, le=MAX_ID, description="The mailbox's id.")
SuppressionId = Path(..., ge=1, le=MAX_ID, description="The suppression entry's id.")
SecurityValue = Literal[tuple(Security.values)]  # type: ignore[valid-type]
PASSWORD_HELP = "Write-only. Omitted or empty keeps the stored one; `null` removes it."


class MailboxOut(Schema):
    id: int
    email: str
    display_name: str
    smtp_host: str
    smtp_port: int
    smtp_security: SecurityValue
    smtp_username: str
    has_smtp_password: bool
    imap_host: str = Field(description="Empty when replies are not read from this mailbox.")
    imap_port: int
    imap_security: SecurityValue
    imap_username: str
    imap_folder: str
    has_imap_password: bool
    is_active: bool
    last_error: str = Field(description="The last problem reading or sending, empty when none.")
    last_polled_at: UtcDatetime | None
    last_sent_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class MailboxPage(Schema):
    items: list[MailboxOut]
    next_cursor: str | None


def _ports(**extra: Any) -> Any:
    return Field(ge=1, le=65535, strict=True, **extra)


class MailboxCreateIn(Input):
    email: text(254, min_length=3)
    display_name: text(150) = ""
    smtp_host: text(255, min_length=1)
    smtp_port: int = _ports(default=587)
    smtp_security: SecurityValue = Security.STARTTLS
    smtp_username: text(254) = Field("", description="Empty: no login (a relay on the same machine).")
    smtp_password: text(500) = Field("", description="Write-only.")
    imap_host: text(255) = Field("", description="Empty: replies are not read.")
    imap_port: int = _ports(default=993)
    imap_security: SecurityValue = Security.SSL
    imap_username: text(254) = Field("", description="Empty: the email address.")
    imap_password: text(500) = Field("", description="Write-only.")
    imap_folder: text(200) = "INBOX"
    is_active: Flag = True


class MailboxUpdateIn(Input):
    """Only the fields sent change."""

    email: text(254, min_length=3) = unset()
    display_name: text(150) = unset()
    smtp_host: text(255, min_length=1) = unset()
    smtp_port: int = unset(ge=1, le=65535, strict=True)
    smtp_security: SecurityValue = unset()
    smtp_username: text(254) = unset()
    smtp_password: text(500) | None = unset(PASSWORD_HELP)
    imap_host: text(255) = unset()
    imap_port: int = unset(ge=1, le=65535, strict=True)
    imap_security: SecurityValue = unset()
    imap_username: text(254) = unset()
    imap_password: text(500) | None = unset(PASSWORD_HELP)
    imap_folder: text(200) = unset()
    is_active: Flag = unset()


class CheckOut(Schema):
    protocol: Literal["smtp", "imap"]
    ok: bool
    code: Literal["dns", "refused", "timeout", "tls", "auth", "protocol", "other"] | None = Field(
        description="Null when it worked."
    )
    message: str = Field(description="What happened and what to fix, in the caller's language.")
    detail: str = Field(description="The server's or the library's own words, for whoever debugs it.")


class MailboxTestOut(Schema):
    ok: bool = Field(description="Whether every check passed.")
    checks: list[CheckOut] = Field(description="SMTP, then IMAP when the mailbox has an IMAP server.")


def _out(mailbox: Any) -> dict[str, Any]:
    stored = service.mailbox_secrets_set(mailbox)
    data = {name: getattr(mailbox, name) for name in MailboxOut.model_fields if hasattr(mailbox, name)}
    data.update(id=mailbox.pk, has_smtp_password=stored["smtp_password"], has_imap_password=stored["imap_password"])
    return data


@router.get(
    "",
    response=MailboxPage,
    operation_id="mailbox_list",
    summary="List your mailboxes",
    description="The caller's own mailboxes, oldest first. Passwords are never returned.",
)
def list_mailboxes(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit):
    page = paginate(mailbox_list(membership=request.auth), order="id", cursor=cursor or None, limit=limit)
    return {"items": [_out(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: MailboxOut},
    operation_id="mailbox_create",
    summary="Connect a mailbox",
    description="For the caller. Test it afterwards with `POST /mailboxes/{id}/test`.",
)
def create_mailbox(request: HttpRequest, payload: MailboxCreateIn):
    mailbox = service.mailbox_create(actor=request.auth, data=payload.model_dump())
    return Status(201, _out(mailbox))


@router.get(
    "/{int:id}",
    response=MailboxOut,
    operation_id="mailbox_get",
    summary="Get one of your mailboxes",
    description="Another user's mailbox answers 404, for admins too.",
)
def get_mailbox(request: HttpRequest, id: int = MailboxId):
    return _out(mailbox_get(membership=request.auth, mailbox_id=id))


@router.patch(
    "/{int:id}",
    response=MailboxOut,
    operation_id="mailbox_update",
    summary="Change one of your mailboxes",
    description="Only the fields sent change. A password sent empty or omitted is kept; `null` removes it.",
)
def update_mailbox(request: HttpRequest, payload: MailboxUpdateIn, id: int = MailboxId):
    data = payload.model_dump(exclude_unset=True)
    clear = tuple(name for name in ("smtp_password", "imap_password") if name in data and data[name] is None)
    data = {name: value for name, value in data.items() if value is not None}
    for name in ("smtp_host", "email"):
        if name in data and not data[name].strip():
            raise ValidationError(fields={name: [_("This field cannot be empty.")]})
    mailbox = service.mailbox_update(actor=request.auth, mailbox_id=id, data=data, clear=clear)
    return _out(mailbox)


@router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="mailbox_delete",
    summary="Remove one of your mailboxes",
    description="Its stored passwords are deleted; emails sent from it stay.",
)
def delete_mailbox(request: HttpRequest, id: int = MailboxId):
    service.mailbox_delete(actor=request.auth, mailbox_id=id)
    return Status(204, None)


@router.post(
    "/{int:id}/test",
    response=MailboxTestOut,
    operation_id="mailbox_test",
    summary="Test a mailbox's connection",
    description="Connects to the SMTP server (and the IMAP server when set) with the stored settings: DNS, TCP, "
    "TLS with the system's trusted certificates, login. Each check says what failed and what to fix. "
    "Takes up to ten seconds per server.",
)
def test_mailbox(request: HttpRequest, id: int = MailboxId):
    results = service.mailbox_test(actor=request.auth, mailbox_id=id)
    return {"ok": all(r.ok for r in results), "checks": [r.as_dict() for r in results]}


# --- the suppression list -------------------------------------------------------------------------------


class SuppressionOut(Schema):
    id: int
    email: str = Field(description="Lower-case.")
    reason: Literal[tuple(SuppressionReason.values)]  # type: ignore[valid-type]
    note: str
    created_by: UserRef | None
    created_at: UtcDatetime

    @staticmethod
    def resolve_created_by(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.created_by) if obj.created_by_id else None


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    next_cursor: str | None


class SuppressionAddIn(Input):
    email: text(254, min_length=3)
    note: text(500) = ""


class SuppressionCheckOut(Schema):
    email: str = Field(description="The address as compared (lower-case).")
    suppressed: bool
    reason: Literal[tuple(SuppressionReason.values)] | None = Field(  # type: ignore[valid-type]
        description="Why, when it is suppressed."
    )


def _address(raw: str) -> str:
    try:
        return clean_address(raw.strip())
    except ValueError as exc:
        raise ValidationError(fields={"email": [_("Enter a valid email address, like name@example.com.")]}) from exc


@suppressions_router.get(
    "",
    response=SuppressionPage,
    operation_id="suppression_list",
    summary="List suppressed addresses",
    description="Admins and managers read the list (for other roles it is empty; they may add an address and "
    "check one with `/suppressions/check`). Newest first; `q` keeps addresses containing it.",
)
def list_suppressions(
    request: HttpRequest,
    q: str = Query("", max_length=254, pattern=r"^[^\x00]*$", description="Part of an address."),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    entries = suppression_list(membership=request.auth, search=q)
    page = paginate(entries, order="-id", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@suppressions_router.post(
    "",
    response={201: SuppressionOut},
    operation_id="suppression_add",
    summary="Suppress an address",
    description="Anyone may add one: nobody in the organization emails it again. An address already on the "
    "list answers its existing entry (with its first reason).",
)
def add_suppression(request: HttpRequest, payload: SuppressionAddIn):
    entry = suppression.suppression_add(
        organization_id=request.auth.organization_id,
        email=_address(payload.email),
        reason=SuppressionReason.MANUAL,
        actor=request.auth,
        note=payload.note,
    )
    if request.auth.role not in ("admin", "manager") and entry.created_by_id != request.auth.user_id:
        # Someone else's entry: its note (bounce diagnostics, a manager's words) and author stay with
        # those who manage the list; the rep learns it is listed, and why in one word.
        entry.note, entry.created_by_id, entry.created_by = "", None, None
    return Status(201, entry)


@suppressions_router.get(
    "/check",
    response=SuppressionCheckOut,
    operation_id="suppression_check",
    summary="Is an address suppressed?",
    description="For anyone who sends: whether the organization's suppression list holds the address.",
)
def check_suppression(
    request: HttpRequest, email: str = Query(..., min_length=1, max_length=254, pattern=r"^[^\x00]*$")
):
    entry = suppression_check(membership=request.auth, email=email)
    return {
        "email": suppression.normalize_address(email),
        "suppressed": entry is not None,
        "reason": entry.reason if entry else None,
    }


@suppressions_router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="suppression_remove",
    summary="Take an address off the suppression list",
    description="Admins and managers; other roles answer 403.",
)
def remove_suppression(request: HttpRequest, id: int = SuppressionId):
    entry = suppression_get(membership=request.auth, suppression_id=id, for_removal=True)
    suppression.suppression_remove(actor=request.auth, suppression=entry)
    return Status(204, None)
