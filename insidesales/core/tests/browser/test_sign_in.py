"""Signing in through the /login/ form as each role: the home page greets the person and shows their menus."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import PEOPLE, BrowserWorld, sign_in
from insidesales.orgs.models import Membership

pytestmark = pytest.mark.browser

ROLE_LABELS = {
    "admin": "Admin",
    "manager": "Manager",
    "inside_rep": "Inside rep",
    "field_rep": "Field rep",
    "agency_rep": "Agency rep",
}


def check_home_page_of(page: Page, member: Membership, role: str) -> None:
    full_name = member.user.full_name
    assert urlsplit(page.url).path == "/"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {full_name.split()[0]}")
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Home", "Leads", "Contacts", "Companies", "Deals", "Tasks"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()

    user_menu = page.locator("details.usermenu")
    user_menu.locator("summary").click()
    expect(user_menu.locator(".menu-head")).to_contain_text(full_name)
    expect(user_menu.locator(".menu-head")).to_contain_text(f"Romashka · {ROLE_LABELS[role]}")

    administration = nav.get_by_text("Administration", exact=True)
    if role == "admin":
        administration.click()
        expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
        expect(nav.get_by_role("link", name="Agencies")).to_be_visible()
    else:
        expect(administration).to_have_count(0)


def test_every_role_signs_in_and_sees_own_name_and_role_appropriate_nav(open_page, browser_world: BrowserWorld):
    # One test for all five roles (each in its own browser context): every browser test costs a database
    # flush, and the roles differ only in data. Failures are collected so one report names every broken role.
    failures = {}
    for role in PEOPLE:
        page = open_page(role)
        try:
            sign_in(page, browser_world.members[role])
            check_home_page_of(page, browser_world.members[role], role)
        except (AssertionError, PlaywrightError) as exc:
            failures[role] = str(exc).splitlines()[0]
    assert not failures, failures


def test_pages_load_stylesheets_and_scripts_from_static(page: Page, browser_world: BrowserWorld):
    sign_in(page, browser_world.inside_rep)
    page.goto("/leads/")

    # htmx (from django-htmx's static files) and our own scripts ran; our stylesheets applied.
    assert page.evaluate("typeof window.htmx") == "object"
    expect(page.locator("html")).to_have_class(re.compile(r"\bcrm-js\b"))
    sheets = page.evaluate("Array.from(document.styleSheets, s => s.href).filter(Boolean)")
    assert any(s.endswith("/static/insidesales/app.css") for s in sheets), sheets
    assert any(s.endswith("/static/crm.css") for s in sheets), sheets
    assert page.evaluate("Array.from(document.styleSheets).every(s => s.cssRules.length > 0)")
    for path in ("/static/insidesales/app.css", "/static/insidesales/app.js", "/static/crm.js"):
        response = page.request.get(path)
        assert response.ok, f"{path}: HTTP {response.status}"
