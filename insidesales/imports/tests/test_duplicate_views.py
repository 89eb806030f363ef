"""The duplicates pages: list, compare and merge, not duplicates, scan now, undo from the timeline."""

from __future__ import annotations

import pytest
from django.test import Client

from insidesales.core.testing import factories as f
from insidesales.crm.models import Lead
from insidesales.imports import duplicates
from insidesales.imports.models import DuplicatePair, DuplicateScan, LeadMerge, PairStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(world):
    a = f.LeadFactory(owned_by=world.rep1, first_name="Boris", last_name="Orlov", phone="+79035551234", email="")
    b = f.LeadFactory(
        owned_by=world.rep1, first_name="Boris", last_name="Orlov", phone="+79035551234", email="b@orlov.example"
    )
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=world.org.pk).pk)
    return a, b, DuplicatePair.objects.get(left=a, right=b)


def client_for(world, member) -> Client:
    client = Client()
    client.force_login(world.members[member].user)
    return client


def test_list_shows_the_pair_with_score_reasons_and_actions(world, twins):
    a, b, pair = twins
    page = client_for(world, "rep1").get("/duplicates/").content.decode()
    assert f'href="/duplicates/{pair.pk}/"' in page
    assert f'action="/duplicates/{pair.pk}/dismiss/"' in page
    assert "same name" in page and "same phone" in page
    assert "Last scan" in page


def test_compare_page_offers_each_differing_field_and_merges(world, twins):
    a, b, pair = twins
    client = client_for(world, "rep1")
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert 'name="email" value="other" checked' in page  # the kept lead has none: the other's by default
    assert 'name="first_name"' not in page  # the same on both: nothing to choose
    response = client.post(f"/duplicates/{pair.pk}/", {"keep": b.pk, "action": "merge"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{b.pk}/"
    assert not Lead.objects.filter(pk=a.pk).exists()
    detail = client.get(response["Location"]).content.decode()
    done = LeadMerge.objects.get(survivor=b)
    assert "Merged with Boris Orlov" in detail
    assert f'action="/merges/{done.pk}/undo/"' in detail
    response = client.post(f"/merges/{done.pk}/undo/")
    assert response["Location"] == f"/leads/{a.pk}/"
    assert Lead.objects.filter(pk=a.pk).exists()


def test_a_refused_merge_shows_why_and_changes_nothing(world, twins):
    a, b, pair = twins
    Lead.objects.filter(pk=b.pk).update(status="converted")
    response = client_for(world, "rep1").post(f"/duplicates/{pair.pk}/", {"keep": a.pk, "action": "merge"})
    assert response.status_code == 400
    assert "converted lead cannot be merged away" in response.content.decode()
    assert Lead.objects.filter(pk=b.pk).exists()


def test_not_duplicates_and_scan_now(world, twins):
    _, _, pair = twins
    client = client_for(world, "rep1")
    assert client.post(f"/duplicates/{pair.pk}/dismiss/")["Location"] == "/duplicates/"
    assert DuplicatePair.objects.get(pk=pair.pk).status == PairStatus.DISMISSED
    assert client.post("/duplicates/scan/").status_code == 302
    assert DuplicateScan.objects.filter(organization=world.org, status="queued").exists()


def test_field_reps_review_contacts_and_companies_not_leads(world, twins):
    a, b, pair = twins
    client = client_for(world, "field_rep")
    response = client.get("/duplicates/")
    assert response.status_code == 302 and response["Location"] == "/duplicates/contacts/"
    assert client.get(f"/duplicates/{pair.pk}/").status_code == 404
    assert client.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 404
    page = client.get("/duplicates/contacts/").content.decode()
    assert 'href="/duplicates/companies/"' in page and 'href="/duplicates/"' not in page
    leads_page = client.get("/leads/").content.decode()
    assert 'href="/duplicates/contacts/"' in leads_page and 'href="/duplicates/"' not in leads_page
    assert 'href="/duplicates/"' in client_for(world, "rep1").get("/leads/").content.decode()


def test_a_rep_is_offered_to_keep_the_lead_they_may_not_merge_away(world):
    mine = f.LeadFactory(owned_by=world.rep1, first_name="Pool", last_name="Twin", email="pool@twin.example")
    pool = f.LeadFactory(organization=world.org, first_name="Pool", last_name="Twin", email="pool@twin.example")
    pair = DuplicatePair.objects.create(organization=world.org, left=mine, right=pool, score=0.99, reasons=[])
    client = client_for(world, "rep1")
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert f'name="keep" value="{pool.pk}"' in page
    refused = client.post(f"/duplicates/{pair.pk}/", {"keep": mine.pk, "action": "merge"})
    assert refused.status_code == 400
    assert "merge away only your own leads" in refused.content.decode()
    assert client.post(f"/duplicates/{pair.pk}/", {"keep": pool.pk, "action": "merge"}).status_code == 302
    assert not Lead.objects.filter(pk=mine.pk).exists()


def test_organization_counts_are_for_managers(world, twins):
    assert "leads," in client_for(world, "manager").get("/duplicates/").content.decode()
    assert "leads," not in client_for(world, "rep1").get("/duplicates/").content.decode()


def test_contact_pairs_are_listed_compared_merged_and_undone(world):
    from insidesales.crm.models import Activity, Contact, Deal
    from insidesales.imports.models import ContactMerge, ContactPair

    company = f.CompanyFactory(owned_by=world.rep1, name="Orlov & Sons")
    a = f.ContactFactory(
        owned_by=world.rep1, first_name="Boris", last_name="Orlov", email="boris@orlov.example", company=company
    )
    b = f.ContactFactory(owned_by=world.rep1, first_name="Boris", last_name="Orlov", email="boris@orlov.example")
    deal = f.DealFactory(owned_by=world.rep1, contact=b, name="Orlov renewal")
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=world.org.pk).pk)
    pair = ContactPair.objects.get(left=a, right=b)
    client = client_for(world, "rep1")
    page = client.get("/duplicates/contacts/").content.decode()
    assert "Duplicate contacts" in page and f'href="/duplicates/contacts/{pair.pk}/"' in page
    assert f'href="/contacts/{a.pk}/"' in page and "Orlov &amp; Sons" in page and "same email" in page
    assert 'aria-current="page">Contacts<' in page
    compare = client.get(f"/duplicates/contacts/{pair.pk}/").content.decode()
    assert "Merge contacts" in compare and 'name="company"' in compare
    response = client.post(f"/duplicates/contacts/{pair.pk}/", {"keep": b.pk, "company": "other", "action": "merge"})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{b.pk}/"
    assert not Contact.objects.filter(pk=a.pk).exists()
    assert Contact.objects.get(pk=b.pk).company_id == company.pk
    assert Deal.objects.get(pk=deal.pk).contact_id == b.pk
    assert Activity.objects.filter(contact_id=b.pk, kind="merge").exists()
    merge = ContactMerge.objects.get(survivor=b)
    listed = client.get("/duplicates/contacts/").content.decode()
    assert f'action="/merges/contacts/{merge.pk}/undo/"' in listed
    undone = client.post(f"/merges/contacts/{merge.pk}/undo/")
    assert undone.status_code == 302 and undone["Location"] == f"/contacts/{a.pk}/"
    assert Contact.objects.get(pk=a.pk).company_id == company.pk
    assert Contact.objects.get(pk=b.pk).company_id is None


def test_company_pairs_merge_moves_contacts_and_dismiss_sticks(world):
    from insidesales.crm.models import Company, Contact
    from insidesales.imports.models import CompanyPair

    a = f.CompanyFactory(owned_by=world.rep1, name="ООО «Ромашка»", domain="romashka.ru", city="Kazan")
    b = f.CompanyFactory(owned_by=world.rep1, name="Ромашка", domain="romashka.ru", city="Kazan")
    c = f.CompanyFactory(owned_by=world.rep1, name="Ромашка Плюс", domain="romashka.ru", city="Kazan")
    person = f.ContactFactory(owned_by=world.rep1, last_name="Petrova", company=b)
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=world.org.pk).pk)
    pair = CompanyPair.objects.get(left=a, right=b)
    client = client_for(world, "rep1")
    page = client.get("/duplicates/companies/").content.decode()
    assert "Duplicate companies" in page and "same web domain" in page and "same name" in page
    other = CompanyPair.objects.get(left=a, right=c)
    assert client.post(f"/duplicates/companies/{other.pk}/dismiss/")["Location"] == "/duplicates/companies/"
    duplicates.scan_run(scan_id=duplicates.scan_request(organization_id=world.org.pk).pk)
    assert CompanyPair.objects.get(left=a, right=c).status == PairStatus.DISMISSED
    pair = CompanyPair.objects.get(left=a, right=b)  # the scan replaced the open pairs
    response = client.post(f"/duplicates/companies/{pair.pk}/", {"keep": a.pk, "action": "merge"})
    assert response.status_code == 302 and response["Location"] == f"/companies/{a.pk}/"
    assert not Company.objects.filter(pk=b.pk).exists()
    assert Contact.objects.get(pk=person.pk).company_id == a.pk
    bad = client.post(f"/duplicates/companies/{other.pk}/", {"keep": a.pk, "action": "merge"})
    assert bad.status_code == 404  # a dismissed pair is not offered for merging


def test_a_lead_merge_on_a_converted_contact_timeline_is_undone_as_a_lead_merge(world):
    """A converted lead's timeline (its merges too) is also its contact's; merge ids are per kind, so
    each entry names its kind and the undo button and bookkeeping follow the entry, not the page."""
    from insidesales.crm.models import Activity, Contact
    from insidesales.crm.services import lead_convert
    from insidesales.imports.merge import lead_merge, merge_undo, record_merge

    a = f.LeadFactory(owned_by=world.rep1, first_name="Vera", last_name="Lis", email="vera@lis.example")
    b = f.LeadFactory(owned_by=world.rep1, first_name="Vera", last_name="Lis", email="vera@lis.example")
    lead_done = lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    lead_convert(membership=world.rep1, lead_id=a.pk, create_deal=False)
    contact = Contact.objects.get(pk=Lead.objects.get(pk=a.pk).converted_contact_id)
    twin = f.ContactFactory(owned_by=world.rep1, first_name="Vera", last_name="Lis", email="vera@lis.example")
    contact_done = record_merge(kind="contact", membership=world.rep1, survivor_id=contact.pk, other_id=twin.pk)
    page = client_for(world, "rep1").get(f"/contacts/{contact.pk}/").content.decode()
    assert f'action="/merges/{lead_done.pk}/undo/"' in page
    assert f'action="/merges/contacts/{contact_done.pk}/undo/"' in page
    # Even with equal ids, undoing the contact merge leaves the lead merge's entry alone.
    lead_entry = Activity.objects.get(lead_id=a.pk, kind="merge", data__event="merged")
    lead_entry.data = {key: value for key, value in lead_entry.data.items() if key != "kind"}  # as written before
    lead_entry.data["merge_id"] = contact_done.pk
    lead_entry.save()
    merge_undo(membership=world.rep1, merge_id=contact_done.pk, kind="contact")
    lead_entry.refresh_from_db()
    assert "undone" not in lead_entry.data and lead_entry.data["other_id"] == b.pk
