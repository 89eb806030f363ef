"""Writing sequences and steps (`services/sequence_editing.py`): who may, what is checked, positions kept
contiguous when steps are added, moved and deleted, and the audit rows left behind."""
# ruff: noqa: F811 - the `sw` fixture is imported from the world module and named by each test

from __future__ import annotations

import pytest

from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.mail.models import Enrollment, EnrollmentState, SequenceStatus, StopReason
from insidesales.mail.services import sequence_editing as editing
from insidesales.mail.services.sequences import enrollment_create
from insidesales.orgs.models import AuditLog

from .test_sequence_views_world import steps_of, sw  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def test_manager_creates_a_draft_for_their_team_and_it_is_audited(sw):
    sequence = editing.sequence_create(actor=sw.manager, data={"name": "Follow-up", "team_id": sw.team.pk})
    assert sequence.status == SequenceStatus.DRAFT
    assert sequence.owner_id == sw.manager.user_id
    assert AuditLog.objects.filter(action="sequence.create", object_id=sequence.pk).exists()


def test_manager_may_not_write_an_organization_wide_or_another_teams_sequence(sw):
    with pytest.raises(ValidationError) as exc:
        editing.sequence_create(actor=sw.manager, data={"name": "Everyone"})
    assert "team" in exc.value.fields
    with pytest.raises(ValidationError):
        editing.sequence_create(actor=sw.manager, data={"name": "West", "team_id": sw.other_team.pk})
    admin_made = editing.sequence_create(actor=sw.admin, data={"name": "Everyone"})
    with pytest.raises(PermissionDenied):
        editing.sequence_update(actor=sw.manager, sequence=admin_made, data={"name": "Mine now"})


@pytest.mark.parametrize("who", ["rep", "agency_rep", "field_rep"])
def test_reps_do_not_write_sequences(sw, who):
    with pytest.raises(PermissionDenied):
        editing.sequence_create(actor=getattr(sw, who), data={"name": "Mine"})
    sequence = sw.sequence()
    with pytest.raises(PermissionDenied):
        editing.step_add(actor=getattr(sw, who), sequence=sequence, kind="wait", data={"wait_days": 1})


def test_a_name_is_required_and_team_and_agency_exclude_each_other(sw):
    with pytest.raises(ValidationError) as exc:
        editing.sequence_create(actor=sw.admin, data={"name": " ", "team_id": sw.team.pk, "agency_id": sw.agency.pk})
    assert set(exc.value.fields) == {"name", "agency"}


def test_email_step_needs_a_template_or_subject_and_body(sw):
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "S"})
    with pytest.raises(ValidationError) as exc:
        editing.step_add(actor=sw.admin, sequence=sequence, kind="auto_email", data={})
    assert "template" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        editing.step_add(actor=sw.admin, sequence=sequence, kind="auto_email", data={"subject": "Hi"})
    assert "body" in exc.value.fields
    step = editing.step_add(
        actor=sw.admin, sequence=sequence, kind="manual_email", data={"subject": "Hi", "body": "Hello {{ x }}"}
    )
    assert (step.subject, step.position) == ("Hi", 0)


def test_wait_needs_at_least_a_day_and_the_window_must_end_after_it_starts(sw):
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "S"})
    with pytest.raises(ValidationError) as exc:
        editing.step_add(actor=sw.admin, sequence=sequence, kind="wait", data={"wait_days": 0})
    assert "wait_days" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        editing.step_add(
            actor=sw.admin,
            sequence=sequence,
            kind="call",
            data={"window_start": "17:00", "window_end": "09:00"},
        )
    assert "window_end" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        editing.step_add(actor=sw.admin, sequence=sequence, kind="call", data={"window_start": "09:00"})
    assert "window_end" in exc.value.fields
    step = editing.step_add(
        actor=sw.admin, sequence=sequence, kind="call", data={"window_start": "09:00", "window_end": "12:30"}
    )
    assert str(step.window_end) == "12:30:00"
    with pytest.raises(ValidationError):
        editing.step_add(actor=sw.admin, sequence=sequence, kind="task", data={"title": ""})


def test_a_template_of_someone_else_that_is_not_shared_is_refused(sw):
    from insidesales.mail.models import EmailTemplate

    private = EmailTemplate.objects.create(organization=sw.org, name="Mine", owner=sw.rep.user)
    shared = EmailTemplate.objects.create(organization=sw.org, name="Ours", owner=sw.rep.user, is_shared=True)
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "S"})
    with pytest.raises(ValidationError):
        editing.step_add(actor=sw.admin, sequence=sequence, kind="auto_email", data={"template_id": private.pk})
    step = editing.step_add(actor=sw.admin, sequence=sequence, kind="auto_email", data={"template_id": shared.pk})
    assert step.template_id == shared.pk


def test_positions_stay_contiguous_through_insert_move_and_delete(sw):
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "S"})
    a = editing.step_add(actor=sw.admin, sequence=sequence, kind="task", data={"title": "A"})
    b = editing.step_add(actor=sw.admin, sequence=sequence, kind="task", data={"title": "B"})
    c = editing.step_add(actor=sw.admin, sequence=sequence, kind="task", data={"title": "C"})
    first = editing.step_add(actor=sw.admin, sequence=sequence, kind="task", data={"title": "0"}, position=0)
    assert [s.title for s in steps_of(sequence)] == ["0", "A", "B", "C"]
    editing.step_move(actor=sw.admin, step=c, to_position=1)
    assert [s.title for s in steps_of(sequence)] == ["0", "C", "A", "B"]
    editing.step_move(actor=sw.admin, step=first, to_position=3)
    assert [s.title for s in steps_of(sequence)] == ["C", "A", "B", "0"]
    editing.step_delete(actor=sw.admin, step=a)
    assert [(s.title, s.position) for s in steps_of(sequence)] == [("C", 0), ("B", 1), ("0", 2)]
    editing.step_move(actor=sw.admin, step=b, to_position=99)  # past the end: last
    assert [s.title for s in steps_of(sequence)] == ["C", "0", "B"]
    assert AuditLog.objects.filter(action="sequence.step_move").count() == 3


def test_deleting_a_step_keeps_open_enrollments_on_their_next_step(sw):
    sequence = sw.sequence()  # email, wait, call
    lead = sw.lead()
    enrollment = enrollment_create(actor=sw.rep, sequence=sequence, lead=lead)
    Enrollment.objects.filter(pk=enrollment.pk).update(position=2)  # the call is next
    email, wait, call = steps_of(sequence)
    editing.step_delete(actor=sw.manager, step=wait)
    enrollment.refresh_from_db()
    assert steps_of(sequence)[enrollment.position].pk == call.pk


def test_activate_needs_a_step_that_does_something(sw):
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "S"})
    with pytest.raises(Conflict):
        editing.sequence_activate(actor=sw.admin, sequence=sequence)
    editing.step_add(actor=sw.admin, sequence=sequence, kind="wait", data={"wait_days": 1})
    with pytest.raises(Conflict):
        editing.sequence_activate(actor=sw.admin, sequence=sequence)
    editing.step_add(actor=sw.admin, sequence=sequence, kind="task", data={"title": "Research"})
    assert editing.sequence_activate(actor=sw.admin, sequence=sequence).status == SequenceStatus.ACTIVE


def test_archiving_stops_open_enrollments_by_hand(sw):
    sequence = sw.sequence()
    enrollment = enrollment_create(actor=sw.rep, sequence=sequence, lead=sw.lead())
    editing.sequence_archive(actor=sw.manager, sequence=sequence)
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.STOPPED, StopReason.MANUAL)
    assert AuditLog.objects.filter(action="sequence.status", object_id=sequence.pk).exists()


def test_pause_then_set_status_verbs(sw):
    sequence = sw.sequence()
    editing.sequence_set_status(actor=sw.manager, sequence=sequence, status="paused")
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.PAUSED
    with pytest.raises(Conflict):
        editing.sequence_pause(actor=sw.manager, sequence=sequence)
    with pytest.raises(ValidationError):
        editing.sequence_set_status(actor=sw.manager, sequence=sequence, status="draft")


def test_broken_merge_syntax_is_refused_when_the_step_is_written(sw):
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "S"})
    with pytest.raises(ValidationError) as exc:
        editing.step_add(
            actor=sw.admin,
            sequence=sequence,
            kind="auto_email",
            data={"subject": "Hi", "body": "Hello {{ lead.first_name"},
        )
    assert "body" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        editing.step_add(
            actor=sw.admin, sequence=sequence, kind="auto_email", data={"subject": "Hi {% if %}", "body": "Hello"}
        )
    assert "subject" in exc.value.fields
