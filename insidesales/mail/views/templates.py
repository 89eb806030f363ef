"""The email template pages: list, new, edit (English and Russian side by side) with a live preview against
a lead the user can see, and delete with a confirmation. Thin: read the form, call a service or selector."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.models import Lead
from insidesales.crm.selectors import record_get
from insidesales.mail.models import LANGUAGES, EmailTemplate
from insidesales.mail.rendering import (
    SAMPLE_CONTEXT,
    MergeTemplateError,
    language_for,
    merge_context,
    render_email,
)
from insidesales.mail.selectors import templates as selectors
from insidesales.mail.services import templates as services

LANGUAGE_CODES = [code for code, _label in LANGUAGES]


class TemplateForm(forms.Form):
    """A template's name, sharing, default language and a subject and body per language."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    is_shared = forms.BooleanField(label=gettext_lazy("Share with the organization"), required=False)
    default_language = forms.ChoiceField(
        label=gettext_lazy("Default language"),
        choices=LANGUAGES,
        help_text=gettext_lazy("Leads whose language has no version get this one."),
    )
    subject_en = forms.CharField(label=gettext_lazy("Subject"), max_length=255, required=False)
    body_en = forms.CharField(label=gettext_lazy("Body"), required=False, widget=forms.Textarea(attrs={"rows": 14}))
    subject_ru = forms.CharField(label=gettext_lazy("Subject"), max_length=255, required=False)
    body_ru = forms.CharField(label=gettext_lazy("Body"), required=False, widget=forms.Textarea(attrs={"rows": 14}))

    def variants(self) -> dict[str, dict[str, str]]:
        data = self.cleaned_data
        return {code: {"subject": data[f"subject_{code}"], "body": data[f"body_{code}"]} for code in LANGUAGE_CODES}


def _initial(template: EmailTemplate) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": template.name,
        "is_shared": template.is_shared,
        "default_language": template.default_language,
    }
    for variant in template.variants.all():
        initial[f"subject_{variant.language}"] = variant.subject
        initial[f"body_{variant.language}"] = variant.body
    return initial


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for name, problems in exc.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, str(problem))


# ---- preview -------------------------------------------------------------------------------------------


def _sender(request: HttpRequest) -> Any:
    mailbox = selectors.own_mailboxes(membership=request.membership).select_related("user").first()
    return mailbox or request.user


def preview_for(request: HttpRequest, data: Any) -> dict[str, Any]:
    """What the preview panel shows for the posted editor fields: the chosen lead (if visible), the language
    used, and the rendered subject, HTML and text — or the error."""
    membership = request.membership
    lead = None
    lead_id = (data.get("preview_lead") or "").strip()
    if lead_id:
        try:
            lead = record_get(membership=membership, model=Lead, record_id=lead_id)
        except NotFound:
            lead = None  # out of scope: previewed as if none was chosen, nothing about it is shown
    asked = data.get("preview_language") or "auto"
    language = asked if asked in LANGUAGE_CODES else (language_for(lead) if lead else "en")
    parts = {code: (data.get(f"subject_{code}") or "", data.get(f"body_{code}") or "") for code in LANGUAGE_CODES}
    default = data.get("default_language") if data.get("default_language") in LANGUAGE_CODES else "en"
    used = next(
        (code for code in (language, default, *LANGUAGE_CODES) if parts[code][0].strip() or parts[code][1].strip()),
        None,
    )
    result: dict[str, Any] = {"lead": lead, "language": language, "used_language": used, "asked": asked}
    if used is None:
        result["empty"] = True
        return result
    if lead is not None:
        context = merge_context(organization=membership.organization, lead=lead, sender=_sender(request))
    else:
        context = SAMPLE_CONTEXT
    try:
        result["rendered"] = render_email(subject=parts[used][0], body=parts[used][1], context=context)
    except MergeTemplateError as exc:
        result["error"] = exc.message
    return result


@require_POST
@member_view
def template_preview(request: HttpRequest) -> HttpResponse:
    """The preview panel (htmx), re-rendered as the user types."""
    return render(request, "mail/template_preview.html", {"preview": preview_for(request, request.POST)})


@require_GET
@member_view
def template_preview_leads(request: HttpRequest) -> HttpResponse:
    """The lead picker's options for a search (htmx); the preview listens for the change."""
    leads = selectors.preview_leads(membership=request.membership, search=request.GET.get("q", ""))
    response = render(request, "mail/template_lead_options.html", {"preview_leads": leads, "selected": None})
    response["HX-Trigger-After-Swap"] = "preview-leads-changed"
    return response


# ---- pages ---------------------------------------------------------------------------------------------


@require_GET
@member_view
def template_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    search = request.GET.get("q", "")[:100]
    rows = [
        {
            "template": template,
            "languages": [v.language for v in template.variants.all()],
            "can_edit": selectors.template_can_edit(membership=membership, template=template),
        }
        for template in selectors.template_list(membership=membership, search=search)[:500]
    ]
    return render(request, "mail/template_list.html", {"rows": rows, "search": search})


def _editor(
    request: HttpRequest, form: TemplateForm, template: EmailTemplate | None, *, can_edit: bool = True, status=200
):
    membership = request.membership
    if not can_edit:
        for field in form.fields.values():
            if isinstance(field, forms.CharField):
                field.widget.attrs["readonly"] = True  # still sent with the preview, unlike a disabled field
            else:
                field.disabled = True
    leads = selectors.preview_leads(membership=membership)
    data: Any = form.data if form.is_bound else dict(form.initial)
    if not form.is_bound and leads:
        data["preview_lead"] = str(leads[0].pk)  # preview against a real lead from the start
    context = {
        "form": form,
        "template": template,
        "can_edit": can_edit,
        "preview_leads": leads,
        "selected_lead": str(data.get("preview_lead") or ""),
        "preview_language": data.get("preview_language") or "auto",
        "preview": preview_for(request, data),
        "merge_fields": selectors.merge_field_names(membership=membership),
        "languages": LANGUAGES,
    }
    return render(request, "mail/template_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def template_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        language = getattr(request.user, "language", "en")
        return _editor(request, TemplateForm(initial={"default_language": language}), None)
    form = TemplateForm(request.POST)
    if "preview" not in request.POST and form.is_valid():
        try:
            template = services.email_template_create(
                actor=request.membership,
                name=form.cleaned_data["name"],
                variants=form.variants(),
                default_language=form.cleaned_data["default_language"],
                is_shared=form.cleaned_data["is_shared"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
            return redirect("email_template_edit", template.pk)
    return _editor(request, form, None, status=200 if "preview" in request.POST else 422)


@require_http_methods(["GET", "POST"])
@member_view
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    template = selectors.template_get(membership=membership, template_id=pk)
    can_edit = selectors.template_can_edit(membership=membership, template=template)
    if request.method == "GET":
        return _editor(request, TemplateForm(initial=_initial(template)), template, can_edit=can_edit)
    if "preview" in request.POST:
        return _editor(request, TemplateForm(request.POST), template, can_edit=can_edit)
    form = TemplateForm(request.POST)
    if form.is_valid():
        try:
            services.email_template_update(
                actor=membership,
                template=template,
                name=form.cleaned_data["name"],
                variants=form.variants(),
                default_language=form.cleaned_data["default_language"],
                is_shared=form.cleaned_data["is_shared"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Template saved."))
            return redirect("email_template_edit", template.pk)
    return _editor(request, form, template, can_edit=can_edit, status=422)


@require_http_methods(["GET", "POST"])
@member_view
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    template = selectors.template_get(membership=membership, template_id=pk)
    if request.method == "POST":
        try:
            services.email_template_delete(actor=membership, template=template)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("email_template_edit", template.pk)
        messages.success(request, _("Template “%(name)s” deleted.") % {"name": template.name})
        return redirect("email_template_list")
    if not selectors.template_can_edit(membership=membership, template=template):
        from insidesales.core.errors import PermissionDenied

        raise PermissionDenied(_("Only the template's owner or an admin can delete it."))
    return render(request, "mail/template_delete.html", {"template": template})
