"""Storing received mail: threading, matching to leads and contacts, idempotency, attachments, bounces,
timeline entries and what the sequences are told."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from insidesales.crm.models import Activity, ActivityKind, Lead
from insidesales.mail.models import (
    EmailAttachment,
    EmailMessage,
    Enrollment,
    EnrollmentState,
    Mailbox,
    MailSettings,
    Sequence,
    StopReason,
    Suppression,
)
from insidesales.mail.services.ingest import attachment_path, message_ingest

MESSAGES = Path(__file__).parent / "messages"
pytestmark = pytest.mark.django_db


def load(name: str) -> bytes:
    return (MESSAGES / name).read_bytes()


def mailbox_of(membership, email: str = "anna.rep@acme.test") -> Mailbox:
    return Mailbox.objects.create(
        organization=membership.organization, user=membership.user, email=email, smtp_host="127.0.0.1"
    )


def sent(record, message_id: str, to: str, **extra) -> EmailMessage:
    """An email we sent to `record` (as the mailer would have stored it)."""
    is_lead = isinstance(record, Lead)
    return EmailMessage.objects.create(
        organization=record.organization,
        direction="out",
        status="sent",
        message_id=message_id,
        thread_root=extra.pop("thread_root", message_id),
        from_address="anna.rep@acme.test",
        to_addresses=[to],
        subject="Quick question",
        lead=record if is_lead else None,
        contact=None if is_lead else record,
        owner=record.owner,
        team=record.team,
        agency=record.agency,
        sent_at=timezone.now(),
        **extra,
    )


def test_reply_to_our_email_joins_its_thread_and_record_and_lands_on_the_timeline(world):
    lead = world.lead_rep1
    ours = sent(lead, "seq-1-step-1.8f3a2c@acme.test", lead.email)
    before = Lead.objects.get(pk=lead.pk).last_activity_at
    message = message_ingest(organization=world.org, raw=load("plain_reply.eml"), mailbox=mailbox_of(world.rep1))
    assert message.was_created
    # The sender's address is not the lead's: the thread decides.
    assert (message.lead_id, message.contact_id) == (lead.pk, None)
    assert (message.owner_id, message.team_id, message.agency_id) == (lead.owner_id, lead.team_id, lead.agency_id)
    assert message.thread_root == ours.message_id
    assert (message.direction, message.status, message.kind) == ("in", "received", "message")
    entry = Activity.objects.get(lead=lead, kind=ActivityKind.EMAIL)
    assert entry.data["email_id"] == message.pk and entry.data["direction"] == "in"
    assert entry.subject == "Re: Quick question about your warehouse"
    assert "Call me on Thursday" in entry.body
    assert Lead.objects.get(pk=lead.pk).last_activity_at > before


def test_thread_root_is_inherited_through_references(world):
    lead = world.lead_rep2
    sent(lead, "seq-4-step-0.feed00@acme.test", lead.email)
    sent(lead, "seq-4-step-1.feed01@acme.test", lead.email, thread_root="seq-4-step-0.feed00@acme.test")
    message = message_ingest(organization=world.org, raw=load("mailru_reply_cp1251.eml"))
    assert message.thread_root == "seq-4-step-0.feed00@acme.test"
    assert message.lead_id == lead.pk


def test_unknown_thread_is_matched_by_sender_address_case_insensitively(world):
    lead = world.lead_rep1
    Lead.objects.filter(pk=lead.pk).update(email="maria@prospect.test")
    message = message_ingest(organization=world.org, raw=load("plain_reply.eml"))
    assert message.lead_id == lead.pk
    assert message.thread_root == "reply-maria-42@prospect.test"  # its own: we know nothing of the thread


def test_contact_match_copies_company_and_owner(world):
    contact = world.contact_rep2
    raw = load("plain_reply.eml").replace(b"Maria@Prospect.test", contact.email.upper().encode())
    message = message_ingest(organization=world.org, raw=raw)
    assert (message.contact_id, message.company_id, message.owner_id) == (
        contact.pk,
        contact.company_id,
        contact.owner_id,
    )
    assert Activity.objects.filter(contact=contact, kind="email", data__email_id=message.pk).count() == 1


def test_other_organizations_records_are_never_matched(world):
    raw = load("plain_reply.eml").replace(b"Maria@Prospect.test", world.lead_org_b.email.encode())
    message = message_ingest(organization=world.org, raw=raw)
    assert message.lead_id is None and message.contact_id is None


def test_unmatched_message_is_stored_without_record_or_owner(world):
    message = message_ingest(organization=world.org, raw=load("plain_reply.eml"), mailbox=mailbox_of(world.rep1))
    assert (message.lead_id, message.contact_id, message.owner_id, message.agency_id) == (None, None, None, None)
    assert not Activity.objects.filter(kind="email").exists()


def test_same_message_twice_is_stored_once_even_through_different_relays(world):
    raw = load("plain_reply.eml")
    first = message_ingest(organization=world.org, raw=raw)
    again = message_ingest(organization=world.org, raw=b"Received: from mx2 by mx3; Wed, 22 Oct 2025\r\n" + raw)
    assert again.pk == first.pk and not again.was_created
    assert EmailMessage.objects.count() == 1
    # The same Message-ID with other content is another message (e.g. a broken sender reusing ids).
    changed = message_ingest(organization=world.org, raw=raw.replace(b"Thursday", b"Friday"))
    assert changed.pk != first.pk


def test_same_mailbox_uid_is_returned_without_reading_it_again(world):
    mailbox = mailbox_of(world.rep1)
    first = message_ingest(organization=world.org, raw=load("plain_reply.eml"), mailbox=mailbox, uidvalidity=7, uid=1)
    again = message_ingest(organization=world.org, raw=b"garbage", mailbox=mailbox, uidvalidity=7, uid=1)
    assert again.pk == first.pk and not again.was_created
    assert EmailMessage.objects.count() == 1


def test_a_copy_of_our_own_sent_email_is_not_stored(world):
    sent(world.lead_rep1, "reply-maria-42@prospect.test", "x@y.test")
    assert message_ingest(organization=world.org, raw=load("plain_reply.eml")) is None
    assert EmailMessage.objects.filter(direction="in").count() == 0


def test_attachments_are_stored_by_hash_and_the_oversized_only_by_name(world, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    MailSettings.objects.update_or_create(organization=world.org, defaults={"attachment_max_bytes": 40})
    message = message_ingest(organization=world.org, raw=load("html_reply_with_attachment.eml"))
    pdf, html = EmailAttachment.objects.filter(message=message).order_by("id")
    assert (pdf.filename, pdf.size, pdf.stored) == ("Требования.pdf", 45, False)  # over the 40-byte cap
    assert (html.filename, html.stored) == ("evil.html", True)
    assert attachment_path(html.sha256).read_bytes() == b"<script>alert('x')</script>"
    assert attachment_path(html.sha256).parent == tmp_path / "mail" / "attachments"
    assert not attachment_path(pdf.sha256).exists()
    assert message.body_text.startswith("Hi Anna,")


def test_hard_bounce_suppresses_the_address_and_lands_on_the_original_record(world):
    lead = world.lead_manager
    Lead.objects.filter(pk=lead.pk).update(email="nobody.here@prospect-gone.test")
    sent(lead, "seq-1-step-1.8f3a2c@acme.test", "nobody.here@prospect-gone.test")
    message = message_ingest(organization=world.org, raw=load("postfix_dsn.eml"))
    assert message.kind == "bounce" and message.lead_id == lead.pk
    assert message.bounce["hard"] is True and message.bounce["status"] == "5.1.1"
    entry = Suppression.objects.get(organization=world.org)
    assert (entry.email, entry.reason) == ("nobody.here@prospect-gone.test", "hard_bounce")
    assert Activity.objects.get(lead=lead, kind="email").data["kind"] == "bounce"


def test_bounce_without_a_known_original_is_matched_by_the_failed_recipient(world):
    contact = world.contact_unassigned
    raw = load("gmail_dsn.eml").replace(b"olga.no.such.user@gmail.com", contact.email.encode())
    message = message_ingest(organization=world.org, raw=raw)
    assert message.contact_id == contact.pk  # not the mailer daemon
    # None of our emails is the one it reports on: it is kept, but suppresses nobody.
    assert message.bounce["hard"] is True and message.bounce["verified_hard"] == []
    assert not Suppression.objects.exists()


def test_a_forged_bounce_naming_an_address_we_never_wrote_to_suppresses_nobody(world):
    lead = world.lead_manager
    sent(lead, "seq-1-step-1.8f3a2c@acme.test", "someone.else@prospect.test")  # our email, another address
    raw = load("postfix_dsn.eml").replace(b"From: MAILER-DAEMON", b"From: attacker@evil.example", 1)
    message = message_ingest(organization=world.org, raw=raw)
    assert message.kind == "bounce" and message.bounce["verified_hard"] == []
    assert not Suppression.objects.exists()


def test_soft_bounce_only_records(world):
    message = message_ingest(organization=world.org, raw=load("postfix_delayed_dsn.eml"))
    assert message.kind == "bounce" and message.bounce["hard"] is False
    assert not Suppression.objects.exists()


def enroll(world, lead) -> Enrollment:
    lead.refresh_from_db()
    sequence = Sequence.objects.create(organization=world.org, name="Outreach", owner=world.admin.user)
    return Enrollment.objects.create(
        organization=world.org, sequence=sequence, lead=lead, email=lead.email, next_run_at=timezone.now()
    )


def test_reply_stops_the_leads_sequence_and_out_of_office_pauses_it(world):
    lead = world.lead_rep1
    Lead.objects.filter(pk=lead.pk).update(email="ivan.petrov@fabrikam.test")
    enrollment = enroll(world, lead)
    message_ingest(organization=world.org, raw=load("outlook_auto_reply.eml"))
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.PAUSED, StopReason.OUT_OF_OFFICE)
    reply = load("plain_reply.eml").replace(b"Maria@Prospect.test", b"ivan.petrov@fabrikam.test")
    message_ingest(organization=world.org, raw=reply)
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.STOPPED, StopReason.REPLIED)


def test_hard_bounce_stops_the_sequence(world):
    lead = world.lead_rep1
    Lead.objects.filter(pk=lead.pk).update(email="ivan.petrov@fabrikam.test")
    enrollment = enroll(world, lead)
    sent(lead, "seq-7-step-1.c0ffee@acme.test", "ivan.petrov@fabrikam.test")
    message_ingest(organization=world.org, raw=load("exchange_dsn.eml"))
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.stop_reason) == (EnrollmentState.STOPPED, StopReason.BOUNCED)


def test_timeline_entry_is_written_once(world):
    from insidesales.mail.services.timeline import email_timeline_log

    lead = world.lead_rep1
    Lead.objects.filter(pk=lead.pk).update(email="maria@prospect.test")
    message = message_ingest(organization=world.org, raw=load("plain_reply.eml"))
    email_timeline_log(message=message)
    email_timeline_log(message=message)
    assert Activity.objects.filter(lead=lead, kind="email").count() == 1
