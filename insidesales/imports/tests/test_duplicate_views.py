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


def test_field_reps_have_no_duplicates_page(world):
    assert client_for(world, "field_rep").get("/duplicates/").status_code == 403
    assert "/duplicates/" not in client_for(world, "field_rep").get("/leads/").content.decode()
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
