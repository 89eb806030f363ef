"""Lead conversion: contact, company and deal, merging into what already exists, history carried over."""

from __future__ import annotations

from decimal import Decimal

import pytest

from insidesales.core.errors import Conflict, ValidationError
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import db_state
from insidesales.crm import services
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Deal, LeadStatus, StageKind, Task
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(world):
    return services.lead_create(
        membership=world.rep1,
        data={
            "first_name": "Ivan",
            "last_name": "Petrov",
            "title": "CEO",
            "company_name": "Romashka",
            "email": "ivan@romashka.test",
            "phone": "+1 415 555 0177",
            "country": "US",
        },
    )


def _convert(membership, lead, **kwargs):
    return services.lead_convert(membership=membership, lead_id=lead.pk, **kwargs)


def test_convert_creates_contact_company_and_deal_in_the_first_open_stage(world, lead):
    services.note_add(membership=world.rep1, record_type=type(lead), record_id=lead.pk, body="Asked for pricing")
    task = services.task_create(membership=world.rep1, title="Send pricing", record_type=type(lead), record_id=lead.pk)
    result = _convert(world.rep1, lead, deal_name="Romashka pilot", deal_amount=Decimal("1200.50"))
    lead.refresh_from_db()
    contact, company, deal = result["contact"], result["company"], result["deal"]
    assert result["contact_created"] and result["company_created"]
    assert (company.name, company.domain, company.name_key, company.organization) == (
        "Romashka",
        "romashka.test",
        "romashka",
        world.org,
    )
    assert (contact.first_name, contact.last_name, contact.title, contact.email, contact.phone, contact.company) == (
        "Ivan",
        "Petrov",
        "CEO",
        "ivan@romashka.test",
        "+14155550177",
        company,
    )
    assert (contact.name_key, contact.name_rev_key) == ("ivan petrov", "petrov ivan")
    assert (deal.name, deal.amount, deal.company, deal.contact) == (
        "Romashka pilot",
        Decimal("1200.50"),
        company,
        contact,
    )
    assert deal.stage.name == "Discovery" and deal.stage.kind == StageKind.OPEN and deal.pipeline.is_default
    for record in (contact, company, deal):
        assert (record.owner, record.team) == (world.rep1.user, world.team1)
    assert lead.status == LeadStatus.CONVERTED and lead.converted_at is not None
    assert (lead.converted_contact, lead.converted_company, lead.converted_deal) == (contact, company, deal)
    # The lead's history follows the person.
    contact_kinds = set(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert {ActivityKind.CREATED, ActivityKind.NOTE, ActivityKind.TASK, ActivityKind.CONVERSION} <= contact_kinds
    assert Activity.objects.filter(contact=contact, kind=ActivityKind.NOTE, lead=lead).count() == 1
    assert Task.objects.get(pk=task.pk).contact == contact
    assert Activity.objects.filter(company=company, kind=ActivityKind.CONVERSION).count() == 1
    assert Activity.objects.filter(deal=deal, kind=ActivityKind.CREATED).count() == 1
    audit = AuditLog.objects.get(action="lead.convert", object_id=lead.pk)
    assert audit.changes["status"] == [LeadStatus.WORKING, LeadStatus.CONVERTED]  # the note started work
    assert audit.changes["deal_id"] == [None, deal.pk]


def test_convert_merges_into_a_company_with_the_same_domain(world, lead):
    existing = f.CompanyFactory(owned_by=world.rep1, name="OOO Romashka Holding", domain="romashka.test")
    result = _convert(world.rep1, lead)
    assert result["company"] == existing and not result["company_created"]
    assert Company.objects.filter(organization=world.org, domain="romashka.test").count() == 1


def test_convert_merges_into_a_company_with_the_same_name(world):
    existing = f.CompanyFactory(owned_by=world.rep1, name="ROMASHKA", domain="")
    lead = services.lead_create(
        membership=world.rep1, data={"last_name": "Sidorov", "company_name": "romashka", "email": "s@gmail.com"}
    )
    result = _convert(world.rep1, lead)
    assert result["company"] == existing and not result["company_created"]


def test_convert_uses_the_email_domain_when_there_is_no_company_name(world):
    lead = services.lead_create(membership=world.rep1, data={"last_name": "Domain", "email": "d@newco.test"})
    result = _convert(world.rep1, lead)
    assert (result["company"].name, result["company"].domain) == ("newco.test", "newco.test")


def test_free_mail_domain_makes_no_company(world):
    lead = services.lead_create(membership=world.rep1, data={"last_name": "Solo", "email": "solo@gmail.com"})
    f.CompanyFactory(owned_by=world.rep1, name="Gmail", domain="gmail.com")
    result = _convert(world.rep1, lead)
    assert result["company"] is None and result["company_id"] is None
    assert result["deal"].name == "Solo"


def test_convert_merges_into_a_contact_with_the_same_email(world, lead):
    existing = f.ContactFactory(owned_by=world.rep1, first_name="I.", last_name="Petrov", email="IVAN@romashka.test")
    result = _convert(world.rep1, lead)
    assert result["contact"] == existing and not result["contact_created"]
    existing.refresh_from_db()
    # A contact without a company is put at the company the lead named.
    assert existing.company == result["company"]
    assert Activity.objects.filter(contact=existing, kind=ActivityKind.CREATED, lead=lead).count() == 1


def test_convert_merges_into_a_contact_with_the_same_phone(world, lead):
    company = f.CompanyFactory(owned_by=world.rep1, name="Elsewhere", domain="elsewhere.test")
    existing = f.ContactFactory(
        owned_by=world.rep1, last_name="Petrov", email="other@x.test", phone="+14155550177", company=company
    )
    result = _convert(world.rep1, lead)
    assert result["contact"] == existing
    existing.refresh_from_db()
    assert existing.company == company  # an existing employer is not overwritten


def test_convert_never_merges_into_records_the_user_cannot_see(world, lead):
    hidden_company = f.CompanyFactory(owned_by=world.rep2, name="Romashka", domain="romashka.test")
    hidden_contact = f.ContactFactory(owned_by=world.rep2, last_name="Petrov", email="ivan@romashka.test")
    result = _convert(world.rep1, lead)
    assert result["company"] != hidden_company and result["company_created"]
    assert result["contact"] != hidden_contact and result["contact_created"]
    hidden_contact.refresh_from_db()
    assert hidden_contact.company is None


def test_convert_without_a_deal(world, lead):
    result = _convert(world.rep1, lead, create_deal=False)
    assert result["deal"] is None
    assert not Deal.objects.filter(contact=result["contact"]).exists()


def test_convert_into_another_pipeline_uses_its_first_open_stage(world, lead):
    pipeline = services.pipeline_create(
        membership=world.admin,
        name="Renewals",
        stages=[
            {"name": "Churned", "kind": StageKind.LOST},
            {"name": "Due", "kind": StageKind.OPEN, "probability": 50},
            {"name": "Talking", "kind": StageKind.OPEN, "probability": 70},
            {"name": "Renewed", "kind": StageKind.WON, "probability": 100},
        ],
    )
    deal = _convert(world.rep1, lead, pipeline_id=pipeline.pk)["deal"]
    assert (deal.pipeline, deal.stage.name) == (pipeline, "Due")


def test_convert_into_a_pipeline_of_another_organization_is_refused(world, lead):
    foreign = world.deal_org_b.pipeline
    before = db_state()
    with pytest.raises(ValidationError):
        _convert(world.rep1, lead, pipeline_id=foreign.pk)
    assert db_state() == before


def test_converting_twice_is_a_conflict_and_changes_nothing(world, lead):
    _convert(world.rep1, lead)
    before = db_state()
    with pytest.raises(Conflict):
        _convert(world.rep1, lead)
    assert db_state() == before
    assert Contact.objects.filter(email="ivan@romashka.test").count() == 1


def test_disqualified_lead_cannot_be_converted(world, lead):
    services.lead_disqualify(membership=world.rep1, lead_id=lead.pk, reason="bad_data")
    before = db_state()
    with pytest.raises(Conflict):
        _convert(world.rep1, lead)
    assert db_state() == before


def test_converting_a_pool_lead_makes_the_converter_the_owner(world):
    result = _convert(world.rep1, world.lead_unassigned)
    for record in (result["contact"], result["company"], result["deal"]):
        assert record.owner == world.rep1.user


def test_agency_conversion_keeps_the_records_with_the_agency(world):
    result = _convert(world.agency_x_rep, world.lead_agency_x)
    for record in (result["contact"], result["company"], result["deal"]):
        assert record.agency == world.agency_x
        # ...so the agency still sees what it converted.
        assert services.common.get_visible(type(record), world.agency_x_rep, record.pk) == record


@pytest.mark.parametrize("pipeline_id", ["abc", 10**30, 987654])
def test_convert_with_a_malformed_pipeline_is_a_validation_error(world, lead, pipeline_id):
    before = db_state()
    with pytest.raises(ValidationError):
        _convert(world.rep1, lead, pipeline_id=pipeline_id)
    assert db_state() == before


def test_a_converted_lead_is_kept_as_it_was(world, lead, client):
    """No editing, reassigning or returning to the pool (services, bulk, pages); only admins delete it."""
    from insidesales.core.errors import NotFound, PermissionDenied
    from insidesales.crm.models import Lead

    _convert(world.rep1, lead)
    lead.refresh_from_db()
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        services.lead_update(membership=world.rep1, lead_id=lead.pk, data={"title": "CTO"})
    assert "was converted" in refused.value.message
    with pytest.raises(ValidationError):
        services.lead_assign(membership=world.manager, lead_id=lead.pk, owner_id=world.manager.user_id)
    with pytest.raises(ValidationError):
        services.lead_assign(membership=world.rep1, lead_id=lead.pk)  # back to the pool
    with pytest.raises(ValidationError):
        services.records_bulk_assign(
            membership=world.admin, model=Lead, ids=[lead.pk, world.lead_rep1.pk], owner_id=world.rep2.user_id
        )
    with pytest.raises(PermissionDenied):
        services.lead_delete(membership=world.manager, lead_id=lead.pk)
    assert db_state() == before

    client.force_login(world.rep1.user)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f"/leads/{lead.pk}/edit/" not in page and "Return to the pool" not in page and "Yes, delete" not in page
    edit = client.get(f"/leads/{lead.pk}/edit/", follow=True)
    assert "was converted" in edit.content.decode()
    client.force_login(world.admin.user)
    admin_page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Yes, delete" in admin_page and 'name="target"' not in admin_page
    services.lead_delete(membership=world.admin, lead_id=lead.pk)
    with pytest.raises(NotFound):
        services.lead_delete(membership=world.admin, lead_id=lead.pk)
