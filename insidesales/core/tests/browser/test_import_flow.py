"""An admin imports a Russian Excel-style CSV in the browser: upload, check the mapping, run, see the result,
download the rejected rows, find an imported lead by phone, undo."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in
from insidesales.crm.models import Lead

pytestmark = pytest.mark.browser

LIST = (
    "ФИО;Компания;Телефон;Эл. почта\r\n"
    "Анна Кузнецова;ООО «Вектор»;8 (916) 555-12-34;anna@vector.example\r\n"
    "Пётр Сидоров;АО Север;+7 495 765-43-21;petr@sever.example\r\n"
    "Без Телефона;;12;не-почта\r\n"
).encode("cp1251")


@pytest.fixture
def immediate_tasks(settings):
    """Run queued tasks at once (no worker process in this test): the import runs when the page commits."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_admin_imports_a_list_and_undoes_it(
    page: Page, browser_world: BrowserWorld, immediate_tasks, settings, tmp_path, screenshot
):
    settings.DATA_DIR = tmp_path
    org = browser_world.admin.organization
    org.default_region = "RU"
    org.save()
    source = tmp_path / "выставка.csv"
    source.write_bytes(LIST)
    sign_in(page, browser_world.admin)

    page.goto("/imports/")
    page.get_by_label("CSV or XLSX file").set_input_files(str(source))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Map the columns")
    expect(page.get_by_text("ООО «Вектор»")).to_be_visible()  # read as Windows-1251
    expect(page.get_by_label("ФИО")).to_have_value("name")
    expect(page.get_by_label("Телефон")).to_have_value("phone")
    page.get_by_role("group", name="When a row matches an existing lead").get_by_label(
        "Update the existing record"
    ).check()
    screenshot(page, "mapping")
    page.get_by_role("button", name="Start the import").click()

    expect(page.get_by_role("heading", name="Done")).to_be_visible()
    counts = page.locator(".imports-counts")
    expect(counts.locator(".stat").filter(has_text="Created").first.locator("dd")).to_have_text("2")
    expect(counts.locator(".stat").filter(has_text="Rejected").locator("dd")).to_have_text("1")
    screenshot(page, "done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    rejected = download.value.path().read_text(encoding="utf-8-sig")
    assert "Без Телефона" in rejected and "12" in rejected

    page.goto("/search/?q=" + "+7 916 555 1234")
    expect(page.get_by_role("link", name="Анна Кузнецова")).to_be_visible()

    page.goto("/imports/")
    page.get_by_role("link", name="выставка.csv").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo this import").click()
    expect(page.get_by_text("is being undone")).to_be_visible()
    expect(page.get_by_role("heading", name="Undone")).to_be_visible()  # the worker (here: at once) took it back
    assert not Lead.objects.filter(email="anna@vector.example").exists()


CONTACTS = (
    b"First name,Last name,Company,Website,Email\r\n"
    b"Dana,Reyes,Initech,https://www.initech.example/,dana@initech.example\r\n"
    b'Eli,Stone,"Initech, Inc.",,eli@gmail.com\r\n'
    b"Fox,,Initech,,\r\n"
)


def test_admin_imports_contacts_linked_to_a_company_made_for_them(
    page: Page, browser_world: BrowserWorld, immediate_tasks, settings, tmp_path, screenshot
):
    from insidesales.crm.models import Company, Contact

    settings.DATA_DIR = tmp_path
    source = tmp_path / "contacts.csv"
    source.write_bytes(CONTACTS)
    sign_in(page, browser_world.admin)

    page.goto("/imports/")
    page.get_by_label("Import", exact=True).select_option("contact")
    page.get_by_label("CSV or XLSX file").set_input_files(str(source))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_label("Company", exact=True)).to_have_value("company_name")
    expect(page.get_by_label("Website")).to_have_value("company_domain")
    expect(page.get_by_text("When a row matches an existing contact")).to_be_visible()
    expect(page.get_by_label("Lead source (where the file has no source column)")).to_have_count(0)
    screenshot(page, "contacts-mapping")
    page.get_by_role("button", name="Start the import").click()

    expect(page.get_by_role("heading", name="Done · Contacts")).to_be_visible()
    counts = page.locator(".imports-counts")
    expect(counts.locator(".stat").filter(has_text="Created").first.locator("dd")).to_have_text("2")
    expect(counts.locator(".stat").filter(has_text="Companies created for the contacts").locator("dd")).to_have_text(
        "1"
    )
    screenshot(page, "contacts-done")
    company = Company.objects.get(domain="initech.example")
    assert set(Contact.objects.filter(company=company).values_list("last_name", flat=True)) == {"Reyes", "Stone"}

    page.get_by_role("link", name="Open the list").click()
    expect(page).to_have_url("/contacts/")
    expect(page.get_by_role("link", name="Dana Reyes")).to_be_visible()
    screenshot(page, "contacts-list")


def test_expired_uploads_and_removed_reports_are_explained(
    page: Page, browser_world: BrowserWorld, immediate_tasks, settings, tmp_path, screenshot
):
    import datetime as dt

    from django.utils import timezone

    from insidesales.imports import retention, services
    from insidesales.imports.models import ImportJob

    settings.DATA_DIR = tmp_path
    admin = browser_world.admin
    waiting = services.import_upload(membership=admin, file_name="forgotten.csv", chunks=[CONTACTS])
    done = services.import_upload(membership=admin, file_name="old-list.csv", chunks=[LIST])
    services.import_start(membership=admin, job_id=done.pk, mapping=done.mapping, run_now=True)
    long_ago = timezone.now() - dt.timedelta(days=40)
    ImportJob.objects.filter(pk=waiting.pk).update(created_at=long_ago)
    ImportJob.objects.filter(pk=done.pk).update(finished_at=long_ago)
    assert retention.import_files_purge() == {"uploads": 1, "reports": 1, "strays": 0}
    sign_in(page, admin)

    page.goto("/imports/")
    expect(page.get_by_role("row", name="forgotten.csv")).to_contain_text("Expired")
    page.get_by_role("link", name="forgotten.csv").click()
    expect(page.get_by_role("alert")).to_contain_text("This upload expired")
    expect(page.get_by_role("button", name="Start the import")).to_have_count(0)
    screenshot(page, "expired-upload")
    page.get_by_role("link", name="Upload a file").click()
    expect(page.get_by_label("CSV or XLSX file")).to_be_visible()

    page.goto(f"/imports/{done.pk}/")
    expect(page.get_by_text("The rejected-rows report was removed on")).to_be_visible()
    expect(page.get_by_role("link", name="Download rejected rows (CSV)")).to_have_count(0)
    screenshot(page, "report-removed")


SIMILAR = (
    b"First name,Last name,Company,Email\r\n"
    b"Jonathon,Whitfield,Acme Logistics,j.whitfield@mail.example\r\n"
    b"Maria,Lopez,Acme Logistics,maria@acmelogistics.example\r\n"
)


def test_a_lead_like_an_existing_one_is_created_flagged_and_listed(
    page: Page, browser_world: BrowserWorld, immediate_tasks, settings, tmp_path, screenshot
):
    from insidesales.crm.services.leads import lead_create

    settings.DATA_DIR = tmp_path
    admin = browser_world.admin
    existing = lead_create(
        membership=admin,
        data={
            "first_name": "Jonathan",
            "last_name": "Whitfield",
            "company_name": "Acme Logistics LLC",
            "email": "jonathan@acmelogistics.example",
        },
    )
    source = tmp_path / "event.csv"
    source.write_bytes(SIMILAR)
    sign_in(page, admin)

    page.goto("/imports/")
    page.get_by_label("CSV or XLSX file").set_input_files(str(source))
    page.get_by_role("button", name="Upload and map columns").click()
    similar = page.get_by_role("group", name="When a row looks like an existing lead")
    expect(similar.get_by_label("Create it and flag it for review")).to_be_checked()
    screenshot(page, "similar-mapping")
    page.get_by_role("button", name="Start the import").click()

    expect(page.get_by_role("heading", name="Done · Leads")).to_be_visible()
    counts = page.locator(".imports-counts")
    expect(counts.locator(".stat").filter(has_text="Created and flagged").locator("dd")).to_have_text("1")
    flags = page.locator("#import-flags")
    expect(flags.get_by_role("row")).to_have_count(2)  # the header and one flagged lead
    row = flags.get_by_role("row").nth(1)
    expect(row).to_contain_text("similar name at the same company")
    expect(row).to_contain_text("j.whitfield@mail.example")
    screenshot(page, "similar-flagged")
    row.get_by_role("link", name="Jonathan Whitfield").click()
    expect(page).to_have_url(f"/leads/{existing.pk}/")
