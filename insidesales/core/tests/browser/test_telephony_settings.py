"""An admin sets up telephony in the browser: a SIP trunk with its password, the calling windows and the
number check, a caller ID and a disposition."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from insidesales.calls.models import CallerId, Disposition, TelephonySettings
from insidesales.calls.secrets import decrypt_credentials
from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "Trunk-Pa55word"


def test_admin_sets_up_telephony(page: Page, browser_world: BrowserWorld, screenshot):
    sign_in(page, browser_world.admin)
    page.get_by_text("Administration").click()
    page.get_by_role("link", name="Telephony").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Telephony")
    screenshot(page, "provider-simulated")

    # Choosing SIP shows its settings only.
    page.get_by_label("SIP trunk or PBX").check()
    expect(page.get_by_label("Trunk host")).to_be_visible()
    expect(page.get_by_label("Account SID")).to_be_hidden()
    page.get_by_label("Trunk host").fill("sip.carrier.example")
    page.get_by_label("From domain").fill("sales.example.org")
    page.get_by_label("User name").fill("dialer")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Telephony settings saved.")).to_be_visible()
    expect(page.get_by_text("Set (ends in …rd). Leave empty to keep it.")).to_be_visible()
    assert PASSWORD not in page.content()
    config = TelephonySettings.objects.get(organization=browser_world.organization)
    assert decrypt_credentials(config.credentials_encrypted) == {"sip_password": PASSWORD}
    screenshot(page, "provider-sip")

    # Twilio's settings are checked; what was typed stays, the saved provider does not change.
    page.get_by_label("Twilio").check()
    expect(page.get_by_label("Trunk host")).to_be_hidden()
    page.get_by_label("Account SID").fill("AC123")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("An Account SID is “AC” followed by 32 hexadecimal digits.")).to_be_visible()
    expect(page.get_by_label("Account SID")).to_have_value("AC123")
    config.refresh_from_db()
    assert config.provider == "sip"
    screenshot(page, "provider-twilio-errors")

    page.get_by_role("link", name="Calling windows").click()
    expect(page.get_by_role("heading", name="When leads may be called")).to_be_visible()
    page.locator("#id_w-1-where").fill("DE")
    page.locator("#id_w-1-start").fill("10:00")
    page.locator("#id_w-1-end").fill("18:00")
    for day in range(5):
        page.locator(f"#id_w-1-weekdays_{day}").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Calling windows saved.")).to_be_visible()
    expect(page.locator("#id_w-1-where")).to_have_value("DE")
    page.get_by_label("Phone number").fill("+7 495 123-45-67")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result")).to_contain_text("Europe/Moscow")
    screenshot(page, "windows")

    page.get_by_role("link", name="Caller IDs").click()
    page.get_by_label("Number", exact=True).fill("8 495 765-43-21")
    page.get_by_label("Label", exact=True).fill("Moscow office")
    page.get_by_label("Default number").check()
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("cell", name="Moscow office")).to_be_visible()
    assert CallerId.objects.get(organization=browser_world.organization).number == "+74957654321"
    screenshot(page, "caller-ids")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Number", exact=True)).to_have_value("+74957654321")
    screenshot(page, "caller-id-edit")

    page.get_by_role("link", name="Dispositions").click()
    page.get_by_label("Key", exact=True).fill("demo_booked")
    page.get_by_label("Label", exact=True).fill("Demo booked")
    page.get_by_label("Hotkey").fill("1")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("“1” is the hotkey of “Connected – interested”.")).to_be_visible()
    screenshot(page, "dispositions-error")
    page.get_by_label("Hotkey").fill("8")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("cell", name="Demo booked")).to_be_visible()
    assert Disposition.objects.get(organization=browser_world.organization, key="demo_booked").hotkey == "8"
    screenshot(page, "dispositions")
    page.get_by_role("row", name="Demo booked").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Label", exact=True)).to_have_value("Demo booked")
    screenshot(page, "disposition-edit")
