"""The compose page: a one-off email from a lead, a contact or a company (to one of its people), sent now or
scheduled in the user's time zone; a template fills the subject and body (filled in for the record, still
editable); and cancelling a scheduled email. Thin: read the form, call `services.compose`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.core.http import member_view
from insidesales.crm.models import Company, Contact, Lead
from insidesales.crm.selectors import record_get
from insidesales.mail.rendering import MergeTemplateError, language_for, merge_context, render_part
from insidesales.mail.rendering import template_variant_for as variant_for
from insidesales.mail.selectors import templates as selectors
from insidesales.mail.selectors.messages import sent_message_get
from insidesales.mail.services.compose import email_cancel, email_send
from insidesales.mail.services.suppression import AddressSuppressed

RECORD_MODELS: dict[str, type] = {"lead": Lead, "contact": Contact, "company": Company}
JINJA_OPENERS = ("{{", "{%", "{#")


class ComposeForm(forms.Form):
    """From (the user's mailboxes), to, template, subject, body and an optional time to send at."""

    mailbox = forms.ChoiceField(label=gettext_lazy("From"))
    to = forms.CharField(label=gettext_lazy("To"), max_length=254)
    template = forms.ChoiceField(label=gettext_lazy("Template"), required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=998)
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 14}))
    send_at = forms.DateTimeField(
        label=gettext_lazy("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, mailboxes: list, templates: list, recipients: list | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].choices = [
            (str(m.pk), f"{m.display_name} <{m.email}>" if m.display_name else m.email) for m in mailboxes
        ]
        self.fields["template"].choices = [("", _("— none —"))] + [(str(t.pk), t.name) for t in templates]
        if recipients is not None:  # a company: one of its people's addresses
            self.fields["to"] = forms.ChoiceField(
                label=gettext_lazy("To"),
                choices=[(c.email, f"{c} <{c.email}>") for c in recipients],
            )


def _record(request: HttpRequest, data: Any) -> tuple[str, Any]:
    for kind, model in RECORD_MODELS.items():
        if data.get(kind):
            return kind, record_get(membership=request.membership, model=model, record_id=data[kind])
    raise NotFound()


def _detail_url(kind: str, record: Any) -> str:
    return reverse(f"{kind}_detail", args=[record.pk])


def _literal(value: Any) -> Any:
    """A merge value made to come out unchanged if the text is rendered again at send time."""
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, str) and any(opener in value for opener in JINJA_OPENERS):
        return value.replace("{", "{{ '{' }}")
    return value


def _parts(kind: str, record: Any, recipients: list, to: str) -> dict[str, Any]:
    """The records the email is about: for a company, the contact whose address was chosen too."""
    parts: dict[str, Any] = {"lead": None, "contact": None, "company": None, kind: record}
    if kind == "company":
        parts["contact"] = next((c for c in recipients if c.email.lower() == (to or "").lower()), None)
    return parts


def _page(request: HttpRequest, form: ComposeForm, kind: str, record: Any, **extra: Any) -> HttpResponse:
    status = extra.pop("status", 200)
    context = {
        "form": form,
        "kind": kind,
        "record": record,
        "record_url": _detail_url(kind, record),
        "has_mailboxes": bool(form.fields["mailbox"].choices),
        "time_zone": timezone.get_current_timezone_name(),
        **extra,
    }
    return render(request, "mail/compose.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_view
def compose(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    kind, record = _record(request, request.GET if request.method == "GET" else request.POST)
    mailboxes = list(selectors.own_mailboxes(membership=membership).select_related("user"))
    templates = list(selectors.template_list(membership=membership))
    recipients = selectors.company_recipients(membership=membership, company=record) if kind == "company" else None
    options = {"mailboxes": mailboxes, "templates": templates, "recipients": recipients}
    if request.method == "GET":
        initial = {"to": getattr(record, "email", "") if kind != "company" else ""}
        if mailboxes:
            initial["mailbox"] = str(mailboxes[0].pk)
        return _page(request, ComposeForm(initial=initial, **options), kind, record)
    form = ComposeForm(request.POST, **options)
    scheduling = request.POST.get("action") == "schedule"
    suppressed = ""
    if form.is_valid():
        data = form.cleaned_data
        if scheduling and not data.get("send_at"):
            form.add_error("send_at", _("Choose when to send it."))
        else:
            mailbox = next(m for m in mailboxes if str(m.pk) == data["mailbox"])
            template = next((t for t in templates if str(t.pk) == data.get("template")), None)
            try:
                message = email_send(
                    actor=membership,
                    mailbox=mailbox,
                    to=data["to"],
                    subject=data["subject"],
                    body=data["body"],
                    template=template,
                    send_at=data["send_at"] if scheduling else None,
                    **_parts(kind, record, recipients or [], data["to"]),
                )
            except AddressSuppressed as exc:
                suppressed = exc.message
                form.add_error("to", exc.message)
            except ValidationError as exc:
                for name, problems in exc.fields.items():
                    for problem in problems:
                        form.add_error(name if name in form.fields else None, str(problem))
            else:
                if message.status == "scheduled":
                    when = formats.date_format(timezone.localtime(message.scheduled_at), "SHORT_DATETIME_FORMAT")
                    text = _("Email to %(to)s scheduled for %(when)s.") % {"to": data["to"], "when": when}
                    messages.success(request, text)
                else:
                    messages.success(request, _("Email to %(to)s queued: it is sent in a moment.") % {"to": data["to"]})
                return redirect(_detail_url(kind, record))
    return _page(request, form, kind, record, suppressed=suppressed, status=409 if suppressed else 422)


@require_GET
@member_view
def compose_fill(request: HttpRequest) -> HttpResponse:
    """The subject and body filled from a template for this record (htmx), in the record's language."""
    membership = request.membership
    kind, record = _record(request, request.GET)
    subject, body, error = request.GET.get("subject", ""), request.GET.get("body", ""), ""
    template_id = request.GET.get("template")
    if template_id:
        template = selectors.template_get(membership=membership, template_id=template_id)
        recipients = selectors.company_recipients(membership=membership, company=record) if kind == "company" else []
        parts = _parts(kind, record, recipients, request.GET.get("to", ""))
        person = parts["lead"] or parts["contact"] or parts["company"]
        variant = variant_for(template, language_for(person))
        if variant is not None:
            mailbox = next(
                (m for m in selectors.own_mailboxes(membership=membership) if str(m.pk) == request.GET.get("mailbox")),
                None,
            )
            sender = mailbox or request.user
            context = _literal(merge_context(organization=membership.organization, sender=sender, **parts))
            try:
                subject = render_part(variant.subject, context, field="subject")
                body = render_part(variant.body, context, field="body")
            except MergeTemplateError as exc:
                subject, body, error = variant.subject, variant.body, exc.message
    form = ComposeForm(initial={"subject": subject, "body": body}, mailboxes=[], templates=[])
    return render(request, "mail/compose_fields.html", {"form": form, "fill_error": error})


@require_POST
@member_view
def compose_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a scheduled email, then go back where the button was (or to the record)."""
    membership = request.membership
    message = sent_message_get(membership=membership, message_id=pk)
    try:
        email_cancel(actor=membership, message=message)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The scheduled email is cancelled."))
    target = request.POST.get("next", "")
    hosts = {request.get_host()}
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts=hosts, require_https=request.is_secure())
    if not safe:
        target = ""
    if not target:
        for kind in ("lead", "contact", "company"):
            if getattr(message, f"{kind}_id"):
                return redirect(reverse(f"{kind}_detail", args=[getattr(message, f"{kind}_id")]))
        target = reverse("home")
    return redirect(target)
