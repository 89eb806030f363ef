"""The sequence report (`selectors/sequences.py`): numbers on a constructed scenario of runs, sent emails, replies
and bounces; only the enrollments the reader sees are counted; a bounded number of queries."""
# ruff: noqa: F811 - the `sw` fixture is imported from the world module and named by each test

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insidesales.mail.models import Enrollment, EnrollmentState, InboundKind, StopReason
from insidesales.mail.selectors.sequences import sequence_report, sequence_summaries
from insidesales.mail.services import sequence_editing as editing
from insidesales.mail.services.sequences import enrollment_create

from .test_sequence_views_world import received, run, sent_email, steps_of, sw  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
T0 = timezone.now() - dt.timedelta(days=3)


def _stop(enrollment, reason):
    Enrollment.objects.filter(pk=enrollment.pk).update(state=EnrollmentState.STOPPED, stop_reason=reason)


@pytest.fixture
def scenario(sw):
    sequence = sw.sequence()  # auto email, wait 2 days, call task
    email, wait, call = steps_of(sequence)
    enroll = lambda by, owner: enrollment_create(actor=by, sequence=sequence, lead=sw.lead(by=owner))  # noqa: E731
    direct, threaded, bounced, quiet, paused = (enroll(sw.rep, sw.rep) for _ in range(5))
    teammate = enroll(sw.other_rep, sw.other_rep)
    # Replied by In-Reply-To, and by a later message in the thread.
    received(direct, in_reply_to=sent_email(direct, email, at=T0).message_id, at=T0 + dt.timedelta(hours=1))
    _stop(direct, StopReason.REPLIED)
    first = sent_email(threaded, email, at=T0)
    received(threaded, thread_root=first.thread_root, at=T0 + dt.timedelta(hours=2))
    _stop(threaded, StopReason.REPLIED)
    # A hard bounce.
    received(bounced, in_reply_to=sent_email(bounced, email, at=T0).message_id, kind=InboundKind.BOUNCE)
    _stop(bounced, StopReason.BOUNCED)
    # Went through the email and the wait; the call task is on the rep's list. An out-of-office before the
    # email is no answer to it.
    received(quiet, thread_root="unrelated@x", at=T0 - dt.timedelta(days=1))
    sent_email(quiet, email, at=T0)
    run(quiet, wait, "waited")
    run(quiet, call, "task")
    # Paused; a queued email (not sent yet) is not counted as sent.
    sent_email(paused, email, at=T0, status="queued")
    Enrollment.objects.filter(pk=paused.pk).update(state=EnrollmentState.PAUSED)
    # The teammate's lead: replied, then a meeting was booked.
    received(teammate, in_reply_to=sent_email(teammate, email, at=T0).message_id, at=T0 + dt.timedelta(hours=3))
    _stop(teammate, StopReason.MEETING)
    return sequence


def test_report_counts_states_reasons_and_per_step_numbers(sw, scenario):
    report = sequence_report(membership=sw.admin, sequence=scenario)
    assert (report["enrolled"], report["active"], report["paused"], report["stopped"]) == (6, 1, 1, 4)
    assert report["stopped_by_reason"] == {"replied": 2, "bounced": 1, "meeting": 1}
    assert (report["replied"], report["bounced"], report["meetings"]) == (2, 1, 1)
    assert report["replied_pct"] == round(100 * 2 / 6, 1)
    email, wait, call = report["steps"]
    assert email["kind"] == "auto_email"
    # Six sent runs (the queued email's run too: the worker records the run when it queues or sends).
    assert email["runs"]["sent"] == 6
    assert (email["emails_sent"], email["replies"], email["bounces"]) == (5, 3, 1)
    assert email["reply_rate"] == 60.0
    assert wait["runs"]["waited"] == 1 and wait["emails_sent"] == 0
    assert call["runs"]["task"] == 1 and call["runs_total"] == 1


def test_rep_sees_the_numbers_of_their_own_enrollments_only(sw, scenario):
    report = sequence_report(membership=sw.rep, sequence=scenario)
    assert report["enrolled"] == 5
    assert report["meetings"] == 0
    assert report["steps"][0]["emails_sent"] == 4
    assert report["steps"][0]["replies"] == 2
    outsider = sequence_report(membership=sw.outsider_rep, sequence=scenario)
    assert outsider["enrolled"] == 0 and outsider["steps"][0]["runs_total"] == 0


def test_a_reply_after_the_next_email_counts_for_the_next_step(sw):
    sequence = editing.sequence_create(actor=sw.admin, data={"name": "Two emails"})
    for subject in ("First", "Second"):
        editing.step_add(
            actor=sw.admin, sequence=sequence, kind="auto_email", data={"subject": subject, "body": "Hello"}
        )
    editing.sequence_activate(actor=sw.admin, sequence=sequence)
    first_step, second_step = steps_of(sequence)
    enrollment = enrollment_create(actor=sw.rep, sequence=sequence, lead=sw.lead())
    first = sent_email(enrollment, first_step, at=T0)
    sent_email(enrollment, second_step, at=T0 + dt.timedelta(days=1))
    received(enrollment, thread_root=first.thread_root, at=T0 + dt.timedelta(days=2))
    steps = sequence_report(membership=sw.admin, sequence=sequence)["steps"]
    assert [(s["emails_sent"], s["replies"]) for s in steps] == [(1, 0), (1, 1)]


def test_report_is_a_handful_of_queries_whatever_the_size(sw, scenario):
    sequence_report(membership=sw.manager, sequence=scenario)  # the manager's teams, looked up once
    with CaptureQueriesContext(connection) as few:
        sequence_report(membership=sw.manager, sequence=scenario)
    for _ in range(10):
        enrollment = enrollment_create(actor=sw.rep, sequence=scenario, lead=sw.lead())
        sent_email(enrollment, steps_of(scenario)[0], at=T0)
    with CaptureQueriesContext(connection) as more:
        sequence_report(membership=sw.manager, sequence=scenario)
    assert len(more) == len(few) <= 6


def test_list_summaries_count_active_and_replied(sw, scenario):
    summary = sequence_summaries(membership=sw.admin, sequences=[scenario])[scenario.pk]
    assert summary == {"enrolled": 6, "active": 1, "replied": 2, "replied_pct": round(100 * 2 / 6, 1)}
