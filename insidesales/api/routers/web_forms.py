"""`/forms`: the organization's web forms (list, create, read, change, delete) and each form's submissions.

Admins change forms; managers read them; for everyone else the forms do not exist (404). The rules are
`insidesales.inbound.services.forms`'s, so a value the settings page refuses is refused here with the
same words (problem+json 422, `errors` by field).
"""

from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field

from insidesales.api.routers.calls import Cursor, Limit
from insidesales.api.schemas import MAX_ID, Flag, Input, UtcDatetime, text, unset
from insidesales.core.pagination import paginate
from insidesales.crm.models import LeadSource
from insidesales.inbound.models import Channel, Outcome
from insidesales.inbound.selectors_forms import web_form_get, web_form_queryset, web_form_submissions
from insidesales.inbound.services import forms as service

router = Router(tags=["web forms"])

FormId = Path(..., ge=1, le=MAX_ID, description="The form's id.")
Language = Literal[tuple(code for code, _ in settings.LANGUAGES)]  # type: ignore[valid-type]
Source = Literal[tuple(LeadSource.values)]  # type: ignore[valid-type]
FIELDS_HELP = (
    "The form's fields in order. `key` is a lead field (first_name, last_name, email, phone, company_name, title, "
    "country, notes) or `custom:<key>` of a custom lead field; each at most once; email or phone must be among "
    "them. An empty `label` takes the field's own."
)
DOMAINS_HELP = (
    "Your sites' host names (subdomains count too): where the form may be embedded and redirect to. Stored "
    "lower-case, international names in punycode."
)


class FormField(Schema):
    key: text(120, min_length=1)
    label: text(service.FIELD_LABEL_MAX) = ""
    required: Flag = False


class WebFormOut(Schema):
    id: int
    name: str
    public_key: str = Field(description="Names the form in its public addresses.")
    language: str
    title: str
    intro: str
    fields: list[FormField]
    consent_text: str
    consent_required: bool
    submit_label: str
    thank_you_message: str
    redirect_url: str
    allowed_domains: list[str] = Field(description=DOMAINS_HELP)
    source: str
    min_fill_seconds: int
    per_ip_per_hour: int
    per_form_per_minute: int
    is_active: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


class WebFormPage(Schema):
    items: list[WebFormOut]
    next_cursor: str | None


class WebFormCreateIn(Input):
    name: text(service.NAME_MAX, min_length=1)
    language: Language = "en"
    title: text(service.TITLE_MAX) = ""
    intro: text(service.TEXT_MAX) = ""
    fields: list[FormField] = Field(..., max_length=service.FIELDS_MAX, description=FIELDS_HELP)
    consent_text: text(service.TEXT_MAX) = Field("", description="Stored exactly as sent.")
    consent_required: Flag = False
    submit_label: text(service.SUBMIT_LABEL_MAX) = ""
    thank_you_message: text(service.TEXT_MAX) = ""
    redirect_url: text(500) = Field("", description="http(s), to a host among `allowed_domains`.")
    allowed_domains: list[text(300)] = Field([], max_length=service.DOMAINS_MAX, description=DOMAINS_HELP)
    source: Source = LeadSource.WEB_FORM
    min_fill_seconds: int = Field(3, ge=0, le=120, strict=True)
    per_ip_per_hour: int = Field(20, ge=1, le=service.PER_IP_PER_HOUR_RANGE[1], strict=True)
    per_form_per_minute: int = Field(600, ge=1, le=service.PER_FORM_PER_MINUTE_RANGE[1], strict=True)
    is_active: Flag = True


class WebFormUpdateIn(Input):
    """Only the fields sent change."""

    name: text(service.NAME_MAX, min_length=1) = unset()
    language: Language = unset()
    title: text(service.TITLE_MAX) = unset()
    intro: text(service.TEXT_MAX) = unset()
    fields: list[FormField] = unset(FIELDS_HELP, max_length=service.FIELDS_MAX)
    consent_text: text(service.TEXT_MAX) = unset()
    consent_required: Flag = unset()
    submit_label: text(service.SUBMIT_LABEL_MAX) = unset()
    thank_you_message: text(service.TEXT_MAX) = unset()
    redirect_url: text(500) = unset()
    allowed_domains: list[text(300)] = unset(DOMAINS_HELP, max_length=service.DOMAINS_MAX)
    source: Source = unset()
    min_fill_seconds: int = unset(ge=0, le=120, strict=True)
    per_ip_per_hour: int = unset(ge=1, le=service.PER_IP_PER_HOUR_RANGE[1], strict=True)
    per_form_per_minute: int = unset(ge=1, le=service.PER_FORM_PER_MINUTE_RANGE[1], strict=True)
    is_active: Flag = unset()


class SubmissionOut(Schema):
    id: int
    received_at: UtcDatetime
    channel: Literal[tuple(Channel.values)]  # type: ignore[valid-type]
    outcome: Literal[tuple(Outcome.values)]  # type: ignore[valid-type]
    lead_id: int | None
    contact_id: int | None
    data: dict[str, Any] = Field(description="The fields as sent, by key.")
    consent_given: bool
    consent_text: str = Field(description="The consent text the visitor saw, as it was then.")
    utm: dict[str, Any]
    referrer: str
    landing_page: str
    source: str
    owner_id: int | None
    team_id: int | None
    agency_id: int | None
    first_touch_at: UtcDatetime | None
    response_seconds: int | None


class SubmissionPage(Schema):
    items: list[SubmissionOut]
    next_cursor: str | None


@router.get(
    "",
    response=WebFormPage,
    operation_id="web_form_list",
    summary="List web forms",
    description="Admins and managers; oldest first.",
)
def list_web_forms(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit):
    page = paginate(web_form_queryset(membership=request.auth), order="id", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _payload(payload: Input, *, partial: bool) -> dict[str, Any]:
    return payload.model_dump(exclude_unset=partial)


@router.post(
    "",
    response={201: WebFormOut},
    operation_id="web_form_create",
    summary="Create a web form",
    description="Admins only (managers 403).",
)
def create_web_form(request: HttpRequest, payload: WebFormCreateIn):
    form = service.web_form_create(membership=_writer(request), data=_payload(payload, partial=False))
    return Status(201, form)


@router.get(
    "/{int:id}",
    response=WebFormOut,
    operation_id="web_form_get",
    summary="Get a web form",
    description="Admins and managers.",
)
def get_web_form(request: HttpRequest, id: int = FormId):
    return web_form_get(membership=request.auth, form_id=id)


@router.patch(
    "/{int:id}",
    response=WebFormOut,
    operation_id="web_form_update",
    summary="Change a web form",
    description="Admins only. Only the fields sent change; the whole form must still be valid.",
)
def update_web_form(request: HttpRequest, payload: WebFormUpdateIn, id: int = FormId):
    return service.web_form_update(membership=request.auth, form_id=id, data=_payload(payload, partial=True))


@router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="web_form_delete",
    summary="Delete a web form",
    description="Admins only. Its submissions (and the leads they made) stay, with no form.",
)
def delete_web_form(request: HttpRequest, id: int = FormId):
    service.web_form_delete(membership=request.auth, form_id=id)
    return Status(204, None)


@router.get(
    "/{int:id}/submissions",
    response=SubmissionPage,
    operation_id="web_form_submission_list",
    summary="List a web form's submissions",
    description="Admins and managers; newest first.",
)
def list_web_form_submissions(request: HttpRequest, id: int = FormId, cursor: str | None = Cursor, limit: int = Limit):
    form = web_form_get(membership=request.auth, form_id=id)
    submissions = web_form_submissions(membership=request.auth, form=form)
    page = paginate(submissions, order="-received_at", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _writer(request: HttpRequest):
    """Who creates: admins; managers are refused (403), everyone else answers as if forms did not exist."""
    web_form_queryset(membership=request.auth)  # NotFound for those who may not see forms
    return request.auth
