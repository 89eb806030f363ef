"""Lead verbs through the UI: qualify, disqualify, start working, and the convert page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm.models import Company, Contact, Deal, Lead

pytestmark = pytest.mark.django_db


def test_qualify_then_convert_creates_contact_company_and_deal(ui, ui_login):
    lead = ui.lead(
        by=ui.rep, first_name="Quinn", last_name="Lee", company_name="Quinn Corp", email="quinn@quinncorp.example"
    )
    client = ui_login(ui.rep)
    detail = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'action="/leads/{lead.pk}/qualify/"' in detail and f'href="/leads/{lead.pk}/convert/"' in detail

    assert client.post(f"/leads/{lead.pk}/qualify/").status_code == 302
    lead.refresh_from_db()
    assert lead.status == "qualified"

    preview = client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert "Create a new company “Quinn Corp”." in preview
    assert "Create a new contact “Quinn Lee”." in preview

    response = client.post(
        f"/leads/{lead.pk}/convert/", {"create_deal": "on", "deal_name": "Quinn pilot", "amount": "2500.00"}
    )
    contact = Contact.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/"
    company, deal = Company.objects.get(), Deal.objects.get()
    assert contact.company == company and company.name == "Quinn Corp"
    assert deal.name == "Quinn pilot" and deal.amount == Decimal("2500.00") and deal.contact == contact
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_contact == contact
    page = client.get(response["Location"]).content.decode()
    assert "Lead converted to contact Quinn Lee." in page
    assert f'href="/deals/{deal.pk}/"' in page


def test_convert_page_names_the_existing_company_and_contact_it_merges_into(ui, ui_login):
    company = f.CompanyFactory(organization=ui.org, name="Initech", domain="initech.example")
    contact = f.ContactFactory(organization=ui.org, email="maria@initech.example", company=company)
    lead = ui.lead(first_name="Maria", last_name="Garcia", email="maria@initech.example", company_name="Initech")
    client = ui_login(ui.admin)
    preview = client.get(f"/leads/{lead.pk}/convert/").content.decode()
    assert "Merge into the existing contact" in preview and f'href="/contacts/{contact.pk}/"' in preview
    assert "Link to the existing company" in preview and f'href="/companies/{company.pk}/"' in preview

    response = client.post(f"/leads/{lead.pk}/convert/", {"deal_name": ""})  # checkbox off: no deal
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert Contact.objects.count() == 1 and Company.objects.count() == 1 and not Deal.objects.exists()


def test_converted_lead_cannot_be_converted_again(ui, ui_login):
    lead = ui.lead(last_name="Once", company_name="Once Inc")
    client = ui_login(ui.admin)
    client.post(f"/leads/{lead.pk}/convert/", {"create_deal": "on"})
    again = client.get(f"/leads/{lead.pk}/convert/", follow=True)
    assert "cannot be converted" in again.content.decode()
    assert Contact.objects.count() == 1


def test_disqualify_needs_a_reason(ui, ui_login):
    lead = ui.lead(last_name="Nope")
    client = ui_login(ui.admin)
    response = client.post(f"/leads/{lead.pk}/disqualify/", {"note": "no"}, follow=True)
    assert "Choose a reason" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "new"
    client.post(f"/leads/{lead.pk}/disqualify/", {"reason": "competitor", "note": "Went with X"})
    lead.refresh_from_db()
    assert lead.status == "disqualified" and lead.disqualify_reason == "competitor"
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Went with X" in page and f'href="/leads/{lead.pk}/convert/"' not in page
    assert f'action="/leads/{lead.pk}/work/"' in page
    client.post(f"/leads/{lead.pk}/work/")
    lead.refresh_from_db()
    assert lead.status == "working"


def test_qualify_on_a_converted_lead_shows_an_error_not_a_crash(ui, ui_login):
    lead = ui.lead(last_name="Done", company_name="Done Inc")
    client = ui_login(ui.admin)
    client.post(f"/leads/{lead.pk}/convert/", {})
    response = client.post(f"/leads/{lead.pk}/qualify/", follow=True)
    assert response.status_code == 200
    assert re.search(r"cannot move to", response.content.decode())
    assert Lead.objects.get().status == "converted"


def test_new_lead_form_suggests_the_organizations_own_country_and_currency(ui, ui_login):
    organization = ui.rep.organization
    organization.default_region = "RU"
    organization.default_currency = "RUB"
    organization.save()
    client = ui_login(ui.rep)
    page = client.get("/leads/new/").content.decode()
    assert re.search(
        r'<input[^>]*name="country"[^>]*placeholder="RU"|<input[^>]*placeholder="RU"[^>]*name="country"', page
    )
    assert 'placeholder="US"' not in page
