"""Tasks: who may assign to whom, completion on the record's timeline, and reminders sent exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from insidesales.core.errors import ValidationError
from insidesales.core.testing.world import db_state
from insidesales.crm import services
from insidesales.crm.models import Activity, ActivityKind, Lead, Task
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def test_rep_creates_a_task_on_a_record_which_shows_on_its_timeline(world):
    due = timezone.now() + dt.timedelta(days=1)
    task = services.task_create(
        membership=world.rep1, title=" Call back ", due_at=due, record_type=Lead, record_id=world.lead_rep1.pk
    )
    assert (task.title, task.assignee, task.created_by, task.lead) == (
        "Call back",
        world.rep1.user,
        world.rep1.user,
        world.lead_rep1,
    )
    entry = Activity.objects.get(lead=world.lead_rep1, kind=ActivityKind.TASK)
    assert entry.data["task_id"] == task.pk and entry.data["event"] == "created"
    assert AuditLog.objects.filter(action="task.create", object_id=task.pk).exists()


@pytest.mark.parametrize(
    ("member", "assignee", "allowed"),
    [
        ("rep1", "rep1", True),
        ("rep1", "rep2", False),
        ("rep1", "manager", False),
        ("manager", "rep1", True),
        ("manager", "rep2", False),
        ("admin", "rep2", True),
        ("admin", "admin_b", False),
        ("agency_x_rep", "rep1", False),
    ],
)
def test_who_may_assign_tasks_to_whom(world, member, assignee, allowed):
    call = lambda: services.task_create(  # noqa: E731
        membership=world.members[member], title="Follow up", assignee_id=world.members[assignee].user_id
    )
    if allowed:
        assert call().assignee == world.members[assignee].user
    else:
        before = db_state()
        with pytest.raises(ValidationError) as exc:
            call()
        assert "assignee" in exc.value.fields
        assert db_state() == before


def test_task_needs_a_title_and_a_reminder_before_the_due_time(world):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.task_create(membership=world.rep1, title="  ")
    assert "title" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        services.task_create(membership=world.rep1, title="X", due_at=now, remind_at=now + dt.timedelta(hours=1))
    assert "remind_at" in exc.value.fields
    assert not Task.objects.filter(title="X").exists()


def test_completing_logs_on_the_record_and_reopening_clears(world):
    task = world.task_rep1
    services.task_complete(membership=world.rep1, task_id=task.pk)
    task.refresh_from_db()
    assert task.completed_at is not None
    assert Activity.objects.filter(lead=world.lead_rep1, kind=ActivityKind.TASK, data__event="completed").count() == 1
    services.task_complete(membership=world.rep1, task_id=task.pk, done=False)
    task.refresh_from_db()
    assert task.completed_at is None
    assert list(AuditLog.objects.filter(object_type="task", object_id=task.pk).values_list("action", flat=True)) == [
        "task.complete",
        "task.reopen",
    ]


def test_update_audits_before_and_after_and_delete_removes(world):
    task = world.task_rep1
    services.task_update(membership=world.rep1, task_id=task.pk, title="Call again")
    audit = AuditLog.objects.get(action="task.update", object_id=task.pk)
    assert audit.changes["title"] == ["Call Rep1", "Call again"]
    with pytest.raises(ValidationError):
        services.task_update(membership=world.rep1, task_id=task.pk, title="")
    services.task_delete(membership=world.rep1, task_id=task.pk)
    assert not Task.objects.filter(pk=task.pk).exists()
    assert AuditLog.objects.get(action="task.delete", object_id=task.pk).changes == {"title": ["Call again", None]}


def test_manager_works_on_team_tasks(world):
    services.task_complete(membership=world.manager, task_id=world.task_rep1.pk)
    world.task_rep1.refresh_from_db()
    assert world.task_rep1.completed_at is not None


def test_a_reminder_is_enqueued_after_commit(world, django_capture_on_commit_callbacks):
    remind = timezone.now() + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        task = services.task_create(membership=world.rep1, title="Remind me", remind_at=remind)
    assert len(callbacks) == 1
    queued = DBTaskResult.objects.get(task_path__endswith="send_task_reminder")
    assert queued.args_kwargs["args"] == [task.pk]
    assert queued.run_after == remind


def test_no_reminder_is_enqueued_without_a_reminder_time(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.task_create(membership=world.rep1, title="No reminder")
    assert callbacks == []


def test_due_reminders_are_sent_once(world, mailoutbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = timezone.now()
    due = services.task_create(
        membership=world.rep1, title="Call Ivan", due_at=now + dt.timedelta(hours=1), remind_at=now
    )
    services.task_create(membership=world.rep1, title="Later", remind_at=now + dt.timedelta(hours=1))
    done = services.task_create(membership=world.rep2, title="Done already", remind_at=now - dt.timedelta(minutes=5))
    services.task_complete(membership=world.rep2, task_id=done.pk)

    assert services.task_send_due_reminders(now=now + dt.timedelta(seconds=1)) == 1
    assert services.task_send_due_reminders(now=now + dt.timedelta(seconds=2)) == 0
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [world.rep1.user.email]
    assert "Call Ivan" in message.subject
    due.refresh_from_db()
    assert due.reminded_at is not None

    # Moving the reminder arms it again.
    services.task_update(membership=world.rep1, task_id=due.pk, remind_at=now + dt.timedelta(minutes=30))
    assert services.task_send_due_reminders(now=now + dt.timedelta(minutes=10)) == 0
    assert services.task_send_due_reminders(now=now + dt.timedelta(minutes=31)) == 1
    assert len(mailoutbox) == 2


def test_the_single_task_reminder_is_idempotent(world, mailoutbox):
    from insidesales.crm.services.activities import task_send_reminder

    now = timezone.now()
    task = services.task_create(membership=world.rep1, title="Once", remind_at=now)
    assert task_send_reminder(task_id=task.pk, now=now) is True
    assert task_send_reminder(task_id=task.pk, now=now) is False
    assert task_send_reminder(task_id=987654, now=now) is False
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("member", ["admin", "manager", "rep1"])
@pytest.mark.parametrize("assignee_id", ["abc", 10**30, -1])
def test_malformed_assignee_is_a_validation_error(world, member, assignee_id):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        services.task_create(membership=world.members[member], title="X", assignee_id=assignee_id)
    assert "assignee" in exc.value.fields
    assert db_state() == before


def test_update_keeps_the_reminder_before_the_due_time(world):
    now = timezone.now()
    task = services.task_create(membership=world.rep1, title="X", due_at=now + dt.timedelta(hours=1))
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        services.task_update(membership=world.rep1, task_id=task.pk, remind_at=now + dt.timedelta(hours=2))
    assert "remind_at" in exc.value.fields
    with pytest.raises(ValidationError):
        services.task_update(membership=world.rep1, task_id=task.pk, due_at=now - dt.timedelta(days=1), remind_at=now)
    assert db_state() == before
