"""Duplicate contacts and companies through the services: what the scan finds, who sees the pairs, what
a merge moves and what its undo brings back."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Deal, Lead, LeadStatus, Task
from insidesales.imports import duplicates, merge
from insidesales.imports.models import CompanyMerge, ContactMerge, ContactPair, DuplicateScan, PairStatus, ScanStatus
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def contact(owner, **fields) -> Contact:
    return f.ContactFactory(owned_by=owner, **fields)


def company(owner, **fields) -> Company:
    return f.CompanyFactory(owned_by=owner, **fields)


MODELS = {"contact": Contact, "company": Company}


def new_record(kind, owner):
    """A fresh contact or company of this member's."""
    return contact(owner) if kind == "contact" else company(owner)


def scan(org) -> DuplicateScan:
    queued = duplicates.scan_request(organization_id=org.pk)
    return duplicates.scan_run(scan_id=queued.pk)


def pair_of(a, b):
    """The pair of these two records (contacts or companies), or None."""
    model = duplicates.KINDS[type(a)._meta.model_name].pair_model
    left, right = sorted((a.pk, b.pk))
    return model.objects.filter(left_id=left, right_id=right).first()


def do_merge(member, kind, survivor, other, choices=None):
    return merge.record_merge(kind=kind, membership=member, survivor_id=survivor.pk, other_id=other.pk, choices=choices)


# Bumped by the merge's own timeline entries and by saving the survivor: not part of what a merge changes.
TOUCHED = {"last_activity_at", "updated_at"}


def snapshot(record) -> dict:
    """A contact's or company's fields, tags, and the ids of everything linked to it (the merge's and
    undo's own timeline entries aside)."""
    model = type(record)
    fresh = model.objects.get(pk=record.pk)
    column = model._meta.model_name
    linked = {
        "activities": Activity.objects.filter(**{column: record.pk}).exclude(kind=ActivityKind.MERGE),
        "tasks": Task.objects.filter(**{column: record.pk}),
        "deals": Deal.objects.filter(**{column: record.pk}),
        "converted leads": Lead.objects.filter(**{f"converted_{column}": record.pk}),
    }
    if model is Company:
        linked["contacts"] = Contact.objects.filter(company=record.pk)
    fields = {field.attname: getattr(fresh, field.attname) for field in model._meta.concrete_fields}
    return {
        "fields": {name: value for name, value in fields.items() if name not in TOUCHED},
        "tags": sorted(fresh.tags.values_list("pk", flat=True)),
        **{name: sorted(rows.values_list("pk", flat=True)) for name, rows in linked.items()},
    }


# -- the scan --------------------------------------------------------------------------------------


@pytest.fixture
def people(world):
    """rep1's contacts: one person under two names sharing an e-mail, a typed-over surname and a swapped
    name at one company, and two colleagues sharing only a surname and their company."""
    romashka = company(world.rep1, name="Romashka", domain="romashka.example")
    falcon = company(world.rep1, name="Falcon Realty", domain="falcon.example")
    return SimpleNamespace(
        email=(
            contact(world.rep1, first_name="Olga", last_name="Smirnova", email="olga@vega.example"),
            contact(world.rep1, first_name="Olya", last_name="Kuznetsova", email="olga@vega.example"),
        ),
        typo=(
            contact(world.rep1, first_name="Ivan", last_name="Petrov", email="", company=romashka),
            contact(world.rep1, first_name="Ivan", last_name="Petrova", email="", company=romashka),
        ),
        swapped=(
            contact(world.rep1, first_name="Anna", last_name="Sidorova", email="", company=romashka),
            contact(world.rep1, first_name="Sidorova", last_name="Anna", email="", company=romashka),
        ),
        colleagues=(
            contact(world.rep1, first_name="Jesse", last_name="Khan", email="", company=falcon),
            contact(world.rep1, first_name="Joshua", last_name="Khan", email="", company=falcon),
        ),
    )


@pytest.fixture
def firms(world):
    """rep1's companies: doubles by web domain, by name (legal form aside) and by phone, and two
    same-named firms in two cities with nothing else in common."""
    return SimpleNamespace(
        domain=(
            company(world.rep1, name="Vega Systems", domain="vega.example"),
            company(world.rep1, name="Polaris", domain="vega.example"),
        ),
        legal_form=(
            company(world.rep1, name="ООО «Ромашка»", domain=""),
            company(world.rep1, name="Ромашка", domain=""),
        ),
        phone=(
            company(world.rep1, name="Alpha Consulting", domain="", phone="+74951234567"),
            company(world.rep1, name="Beta Studio", domain="", phone="+74951234567"),
        ),
        cities=(
            company(world.rep1, name="Stroy", domain="", city="Moscow"),
            company(world.rep1, name="Stroy", domain="", city="Kazan"),
        ),
    )


def test_scan_finds_contacts_sharing_an_email_or_a_similar_name_at_one_company(world, people):
    done = scan(world.org)
    assert done.status == ScanStatus.DONE
    assert set(pair_of(*people.email).reasons) == {"same_email"}
    typo = pair_of(*people.typo)
    assert typo.score >= 0.5 and set(typo.reasons) == {"similar_name", "same_company"}
    assert typo.status == PairStatus.OPEN and typo.group == min(c.pk for c in people.typo)


def test_scan_finds_contacts_with_first_and_last_name_swapped(world, people):
    scan(world.org)
    swapped = pair_of(*people.swapped)
    assert swapped is not None  # nothing but the swapped name and the company ties them
    assert {"same_name", "same_company"} <= set(swapped.reasons)


def test_scan_does_not_pair_colleagues_sharing_a_surname(world, people):
    scan(world.org)
    assert pair_of(*people.colleagues) is None
    for one in people.colleagues:
        assert not ContactPair.objects.filter(left=one).exists() and not ContactPair.objects.filter(right=one).exists()


def test_scan_finds_companies_by_domain_name_without_legal_form_and_phone(world, firms):
    scan(world.org)
    assert set(pair_of(*firms.domain).reasons) == {"same_domain"}
    assert set(pair_of(*firms.legal_form).reasons) == {"same_name"}
    assert set(pair_of(*firms.phone).reasons) == {"same_phone"}
    for pair in (firms.domain, firms.legal_form, firms.phone):
        assert pair_of(*pair).score >= 0.5


def test_scan_does_not_pair_same_named_companies_in_two_cities(world, firms):
    scan(world.org)
    assert pair_of(*firms.cities) is None


def test_scan_counts_every_kind_and_stays_in_its_organization(world, people, firms):
    twin_b = f.ContactFactory(
        organization=world.org_b, first_name="Olga", last_name="Smirnova", email="olga@vega.example"
    )
    firm_b = f.CompanyFactory(organization=world.org_b, name="Vega Systems", domain="vega.example")
    done = scan(world.org)
    assert done.leads_count == Lead.objects.filter(organization=world.org).count()
    assert done.contacts_count == Contact.objects.filter(organization=world.org).count()
    assert done.companies_count == Company.objects.filter(organization=world.org).count()
    stored = {
        kind: spec.pair_model.objects.filter(organization=world.org).count() for kind, spec in duplicates.KINDS.items()
    }
    assert done.pairs_count == sum(stored.values())
    assert stored["contact"] >= 2 and stored["company"] >= 3  # the people and firms found above
    for kind, record in (("contact", twin_b), ("company", firm_b)):
        model = duplicates.KINDS[kind].pair_model
        assert not model.objects.filter(left=record).exists() and not model.objects.filter(right=record).exists()
    done_b = scan(world.org_b)
    assert (done_b.contacts_count, done_b.companies_count) == (
        Contact.objects.filter(organization=world.org_b).count(),
        Company.objects.filter(organization=world.org_b).count(),
    )


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_dismissed_pairs_stay_dismissed_after_a_rescan(world, people, firms, kind):
    a, b = people.email if kind == "contact" else firms.domain
    scan(world.org)
    pair = pair_of(a, b)
    duplicates.pair_dismiss(membership=world.rep1, pair_id=pair.pk, kind=kind)
    scan(world.org)
    model = duplicates.KINDS[kind].pair_model
    assert list(model.objects.filter(left=pair.left_id, right=pair.right_id).values_list("status", flat=True)) == [
        PairStatus.DISMISSED
    ]
    assert not duplicates.pair_list(membership=world.rep1, kind=kind).filter(pk=pair.pk).exists()
    assert duplicates.pair_list(membership=world.rep1, kind=kind, status=PairStatus.DISMISSED).filter(pk=pair.pk)
    audit = AuditLog.objects.get(action="duplicates.dismiss", object_id=pair.pk)
    assert audit.changes == {duplicates.KINDS[kind].plural: [pair.left_id, pair.right_id]}


# -- who sees which pairs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "sees"),
    [("rep1", True), ("manager", True), ("admin", True), ("rep2", False), ("agency_x_rep", False), ("admin_b", False)],
)
@pytest.mark.parametrize("kind", ["contact", "company"])
def test_pairs_are_listed_to_members_seeing_both_records(world, people, firms, kind, member, sees):
    a, b = people.typo if kind == "contact" else firms.domain
    scan(world.org)
    pair = pair_of(a, b)
    membership = world.members[member]
    assert duplicates.pair_list(membership=membership, kind=kind).filter(pk=pair.pk).exists() is sees
    if sees:
        assert duplicates.pair_get(membership=membership, pair_id=pair.pk, kind=kind) == pair
    else:
        with pytest.raises(NotFound):
            duplicates.pair_get(membership=membership, pair_id=pair.pk, kind=kind)
        with pytest.raises(NotFound):
            duplicates.pair_dismiss(membership=membership, pair_id=pair.pk, kind=kind)


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_a_pair_half_in_a_reps_scope_is_hidden(world, kind):
    if kind == "contact":
        mine = contact(world.rep1, first_name="Olga", last_name="Smirnova", email="olga@vega.example")
        theirs = contact(world.rep2, first_name="Olga", last_name="Smirnova", email="olga@vega.example")
    else:
        mine = company(world.rep1, name="Vega Systems", domain="vega.example")
        theirs = company(world.rep2, name="Vega Systems", domain="vega.example")
    scan(world.org)
    pair = pair_of(mine, theirs)
    for member in ("rep1", "rep2"):
        assert not duplicates.pair_list(membership=world.members[member], kind=kind).filter(pk=pair.pk).exists()
    assert duplicates.pair_list(membership=world.admin, kind=kind).filter(pk=pair.pk).exists()


def test_agency_users_see_pairs_of_their_agencys_records_only(world):
    x = [f.CompanyFactory(organization=world.org, agency=world.agency_x, name="Orion", domain="orion.example")]
    x.append(f.CompanyFactory(organization=world.org, agency=world.agency_x, name="Orion Ltd", domain="orion.example"))
    scan(world.org)
    pair = pair_of(*x)
    assert duplicates.pair_list(membership=world.agency_x_rep, kind="company").filter(pk=pair.pk).exists()
    for member in ("agency_y_rep", "agency_off_rep", "rep1"):
        assert not duplicates.pair_list(membership=world.members[member], kind="company").filter(pk=pair.pk).exists()


def test_field_reps_review_contact_and_company_pairs_but_not_lead_pairs(world):
    people = [contact(world.field_rep, first_name="Olga", last_name="Smirnova", email="olga@vega.example")]
    people.append(contact(world.field_rep, first_name="Olga", last_name="Smirnova", email="olga@vega.example"))
    firms = [company(world.field_rep, name="Vega", domain="vega.example"), company(world.field_rep, name="Vega")]
    f.LeadFactory(owned_by=world.field_rep, first_name="Olga", last_name="Smirnova", email="olga@vega.example")
    f.LeadFactory(owned_by=world.field_rep, first_name="Olga", last_name="Smirnova", email="olga@vega.example")
    scan(world.org)
    contact_pair, company_pair = pair_of(*people), pair_of(*firms)
    assert list(duplicates.pair_list(membership=world.field_rep, kind="contact")) == [contact_pair]
    assert list(duplicates.pair_list(membership=world.field_rep, kind="company")) == [company_pair]
    duplicates.pair_dismiss(membership=world.field_rep, pair_id=contact_pair.pk, kind="contact")
    assert pair_of(*people).status == PairStatus.DISMISSED
    with pytest.raises(PermissionDenied):
        duplicates.pair_list(membership=world.field_rep, kind="lead")
    assert duplicates.scan_now(membership=world.field_rep).status == ScanStatus.QUEUED  # a scan covers all kinds


# -- merging contacts ------------------------------------------------------------------------------


@pytest.fixture
def contact_twins(world):
    """Ivan Petrov at Romashka (rep1's) and his typed-over double at Romashka Group, each with a history."""
    romashka = company(world.rep1, name="Romashka", domain="romashka.example")
    group = company(world.rep1, name="Romashka Group", domain="romashka-group.example")
    own_tag = f.TagFactory(organization=world.org, name="kept-own")
    kept = contact(world.rep1, first_name="Ivan", last_name="Petrov", email="", company=romashka, tags=[own_tag])
    other = contact(
        world.rep1,
        first_name="Ivan",
        last_name="Petrova",
        email="ivan@romashka.example",
        phone="+79161234567",
        phone_raw="8 916 123-45-67",
        title="CEO",
        company=group,
        custom={"source": "fair"},
        tags=[world.tag, own_tag],
    )
    return SimpleNamespace(
        romashka=romashka,
        group=group,
        own_tag=own_tag,
        kept=kept,
        other=other,
        kept_note=f.ActivityFactory(organization=world.org, contact=kept, body="Called twice"),
        kept_deal=f.DealFactory(owned_by=world.rep1, name="Romashka pilot", contact=kept, company=romashka),
        note=f.ActivityFactory(organization=world.org, contact=other, body="Met at the fair"),
        task=f.TaskFactory(organization=world.org, assignee=world.rep1.user, contact=other, title="Send the offer"),
        deal=f.DealFactory(owned_by=world.rep1, name="Romashka renewal", contact=other, company=group),
        converted=f.LeadFactory(
            owned_by=world.rep1, status=LeadStatus.CONVERTED, converted_contact=other, converted_company=group
        ),
    )


def test_contact_merge_takes_the_chosen_values_and_moves_everything(world, contact_twins):
    t = contact_twins
    done = do_merge(world.rep1, "contact", t.kept, t.other, {"last_name": "other", "company": "other"})
    assert isinstance(done, ContactMerge) and (done.survivor_id, done.merged_id) == (t.kept.pk, t.other.pk)
    assert not Contact.objects.filter(pk=t.other.pk).exists()
    kept = Contact.objects.get(pk=t.kept.pk)
    assert (kept.first_name, kept.last_name, kept.company_id) == ("Ivan", "Petrova", t.group.pk)  # chosen
    assert (kept.email, kept.title, kept.phone, kept.phone_raw) == (
        "ivan@romashka.example",
        "CEO",
        "+79161234567",
        "8 916 123-45-67",
    )  # its blanks filled from the other, the phone with its typed spelling
    assert kept.custom == {"source": "fair"}
    assert (kept.name_key, kept.name_rev_key) == ("ivan petrova", "petrova ivan")
    assert set(kept.tags.all()) == {world.tag, t.own_tag}
    for row in (t.note, t.task, t.deal, t.kept_note, t.kept_deal):
        row.refresh_from_db()
        assert row.contact_id == kept.pk
    assert t.deal.company_id == t.group.pk  # a deal keeps its own company
    t.converted.refresh_from_db()
    assert (t.converted.converted_contact_id, t.converted.converted_company_id) == (kept.pk, t.group.pk)

    entry = Activity.objects.get(contact=kept, kind=ActivityKind.MERGE)
    assert entry.data == {
        "event": "merged",
        "kind": "contact",
        "merge_id": done.pk,
        "other_id": t.other.pk,
        "other_name": "Ivan Petrova",
    }
    assert entry.actor == world.rep1.user
    audit = AuditLog.objects.get(action="contact.merge")
    assert (audit.object_type, audit.object_id, audit.actor) == ("contact", kept.pk, world.rep1.user)
    assert audit.changes["merged_contact"] == [t.other.pk, None]
    assert audit.changes["company_id"] == [t.romashka.pk, t.group.pk]
    assert audit.changes["last_name"] == ["Petrov", "Petrova"]
    assert merge.merge_list(membership=world.rep1, kind="contact") == [done]
    assert merge.merge_list(membership=world.rep2, kind="contact") == []
    assert merge.merge_list(membership=world.rep1, kind="lead") == []


def test_contact_merge_keeps_the_survivors_values_by_default(world, contact_twins):
    t = contact_twins
    do_merge(world.rep1, "contact", t.kept, t.other)
    kept = Contact.objects.get(pk=t.kept.pk)
    assert (kept.last_name, kept.company_id, kept.email) == ("Petrov", t.romashka.pk, "ivan@romashka.example")


@pytest.mark.parametrize(
    "choices",
    [{}, {"last_name": "other", "company": "other", "email": "survivor", "title": "other", "phone": "other"}],
    ids=["defaults", "chosen"],
)
def test_contact_merge_undo_restores_both_contacts_exactly(world, contact_twins, choices):
    t = contact_twins
    before = snapshot(t.kept), snapshot(t.other)
    done = do_merge(world.rep1, "contact", t.kept, t.other, choices)
    assert snapshot(t.kept) != before[0]
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="contact")
    assert snapshot(t.kept)["fields"] == before[0]["fields"]
    assert snapshot(t.other)["fields"] == before[1]["fields"]
    assert (snapshot(t.kept), snapshot(t.other)) == before

    done.refresh_from_db()
    assert done.undone_at is not None and done.undone_by == world.rep1.user
    merged_entry = Activity.objects.get(contact=t.kept, kind=ActivityKind.MERGE, data__event="merged")
    assert merged_entry.data["undone"] is True
    for record, other in ((t.kept, t.other), (t.other, t.kept)):
        undone = Activity.objects.get(contact=record, kind=ActivityKind.MERGE, data__event="undone")
        assert undone.data["merge_id"] == done.pk and undone.data["other_id"] == other.pk
    audit = AuditLog.objects.get(action="contact.merge_undo")
    assert audit.object_id == t.kept.pk and audit.changes == {"merged_contact": [None, t.other.pk]}
    assert DuplicateScan.objects.filter(organization=world.org, status=ScanStatus.QUEUED).exists()
    with pytest.raises(Conflict):
        merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="contact")


def test_contact_undo_keeps_a_field_changed_after_the_merge(world, contact_twins):
    t = contact_twins
    done = do_merge(world.rep1, "contact", t.kept, t.other, {"last_name": "other"})
    Contact.objects.filter(pk=t.kept.pk).update(title="CTO")
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="contact")
    kept = Contact.objects.get(pk=t.kept.pk)
    assert kept.title == "CTO"  # newer than the merge
    assert (kept.last_name, kept.email, kept.phone, kept.phone_raw) == ("Petrov", "", "", "")  # put back
    assert kept.name_key == "ivan petrov"
    assert Contact.objects.get(pk=t.other.pk).title == "CEO"
    audit = AuditLog.objects.get(action="contact.merge_undo")
    assert audit.changes["kept_newer"] == [None, {"title": "CTO"}]


@pytest.mark.parametrize("deleted", ["chosen", "previous"])
def test_contact_undo_after_a_company_involved_was_deleted(world, contact_twins, deleted):
    t = contact_twins
    done = do_merge(world.rep1, "contact", t.kept, t.other, {"company": "other"})
    gone = t.group if deleted == "chosen" else t.romashka
    Company.objects.filter(pk=gone.pk).delete()
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="contact")
    kept, other = Contact.objects.get(pk=t.kept.pk), Contact.objects.get(pk=t.other.pk)
    if deleted == "chosen":
        # Deleting the company emptied the survivor's link after the merge: a newer value, kept; the
        # restored contact's company is gone, so its link is left empty.
        assert (kept.company_id, other.company_id) == (None, None)
        assert AuditLog.objects.get(action="contact.merge_undo").changes["kept_newer"] == [None, {"company_id": None}]
    else:
        # The company it had before is gone: it keeps the one the merge gave it.
        assert (kept.company_id, other.company_id) == (t.group.pk, t.group.pk)
        assert AuditLog.objects.get(action="contact.merge_undo").changes["kept_newer"] == [
            None,
            {"company_id": t.group.pk},
        ]
    t.note.refresh_from_db()
    assert t.note.contact_id == other.pk


def test_contact_undo_brings_back_not_duplicates_decisions(world, people):
    a, b = people.typo
    third = contact(world.rep1, first_name="Ivan", last_name="Petrov", email="ivan.petrov@vega.example")
    scan(world.org)
    duplicates.pair_dismiss(membership=world.rep1, pair_id=pair_of(a, b).pk, kind="contact")
    done = do_merge(world.rep1, "contact", third, b)
    assert pair_of(a, b) is None
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="contact")
    assert pair_of(a, b).status == PairStatus.DISMISSED


# -- merging companies -----------------------------------------------------------------------------


@pytest.fixture
def company_twins(world):
    """ООО «Ромашка» (rep1's) and Romashka entered again, each with staff, deals and a history."""
    kept = company(world.rep1, name="ООО «Ромашка»", domain="romashka.example", city="Moscow")
    other = company(
        world.rep1,
        name="Romashka",
        domain="",
        phone="+74951234567",
        phone_raw="+7 (495) 123-45-67",
        industry="Retail",
        employees=40,
        city="Moskva",
        tags=[world.tag],
    )
    staff = contact(world.rep1, first_name="Olga", last_name="Smirnova", company=other)
    return SimpleNamespace(
        kept=kept,
        other=other,
        staff=staff,
        kept_staff=contact(world.rep1, first_name="Petr", last_name="Ivanov", company=kept),
        deal=f.DealFactory(owned_by=world.rep1, name="Romashka stores", company=other, contact=staff),
        kept_deal=f.DealFactory(owned_by=world.rep1, name="Romashka office", company=kept),
        note=f.ActivityFactory(organization=world.org, company=other, body="Visited the office"),
        task=f.TaskFactory(organization=world.org, assignee=world.rep1.user, company=other, title="Send the contract"),
        converted=f.LeadFactory(
            owned_by=world.rep1, status=LeadStatus.CONVERTED, converted_company=other, converted_contact=staff
        ),
    )


def test_company_merge_moves_contacts_deals_and_history_to_the_survivor(world, company_twins):
    t = company_twins
    done = do_merge(world.admin, "company", t.kept, t.other, {"name": "other"})
    assert isinstance(done, CompanyMerge) and (done.survivor_id, done.merged_id) == (t.kept.pk, t.other.pk)
    assert not Company.objects.filter(pk=t.other.pk).exists()
    kept = Company.objects.get(pk=t.kept.pk)
    assert (kept.name, kept.name_key, kept.domain, kept.city) == ("Romashka", "romashka", "romashka.example", "Moscow")
    assert (kept.phone, kept.phone_raw, kept.industry, kept.employees) == (
        "+74951234567",
        "+7 (495) 123-45-67",
        "Retail",
        40,
    )
    assert list(kept.tags.all()) == [world.tag]
    assert set(Contact.objects.filter(company=kept).values_list("pk", flat=True)) == {t.staff.pk, t.kept_staff.pk}
    assert set(Deal.objects.filter(company=kept).values_list("pk", flat=True)) == {t.deal.pk, t.kept_deal.pk}
    for row in (t.note, t.task):
        row.refresh_from_db()
        assert row.company_id == kept.pk
    t.converted.refresh_from_db()
    assert (t.converted.converted_company_id, t.converted.converted_contact_id) == (kept.pk, t.staff.pk)
    entry = Activity.objects.get(company=kept, kind=ActivityKind.MERGE)
    assert entry.data["merge_id"] == done.pk and entry.data["other_name"] == "Romashka"
    audit = AuditLog.objects.get(action="company.merge")
    assert audit.object_id == kept.pk and audit.changes["merged_company"] == [t.other.pk, None]
    assert merge.merge_list(membership=world.rep1, kind="company") == [done]


def test_company_merge_undo_moves_everything_back(world, company_twins):
    t = company_twins
    before = snapshot(t.kept), snapshot(t.other)
    done = do_merge(world.rep1, "company", t.kept, t.other, {"name": "other", "city": "other"})
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="company")
    assert snapshot(t.kept)["fields"] == before[0]["fields"]
    assert snapshot(t.other)["fields"] == before[1]["fields"]
    assert (snapshot(t.kept), snapshot(t.other)) == before
    assert Contact.objects.get(pk=t.staff.pk).company_id == t.other.pk
    assert Deal.objects.get(pk=t.deal.pk).company_id == t.other.pk
    audit = AuditLog.objects.get(action="company.merge_undo")
    assert audit.changes == {"merged_company": [None, t.other.pk]}
    assert Activity.objects.filter(company=t.other, kind=ActivityKind.MERGE, data__event="undone").exists()


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_undo_restores_the_merged_records_timestamps_exactly(world, kind):
    """The merged record comes back to the microsecond (the JSON serializer alone would cut its times to
    milliseconds)."""
    model = MODELS[kind]
    kept = world.slots["rep1"].record(model)
    other = new_record(kind, world.rep1)
    stamp = other.created_at.replace(microsecond=123456)
    model.objects.filter(pk=other.pk).update(created_at=stamp, updated_at=stamp)
    done = do_merge(world.rep1, kind, kept, other)
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind=kind)
    restored = model.objects.get(pk=other.pk)
    assert (restored.created_at, restored.updated_at) == (stamp, stamp)


def test_company_undo_leaves_a_contact_moved_since_where_it_is(world, company_twins):
    t = company_twins
    elsewhere = company(world.rep1, name="Elsewhere")
    done = do_merge(world.rep1, "company", t.kept, t.other)
    Contact.objects.filter(pk=t.staff.pk).update(company=elsewhere)
    Deal.objects.filter(pk=t.deal.pk).delete()
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="company")
    assert Contact.objects.get(pk=t.staff.pk).company_id == elsewhere.pk
    assert Contact.objects.get(pk=t.kept_staff.pk).company_id == t.kept.pk
    assert Company.objects.filter(pk=t.other.pk).exists()


def test_chained_company_merges_undo_in_any_order(world, company_twins):
    t = company_twins
    third = company(world.rep1, name="Romashka Retail", domain="")
    first = do_merge(world.rep1, "company", t.other, t.kept)  # kept into other
    second = do_merge(world.rep1, "company", third, t.other)  # other (with kept inside) into third
    assert CompanyMerge.objects.get(pk=first.pk).survivor_id == third.pk
    assert Contact.objects.get(pk=t.kept_staff.pk).company_id == third.pk
    merge.merge_undo(membership=world.rep1, merge_id=first.pk, kind="company")
    assert Contact.objects.get(pk=t.kept_staff.pk).company_id == t.kept.pk
    merge.merge_undo(membership=world.rep1, merge_id=second.pk, kind="company")
    assert Contact.objects.get(pk=t.staff.pk).company_id == t.other.pk
    assert Company.objects.filter(pk__in=[t.kept.pk, t.other.pk, third.pk]).count() == 3


# -- who may merge ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_a_rep_merges_away_only_their_own_records(world, world_db_state, kind):
    pool = world.slots["unassigned"].record(MODELS[kind])
    mine = contact(world.rep1, last_name="Mine") if kind == "contact" else company(world.rep1, name="Mine")
    state = world_db_state()
    with pytest.raises(PermissionDenied):
        do_merge(world.rep1, kind, mine, pool)
    assert world_db_state() == state
    do_merge(world.rep1, kind, pool, mine)
    pool.refresh_from_db()
    assert pool.owner_id == world.rep1.user_id  # the unassigned survivor takes the merged record's owner
    assert not type(mine).objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_managers_merge_away_their_teams_records(world, kind):
    model = MODELS[kind]
    do_merge(world.manager, kind, world.slots["manager"].record(model), world.slots["rep1"].record(model))
    assert not model.objects.filter(pk=world.slots["rep1"].record(model).pk).exists()


def test_field_reps_merge_their_contacts_but_not_their_leads(world):
    mine = contact(world.field_rep, last_name="Fieldcontact")
    do_merge(world.field_rep, "contact", world.contact_field, mine)
    assert not Contact.objects.filter(pk=mine.pk).exists()
    lead = f.LeadFactory(owned_by=world.field_rep)
    with pytest.raises(PermissionDenied):
        do_merge(world.field_rep, "lead", world.lead_field, lead)
    assert Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_merging_a_record_with_itself_is_refused(world, kind):
    model = MODELS[kind]
    with pytest.raises(ValidationError, match="cannot be merged with itself"):
        do_merge(world.rep1, kind, world.slots["rep1"].record(model), world.slots["rep1"].record(model))
    with pytest.raises(NotFound):  # out of scope answers as missing, before anything else
        do_merge(world.rep1, kind, world.slots["rep2"].record(model), world.slots["rep2"].record(model))


@pytest.mark.parametrize(
    ("kind", "choices", "wrong"),
    [
        ("contact", {"email": "mine", "title": "other"}, {"email"}),
        ("contact", {"notes": "both", "owner": "other"}, {"notes", "owner"}),
        ("company", {"name": "both", "title": "other"}, {"name", "title"}),
        ("company", {"domain": "survivor", "owner_id": "other"}, {"owner_id"}),
    ],
)
def test_invalid_choices_are_refused_before_anything_changes(world, world_db_state, kind, choices, wrong):
    model = MODELS[kind]
    survivor = world.slots["rep1"].record(model)
    other = new_record(kind, world.rep1)
    state = world_db_state()
    with pytest.raises(ValidationError) as error:
        do_merge(world.rep1, kind, survivor, other, choices)
    assert set(error.value.fields) == wrong
    assert world_db_state() == state


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_records_out_of_scope_are_not_found(world, world_db_state, kind):
    model = MODELS[kind]
    mine, theirs = world.slots["rep1"].record(model), world.slots["rep2"].record(model)
    state = world_db_state()
    for survivor, other in ((mine, theirs), (theirs, mine)):
        with pytest.raises(NotFound):
            merge.record_merge(kind=kind, membership=world.rep1, survivor_id=survivor.pk, other_id=other.pk)
    for other_id in (10**12, "abc", None, world.slots["org_b"].record(model).pk):
        with pytest.raises(NotFound):
            merge.record_merge(kind=kind, membership=world.admin, survivor_id=mine.pk, other_id=other_id)
    assert world_db_state() == state


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_undo_is_for_the_merger_or_a_manager(world, kind):
    model = MODELS[kind]
    kept = world.slots["rep1"].record(model)
    other = new_record(kind, world.rep1)
    done = do_merge(world.rep1, kind, kept, other)
    for member in ("rep2", "agency_x_rep", "admin_b"):
        with pytest.raises(NotFound):
            merge.merge_undo(membership=world.members[member], merge_id=done.pk, kind=kind)
    with pytest.raises(NotFound):  # a merge of another kind is not this one
        merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind="lead" if kind == "company" else "company")
    merge.merge_undo(membership=world.manager, merge_id=done.pk, kind=kind)
    assert type(done).objects.get(pk=done.pk).undone_by == world.manager.user


# -- erasing merge copies --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_merge_copies_are_erased_after_the_keeping_period_and_then_not_undoable(world, settings, kind):
    settings.MERGE_UNDO_KEEP_DAYS = 30
    if kind == "contact":
        kept = contact(world.rep1, first_name="Ivan", last_name="Petrov", email="", title="")
        other = contact(world.rep1, first_name="Ivan", last_name="Petrova", email="ivan@vega.example", title="CEO")
        filled = {"email": [None, "ivan@vega.example"], "title": [None, "CEO"]}
    else:
        kept = company(world.rep1, name="Vega", domain="", industry="")
        other = company(world.rep1, name="Vega Ltd", domain="vega.example", industry="Retail")
        filled = {"domain": [None, "vega.example"], "industry": [None, "Retail"]}
    old = do_merge(world.rep1, kind, kept, other)
    assert merge.merge_copies_erase(now=old.created_at + dt.timedelta(days=29)) == 0
    assert merge.merge_copies_erase(now=old.created_at + dt.timedelta(days=31)) == 1
    old.refresh_from_db()
    assert old.erased_at is not None and old.merged == ""
    assert old.changes == filled  # the values from before are gone, what the survivor holds now stays
    with pytest.raises(Conflict, match="older than 30 days"):
        merge.merge_undo(membership=world.rep1, merge_id=old.pk, kind=kind)
    assert not type(other).objects.filter(pk=other.pk).exists()
    entry = Activity.objects.get(**{kind: kept}, kind=ActivityKind.MERGE, data__event="merged")
    assert entry.data["expired"] is True
    assert merge.merge_copies_erase(now=old.created_at + dt.timedelta(days=32)) == 0  # once


@pytest.mark.parametrize("kind", ["contact", "company"])
def test_an_undone_merge_keeps_no_copy(world, kind):
    model = MODELS[kind]
    kept = world.slots["rep1"].record(model)
    other = new_record(kind, world.rep1)
    done = do_merge(world.rep1, kind, kept, other)
    merge.merge_undo(membership=world.rep1, merge_id=done.pk, kind=kind)
    assert merge.merge_copies_erase() == 1
    done.refresh_from_db()
    assert done.merged == "" and done.undone_at is not None
    assert model.objects.filter(pk=other.pk).exists()
