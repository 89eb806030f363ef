"""The sequence engine end to end: steps run by the mailer, emails handed to a real SMTP server on loopback,
threading, waits, unsubscribe headers, stops on reply / bounce / unsubscribe, pauses on out-of-office."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from insidesales.crm.models import Activity, ActivityKind, LeadStatus, Task
from insidesales.mail import engine, outbox, schedule
from insidesales.mail.models import (
    Direction,
    EmailMessage,
    Enrollment,
    EnrollmentState,
    InboundKind,
    MessageStatus,
    StepKind,
    StepRun,
    StopReason,
    Suppression,
    SuppressionReason,
)
from insidesales.mail.services.sequences import enrollment_create, enrollments_create, enrollments_react_to_inbound
from insidesales.mail.services.suppression import suppression_add
from insidesales.mail.tests.conftest import email_step, wait_step
from insidesales.mail.worker import Mailer

pytestmark = pytest.mark.django_db


def run(now: dt.datetime | None = None) -> None:
    """One engine pass at `now`, its emails handed over, then one pass over the rest of the queue."""
    steps = engine.run_due_steps(now=now)
    pool = outbox.SessionPool()
    try:
        outbox.send_claimed(pool=pool, token=steps.send_token, messages=steps.to_send)
        outbox.send_pass(pool=pool, now=now)
    finally:
        pool.close()


def _three_step(mw):
    return mw.sequence(
        email_step("Hello {{ lead.first_name | default('there') }}", "Hi {{ lead.first_name }}, shall we talk?"),
        wait_step(2),
        email_step("", "Just following up.", reply_in_thread=True),
    )


def test_first_email_goes_now_the_second_after_the_wait_as_a_reply_in_the_same_thread(mw):
    sequence = _three_step(mw)
    lead = mw.lead(first_name="Анна", email="Anna@Example.org")
    enrollment = enrollment_create(actor=mw.rep, sequence=sequence, lead=lead)
    assert enrollment.email == "anna@example.org" and enrollment.mailbox == mw.mailbox

    Mailer().run_once()
    [first] = mw.sink.parsed()
    assert first["Subject"] == "Hello Анна"
    assert first["To"] == "anna@example.org"
    assert first["From"].addresses[0].display_name == "Rita Rep"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["List-Unsubscribe"].startswith("<http") and "/unsubscribe/" in first["List-Unsubscribe"]
    text = first.get_body(("plain",)).get_content()
    assert "Hi Анна, shall we talk?" in text and "1 Main St, Springfield" in text and "/unsubscribe/" in text
    enrollment.refresh_from_db()
    assert enrollment.position == 2 and enrollment.state == EnrollmentState.ACTIVE
    assert enrollment.next_run_at - timezone.now() > dt.timedelta(days=1, hours=23)
    sent = EmailMessage.objects.get(enrollment=enrollment)
    assert sent.status == MessageStatus.SENT and f"<{sent.message_id}>" == first["Message-ID"]
    assert Activity.objects.filter(lead=lead, kind=ActivityKind.EMAIL, data__email_id=sent.pk).count() == 1

    run()  # nothing due yet
    assert len(mw.sink.received) == 1

    run(now=timezone.now() + dt.timedelta(days=2, minutes=1))
    second = mw.sink.parsed()[1]
    assert second["Subject"] == "Re: Hello Анна"
    assert second["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in second["References"]
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.FINISHED
    assert StepRun.objects.filter(enrollment=enrollment).count() == 3


def test_a_reply_stops_the_sequence_and_nothing_more_is_sent(mw):
    sequence = _three_step(mw)
    enrollment = enrollment_create(actor=mw.rep, sequence=sequence, lead=mw.lead(email="bob@example.org"))
    run()
    sent = EmailMessage.objects.get(enrollment=enrollment)
    reply = EmailMessage.objects.create(
        organization=mw.org,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        message_id="reply-1@example.org",
        in_reply_to=sent.message_id,
        thread_root=sent.thread_root,
        from_address="someone.else@example.org",  # replying from another address still counts: same thread
        subject="Re: hello",
    )
    enrollments_react_to_inbound(message=reply)
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.STOPPED, StopReason.REPLIED)
    run(now=timezone.now() + dt.timedelta(days=3))
    assert len(mw.sink.received) == 1


def test_an_out_of_office_reply_pauses_and_the_sequence_goes_on_three_days_later(mw):
    sequence = _three_step(mw)
    enrollment = enrollment_create(actor=mw.rep, sequence=sequence, lead=mw.lead(email="ooo@example.org"))
    run()
    auto = EmailMessage.objects.create(
        organization=mw.org,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        kind=InboundKind.AUTO_REPLY,
        message_id="ooo-1@example.org",
        thread_root="ooo-1@example.org",
        from_address="OOO@example.org",
        subject="Автоответ: Hello",
    )
    enrollments_react_to_inbound(message=auto)
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.PAUSED, StopReason.OUT_OF_OFFICE)
    run(now=timezone.now() + dt.timedelta(days=2, minutes=1))
    assert len(mw.sink.received) == 1  # still paused although the wait is over
    run(now=timezone.now() + dt.timedelta(days=3, minutes=1))
    assert len(mw.sink.received) == 2
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.FINISHED


def test_a_hard_bounce_stops_every_sequence_of_the_address(mw):
    first, second = _three_step(mw), _three_step(mw)
    second.allow_parallel = True
    second.save()
    lead = mw.lead(email="gone@example.org")
    enrollment_create(actor=mw.rep, sequence=first, lead=lead)
    enrollment_create(actor=mw.rep, sequence=second, lead=lead)
    bounce = EmailMessage.objects.create(
        organization=mw.org,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        kind=InboundKind.BOUNCE,
        message_id="dsn-1@mx.example.org",
        thread_root="dsn-1@mx.example.org",
        from_address="mailer-daemon@mx.example.org",
        bounce={
            "recipient": "gone@example.org",
            "action": "failed",
            "status": "5.1.1",
            "verified_hard": ["gone@example.org"],
        },
    )
    enrollments_react_to_inbound(message=bounce)
    states = set(Enrollment.objects.values_list("state", "stop_reason"))
    assert states == {(EnrollmentState.STOPPED, StopReason.BOUNCED)}


def test_a_soft_bounce_stops_nothing(mw):
    enrollment = enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=mw.lead(email="full@example.org"))
    bounce = EmailMessage.objects.create(
        organization=mw.org,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        kind=InboundKind.BOUNCE,
        message_id="dsn-2@mx.example.org",
        thread_root="dsn-2@mx.example.org",
        from_address="mailer-daemon@mx.example.org",
        bounce={"recipient": "full@example.org", "action": "delayed", "status": "4.2.2", "verified_hard": []},
    )
    enrollments_react_to_inbound(message=bounce)
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.ACTIVE


def test_one_click_unsubscribe_suppresses_the_address_and_stops_its_sequences(mw):
    enrollment = enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=mw.lead(email="no@example.org"))
    run()
    [message] = mw.sink.parsed()
    path = urlsplit(message["List-Unsubscribe"].strip("<>")).path
    client = Client()
    page = client.get(path)  # link scanners fetch links: a GET only asks
    assert page.status_code == 200 and "no@example.org" in page.content.decode()
    assert not Suppression.objects.exists()
    answer = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    entry = Suppression.objects.get()
    assert (entry.email, entry.reason) == ("no@example.org", SuppressionReason.UNSUBSCRIBED)
    enrollment.refresh_from_db()
    assert enrollment.stop_reason == StopReason.UNSUBSCRIBED
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200  # again: still fine
    assert Suppression.objects.count() == 1
    assert client.get(path[:-5] + "xxxx/").status_code == 404  # a damaged token


def test_suppressed_or_closed_leads_are_not_enrolled_and_counted_by_reason(mw):
    sequence = _three_step(mw)
    suppression_add(organization_id=mw.org.pk, email="stop@example.org", reason=SuppressionReason.MANUAL)
    ok = mw.lead(email="ok@example.org")
    no_email = mw.lead()
    stopped = mw.lead(email="STOP@example.org")
    converted = mw.lead(email="won@example.org")
    converted.status = LeadStatus.CONVERTED
    converted.save()
    result = enrollments_create(actor=mw.rep, sequence=sequence, leads=[ok, no_email, stopped, converted])
    assert [e.lead_id for e in result.enrolled] == [ok.pk]
    assert dict(result.skipped) == {"no_address": 1, "suppressed": 1, "closed": 1}
    again = enrollments_create(actor=mw.rep, sequence=sequence, leads=[ok])
    assert dict(again.skipped) == {"already": 1}
    other = enrollments_create(actor=mw.rep, sequence=_three_step(mw), leads=[ok])
    assert dict(other.skipped) == {"other_sequence": 1}


def test_an_address_suppressed_after_queueing_is_not_sent(mw):
    enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=mw.lead(email="late@example.org"))
    steps = engine.run_due_steps()
    assert EmailMessage.objects.get().status == MessageStatus.SENDING  # written claimed for sending
    suppression_add(organization_id=mw.org.pk, email="late@example.org", reason=SuppressionReason.COMPLAINT)
    pool = outbox.SessionPool()
    outbox.send_claimed(pool=pool, token=steps.send_token, messages=steps.to_send)
    pool.close()
    assert mw.sink.received == []
    assert EmailMessage.objects.get().status == MessageStatus.CANCELLED


def test_sending_waits_for_the_recipients_sending_hours_in_their_zone(mw):
    rules = mw.org.mail_settings
    rules.sending_start, rules.sending_end, rules.sending_weekdays = dt.time(9), dt.time(17), [0, 1, 2, 3, 4]
    rules.save()
    lead = mw.lead(email="tokyo@example.org")
    lead.time_zone = "Asia/Tokyo"
    lead.save()
    enrollment = enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=lead)
    # Friday 20:00 in Tokyo (11:00 UTC): the next window opens on Monday 09:00 Tokyo time.
    friday_evening = dt.datetime(2026, 12, 4, 11, 0, tzinfo=dt.UTC)
    enrollment.next_run_at = friday_evening
    enrollment.save()
    engine.run_due_steps(now=friday_evening)
    enrollment.refresh_from_db()
    assert enrollment.position == 0
    assert enrollment.next_run_at == dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)


def test_business_day_waits_skip_the_weekend():
    zone = schedule.zone_of("Europe/Moscow")
    friday = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    assert schedule.add_days(friday, zone, 1, business=True) == dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    assert schedule.add_days(friday, zone, 1, business=False) == dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


def test_a_manual_step_makes_a_task_and_the_sequence_waits_until_it_is_done(mw):
    sequence = mw.sequence(
        {"kind": StepKind.MANUAL_EMAIL, "subject": "Personal note", "body": "Dear {{ lead.first_name }}, ..."},
        email_step("Next", "Automatic follow-up"),
    )
    lead = mw.lead(first_name="Мария", email="manual@example.org")
    enrollment = enrollment_create(actor=mw.rep, sequence=sequence, lead=lead)
    run()
    task = Task.objects.get(assignee=mw.rep.user)
    assert "Personal note" in task.title and task.lead_id == lead.pk
    assert "Dear Мария, ..." in task.notes and "manual@example.org" in task.notes  # the draft, filled in
    run(now=timezone.now() + dt.timedelta(days=5))
    assert mw.sink.received == []  # waits for the rep
    from insidesales.crm.services.activities import task_complete

    task_complete(membership=mw.rep, task_id=task.pk)
    run()
    assert len(mw.sink.received) == 1
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.FINISHED


def test_a_call_step_puts_a_callback_in_the_reps_call_queue(mw):
    from insidesales.calls.models import Callback

    sequence = mw.sequence({"kind": StepKind.CALL, "title": "Call about the trial"}, email_step("After the call", "Hi"))
    lead = mw.lead(email="call@example.org", phone="+14155550123")
    enrollment_create(actor=mw.rep, sequence=sequence, lead=lead)
    run()
    callback = Callback.objects.get(lead=lead)
    assert callback.assignee_id == mw.rep.user_id and callback.is_personal
    assert StepRun.objects.get(callback=callback).outcome == "callback"


def test_a_server_refusing_for_now_gets_the_message_again_later_exactly_once(mw):
    refusals = []

    def answer(data: bytes) -> str | None:
        if not refusals:
            refusals.append(data)
            return "451 4.3.0 Try again later"
        return None

    mw.sink.answer = answer
    enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=mw.lead(email="retry@example.org"))
    run()
    message = EmailMessage.objects.get()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1 and "451" in message.error
    run()
    assert mw.sink.received == []  # backing off
    run(now=timezone.now() + dt.timedelta(minutes=2))
    assert len(mw.sink.received) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_permanent_refusal_fails_the_message_and_stops_the_enrollment(mw):
    mw.sink.answer = lambda data: "554 5.7.1 Rejected"
    enrollment = enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=mw.lead(email="rej@example.org"))
    run()
    assert EmailMessage.objects.get().status == MessageStatus.FAILED
    enrollment.refresh_from_db()
    assert enrollment.stop_reason == StopReason.SEND_FAILED


def test_a_connection_closed_by_the_server_while_idle_is_reopened(mw):
    pool = outbox.SessionPool()
    sequence = mw.sequence(email_step("One", "Body"))
    enrollment_create(actor=mw.rep, sequence=sequence, lead=mw.lead(email="a@example.org"))
    steps = engine.run_due_steps()
    outbox.send_claimed(pool=pool, token=steps.send_token, messages=steps.to_send)
    session = pool.get(mw.mailbox)
    session.client.sock.close()  # as if the server had timed the idle connection out
    enrollment_create(actor=mw.rep, sequence=sequence, lead=mw.lead(email="b@example.org"))
    steps = engine.run_due_steps()
    outbox.send_claimed(pool=pool, token=steps.send_token, messages=steps.to_send)
    pool.close()
    assert sorted(m["To"] for m in mw.sink.parsed()) == ["a@example.org", "b@example.org"]


def test_emails_a_dead_worker_claimed_but_never_handed_over_go_out_after_the_claim_expires(mw, settings):
    enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=mw.lead(email="orphan@example.org"))
    engine.run_due_steps()  # claimed for sending; the worker "dies" before handing it over
    run()
    assert mw.sink.received == []
    run(now=timezone.now() + dt.timedelta(seconds=settings.MAIL_CLAIM_SECONDS + 1))
    assert len(mw.sink.received) == 1
    assert EmailMessage.objects.get().status == MessageStatus.SENT


def test_daily_cap_per_mailbox_holds_the_rest_for_later(mw):
    rules = mw.org.mail_settings
    rules.daily_cap_per_mailbox = 2
    rules.save()
    sequence = mw.sequence(email_step("Capped", "Body"))
    enrollments_create(actor=mw.rep, sequence=sequence, leads=[mw.lead(email=f"cap{i}@example.org") for i in range(5)])
    run()
    run()
    assert len(mw.sink.received) == 2
    assert EmailMessage.objects.filter(status=MessageStatus.QUEUED).count() == 3


def test_two_workers_never_run_the_same_step(mw):
    sequence = mw.sequence(email_step("Once", "Body"))
    enrollments_create(
        actor=mw.rep, sequence=sequence, leads=[mw.lead(email=f"once{i}@example.org") for i in range(20)]
    )
    now = timezone.now()
    token_a, claimed_a = engine.claim_due(now=now, limit=100)
    token_b, claimed_b = engine.claim_due(now=now, limit=100)
    assert len(claimed_a) == 20 and claimed_b == []
    # A worker whose claim expired while it was slow: the other takes over, the late one writes nothing.
    later = now + dt.timedelta(seconds=3600)
    engine.run_due_steps(now=later)
    stale = engine._Batch(list(Enrollment.objects.filter(pk__in=claimed_a)), now)
    result = engine.PassResult()
    for enrollment in stale.enrollments:
        enrollment.position = 0
        engine._advance(stale, enrollment, result)
    engine._commit(stale, token_a, result)
    assert StepRun.objects.count() == 20 and EmailMessage.objects.count() == 20


def test_a_reassigned_lead_takes_its_emails_and_sequence_to_the_new_owner(mw):
    from insidesales.crm.services.leads import lead_assign
    from insidesales.mail.models import Mailbox, Security
    from insidesales.mail.selectors.messages import message_list

    lead = mw.lead(email="moving@example.org")
    enrollment = enrollment_create(actor=mw.rep, sequence=_three_step(mw), lead=lead)
    run()
    sent = EmailMessage.objects.get(enrollment=enrollment)
    new_box = Mailbox.objects.create(
        organization=mw.org,
        user=mw.other_rep.user,
        email="other@mailers.test",
        smtp_host="127.0.0.1",
        smtp_port=mw.mailbox.smtp_port,
        smtp_security=Security.NONE,
    )
    lead_assign(membership=mw.admin, lead_id=lead.pk, owner_id=mw.other_rep.user_id)
    enrollment.refresh_from_db()
    sent.refresh_from_db()
    assert (enrollment.owner_id, enrollment.mailbox_id) == (mw.other_rep.user_id, new_box.pk)
    assert sent.owner_id == mw.other_rep.user_id
    assert list(message_list(membership=mw.other_rep)) == [sent]
    assert list(message_list(membership=mw.rep)) == []
    run(now=timezone.now() + dt.timedelta(days=2, minutes=1))
    follow_up = mw.sink.parsed()[1]
    assert follow_up["From"].addresses[0].addr_spec == "other@mailers.test"


def test_a_pass_makes_the_same_queries_for_5_or_30_enrollments(mw):
    """Everything a batch reads is read in bulk: no query per lead, email or step (deferred fields included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int, tag: str) -> int:
        sequence = mw.sequence(email_step("Hi {{ lead.first_name }} at {{ lead.company }}", "{{ owner.full_name }}"))
        leads = [mw.lead(first_name=f"N{i}", company_name="Acme", email=f"{tag}{i}@example.org") for i in range(count)]
        enrollments_create(actor=mw.rep, sequence=sequence, leads=leads)
        with CaptureQueriesContext(connection) as captured:
            steps = engine.run_due_steps()
        assert len(steps.to_send) == count
        return len(captured)

    assert queries_for(5, "five") == queries_for(30, "thirty")
