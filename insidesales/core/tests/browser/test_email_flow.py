"""Email in the browser: a rep writes a template (the live preview fills in a lead's name), emails the lead
from its page with that template, the mailer hands it to a real SMTP server on loopback, and the lead's
timeline shows it; then the rep enrolls the lead in a sequence from the same page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in
from insidesales.crm import services
from insidesales.mail.models import EmailMessage, Enrollment, Mailbox, Security, Sequence, SequenceStep, StepKind
from insidesales.mail.tests.conftest import always_open
from insidesales.mail.tests.smtp_sink import running_sink
from insidesales.mail.worker import Mailer

pytestmark = pytest.mark.browser


@pytest.fixture
def sink():
    with running_sink() as (sink, port):
        yield sink, port


def test_rep_writes_a_template_emails_a_lead_and_enrolls_it(page: Page, browser_world: BrowserWorld, sink, screenshot):
    world = browser_world
    rep = world.inside_rep
    received, port = sink
    always_open(world.organization)
    Mailbox.objects.create(
        organization=world.organization,
        user=rep.user,
        email="irina@romashka.test",
        display_name="Irina Repina",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=Security.NONE,
    )
    lead = services.lead_create(
        membership=rep,
        data={"first_name": "Анна", "last_name": "Петрова", "email": "anna@vostok.test", "company_name": "Восток"},
    )
    sequence = Sequence.objects.create(organization=world.organization, name="Trial follow-up", owner=world.admin.user)
    SequenceStep.objects.create(sequence=sequence, position=0, kind=StepKind.TASK, title="Call Anna about the trial")

    sign_in(page, rep)
    page.goto("/email-templates/new/")
    page.get_by_label("Name", exact=True).fill("First touch")
    page.locator("#id_subject_en").fill("Hello {{ lead.first_name }} from {{ sender.name }}")
    page.locator("#id_body_en").fill("Hi {{ lead.first_name | default('there') }}, does {{ lead.company }} need help?")
    page.locator("#id_preview_lead").select_option(str(lead.pk))
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("Hello Анна from Irina Repina")
    screenshot(page, "template-preview")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_text("Template “First touch” saved.")).to_be_visible()

    page.goto(f"/leads/{lead.pk}/")
    page.locator("#record-email").click()
    page.wait_for_url(re.compile(r"/emails/new/"))
    page.get_by_label("Template").select_option(label="First touch")
    expect(page.get_by_label("Subject")).to_have_value("Hello Анна from Irina Repina")
    screenshot(page, "compose")
    page.get_by_role("button", name="Send now").click()
    page.wait_for_url(re.compile(rf"/leads/{lead.pk}/"))

    Mailer().run_once()  # the mailer worker's round, on the same database
    [message] = received.parsed()
    assert message["Subject"] == "Hello Анна from Irina Repina"
    assert message["To"] == "anna@vostok.test"
    assert "does Восток need help?" in message.get_body(("plain",)).get_content()
    stored = EmailMessage.objects.get(lead=lead)
    assert f"<{stored.message_id}>" == message["Message-ID"]

    page.reload()
    expect(page.get_by_text("Hello Анна from Irina Repina").first).to_be_visible()
    page.get_by_role("link", name="open email").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello Анна from Irina Repina")

    page.goto(f"/leads/{lead.pk}/")
    page.locator("#enroll-in-sequence").click()
    page.get_by_label("Enroll in").select_option(label="Trial follow-up")
    page.get_by_role("button", name="Enroll", exact=True).click()
    expect(page.get_by_text(re.compile("Trial follow-up")).first).to_be_visible()
    expect(page.locator("#record-sequences")).to_contain_text("Trial follow-up")  # the card, loaded by htmx
    assert Enrollment.objects.get(lead=lead, sequence=sequence).state == "active"
    screenshot(page, "enrolled")
