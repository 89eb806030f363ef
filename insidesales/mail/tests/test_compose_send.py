"""One-off emails: `email_send` / `email_cancel` (mailbox ownership, record scope, address syntax,
suppression, merge fields, scheduling, header injection) and the compose page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from insidesales.core.errors import Conflict, NotFound, ValidationError
from insidesales.core.testing import factories as f
from insidesales.mail.models import EmailMessage, Mailbox
from insidesales.mail.services.compose import email_cancel, email_send
from insidesales.mail.services.suppression import AddressSuppressed, suppression_add
from insidesales.mail.services.templates import email_template_create


def mailbox_of(membership, email=None, **extra) -> Mailbox:
    return Mailbox.objects.create(
        organization_id=membership.organization_id,
        user=membership.user,
        email=email or membership.user.email,
        display_name=extra.pop("display_name", membership.user.full_name),
        smtp_host="127.0.0.1",
        **extra,
    )


def send(world, **kwargs):
    defaults = {
        "actor": world.rep1,
        "to": world.lead_rep1.email,
        "subject": "Hi {{ lead.first_name }}",
        "body": 'Hello {{ lead.first_name | default("there") }},\nsee https://example.com\n\n{{ sender.name }}',
        "lead": world.lead_rep1,
    }
    defaults.update(kwargs)
    if "mailbox" not in defaults:
        defaults["mailbox"] = mailbox_of(defaults["actor"])
    return email_send(**defaults)


# ---- service --------------------------------------------------------------------------------------------


def test_send_queues_a_rendered_message_with_the_records_ownership(world):
    lead = world.lead_rep1
    message = send(world)
    assert message.direction == "out" and message.status == "queued"
    assert message.subject == f"Hi {lead.first_name}"
    assert message.body_text.startswith(f"Hello {lead.first_name},\nsee https://example.com")
    assert '<a href="https://example.com">' in message.body_html and message.body_text.endswith("Rep1")
    assert message.to_addresses == [lead.email] and message.from_address == "rep1@acme.test"
    assert message.message_id.endswith("@acme.test") and message.thread_root == message.message_id
    assert (message.owner_id, message.team_id, message.agency_id) == (lead.owner_id, lead.team_id, lead.agency_id)
    assert message.created_by == world.rep1.user and message.lead == lead and message.mailbox.user == world.rep1.user


def test_send_from_a_contact_copies_its_company(world):
    contact = world.contact_rep1
    message = send(world, lead=None, contact=contact, to=contact.email, subject="{{ contact.company }}")
    assert message.contact == contact and message.company_id == contact.company_id
    assert message.subject == contact.company.name


def test_scheduled_send_waits_and_can_be_cancelled(world):
    later = timezone.now() + dt.timedelta(hours=2)
    message = send(world, send_at=later)
    assert message.status == "scheduled" and message.scheduled_at == later
    email_cancel(actor=world.rep1, message=message)
    message.refresh_from_db()
    assert message.status == "cancelled"


def test_a_message_being_sent_cannot_be_cancelled(world):
    message = send(world)
    with pytest.raises(Conflict):
        email_cancel(actor=world.rep1, message=message)
    assert EmailMessage.objects.get(pk=message.pk).status == "queued"


def test_cancel_out_of_scope_is_404(world):
    message = send(world, send_at=timezone.now() + dt.timedelta(hours=1))
    with pytest.raises(NotFound):
        email_cancel(actor=world.rep2, message=message)
    email_cancel(actor=world.manager, message=message)  # the manager of rep1's team may


def test_past_send_time_is_refused(world):
    with pytest.raises(ValidationError) as caught:
        send(world, send_at=timezone.now() - dt.timedelta(hours=1))
    assert "send_at" in caught.value.fields
    assert not EmailMessage.objects.exists()


def test_another_users_mailbox_is_404(world):
    with pytest.raises(NotFound):
        send(world, mailbox=mailbox_of(world.rep2))
    assert not EmailMessage.objects.exists()


def test_record_out_of_scope_is_404(world):
    with pytest.raises(NotFound):
        send(world, lead=world.lead_rep2, to=world.lead_rep2.email)
    with pytest.raises(NotFound):
        send(world, actor=world.admin_b, lead=world.lead_rep1)


@pytest.mark.parametrize(
    "address", ["not-an-address", "a@b@c", "x@example.com\r\nBcc: victim@example.com", "", "a b@c.d"]
)
def test_bad_addresses_are_refused(world, address):
    with pytest.raises(ValidationError) as caught:
        send(world, to=address)
    assert "to" in caught.value.fields


def test_suppressed_address_is_refused_with_a_clear_message(world):
    suppression_add(organization_id=world.org.pk, email=world.lead_rep1.email.upper(), reason="unsubscribed")
    with pytest.raises(AddressSuppressed) as caught:
        send(world)
    assert world.lead_rep1.email.lower() in caught.value.message and "suppression" in caught.value.message
    assert not EmailMessage.objects.exists()


def test_header_injection_in_subject_is_flattened(world):
    message = send(world, subject="Hello\r\nBcc: victim@example.com\nX-Evil: 1 {{ lead.first_name }}")
    assert "\r" not in message.subject and "\n" not in message.subject
    assert message.subject.startswith("Hello Bcc: victim@example.com X-Evil: 1")


def test_template_errors_are_validation_errors(world):
    with pytest.raises(ValidationError) as caught:
        send(world, body="{% for x in y %}{% endfor %}")
    assert "body" in caught.value.fields


def test_someone_elses_personal_template_is_404(world):
    template = email_template_create(actor=world.rep2, name="Rep2", variants={"en": {"subject": "s", "body": "b"}})
    with pytest.raises(NotFound):
        send(world, template=template)


# ---- pages ----------------------------------------------------------------------------------------------


@pytest.fixture
def rep1(world, client):
    client.force_login(world.rep1.user)
    return client


def test_compose_page_prefills_the_address_and_offers_own_mailboxes(world, rep1):
    mine = mailbox_of(world.rep1)
    theirs = mailbox_of(world.rep2)
    page = rep1.get(reverse("email_compose"), {"lead": world.lead_rep1.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'value="{world.lead_rep1.email}"' in html
    assert mine.email in html and theirs.email not in html


def test_compose_without_mailbox_links_to_settings(world, rep1):
    page = rep1.get(reverse("email_compose"), {"lead": world.lead_rep1.pk})
    assert "/settings/mailboxes/" in page.content.decode()


def test_compose_for_a_hidden_record_is_404(world, rep1):
    mailbox_of(world.rep1)
    assert rep1.get(reverse("email_compose"), {"lead": world.lead_rep2.pk}).status_code == 404
    assert rep1.get(reverse("email_compose"), {"company": world.company_rep2.pk}).status_code == 404
    assert rep1.get(reverse("email_compose")).status_code == 404


def test_send_now_redirects_to_the_record_with_a_message(world, rep1):
    mailbox = mailbox_of(world.rep1)
    response = rep1.post(
        reverse("email_compose"),
        {
            "lead": world.lead_rep1.pk,
            "mailbox": mailbox.pk,
            "to": world.lead_rep1.email,
            "subject": "Hi",
            "body": "Hello {{ lead.first_name }}",
            "action": "send",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("lead_detail", args=[world.lead_rep1.pk])
    assert "queued" in response.content.decode()
    assert EmailMessage.objects.get().body_text == f"Hello {world.lead_rep1.first_name}"


def test_schedule_uses_the_users_time_zone(world, rep1):
    user = world.rep1.user
    user.time_zone = "Europe/Moscow"
    user.save(update_fields=["time_zone"])
    mailbox = mailbox_of(world.rep1)
    local = (timezone.now() + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=3)))
    response = rep1.post(
        reverse("email_compose"),
        {
            "lead": world.lead_rep1.pk,
            "mailbox": mailbox.pk,
            "to": world.lead_rep1.email,
            "subject": "Later",
            "body": "b",
            "send_at": local.strftime("%Y-%m-%dT%H:%M"),
            "action": "schedule",
        },
    )
    assert response.status_code == 302
    message = EmailMessage.objects.get()
    assert message.status == "scheduled"
    assert message.scheduled_at == local.replace(second=0, microsecond=0)


def test_schedule_without_a_time_is_an_inline_error(world, rep1):
    mailbox = mailbox_of(world.rep1)
    response = rep1.post(
        reverse("email_compose"),
        {
            "lead": world.lead_rep1.pk,
            "mailbox": mailbox.pk,
            "to": world.lead_rep1.email,
            "subject": "s",
            "body": "b",
            "action": "schedule",
        },
    )
    assert response.status_code == 422 and "Choose when to send it" in response.content.decode()


def test_suppressed_address_is_shown_clearly_on_the_form(world, rep1):
    mailbox = mailbox_of(world.rep1)
    suppression_add(organization_id=world.org.pk, email=world.lead_rep1.email, reason="hard_bounce")
    response = rep1.post(
        reverse("email_compose"),
        {
            "lead": world.lead_rep1.pk,
            "mailbox": mailbox.pk,
            "to": world.lead_rep1.email,
            "subject": "s",
            "body": "b",
            "action": "send",
        },
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert 'id="suppressed-warning"' in html and "suppression list" in html and "Hard bounce" in html
    assert not EmailMessage.objects.exists()


def test_someone_elses_mailbox_is_not_a_choice(world, rep1):
    mailbox_of(world.rep1)
    theirs = mailbox_of(world.rep2)
    response = rep1.post(
        reverse("email_compose"),
        {
            "lead": world.lead_rep1.pk,
            "mailbox": theirs.pk,
            "to": world.lead_rep1.email,
            "subject": "s",
            "body": "b",
            "action": "send",
        },
    )
    assert response.status_code == 422 and not EmailMessage.objects.exists()


def test_company_email_goes_to_one_of_its_people(world, rep1):
    mailbox = mailbox_of(world.rep1)
    company, contact = world.company_rep1, world.contact_rep1
    page = rep1.get(reverse("email_compose"), {"company": company.pk}).content.decode()
    assert contact.email in page
    response = rep1.post(
        reverse("email_compose"),
        {
            "company": company.pk,
            "mailbox": mailbox.pk,
            "to": contact.email,
            "subject": "{{ company.name }}",
            "body": "Hi {{ contact.first_name }}",
            "action": "send",
        },
    )
    assert response.status_code == 302
    message = EmailMessage.objects.get()
    assert message.company == company and message.contact == contact
    assert message.subject == company.name and message.body_text == f"Hi {contact.first_name}"


def test_template_fill_renders_for_the_record_and_keeps_lead_data_literal(world, rep1):
    lead = world.lead_rep1
    lead.first_name = "{{ owner.email }}"
    lead.country = "RU"
    lead.save(update_fields=["first_name", "country"])
    mailbox = mailbox_of(world.rep1)
    template = email_template_create(
        actor=world.rep1,
        name="T",
        variants={
            "en": {"subject": "Hi {{ lead.first_name }}", "body": "EN"},
            "ru": {"subject": "Привет, {{ lead.first_name }}", "body": "RU {{ sender.name }}"},
        },
    )
    response = rep1.get(
        reverse("email_compose_fill"),
        {"lead": lead.pk, "template": template.pk, "mailbox": mailbox.pk},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "RU Rep1" in html and "Привет" in html
    # Sent as filled, the lead's braces come out as typed, not evaluated.
    sent = rep1.post(
        reverse("email_compose"),
        {
            "lead": lead.pk,
            "mailbox": mailbox.pk,
            "to": lead.email,
            "subject": "Привет, {{ '{' }}{ owner.email }}",
            "body": "b",
            "action": "send",
        },
    )
    assert sent.status_code == 302
    assert EmailMessage.objects.get().subject == "Привет, {{ owner.email }}"


def test_cancel_page_action_goes_back_to_the_record(world, rep1):
    message = send(world, send_at=timezone.now() + dt.timedelta(hours=1))
    response = rep1.post(reverse("email_cancel", args=[message.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("lead_detail", args=[world.lead_rep1.pk])
    message.refresh_from_db()
    assert message.status == "cancelled"


def test_cancel_someone_elses_hidden_email_is_404(world, client):
    message = send(world, send_at=timezone.now() + dt.timedelta(hours=1))
    client.force_login(world.rep2.user)
    assert client.post(reverse("email_cancel", args=[message.pk])).status_code == 404
    other_org = f.AdminMembershipFactory(organization=world.org_b, user=f.UserFactory())
    client.force_login(other_org.user)
    assert client.post(reverse("email_cancel", args=[message.pk])).status_code == 404
    assert EmailMessage.objects.get(pk=message.pk).status == "scheduled"
