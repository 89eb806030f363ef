"""htmx on the list page: changing a filter swaps the table in place and updates the address bar."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in
from insidesales.crm import services

pytestmark = pytest.mark.browser


def test_changing_lead_filter_updates_table_without_full_reload(page: Page, browser_world: BrowserWorld):
    rep = browser_world.inside_rep
    services.lead_create(membership=rep, data={"first_name": "Nikita", "last_name": "Novikov"})
    qualified = services.lead_create(membership=rep, data={"first_name": "Kira", "last_name": "Kvalova"})
    services.lead_qualify(membership=rep, lead_id=qualified.pk)

    sign_in(page, rep)
    page.goto("/leads/")
    table = page.locator("#results table")
    expect(table.get_by_role("link", name="Nikita Novikov")).to_be_visible()
    expect(table.get_by_role("link", name="Kira Kvalova")).to_be_visible()
    # Anything a full page load would wipe out: a window property and the element that holds the filters.
    page.evaluate("window.__listMarker = 'still here'")
    page.evaluate("document.getElementById('filters').dataset.marker = 'same element'")

    status_menu = page.locator("#filters details").filter(has=page.locator("summary", has_text=re.compile(r"^Status")))
    status_menu.locator("summary").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/leads/" and r.request.headers.get("hx-request")):
        status_menu.get_by_label("Qualified", exact=True).check()

    expect(table.get_by_role("link", name="Kira Kvalova")).to_be_visible()
    expect(table.get_by_role("link", name="Nikita Novikov")).to_have_count(0)
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("status") == ["qualified"])
    assert page.evaluate("window.__listMarker") == "still here"
    assert page.evaluate("document.getElementById('filters').dataset.marker") == "same element"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    # The pushed address is a real page: loading it afresh shows the same filtered table.
    page.reload()
    expect(table.get_by_role("link", name="Kira Kvalova")).to_be_visible()
    expect(table.get_by_role("link", name="Nikita Novikov")).to_have_count(0)
    expect(page.locator("#filters").get_by_label("Qualified", exact=True)).to_be_checked()
