"""`/emails` (writes): send a one-off email from a record now or at a time, and cancel a scheduled one.
The reads of `/emails` are in `emails.py`; these operations are added to the same router.
(`insidesales.mail.services.compose`: the mailbox must be yours, the record visible, the address not suppressed.)"""

from typing import Any

from django.http import HttpRequest
from ninja import Path, Schema, Status
from pydantic import Field, model_validator

from insidesales.api.routers.calls import problem_doc
from insidesales.api.routers.emails import router as emails_router
from insidesales.api.schemas import MAX_ID, Id, InDatetime, Input, UtcDatetime, text
from insidesales.core.errors import NotFound
from insidesales.crm.models import Company, Contact, Lead
from insidesales.crm.selectors import record_get
from insidesales.mail.models import Mailbox
from insidesales.mail.selectors.messages import sent_message_get
from insidesales.mail.selectors.templates import company_recipients, own_mailboxes, template_get
from insidesales.mail.services.compose import email_cancel, email_send

# The same Router object as the reads: two routers at one prefix would each claim the path `/emails`,
# and the first (GET only) would answer POST with 405.
router = emails_router
MessageId = Path(..., ge=1, le=MAX_ID, description="The email's id.")


class EmailSendIn(Input):
    mailbox_id: Id = Field(description="One of your own mailboxes.")
    to: text(254, min_length=1) = Field(description="One address.")
    subject: text(998, min_length=1) = Field(description="Merge fields allowed; line breaks become spaces.")
    body: text(100_000, min_length=1) = Field(description="Plain text with merge fields; the HTML part is made of it.")
    lead_id: Id | None = None
    contact_id: Id | None = None
    company_id: Id | None = None
    template_id: Id | None = Field(None, description="The template the text came from (recorded on the email).")
    send_at: InDatetime | None = Field(None, description="Schedule for this time (in the future); now when omitted.")

    @model_validator(mode="after")
    def _one_record(self) -> "EmailSendIn":
        if sum(x is not None for x in (self.lead_id, self.contact_id, self.company_id)) != 1:
            raise ValueError("Give exactly one of lead_id, contact_id and company_id.")
        return self


class EmailSentOut(Schema):
    id: int
    status: str = Field(description="`queued` (sent in a moment), `scheduled`, or later `cancelled`.")
    message_id: str = Field(description="The Message-ID, without angle brackets.")
    from_address: str
    to: list[str]
    subject: str
    body_text: str
    body_html: str
    lead_id: int | None
    contact_id: int | None
    company_id: int | None
    template_id: int | None
    scheduled_at: UtcDatetime | None
    created_at: UtcDatetime

    @staticmethod
    def resolve_to(obj: Any) -> list[str]:
        return list(obj.to_addresses)


def _mailbox(request: HttpRequest, mailbox_id: int) -> Mailbox:
    membership = request.auth
    mailbox = own_mailboxes(membership=membership).filter(pk=mailbox_id).select_related("user").first()
    if mailbox is None:
        raise NotFound()
    return mailbox


@router.post(
    "",
    response={201: EmailSentOut},
    operation_id="email_send",
    summary="Send a one-off email",
    description="Queues the email (or schedules it with `send_at`) from one of your mailboxes, about one record "
    "you can see; merge fields are filled from the record. Someone else's mailbox or a record out of sight "
    "answers 404; a suppressed address 409.",
    openapi_extra={
        "responses": {
            **problem_doc(404, "No such mailbox of yours, record, or template."),
            **problem_doc(409, "The address is on the organization's suppression list."),
        }
    },
)
def send_email(request: HttpRequest, payload: EmailSendIn):
    membership = request.auth
    mailbox = _mailbox(request, payload.mailbox_id)
    records: dict[str, Any] = {}
    for name, model, pk in (
        ("lead", Lead, payload.lead_id),
        ("contact", Contact, payload.contact_id),
        ("company", Company, payload.company_id),
    ):
        if pk is not None:
            records[name] = record_get(membership=membership, model=model, record_id=pk)
    template = template_get(membership=membership, template_id=payload.template_id) if payload.template_id else None
    if "company" in records:  # merge fields about the person at the company the address belongs to
        address = payload.to.strip().lower()
        people = company_recipients(membership=membership, company=records["company"])  # visible contacts only
        records["contact"] = next((c for c in people if c.email.lower() == address), None)
    message = email_send(
        actor=membership,
        mailbox=mailbox,
        to=payload.to,
        subject=payload.subject,
        body=payload.body,
        template=template,
        send_at=payload.send_at,
        **records,
    )
    return Status(201, message)


@router.post(
    "/{int:id}/cancel",
    response=EmailSentOut,
    operation_id="email_cancel",
    summary="Cancel a scheduled email",
    description="Before the worker takes it; 409 once it is being sent or sent. Its writer, managers and admins.",
)
def cancel_email(request: HttpRequest, id: int = MessageId):
    membership = request.auth
    message = sent_message_get(membership=membership, message_id=id)
    return email_cancel(actor=membership, message=message)
