"""`/emails`: the emails (sent and received) the caller may see, one email, and its attachments as downloads.

Scoped like the records they belong to (`insidesales.mail.selectors.messages`); emails tied to no record are
seen by their mailbox's owner and admins only. Received HTML is returned as data (`body_html`), never rendered.
Sending (`POST /emails`) lives in `email_send.py`.
"""

from typing import Any, Literal

from django.http import Http404, HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from insidesales.api.routers.calls import Cursor, Limit, problem_doc
from insidesales.api.schemas import MAX_ID, QueryId, UtcDatetime
from insidesales.core.errors import NotFound
from insidesales.mail.models import Direction, InboundKind, MessageStatus
from insidesales.mail.selectors import messages as selectors
from insidesales.mail.views.messages import attachment_response

router = Router(tags=["emails"])
EmailId = Path(..., ge=1, le=MAX_ID, description="The email's id.")
AttachmentId = Path(..., ge=1, le=MAX_ID, description="The attachment's id.")
DirectionValue = Literal[tuple(Direction.values)]  # type: ignore[valid-type]
KindValue = Literal[tuple(InboundKind.values)]  # type: ignore[valid-type]
StatusValue = Literal[tuple(MessageStatus.values)]  # type: ignore[valid-type]
NOT_FOUND = problem_doc(404, "No such email, or not one you can see.")


class BounceOut(Schema):
    recipient: str = Field("", description="The address that could not be reached.")
    action: str = Field("", description="RFC 3464 Action: failed, delayed, delivered, relayed or expanded.")
    status: str = Field("", description="RFC 3463 status code; 5.x.x is permanent (hard), 4.x.x temporary.")
    diagnostic: str = ""
    hard: bool = False
    original_message_id: str = Field("", description="The Message-ID of the email that bounced, when known.")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str = Field(description="As declared by the sender; downloads are always served as bytes.")
    size: int
    stored: bool = Field(description="False: larger than the organization's limit, only its name and size kept.")


class EmailOut(Schema):
    id: int
    direction: DirectionValue
    status: StatusValue
    kind: KindValue = Field(description="For received emails: a message, an automatic reply or a bounce.")
    message_id: str = Field(description="Without angle brackets.")
    in_reply_to: str
    thread_root: str = Field(description="The Message-ID of the first email of the thread.")
    from_address: str
    from_name: str
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str
    mailbox_id: int | None
    lead_id: int | None
    contact_id: int | None
    company_id: int | None
    created_at: UtcDatetime
    sent_at: UtcDatetime | None
    received_at: UtcDatetime | None
    bounce: BounceOut | None

    @staticmethod
    def resolve_bounce(obj: Any) -> dict[str, Any] | None:
        return obj.bounce or None


class EmailDetailOut(EmailOut):
    body_text: str
    body_html: str = Field(description="Received HTML as is: render it only sandboxed, or not at all.")
    references: list[str]
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_references(obj: Any) -> list[str]:
        return obj.references.split()

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return selectors.message_attachments(message=obj)


class EmailPage(Schema):
    items: list[EmailOut]
    next_cursor: str | None


@router.get(
    "",
    response=EmailPage,
    operation_id="email_list",
    summary="List emails",
    description="Emails sent and received that you may see (those of records you see, and unmatched ones "
    "that arrived in your own mailboxes), newest first.",
)
def list_emails(
    request: HttpRequest,
    direction: DirectionValue | None = None,
    kind: KindValue | None = None,
    lead_id: QueryId | None = None,
    contact_id: QueryId | None = None,
    mailbox_id: QueryId | None = None,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    page = selectors.message_page(
        membership=request.auth,
        direction=direction,
        kind=kind,
        lead_id=lead_id,
        contact_id=contact_id,
        mailbox_id=mailbox_id,
        cursor=cursor or None,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/{int:id}",
    response=EmailDetailOut,
    operation_id="email_get",
    summary="Get an email",
    openapi_extra={"responses": NOT_FOUND},
)
def get_email(request: HttpRequest, id: int = EmailId):
    return selectors.message_get(membership=request.auth, message_id=id)


@router.get(
    "/{int:id}/attachments/{int:attachment_id}",
    operation_id="email_attachment_get",
    summary="Download an attachment",
    description="The file as `application/octet-stream` with its name in Content-Disposition (RFC 6266). "
    "404 when the attachment was over the size limit and not kept.",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file (an attachment).",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            },
            **problem_doc(404, "No such attachment, not kept, or not one you can see."),
        }
    },
)
def get_attachment(request: HttpRequest, id: int = EmailId, attachment_id: int = AttachmentId):
    attachment = selectors.attachment_get(membership=request.auth, message_id=id, attachment_id=attachment_id)
    if not attachment.stored:
        raise NotFound()
    try:
        return attachment_response(attachment)
    except Http404 as exc:  # the file is gone from disk: the same 404 as any missing attachment
        raise NotFound() from exc


# Sending and cancelling (`POST /emails`, `POST /emails/{id}/cancel`) live in their own module and add
# their operations to this router; importing it here registers them wherever this router is mounted.
from insidesales.api.routers import email_send  # noqa: E402, F401
