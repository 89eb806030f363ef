"""`/email-templates`: templates with merge fields, a subject and body per language — list, create, read,
change, delete, and preview one against a lead. A member sees their own and the shared templates (admins all);
only the owner or an admin changes one (`insidesales.mail.services.templates`)."""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from insidesales.api.routers.calls import Cursor, Limit, problem_doc
from insidesales.api.schemas import MAX_ID, Id, Input, UserRef, UtcDatetime, text, unset, user_ref
from insidesales.core.pagination import paginate
from insidesales.crm.models import Lead
from insidesales.crm.selectors import record_get
from insidesales.mail.models import LANGUAGES
from insidesales.mail.rendering import language_for, merge_context, render_email, template_variant_for
from insidesales.mail.selectors import templates as selectors
from insidesales.mail.services import templates as services

router = Router(tags=["email-templates"])
TemplateId = Path(..., ge=1, le=MAX_ID, description="The template's id.")
Language = Literal[tuple(code for code, _label in LANGUAGES)]  # type: ignore[valid-type]


class VariantOut(Schema):
    language: str
    subject: str
    body: str


class EmailTemplateOut(Schema):
    id: int
    name: str
    owner: UserRef
    is_shared: bool
    default_language: str
    variants: list[VariantOut] = Field(description="One subject and body per language.")
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.owner)

    @staticmethod
    def resolve_variants(obj: Any) -> list[Any]:
        return list(obj.variants.all())


class EmailTemplatePage(Schema):
    items: list[EmailTemplateOut]
    next_cursor: str | None


class VariantIn(Input):
    language: Language
    subject: text(255) = ""
    body: text(100_000) = ""


class EmailTemplateIn(Input):
    name: text(150, min_length=1)
    is_shared: bool = False
    default_language: Language = "en"
    variants: list[VariantIn] = Field(min_length=1, max_length=len(LANGUAGES))


class EmailTemplatePatch(Input):
    name: text(150, min_length=1) = unset()
    is_shared: bool = unset()
    default_language: Language = unset()
    variants: list[VariantIn] = unset("Replaces every language: one left out is removed.", max_length=len(LANGUAGES))


class PreviewIn(Input):
    lead_id: Id = Field(description="A lead you can see.")
    language: Language | None = Field(None, description="The lead's language when omitted.")


class PreviewOut(Schema):
    language: str = Field(description="The language of the variant used.")
    subject: str
    text: str
    html: str


def _variants(items: list[VariantIn]) -> dict[str, dict[str, str]]:
    return {item.language: {"subject": item.subject, "body": item.body} for item in items}


def _reload(request: HttpRequest, template_id: int):
    return selectors.template_get(membership=request.auth, template_id=template_id)


@router.get(
    "",
    response=EmailTemplatePage,
    operation_id="email_template_list",
    summary="List email templates",
    description="Your templates and the shared ones (admins: all of the organization's), by name.",
)
def list_templates(
    request: HttpRequest,
    search: str = Query("", max_length=100, pattern=r"^[^\x00]*$"),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    page = paginate(
        selectors.template_list(membership=request.auth, search=search), order="name", cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "",
    response={201: EmailTemplateOut},
    operation_id="email_template_create",
    summary="Create an email template",
    description="Subjects and bodies are checked (syntax, filters, allowed tags) on save: a mistake answers 422 "
    "with the field (`subject_en`, `body_ru`...) and the line.",
)
def create_template(request: HttpRequest, payload: EmailTemplateIn):
    template = services.email_template_create(
        actor=request.auth,
        name=payload.name,
        variants=_variants(payload.variants),
        default_language=payload.default_language,
        is_shared=payload.is_shared,
    )
    return Status(201, _reload(request, template.pk))


@router.get(
    "/{int:id}",
    response=EmailTemplateOut,
    operation_id="email_template_get",
    summary="Read an email template",
    openapi_extra={"responses": problem_doc(404, "No such template, or another member's personal one.")},
)
def get_template(request: HttpRequest, id: int = TemplateId):
    return _reload(request, id)


@router.patch(
    "/{int:id}",
    response=EmailTemplateOut,
    operation_id="email_template_update",
    summary="Change an email template",
    description="Only the owner or an admin (403 for others who see a shared template).",
)
def update_template(request: HttpRequest, payload: EmailTemplatePatch, id: int = TemplateId):
    template = _reload(request, id)
    sent = payload.model_fields_set
    services.email_template_update(
        actor=request.auth,
        template=template,
        name=payload.name if "name" in sent else None,
        variants=_variants(payload.variants) if "variants" in sent and payload.variants is not None else None,
        default_language=payload.default_language if "default_language" in sent else None,
        is_shared=payload.is_shared if "is_shared" in sent else None,
    )
    return _reload(request, id)


@router.delete(
    "/{int:id}",
    response={204: None},
    operation_id="email_template_delete",
    summary="Delete an email template",
    description="Only the owner or an admin; 409 while a sequence step uses it.",
)
def delete_template(request: HttpRequest, id: int = TemplateId):
    services.email_template_delete(actor=request.auth, template=_reload(request, id))
    return Status(204, None)


@router.post(
    "/{int:id}/preview",
    response=PreviewOut,
    operation_id="email_template_preview",
    summary="Preview an email template for a lead",
    description="The subject, text and HTML the lead would get (merge fields filled in). A lead you cannot see "
    "answers 404.",
)
def preview_template(request: HttpRequest, payload: PreviewIn, id: int = TemplateId):
    membership = request.auth
    template = _reload(request, id)
    lead = record_get(membership=membership, model=Lead, record_id=payload.lead_id)
    variant = template_variant_for(template, payload.language or language_for(lead))
    sender = selectors.own_mailboxes(membership=membership).select_related("user").first()
    context = merge_context(organization=membership.organization, lead=lead, sender=sender or membership.user)
    rendered = render_email(subject=variant.subject, body=variant.body, context=context)
    return {"language": variant.language, "subject": rendered.subject, "text": rendered.text, "html": rendered.html}
