"""The tasks pages: my open tasks with overdue ones highlighted, a manager's view of a member, create/edit/complete."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm.models import Task

pytestmark = pytest.mark.django_db


def task(membership, title: str, hours: float, **extra) -> Task:
    return f.TaskFactory(
        organization=membership.organization,
        assignee=membership.user,
        title=title,
        due_at=timezone.now() + dt.timedelta(hours=hours),
        **extra,
    )


def test_my_open_tasks_with_overdue_highlighted(ui, ui_login):
    late = task(ui.rep, "Late one", -2)
    task(ui.rep, "Future one", 5)
    task(ui.rep, "Finished", -1, completed_at=timezone.now())
    task(ui.other_rep, "Not mine", 1)
    body = ui_login(ui.rep).get("/tasks/").content.decode()
    assert "Late one" in body and "Future one" in body
    assert "Finished" not in body and "Not mine" not in body
    assert f'<tr id="task-{late.pk}" class="crm-overdue">' in body
    assert body.index("Late one") < body.index("Future one")


def test_manager_can_switch_to_a_team_member_but_a_rep_cannot(ui, ui_login):
    task(ui.rep, "Rep task", 3)
    task(ui.manager, "Manager task", 3)
    manager = ui_login(ui.manager)
    assert "Manager task" in manager.get("/tasks/").content.decode()
    body = manager.get(f"/tasks/?assignee={ui.rep.user_id}").content.decode()
    assert "Rep task" in body and "Manager task" not in body
    rep_view = ui_login(ui.other_rep).get(f"/tasks/?assignee={ui.rep.user_id}").content.decode()
    assert "Rep task" not in rep_view


def test_create_and_edit_a_task(ui, ui_login):
    client = ui_login(ui.rep)
    bad = client.post("/tasks/new/", {"title": "", "due_at": "2030-01-01T09:00"})
    assert bad.status_code == 200 and "title" in bad.context["form"].errors
    assert 'value="2030-01-01T09:00"' in bad.content.decode()
    response = client.post("/tasks/new/", {"title": "Prepare demo", "due_at": "2030-01-01T09:00"})
    assert response.status_code == 302
    created = Task.objects.get(title="Prepare demo")
    assert created.assignee_id == ui.rep.user_id

    form = client.get(f"/tasks/{created.pk}/edit/").content.decode()
    assert 'value="Prepare demo"' in form
    client.post(f"/tasks/{created.pk}/edit/", {"title": "Prepare the demo", "due_at": "2030-01-02T09:00"})
    created.refresh_from_db()
    assert created.title == "Prepare the demo" and created.due_at.date() == dt.date(2030, 1, 2)


def test_due_time_is_read_in_the_users_time_zone(ui, ui_login):
    ui.rep.user.time_zone = "Europe/Moscow"
    ui.rep.user.save()
    ui_login(ui.rep).post("/tasks/new/", {"title": "Zoned", "due_at": "2030-01-01T12:00"})
    assert Task.objects.get().due_at == dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)


def test_complete_through_htmx_swaps_the_row(ui, ui_login):
    open_task = task(ui.rep, "Finish me", 1)
    client = ui_login(ui.rep)
    response = client.post(
        f"/tasks/{open_task.pk}/complete/",
        {"show_record": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"task-{open_task.pk}",
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.strip().startswith(f'<tr id="task-{open_task.pk}" class="crm-done">')
    open_task.refresh_from_db()
    assert open_task.completed_at is not None
    plain = client.post(f"/tasks/{open_task.pk}/complete/", {"done": "0", "next": "/tasks/"})
    assert plain.status_code == 302 and plain["Location"] == "/tasks/"
    open_task.refresh_from_db()
    assert open_task.completed_at is None


def test_someone_elses_task_is_404(ui, ui_login):
    other = task(ui.other_rep, "Private", 1)
    client = ui_login(ui.rep)
    assert client.get(f"/tasks/{other.pk}/edit/").status_code == 404
    assert client.post(f"/tasks/{other.pk}/complete/").status_code == 404
    other.refresh_from_db()
    assert other.completed_at is None


def test_task_without_due_date_is_listed_apart(client, django_user_model):
    from insidesales.crm import services
    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add, organization_create

    org = organization_create(name="Undated", slug="undated")
    rep = member_add(actor=None, organization=org, email="undated@example.com", role=Role.INSIDE_REP, password="x" * 12)
    services.task_create(membership=rep, title="Call back someday")
    client.force_login(rep.user)
    response = client.get("/tasks/")
    assert response.status_code == 200
    assert "Call back someday" in response.content.decode()
    assert "No due date" in response.content.decode()
