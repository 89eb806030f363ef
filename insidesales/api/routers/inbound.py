"""`/inbound/leads`: inbound inquiries from a website's backend, a chat tool or a lead vendor — routed,
announced and timed exactly like a web form's."""

import ipaddress
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from insidesales.api.idempotency import HEADER
from insidesales.api.schemas import Flag, Input, UserRef, UtcDatetime, text, user_ref
from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.crm.models import LeadSource
from insidesales.inbound.models import Channel, WebForm
from insidesales.inbound.services.submissions import Visit, submission_accept
from insidesales.inbound.speed import speed_report
from insidesales.orgs.models import Role

router = Router(tags=["inbound"])


class UtmIn(Input):
    source: text(200) = ""
    medium: text(200) = ""
    campaign: text(200) = ""
    term: text(200) = ""
    content: text(200) = ""


class InboundLeadIn(Input):
    first_name: text(100) = ""
    last_name: text(100) = ""
    email: text(254) = Field("", description="Email or phone is required.")
    phone: text(64) = ""
    company_name: text(255) = ""
    title: text(150) = ""
    country: text(2) = Field("", description="ISO 3166-1 alpha-2; filled from the phone number when omitted.")
    notes: text(5000) = ""
    custom: dict[str, Any] = Field(default_factory=dict, description="Custom lead fields by key.")
    source: text(20) = Field("", description="A lead source; `web_form` when omitted.")
    form_id: int | None = Field(None, description="Count this inquiry as one of this web form's.")
    consent_text: text(5000) = Field("", description="The exact consent text the person agreed to, if any.")
    consent_given: Flag = False
    utm: UtmIn = Field(default_factory=UtmIn)
    referrer: text(1000) = ""
    landing_page: text(1000) = ""
    ip: text(45) = Field("", description="The visitor's IP address, if your backend knows it.")
    user_agent: text(300) = ""


class InboundLeadOut(Schema):
    submission_id: int
    outcome: str = Field(description="`created` (a new lead), `attached_lead` or `attached_contact`.")
    lead_id: int | None
    contact_id: int | None
    assigned_to: UserRef | None
    team_id: int | None
    agency_id: int | None
    rule: str | None = Field(description="The routing rule that decided, if any.")
    route_reason: str
    received_at: UtcDatetime
    replayed: bool = Field(description="True when this inquiry had been stored before (same Idempotency-Key).")


@router.post(
    "/leads",
    response={201: InboundLeadOut, 200: InboundLeadOut},
    operation_id="inbound_lead_create",
    summary="Send an inbound lead",
    description=(
        "Stores the inquiry, finds the lead or contact it belongs to (same email, else phone) or creates a lead, "
        "routes it by the organization's routing rules, alerts the rep and starts the response clock. Answered "
        "201 only after it is committed; send an `Idempotency-Key` header and retry on any error or timeout. "
        "Admins only."
    ),
)
def inbound_lead_create(request: HttpRequest, payload: InboundLeadIn):
    membership = request.auth
    if membership.role != Role.ADMIN:
        # The answer names the lead or contact the sender already is, anywhere in the organization.
        raise PermissionDenied(_("Only admins may send inbound leads (use an admin's API key for your website)."))
    if payload.ip:
        try:
            ipaddress.ip_address(payload.ip)
        except ValueError:
            raise ValidationError(fields={"ip": [_("Not an IP address.")]}) from None
    form = None
    if payload.form_id is not None:
        form = WebForm.objects.filter(organization_id=membership.organization_id, pk=payload.form_id).first()
        if form is None:
            raise ValidationError(fields={"form_id": [_("Unknown form.")]})
    values: dict[str, Any] = {
        k: getattr(payload, k)
        for k in ("first_name", "last_name", "email", "phone", "company_name", "title", "country", "notes")
        if getattr(payload, k)
    }
    for key, value in payload.custom.items():
        values[f"custom:{key}"] = value
    key = request.headers.get(HEADER, "")
    submission, created = submission_accept(
        organization=membership.organization,
        form=form,
        channel=Channel.API,
        values=values,
        visit=Visit(
            ip=payload.ip or None,
            user_agent=payload.user_agent,
            referrer=payload.referrer,
            landing_page=payload.landing_page,
            utm={k: v for k, v in payload.utm.model_dump().items() if v},
        ),
        consent_given=payload.consent_given,
        consent_text=payload.consent_text,
        dedupe_key=f"api:{membership.user_id}:{key}" if key else "",
        source=payload.source if payload.source in LeadSource.values else "",
    )
    body = {
        "submission_id": submission.pk,
        "outcome": submission.outcome,
        "lead_id": submission.lead_id,
        "contact_id": submission.contact_id,
        "assigned_to": user_ref(submission.owner),
        "team_id": submission.team_id,
        "agency_id": submission.agency_id,
        "rule": submission.rule.name if submission.rule else None,
        "route_reason": submission.route_reason,
        "received_at": submission.received_at,
        "replayed": not created,
    }
    return Status(201 if created else 200, body)


reports_router = Router(tags=["reports"])


class SpeedRow(Schema):
    key: str | int | None = Field(description="The group: a user id, team id, lead source or hour (0–23).")
    label: str
    inquiries: int
    answered: int
    unanswered: int
    answered_within_5_min: int
    missed_deadline: int
    median_seconds: int | None
    p90_seconds: int | None


class SpeedReport(Schema):
    group_by: str
    days: int
    rows: list[SpeedRow]
    total: SpeedRow


@reports_router.get(
    "/speed-to-lead",
    response=SpeedReport,
    operation_id="speed_to_lead_report",
    summary="Speed to lead",
    description=(
        "Inbound inquiries of the last `days` days and the time to their first call or email by a person, "
        "grouped by `rep` (who answered, else who has it), `team`, `source` or `hour` (of day, in your time "
        "zone). Only inquiries you may see: admins all, managers their teams', others their own."
    ),
)
def speed_to_lead_report(
    request: HttpRequest,
    group_by: Literal["rep", "team", "source", "hour"] = "rep",
    days: int = Query(30, ge=1, le=366),
):
    rows, total = speed_report(membership=request.auth, group_by=group_by, days=days)
    return {"group_by": group_by, "days": days, "rows": [r.as_dict() for r in rows], "total": total.as_dict()}
