"""The mailbox pages under settings/mailboxes/: a user's own mailboxes (add, edit, remove, test the connection);
admins also see the organization's list, without any password. Thin: read the form, call one service or
selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.mail.selectors.mailboxes import mailbox_get, mailbox_list
from insidesales.mail.services import mailboxes as services
from insidesales.mail.views.mailbox_forms import MailboxForm, add_service_errors

EDITABLE = (
    "email",
    "display_name",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_folder",
    "is_active",
)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # pages with credential fields are never cached
    return response


@require_http_methods(["GET"])
@member_view
def mailbox_list_page(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    own = [{"mailbox": m, **services.mailbox_secrets_set(m)} for m in mailbox_list(membership=membership)]
    everyone = None
    if membership.is_admin:
        everyone = list(mailbox_list(membership=membership, everyone=True))
    context = {"tab": "mailboxes", "own": own, "everyone": everyone}
    return render(request, "mail/mailbox_list.html", context)


def _form_page(request: HttpRequest, form: MailboxForm, mailbox=None, results=None, status: int = 200):
    context = {"tab": "mailboxes", "form": form, "mailbox": mailbox, "results": results}
    return _no_store(render(request, "mail/mailbox_form.html", context, status=status))


@require_http_methods(["GET", "POST"])
@member_view
def mailbox_add(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial = {"email": request.user.email, "display_name": request.user.full_name, "is_active": True}
        return _form_page(request, MailboxForm(initial=initial))
    form = MailboxForm(request.POST)
    if form.is_valid():
        try:
            mailbox = services.mailbox_create(actor=request.membership, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Mailbox %(email)s added. Test its connection below.") % {"email": mailbox.email}
            )
            return redirect("mailbox_edit", pk=mailbox.pk)
    _password_again(form)
    return _form_page(request, form, status=422)


def _password_again(form: MailboxForm) -> None:
    for name in ("smtp_password", "imap_password"):  # typed passwords are never sent back to the browser
        if form.data.get(name) and not form.has_error(name):
            form.add_error(name, _("Not saved yet: type it again."))


@require_http_methods(["GET", "POST"])
@member_view
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = mailbox_get(membership=request.membership, mailbox_id=pk)
    has = services.mailbox_secrets_set(mailbox)
    flags = {"has_smtp_password": has["smtp_password"], "has_imap_password": has["imap_password"]}
    if request.method == "GET":
        initial = {name: getattr(mailbox, name) for name in EDITABLE}
        return _form_page(request, MailboxForm(initial=initial, **flags), mailbox)
    form = MailboxForm(request.POST, **flags)
    if form.is_valid():
        try:
            services.mailbox_update(
                actor=request.membership, mailbox_id=mailbox.pk, data=form.service_data(), clear=form.cleared()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Mailbox saved."))
            return redirect("mailbox_edit", pk=mailbox.pk)
    _password_again(form)
    return _form_page(request, form, mailbox, status=422)


@require_POST
@member_view
def mailbox_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the connection checks of a saved mailbox and show each result."""
    mailbox = mailbox_get(membership=request.membership, mailbox_id=pk)
    results = services.mailbox_test(actor=request.membership, mailbox_id=mailbox.pk)
    if request.htmx:
        context = {"mailbox": mailbox, "results": results}
        return _no_store(render(request, "mail/mailbox_form.html#test_results", context))
    initial = {name: getattr(mailbox, name) for name in EDITABLE}
    has = services.mailbox_secrets_set(mailbox)
    form = MailboxForm(initial=initial, has_smtp_password=has["smtp_password"], has_imap_password=has["imap_password"])
    return _form_page(request, form, mailbox, results)


@require_http_methods(["GET", "POST"])
@member_view
def mailbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST removes the mailbox."""
    mailbox = mailbox_get(membership=request.membership, mailbox_id=pk)
    if request.method == "GET":
        return render(request, "mail/mailbox_confirm_delete.html", {"tab": "mailboxes", "mailbox": mailbox})
    services.mailbox_delete(actor=request.membership, mailbox_id=mailbox.pk)
    messages.success(request, _("Mailbox %(email)s removed.") % {"email": mailbox.email})
    return redirect("mailbox_list")
