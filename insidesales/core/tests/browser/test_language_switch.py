"""The EN/RU switch in the user menu changes the language of every page, and back."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in

pytestmark = pytest.mark.browser


def switch_language(page: Page, code: str) -> None:
    menu = page.locator("details.usermenu")
    menu.locator("summary").click()
    with page.expect_navigation():
        menu.locator(".langswitch").get_by_role("button", name=code.upper(), exact=True).click()


def test_user_switches_to_russian_in_user_menu_and_back(page: Page, browser_world: BrowserWorld):
    sign_in(page, browser_world.inside_rep)
    page.goto("/leads/")
    nav = page.locator("nav.mainnav")
    expect(nav.get_by_role("link", name="Leads", exact=True)).to_be_visible()

    switch_language(page, "ru")

    assert urlsplit(page.url).path == "/leads/"  # the switch brings the user back to the same page
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(nav.get_by_role("link", name="Лиды", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Главная", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Лиды")
    # The choice sticks to the next page, not just the one that was showing.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(nav.get_by_role("link", name="Лиды", exact=True)).to_be_visible()
    browser_world.inside_rep.user.refresh_from_db()
    assert browser_world.inside_rep.user.language == "ru"

    switch_language(page, "en")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(nav.get_by_role("link", name="Leads", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Лиды", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Irina")
