"""Global search: by email, by phone typed any way, by name from either end, by company; never out of scope."""

from __future__ import annotations

import pytest

from insidesales.core.testing import factories as f
from insidesales.core.testing.world import MEMBERS
from insidesales.crm import selectors, services
from insidesales.crm.models import Company, Contact, Deal, Lead

pytestmark = pytest.mark.django_db
_MODEL = {"leads": Lead, "contacts": Contact, "companies": Company, "deals": Deal}


def _search(membership, text):
    results = selectors.global_search(membership=membership, text=text)
    return {kind: [r.pk for r in records] for kind, records in results.items()}


@pytest.mark.parametrize("text", ["lead.rep1@rep1-prospects.test", "  LEAD.Rep1@Rep1-Prospects.TEST ", "lead.rep1@"])
def test_finds_a_lead_by_email(world, text):
    assert _search(world.admin, text) == {"leads": [world.lead_rep1.pk], "contacts": [], "companies": [], "deals": []}


def test_finds_a_contact_by_email(world):
    assert _search(world.admin, "contact.rep2@rep2-industries.test")["contacts"] == [world.contact_rep2.pk]


# lead_rep1's phone is +1 415 555-0140, contact_rep1's +1 415 555-0120, company_rep1's +1 415 555-0100.
@pytest.mark.parametrize("text", ["(415) 555-0140", "415.555.0140", "+1 415 555 0140", "4155550140", "1-415-555-0140"])
def test_finds_by_phone_typed_in_another_format(world, text):
    found = _search(world.admin, text)
    assert found["leads"] == [world.lead_rep1.pk]
    assert found["contacts"] == []


def test_finds_contacts_and_companies_by_phone(world):
    assert _search(world.admin, "415 555 0120")["contacts"] == [world.contact_rep1.pk]
    assert _search(world.admin, "415 555 0100")["companies"] == [world.company_rep1.pk]


def test_finds_a_russian_number_typed_the_russian_way(db):
    admin = f.AdminMembershipFactory(organization=f.OrganizationFactory(default_region="RU"))
    lead = services.lead_create(membership=admin, data={"last_name": "Иванов", "phone": "+7 916 123-45-67"})
    for text in ("8 (916) 123-45-67", "89161234567", "+79161234567", "916 123 45 67"):
        assert _search(admin, text)["leads"] == [lead.pk], text


@pytest.mark.parametrize(
    ("text", "kind", "slot"),
    [
        ("Lead Rep1", "leads", "rep1"),
        ("lead rep1le", "leads", "rep1"),
        ("Rep1lead", "leads", "rep1"),  # last name first
        ("rep1lead le", "leads", "rep1"),
        ("Rep2 Prosp", "leads", "rep2"),  # the lead's company
        ("Contact Agencyxc", "contacts", "agency_x"),
        ("agencyxcontact", "contacts", "agency_x"),
        ("Field Indus", "companies", "field"),
        ("Unassigned De", "deals", "unassigned"),
    ],
)
def test_finds_by_name_prefix_from_either_end(world, text, kind, slot):
    found = _search(world.admin, text)
    assert found[kind] == [world.slots[slot].record(_MODEL[kind]).pk]


def test_cyrillic_names_with_yo_and_case(world):
    lead = services.lead_create(
        membership=world.rep1, data={"first_name": "Пётр", "last_name": "Ёлкин", "company_name": "Ёжик и Ко"}
    )
    for text in ("петр", "ПЁТР ЁЛК", "елкин п", "Ёлкин Пётр", "ежик и", "Ёжик"):
        assert _search(world.rep1, text)["leads"] == [lead.pk], text
    assert _search(world.rep1, "етр")["leads"] == []  # prefix, not substring


def test_wildcards_in_the_query_are_literal(world):
    underscore = services.lead_create(membership=world.rep1, data={"last_name": "a_b"})
    services.lead_create(membership=world.rep1, data={"last_name": "axb"})
    star = services.lead_create(membership=world.rep1, data={"last_name": "c*d"})
    services.lead_create(membership=world.rep1, data={"last_name": "cxd"})
    assert _search(world.rep1, "a_")["leads"] == [underscore.pk]
    assert _search(world.rep1, "c*")["leads"] == [star.pk]
    for text in ("%", "[", "?", "\\", "'", '"'):
        assert _search(world.rep1, text)["leads"] == []


@pytest.mark.parametrize("member", MEMBERS)
def test_search_never_finds_records_out_of_scope(world, member):
    membership = world.members[member]
    for slot in sorted(world.hidden_slots(member)):
        records = world.slots[slot]
        for text in (
            records.lead.email,
            records.contact.email,
            records.lead.phone,
            "415 555 " + records.lead.phone[-4:],
        ):
            assert _search(membership, text) == {"leads": [], "contacts": [], "companies": [], "deals": []}, (
                slot,
                text,
            )
        word = slot.replace("_", "").capitalize()
        found = _search(membership, word)
        assert found == {"leads": [], "contacts": [], "companies": [], "deals": []}, (slot, word)


@pytest.mark.parametrize("member", MEMBERS)
def test_search_finds_what_is_in_scope(world, member):
    membership = world.members[member]
    for slot in world.visible_slots(member):
        records = world.slots[slot]
        assert _search(membership, records.lead.email)["leads"] == [records.lead.pk]
        assert _search(membership, records.contact.phone)["contacts"] == [records.contact.pk]


def test_an_email_query_does_not_look_for_companies_or_deals(world):
    assert _search(world.admin, "rep1@")["companies"] == []
    assert _search(world.admin, "rep1@")["deals"] == []


def test_results_are_capped(world):
    for i in range(12):
        f.LeadFactory(owned_by=world.rep1, first_name="Many", last_name=f"Same{i}")
    assert len(selectors.global_search(membership=world.rep1, text="many", limit=8)["leads"]) == 8


@pytest.mark.parametrize("model", [Lead, Contact, Company, Deal])
def test_name_candidates_read_with_kept_sql_are_what_the_orm_reads(model, monkeypatch):
    """The candidates' kept SQL (one UNION ALL) returns the ids the per-column querysets return,
    including the limit per column and wildcard characters taken literally."""
    from django.db import connection

    from insidesales.crm.filters import name_search_keys

    monkeypatch.setattr(selectors, "NAME_CANDIDATES", 3)
    selectors._candidates_sql.cache_clear()
    org = f.OrganizationFactory()
    other = f.OrganizationFactory()
    admin = f.MembershipFactory(organization=org, role="admin")
    names = ["Alpha", "Alpine", "Alps", "Alto", "Al*x", "Al_x", "Al%x", "Al[x", "Al?x", "Ал Альфа", "Beta Alpha"]
    factory = {Lead: f.LeadFactory, Contact: f.ContactFactory, Company: f.CompanyFactory, Deal: f.DealFactory}[model]
    for name in names:
        for organization in (org, other):
            if model in (Lead, Contact):
                first, _, last = name.partition(" ")
                extra = {"company_name": "Alpenglow Ltd"} if model is Lead else {}
                factory(organization=organization, first_name=first, last_name=last or "Smith", **extra)
            else:
                factory(organization=organization, name=name)
    fields = {Lead: ("name_key", "name_rev_key", "company_key"), Contact: ("name_key", "name_rev_key")}.get(
        model, ("name_key",)
    )
    for text in ["al", "Al*", "al_", "al%", "al[", "al?", "алп", "Ал Аль", "alpenglow", "zzz", "beta al"]:
        expected: set[int] = set()
        matching: set[int] = set()
        largest = 0
        for name, key in name_search_keys(model, fields, text):
            rows = model.objects.filter(organization_id=org.pk, **{f"{name}__prefix": key})
            rows = rows.order_by(name) if connection.vendor == "sqlite" else rows.order_by()
            expected.update(rows.values_list("pk", flat=True)[:3])
            column = set(rows.values_list("pk", flat=True))
            matching |= column
            largest = max(largest, min(3, len(column)))
        got = selectors._name_candidates(admin, model, fields, text)
        assert len(got) == len(set(got))
        with_activity = selectors._name_candidates(admin, model, fields, text, True)
        assert sorted(pk for _at, pk in with_activity) == sorted(got)
        if connection.vendor == "postgresql":  # the search's PostgreSQL path reads the activity times
            assert set(with_activity) == set(model.objects.filter(pk__in=got).values_list("last_activity_at", "pk"))
        if connection.vendor == "sqlite":
            assert sorted(got) == sorted(expected), text
        else:  # without ORDER BY a column's scan may stop at any three of its rows
            assert set(got) <= matching and largest <= len(got) <= 3 * len(fields) * 2, text
    selectors._candidates_sql.cache_clear()


def test_name_search_pages_through_candidates_the_searcher_cannot_see(world):
    """The most recently active matches belong to someone else: the search still shows the searcher's
    own matches, most recent first (on PostgreSQL visibility is checked in growing batches)."""
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    theirs = [f.LeadFactory(owned_by=world.rep2, first_name="Zebulon", last_name=f"Q{i}") for i in range(40)]
    mine = [f.LeadFactory(owned_by=world.rep1, first_name="Zebulon", last_name=f"R{i}") for i in range(12)]
    for i, lead in enumerate(theirs):
        Lead.objects.filter(pk=lead.pk).update(last_activity_at=now - dt.timedelta(minutes=i))
    for i, lead in enumerate(mine):
        Lead.objects.filter(pk=lead.pk).update(last_activity_at=now - dt.timedelta(days=1, minutes=i))
    found = _search(world.rep1, "zebul")["leads"]
    assert found == [lead.pk for lead in mine[:8]]
    assert _search(world.admin, "zebul")["leads"] == [lead.pk for lead in theirs[:8]]
