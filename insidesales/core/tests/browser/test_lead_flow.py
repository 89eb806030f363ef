"""A lead's life in the browser: created through the form, found by phone in another format, qualified,
converted into a contact with a deal; and the form keeps what was typed when it refuses the input."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in
from insidesales.crm import services
from insidesales.crm.models import Lead, LeadStatus

pytestmark = pytest.mark.browser

LEAD_URL = re.compile(r"/leads/(\d+)/$")


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def test_inside_rep_creates_lead_and_finds_it_by_phone_in_another_format(page: Page, browser_world: BrowserWorld):
    sign_in(page, browser_world.inside_rep)
    page.get_by_role("link", name="New lead").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New lead")

    page.get_by_label("First name").fill("Olga")
    page.get_by_label("Last name").fill("Smirnova")
    page.get_by_label("Company", exact=True).fill("Vostok Trading")
    page.get_by_label("Phone", exact=True).fill("8 (916) 123-45-67")
    page.get_by_role("button", name="Save").click()

    page.wait_for_url(LEAD_URL)
    lead_path = path_of(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Olga Smirnova")
    # Stored as E.164, shown in the national format of the organization's region (Russia).
    expect(page.locator("#record-title a.crm-tel")).to_have_attribute("href", "tel:+79161234567")

    # "/" jumps to the global search box from anywhere that is not a text field.
    search = page.get_by_role("searchbox", name="Search")
    expect(search).not_to_be_focused()
    page.keyboard.press("/")
    expect(search).to_be_focused()
    page.keyboard.type("+7 916 123 45 67")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/search/\?q="))
    result = page.locator("table.results").get_by_role("link", name="Olga Smirnova")
    expect(result).to_have_count(1)
    result.click()
    page.wait_for_url(LEAD_URL)
    assert path_of(page) == lead_path
    expect(page.get_by_role("heading", level=1)).to_contain_text("Olga Smirnova")


def test_rep_qualifies_and_converts_lead_into_contact_with_deal(page: Page, browser_world: BrowserWorld):
    rep = browser_world.inside_rep
    lead = services.lead_create(
        membership=rep,
        data={
            "first_name": "Pavel",
            "last_name": "Orlov",
            "company_name": "Orlov Logistics",
            "email": "pavel@orlov-logistics.test",
            "phone": "+7 495 111-22-33",
        },
    )
    sign_in(page, rep)
    page.goto(f"/leads/{lead.pk}/")
    title = page.locator("#record-title h1")
    expect(title.locator(".badge")).to_have_text("New")

    page.get_by_role("button", name="Qualify").click()
    expect(page.locator(".messages")).to_contain_text("Lead qualified.")
    expect(title.locator(".badge")).to_have_text("Qualified")

    page.get_by_role("link", name="Convert", exact=True).click()
    page.wait_for_url(f"**/leads/{lead.pk}/convert/")
    expect(page.get_by_label("Create a deal")).to_be_checked()
    page.get_by_label("Deal name").fill("Orlov Logistics: fleet tracking")
    page.get_by_label("Amount").fill("125000")
    page.get_by_role("button", name="Convert", exact=True).click()

    page.wait_for_url(re.compile(r"/contacts/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("Lead converted to contact Pavel Orlov.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pavel Orlov")
    deals = page.locator("section.card").filter(has=page.get_by_role("heading", name="Deals", exact=True))
    expect(deals.get_by_role("link", name="Orlov Logistics: fleet tracking")).to_be_visible()

    page.goto(f"/leads/{lead.pk}/")
    expect(title.locator(".badge")).to_have_text("Converted")
    expect(page.locator(".crm-converted")).to_be_visible()
    expect(page.get_by_role("link", name="Convert", exact=True)).to_have_count(0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_deal is not None and lead.converted_deal.contact_id == lead.converted_contact_id


def test_lead_form_shows_field_error_and_keeps_input_after_ctrl_enter(page: Page, browser_world: BrowserWorld):
    sign_in(page, browser_world.inside_rep)
    page.goto("/leads/new/")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Petrova")
    page.get_by_label("Company", exact=True).fill("Sever Foods")
    page.get_by_label("Email").fill("nina-at-sever")
    notes = page.get_by_label("Notes")
    notes.fill("Met at the Moscow trade fair.")

    # Ctrl+Enter submits the form that has the focus, even from a textarea, where Enter alone only adds a
    # line (so this is the shortcut at work, not the browser's implicit submission). The form is
    # `novalidate`: the server judges the email.
    with page.expect_navigation():
        notes.press("Control+Enter")

    assert path_of(page) == "/leads/new/"
    email_field = page.locator(".field.has-error").filter(has=page.get_by_label("Email"))
    expect(email_field.locator(".errorlist")).to_have_text("Enter a valid email address.")
    expect(page.get_by_label("Email")).to_have_value("nina-at-sever")
    expect(page.get_by_label("First name")).to_have_value("Nina")
    expect(page.get_by_label("Last name")).to_have_value("Petrova")
    expect(page.get_by_label("Company", exact=True)).to_have_value("Sever Foods")
    expect(page.get_by_label("Notes")).to_have_value("Met at the Moscow trade fair.")
    assert not Lead.objects.filter(last_name="Petrova").exists()
