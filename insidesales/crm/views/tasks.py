"""Tasks: my open tasks (managers may look at a team member's), create, edit, complete."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.crm import selectors, services
from insidesales.crm.forms import TaskForm, add_service_errors
from insidesales.crm.views.detail import task_users, wants_partial
from insidesales.crm.views.records import safe_next


@require_GET
@member_view
def task_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    users = task_users(membership)
    assignee_id = membership.user_id
    raw = request.GET.get("assignee", "")
    if users and raw.isdigit() and int(raw) in {u.pk for u in users}:
        assignee_id = int(raw)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.task_list(membership=membership, assignee_id=assignee_id, cursor=cursor)
    except ValidationError:
        cursor = None
        page = selectors.task_list(membership=membership, assignee_id=assignee_id)
    query = f"assignee={assignee_id}&" if assignee_id != membership.user_id else ""
    context = {
        "page": page,
        "undated": [] if cursor else selectors.task_list_undated(membership=membership, assignee_id=assignee_id),
        "now": timezone.now(),
        "users": users,
        "assignee_id": assignee_id,
        "next_query": f"{query}cursor={page.next_cursor}" if page.next_cursor else "",
        "first_query": query if cursor else None,
        "show_record": True,
        "return_to": request.get_full_path(),
    }
    return render(request, "crm/task_list.html", context)


def _task_form_page(request: HttpRequest, form: TaskForm, task: Any = None) -> HttpResponse:
    action = reverse("task_edit", args=[task.pk]) if task else reverse("task_create")
    return render(request, "crm/task_form.html", {"form": form, "task": task, "action": action})


@require_http_methods(["GET", "POST"])
@member_view
def task_create(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    users = task_users(membership)
    if request.method == "POST":
        form = TaskForm(request.POST, membership=membership, users=users)
        if form.is_valid():
            try:
                services.task_create(membership=membership, **form.to_service_data())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Task added."))
                return redirect("task_list")
    else:
        form = TaskForm(membership=membership, users=users)
    return _task_form_page(request, form)


@require_http_methods(["GET", "POST"])
@member_view
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    task = services.task_get(membership=membership, task_id=pk)
    users = task_users(membership)
    if request.method == "POST":
        form = TaskForm(request.POST, membership=membership, users=users)
        if form.is_valid():
            try:
                services.task_update(membership=membership, task_id=task.pk, **form.to_service_data())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Task saved."))
                return redirect(safe_next(request, reverse("task_list")))
    else:
        initial = {
            "title": task.title,
            "notes": task.notes,
            "due_at": task.due_at,
            "remind_at": task.remind_at,
            "assignee": str(task.assignee_id),
        }
        form = TaskForm(membership=membership, users=users, initial=initial)
    return _task_form_page(request, form, task)


@require_POST
@member_view
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark done (or reopen with done=0); htmx swaps the task's row, a plain form goes back."""
    membership = request.membership
    task = services.task_complete(membership=membership, task_id=pk, done=request.POST.get("done", "1") != "0")
    if wants_partial(request, f"task-{task.pk}"):
        context = {"task": task, "now": timezone.now(), "show_record": request.POST.get("show_record") == "1"}
        return render(request, "crm/task_list.html#task_row", context)
    messages.success(request, _("Task completed.") if task.completed_at else _("Task reopened."))
    return redirect(safe_next(request, reverse("task_list")))
