"""An inside rep reviews duplicates in the browser: runs a scan, compares a pair, keeps values from
both leads, merges, sees the merge on the timeline, undoes it; and marks another pair as not duplicates."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in
from insidesales.crm.models import Lead
from insidesales.crm.services import lead_create

pytestmark = pytest.mark.browser


@pytest.fixture
def immediate_tasks(settings):
    """Run queued tasks at once (no worker process in this test): the scan runs when "Scan now" commits."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_rep_merges_two_leads_and_undoes_it(page: Page, browser_world: BrowserWorld, immediate_tasks, screenshot):
    rep = browser_world.inside_rep
    kept = lead_create(
        membership=rep,
        data={
            "first_name": "Анна",
            "last_name": "Кузнецова",
            "company_name": "ООО «Вектор»",
            "phone": "8 916 555-12-34",
        },
    )
    other = lead_create(
        membership=rep,
        data={
            "first_name": "Анна",
            "last_name": "Кузнецова",
            "company_name": "Вектор",
            "phone": "+7 916 555 1234",
            "email": "anna@vector.example",
            "title": "Директор",
        },
    )
    lead_create(membership=rep, data={"first_name": "Олег", "last_name": "Смирнов", "email": "oleg@sever.example"})
    lead_create(membership=rep, data={"first_name": "Ольга", "last_name": "Смирнова", "email": "oleg@sever.example"})
    sign_in(page, rep)

    page.goto("/duplicates/")
    expect(page.get_by_text("No scan has run yet.")).to_be_visible()
    page.get_by_role("button", name="Scan now").click()
    page.goto("/duplicates/")
    rows = page.locator("table.dup-table tbody tr")
    expect(rows).to_have_count(2)
    anna = rows.filter(has_text="Анна Кузнецова")
    expect(anna.get_by_text("same phone")).to_be_visible()
    expect(anna.get_by_text("same company")).to_be_visible()
    screenshot(page, "list")

    oleg = rows.filter(has_text="Олег Смирнов")
    oleg.get_by_role("button", name="Not duplicates").click()
    expect(page.get_by_text("Marked as not duplicates")).to_be_visible()
    expect(page.locator("table.dup-table tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Compare and merge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge leads")
    email = page.locator("input[name=email][value=other]")
    expect(email).to_be_checked()  # the kept lead has no email: the other's by default
    page.locator("input[name=title][value=other]").check()
    screenshot(page, "compare")
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page.get_by_text("was merged into this lead")).to_be_visible()
    assert page.url.endswith(f"/leads/{kept.pk}/")  # the older lead is offered as the one to keep
    survivor = Lead.objects.get(pk=kept.pk)
    assert (survivor.email, survivor.title, survivor.company_name) == (
        "anna@vector.example",
        "Директор",
        "ООО «Вектор»",
    )
    assert not Lead.objects.filter(pk=other.pk).exists()
    expect(page.get_by_text("Merged with Анна Кузнецова")).to_be_visible()
    screenshot(page, "merged")

    page.get_by_role("button", name="Undo merge").click()
    expect(page.get_by_text("The merge was undone")).to_be_visible()
    assert page.url.endswith(f"/leads/{other.pk}/")
    back = Lead.objects.get(pk=other.pk)
    assert (back.email, back.title, back.phone_raw) == ("anna@vector.example", "Директор", "+7 916 555 1234")
    survivor.refresh_from_db()
    assert (survivor.email, survivor.title) == ("", "")
    expect(page.get_by_text("Merge with Анна Кузнецова undone")).to_be_visible()


def test_field_rep_merges_two_contacts_and_undoes_it_from_the_timeline(
    page: Page, browser_world: BrowserWorld, immediate_tasks, screenshot
):
    """Field reps work accounts: their Duplicates link opens the contacts; a merge there moves the
    other contact's deal and takes its company, and the timeline's undo brings it all back."""
    from insidesales.crm.models import Company, Contact, Deal
    from insidesales.crm.services import record_create

    rep = browser_world.field_rep
    vector = record_create(membership=rep, model=Company, data={"name": "ООО «Вектор»", "domain": "vector.example"})
    kept = record_create(
        membership=rep, model=Contact, data={"first_name": "Анна", "last_name": "Кузнецова", "phone": "8 916 555-12-34"}
    )
    other = record_create(
        membership=rep,
        model=Contact,
        data={
            "first_name": "Анна",
            "last_name": "Кузнецова",
            "phone": "+7 916 555 1234",
            "email": "anna@vector.example",
            "company_id": vector.pk,
        },
    )
    deal = record_create(membership=rep, model=Deal, data={"name": "Вектор — пилот", "contact_id": other.pk})
    sign_in(page, rep)

    page.get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Duplicate contacts")
    expect(page.get_by_role("link", name="Leads", exact=True)).to_have_count(1)  # the main navigation's only
    page.get_by_role("button", name="Scan now").click()
    rows = page.locator("table.dup-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.get_by_text("same phone")).to_be_visible()
    screenshot(page, "contacts")

    page.get_by_role("link", name="Compare and merge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge contacts")
    expect(page.locator("input[name=company][value=other]")).to_be_checked()  # the kept one has none
    screenshot(page, "compare-contacts")
    page.get_by_role("button", name="Merge", exact=True).click()

    expect(page.get_by_text("was merged into this contact")).to_be_visible()
    assert page.url.endswith(f"/contacts/{kept.pk}/")
    survivor = Contact.objects.get(pk=kept.pk)
    assert (survivor.email, survivor.company_id) == ("anna@vector.example", vector.pk)
    assert Deal.objects.get(pk=deal.pk).contact_id == kept.pk
    expect(page.get_by_text("Merged with Анна Кузнецова")).to_be_visible()

    page.get_by_role("button", name="Undo merge").click()
    expect(page.get_by_text("The merge was undone")).to_be_visible()
    assert page.url.endswith(f"/contacts/{other.pk}/")
    assert Deal.objects.get(pk=deal.pk).contact_id == other.pk
    survivor.refresh_from_db()
    assert (survivor.email, survivor.company_id) == ("", None)
