"""Web UI for the application shell: sign-in, home, global search, personal settings, API keys,
and the admins' audit log and agencies pages. Thin: parse input, call a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.core.pagination import paginate
from insidesales.core.phones import format_phone
from insidesales.crm import selectors as crm_selectors
from insidesales.orgs import selectors, services
from insidesales.orgs.forms import ApiKeyCreateForm, AuditFilterForm, EmailLoginForm, PreferencesForm, client_ip

# URL path segment of each record type's pages, e.g. /leads/12/.
RECORD_PATHS = {"lead": "leads", "contact": "contacts", "company": "companies", "deal": "deals"}


def record_url(record_type: str, record_id: Any) -> str:
    return f"/{RECORD_PATHS[record_type]}/{record_id}/"


def set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def admin_membership(request: HttpRequest):
    """The admin's membership; everyone else gets a 404, as if the page did not exist."""
    if not request.membership.is_admin:
        raise Http404()
    return request.membership


# --- sign-in ---------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Email sign-in with throttling; the user's saved language applies from the first page."""

    form_class = EmailLoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if user.language:
            set_language_cookie(response, user.language)
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have signed out."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        if not services.password_reset_allowed(email=form.cleaned_data["email"], ip=client_ip(self.request)):
            form.add_error(None, _("Too many password reset requests. Please try again later."))
            return self.form_invalid(form)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been changed."))
        return response


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The EN/RU switch: remembers the choice on the user as well as in Django's language cookie."""
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES) and language != user.language:
        services.user_update_preferences(user=user, language=language)
    return set_language(request)


# --- home and search -------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.membership is None and request.user.is_staff:
        return redirect("admin:index")  # a platform superuser with no organization
    return _home(request)


@member_view
def _home(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    now, today = timezone.now(), timezone.localdate()
    tasks = []
    for task in crm_selectors.tasks_today(membership=membership):
        record, record_type = _task_record(task)
        tasks.append(
            {
                "task": task,
                "record": record,
                "record_url": record_url(record_type, record.pk) if record is not None else "",
                "overdue": task.due_at is not None and task.due_at < now,
                "due_earlier_day": task.due_at is not None and timezone.localdate(task.due_at) < today,
            }
        )
    counts = crm_selectors.home_counts(membership=membership)
    return render(request, "orgs/home.html", {"tasks": tasks, "counts": counts})


def _task_record(task) -> tuple[Any, str]:
    for record_type in ("lead", "contact", "company", "deal"):
        if getattr(task, f"{record_type}_id"):
            return getattr(task, record_type), record_type
    return None, ""


# (key in global_search's answer, record type, group heading, heading of the name column)
SEARCH_GROUPS = (
    ("leads", "lead", gettext_lazy("Leads"), pgettext_lazy("name of a person", "Name")),
    ("contacts", "contact", gettext_lazy("Contacts"), pgettext_lazy("name of a person", "Name")),
    ("companies", "company", gettext_lazy("Companies"), pgettext_lazy("name of a thing", "Name")),
    ("deals", "deal", gettext_lazy("Deals"), pgettext_lazy("name of a thing", "Name")),
)


@member_view
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    groups = []
    if query:
        region = request.membership.organization.default_region
        found = crm_selectors.global_search(membership=request.membership, text=query)
        for key, record_type, label, name_label in SEARCH_GROUPS:
            rows = [_search_row(record_type, record, region) for record in found.get(key, [])]
            if rows:
                groups.append({"label": label, "name_label": name_label, "rows": rows})
    total = sum(len(group["rows"]) for group in groups)
    context = {"search_query": query, "groups": groups, "total": total}
    return render(request, "orgs/search.html", context)


def _search_row(record_type: str, record: Any, region: str) -> dict[str, Any]:
    """What one search hit shows: title, a second line, phone in a readable form, and status."""
    row: dict[str, Any] = {"url": record_url(record_type, record.pk), "title": str(record), "details": []}
    phone = getattr(record, "phone", "")
    row["phone"] = format_phone(phone, region) if phone else ""
    row["email"] = getattr(record, "email", "")
    if record_type == "lead":
        row["details"] = [record.company_name]
        row["status"], row["status_label"] = record.status, record.get_status_display()
    elif record_type == "contact":
        row["details"] = [record.title, record.company.name if record.company else ""]
    elif record_type == "company":
        row["details"] = [record.domain, record.city]
    elif record_type == "deal":
        row["details"] = [record.company.name if record.company else ""]
        row["status"], row["status_label"] = record.stage.kind, str(record.stage)
    row["details"] = [detail for detail in row["details"] if detail]
    row["owner"] = record.owner
    return row


# --- personal settings -----------------------------------------------------------------------


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = PreferencesForm(request.POST or None, initial={"language": user.language, "time_zone": user.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update_preferences(
                user=user, language=form.cleaned_data["language"], time_zone=form.cleaned_data["time_zone"]
            )
        except ValidationError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            # The confirmation is written in the language just chosen, which applies from this response on.
            translation.activate(user.language)
            messages.success(request, _("Your settings have been saved."))
            response = redirect("settings")
            set_language_cookie(response, user.language)
            return response
    return render(request, "orgs/settings.html", {"form": form})


@member_view
def api_keys(request: HttpRequest) -> HttpResponse:
    """List my keys; a POST creates one and shows its secret in this response only."""
    membership = request.membership
    form = ApiKeyCreateForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = services.api_key_create(membership=membership, name=form.cleaned_data["name"])
        except ValidationError as exc:
            for error in exc.fields.get("name", [exc.message]):
                form.add_error("name", error)
        else:
            context.update(new_key=key, new_secret=secret, form=ApiKeyCreateForm())
    context["keys"] = selectors.api_key_list(membership=membership)
    response = render(request, "orgs/api_keys.html", context)
    if "new_secret" in context:
        # The secret must not linger in any cache; the page is the only place it is ever shown.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@member_view
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = services.api_key_revoke(membership=request.membership, key_id=key_id)
    messages.success(request, _("The key “%(name)s” has been revoked.") % {"name": key.name})
    return redirect("api_keys")


# --- admins: audit log and agencies ----------------------------------------------------------


@member_view
def audit_log(request: HttpRequest) -> HttpResponse:
    membership = admin_membership(request)
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    queryset = selectors.audit_log_list(
        membership=membership,
        action=(filters.get("action") or "").strip(),
        object_type=(filters.get("object_type") or "").strip().lower(),
    )
    cursor = request.GET.get("cursor") or None
    try:
        page = paginate(queryset, order="-created_at", cursor=cursor, limit=50)
    except ValidationError:
        messages.warning(request, _("That page link is no longer valid; showing the newest entries."))
        cursor, page = None, paginate(queryset, order="-created_at", cursor=None, limit=50)
    entries = [
        {"entry": entry, "changes": _change_rows(entry.changes), "url": _audit_url(entry)} for entry in page.items
    ]
    params = request.GET.copy()
    params.pop("cursor", None)
    next_url = ""
    if page.next_cursor:
        params["cursor"] = page.next_cursor
        next_url = "?" + params.urlencode()
    params.pop("cursor", None)
    first_url = "?" + params.urlencode() if cursor else ""
    context = {"form": form, "entries": entries, "next_url": next_url, "first_url": first_url}
    return render(request, "orgs/audit_log.html", context)


def _change_rows(changes: Any) -> list[dict[str, Any]]:
    """`{"field": [before, after]}` as rows; anything else is shown as an after-value."""
    if not isinstance(changes, dict):
        return []
    rows = []
    for field, value in changes.items():
        if isinstance(value, (list, tuple)) and len(value) == 2:
            rows.append({"field": field, "before": value[0], "after": value[1]})
        else:
            rows.append({"field": field, "before": None, "after": value})
    return rows


def _audit_url(entry) -> str:
    if entry.object_type in RECORD_PATHS and entry.object_id and not entry.action.endswith(".delete"):
        return record_url(entry.object_type, entry.object_id)
    return ""


@member_view
def agency_list(request: HttpRequest) -> HttpResponse:
    membership = admin_membership(request)
    agencies = selectors.agency_list_with_member_counts(membership=membership)
    return render(request, "orgs/agencies.html", {"agencies": agencies})


@require_POST
@member_view
def agency_set_active(request: HttpRequest, agency_id: int) -> HttpResponse:
    membership = admin_membership(request)
    is_active = request.POST.get("is_active") == "1"
    agency = services.agency_set_active(actor_membership=membership, agency_id=agency_id, is_active=is_active)
    if agency.is_active:
        messages.success(request, _("Agency “%(name)s” is switched on.") % {"name": agency.name})
    else:
        messages.success(
            request, _("Agency “%(name)s” is switched off; its users are signed out.") % {"name": agency.name}
        )
    return redirect(reverse("agency_list"))
