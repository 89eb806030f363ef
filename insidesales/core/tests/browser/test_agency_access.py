"""Agency reps see only their agency's records; switching the agency off signs them out on the next page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in
from insidesales.crm import services

pytestmark = pytest.mark.browser


@pytest.fixture
def leads(browser_world: BrowserWorld) -> dict:
    """An unassigned lead in the pool and a lead the admin gave to the agency."""
    admin = browser_world.admin
    pool = services.lead_create(membership=admin, data={"first_name": "Gleb", "last_name": "Poolov"})
    ours = services.lead_create(membership=admin, data={"first_name": "Vera", "last_name": "Agencyeva"})
    services.lead_assign(membership=admin, lead_id=ours.pk, agency_id=browser_world.agency.pk)
    return {"pool": pool, "agency": ours}


def test_agency_rep_gets_404_for_unassigned_lead_and_cannot_list_or_find_it(
    page: Page, browser_world: BrowserWorld, leads: dict, screenshot
):
    sign_in(page, browser_world.agency_rep)

    response = page.goto(f"/leads/{leads['pool'].pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text("Gleb Poolov")).to_have_count(0)
    screenshot(page, "404")

    page.goto("/leads/")
    table = page.locator("#results table")
    expect(table.get_by_role("link", name="Vera Agencyeva")).to_be_visible()
    expect(table.get_by_text("Gleb Poolov")).to_have_count(0)

    page.goto("/search/?q=Poolov")
    expect(page.get_by_text("Nothing found for “Poolov”.")).to_be_visible()
    expect(page.get_by_role("link", name="Gleb Poolov")).to_have_count(0)


def test_agency_rep_is_signed_out_on_next_page_after_admin_switches_agency_off(
    open_page, browser_world: BrowserWorld, leads: dict
):
    agent = open_page("agency-rep")
    sign_in(agent, browser_world.agency_rep)
    agent.goto("/leads/")
    expect(agent.get_by_role("link", name="Vera Agencyeva")).to_be_visible()

    admin = open_page("admin")
    sign_in(admin, browser_world.admin)
    admin.goto("/agencies/")
    row = admin.get_by_role("row").filter(has_text="Partner Calls")
    admin.once("dialog", lambda dialog: dialog.accept())  # "Switch off …? Its users are signed out at once."
    row.get_by_role("button", name="Switch off").click()
    expect(admin.locator(".messages")).to_contain_text("is switched off")
    expect(row.get_by_role("button", name="Switch on")).to_be_visible()

    agent.reload()

    assert urlsplit(agent.url).path == "/login/"
    expect(agent.get_by_role("heading", level=1)).to_have_text("Sign in to Inside Sales")
    expect(agent.get_by_role("link", name="Vera Agencyeva")).to_have_count(0)
    # Signed out for good: the old session no longer opens a page.
    agent.goto(f"/leads/{leads['agency'].pk}/")
    assert urlsplit(agent.url).path == "/login/"
