"""Company, contact and deal services, and the deal stage verbs (won/lost close a deal, open reopens it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import db_state
from insidesales.crm import services
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Deal, Stage, StageKind
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def _stage(deal: Deal, name: str) -> Stage:
    return Stage.objects.get(pipeline=deal.pipeline, name=name)


def test_company_create_normalizes_domain_and_phone_and_audits(world):
    company = services.record_create(
        membership=world.rep1,
        model=Company,
        data={"name": " Acme Widgets ", "domain": "https://www.Widgets.TEST/", "phone": "(415) 555-0142"},
    )
    company.refresh_from_db()
    assert (company.name, company.domain, company.name_key) == ("Acme Widgets", "widgets.test", "acme widgets")
    assert (company.phone, company.phone_raw, company.country) == ("+14155550142", "(415) 555-0142", "US")
    assert (company.owner, company.team) == (world.rep1.user, world.team1)
    assert AuditLog.objects.filter(action="company.create", object_id=company.pk, actor=world.rep1.user).exists()
    assert Activity.objects.filter(company=company, kind=ActivityKind.CREATED).count() == 1


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Company, {"name": ""}, "name"),
        (Company, {"name": "X", "employees": "many"}, "employees"),
        (Company, {"name": "X", "employees": -3}, "employees"),
        (Company, {"name": "X" * 256}, "name"),
        (Contact, {"first_name": "Only"}, "last_name"),
        (Contact, {"last_name": "X", "email": "nope"}, "email"),
        (Contact, {"last_name": "X", "time_zone": "Nowhere/Land"}, "time_zone"),
        (Deal, {"name": ""}, "name"),
        (Deal, {"name": "X", "amount": "-5"}, "amount"),
        (Deal, {"name": "X", "amount": "lots"}, "amount"),
        (Deal, {"name": "X", "amount": "1e15"}, "amount"),
        (Deal, {"name": "X", "currency": "DOLLARS"}, "currency"),
        (Deal, {"name": "X", "expected_close": "next week"}, "expected_close"),
        (Deal, {"name": "X", "stage_id": 987654}, "stage"),
        (Deal, {"name": "X", "pipeline_id": 987654}, "pipeline"),
    ],
)
def test_invalid_record_input_is_refused(world, model, data, field):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        services.record_create(membership=world.rep1, model=model, data=data)
    assert field in exc.value.fields
    assert db_state() == before


@pytest.mark.parametrize("field", ["company_id", "contact_id"])
def test_links_to_records_out_of_scope_are_refused(world, field):
    target = world.company_rep2 if field == "company_id" else world.contact_rep2
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        services.record_create(membership=world.rep1, model=Deal, data={"name": "Sneaky", field: target.pk})
    assert field.removesuffix("_id") in exc.value.fields
    with pytest.raises(ValidationError):
        services.record_update(membership=world.rep1, model=Deal, record_id=world.deal_rep1.pk, data={field: target.pk})
    assert db_state() == before


def test_contact_links_to_a_visible_company_and_gets_keys_and_time_zone(world):
    contact = services.record_create(
        membership=world.rep1,
        model=Contact,
        data={
            "first_name": "Анна",
            "last_name": "Ёлкина",
            "company_id": world.company_rep1.pk,
            "phone": "+7 343 1234567",
        },
    )
    assert contact.company == world.company_rep1
    assert (contact.name_key, contact.name_rev_key) == ("анна елкина", "елкина анна")
    assert (contact.phone, contact.country, contact.time_zone) == ("+73431234567", "RU", "Asia/Yekaterinburg")


def test_deal_create_goes_to_the_first_open_stage_in_the_org_currency(world):
    world.org.default_currency = "EUR"
    world.org.save()
    world.refresh()
    deal = services.record_create(
        membership=world.rep1,
        model=Deal,
        data={
            "name": "Pilot",
            "amount": "1 500,25",
            "expected_close": "2030-01-31",
            "company_id": world.company_rep1.pk,
        },
    )
    assert (deal.stage.name, deal.currency, deal.amount, deal.closed_at) == (
        "Discovery",
        "EUR",
        Decimal("1500.25"),
        None,
    )
    assert str(deal.expected_close) == "2030-01-31"


def test_deal_created_in_a_won_stage_is_closed(world):
    won = Stage.objects.get(pipeline=world.deal_rep1.pipeline, kind=StageKind.WON)
    deal = services.record_create(membership=world.rep1, model=Deal, data={"name": "Done", "stage_id": won.pk})
    assert deal.stage == won and deal.closed_at is not None


def test_update_audits_before_and_after_and_refuses_stage_changes(world):
    deal = world.deal_rep1
    services.record_update(membership=world.rep1, model=Deal, record_id=deal.pk, data={"name": "Bigger", "amount": 10})
    audit = AuditLog.objects.get(action="deal.update", object_id=deal.pk)
    assert audit.changes["name"] == ["Rep1 Deal", "Bigger"]
    assert audit.changes["amount"][1] == "10"
    before = db_state()
    for data in ({"stage_id": _stage(deal, "Won").pk}, {"pipeline_id": deal.pipeline_id}):
        with pytest.raises(ValidationError) as exc:
            services.record_update(membership=world.rep1, model=Deal, record_id=deal.pk, data=data)
        assert "stage" in exc.value.fields
    assert db_state() == before


def test_move_to_won_closes_the_deal_and_logs_it(world):
    deal = world.deal_rep1
    services.deal_move_stage(membership=world.rep1, deal_id=deal.pk, stage_id=_stage(deal, "Won").pk)
    deal.refresh_from_db()
    assert deal.stage.kind == StageKind.WON and deal.closed_at is not None and deal.lost_reason == ""
    change = Activity.objects.get(deal=deal, kind=ActivityKind.STAGE_CHANGE)
    assert change.data["kind"] == StageKind.WON and change.subject == "Discovery → Won"
    audit = AuditLog.objects.get(action="deal.stage.won", object_id=deal.pk)
    assert audit.changes["stage_id"] == [_stage(deal, "Discovery").pk, _stage(deal, "Won").pk]


def test_move_to_lost_needs_a_reason(world):
    deal = world.deal_rep1
    before = db_state()
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            services.deal_move_stage(
                membership=world.rep1, deal_id=deal.pk, stage_id=_stage(deal, "Lost").pk, lost_reason=reason
            )
        assert "lost_reason" in exc.value.fields
    assert db_state() == before
    services.deal_move_stage(
        membership=world.rep1, deal_id=deal.pk, stage_id=_stage(deal, "Lost").pk, lost_reason=" Price "
    )
    deal.refresh_from_db()
    assert (deal.stage.kind, deal.lost_reason) == (StageKind.LOST, "Price")
    assert deal.closed_at is not None


def test_reopening_a_closed_deal_clears_closed_at_and_reason(world):
    deal = world.deal_rep1
    services.deal_mark_lost(membership=world.rep1, deal_id=deal.pk, reason="Timing")
    services.deal_move_stage(membership=world.rep1, deal_id=deal.pk, stage_id=_stage(deal, "Demo").pk)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.closed_at, deal.lost_reason) == ("Demo", None, "")


def test_mark_won_and_lost_pick_the_pipelines_won_and_lost_stages(world):
    won = services.deal_mark_won(membership=world.rep1, deal_id=world.deal_rep1.pk)
    assert won.stage.kind == StageKind.WON and won.closed_at is not None
    with pytest.raises(ValidationError):
        services.deal_mark_lost(membership=world.manager, deal_id=world.deal_manager.pk, reason="")
    lost = services.deal_mark_lost(membership=world.manager, deal_id=world.deal_manager.pk, reason="Competitor")
    assert lost.stage.kind == StageKind.LOST and lost.lost_reason == "Competitor"


def test_stage_of_another_pipeline_or_organization_is_refused(world):
    deal = world.deal_rep1
    other = services.pipeline_create(
        membership=world.admin,
        name="Other",
        stages=[
            {"name": "A", "kind": StageKind.OPEN},
            {"name": "W", "kind": StageKind.WON},
            {"name": "L", "kind": StageKind.LOST},
        ],
    )
    before = db_state()
    for stage_id in (other.stages.first().pk, world.deal_org_b.stage_id, "abc", 987654):
        with pytest.raises(ValidationError):
            services.deal_move_stage(membership=world.rep1, deal_id=deal.pk, stage_id=stage_id)
    assert db_state() == before


def test_moving_to_the_current_stage_changes_nothing(world):
    deal = world.deal_rep1
    before = db_state()
    services.deal_move_stage(membership=world.rep1, deal_id=deal.pk, stage_id=deal.stage_id)
    assert db_state() == before


def test_record_assign_and_delete_follow_the_lead_rules(world):
    services.record_assign(
        membership=world.manager, model=Company, record_id=world.company_unassigned.pk, owner_id=world.rep1.user_id
    )
    world.company_unassigned.refresh_from_db()
    assert (world.company_unassigned.owner, world.company_unassigned.team) == (world.rep1.user, world.team1)
    assert AuditLog.objects.filter(action="company.assign", object_id=world.company_unassigned.pk).exists()
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.record_delete(membership=world.rep2, model=Contact, record_id=world.contact_unassigned.pk)
    assert db_state() == before
    services.record_delete(membership=world.rep1, model=Contact, record_id=world.contact_rep1.pk)
    assert not Contact.objects.filter(pk=world.contact_rep1.pk).exists()
    audit = AuditLog.objects.get(action="contact.delete", object_id=world.contact_rep1.pk)
    assert audit.changes["email"] == ["contact.rep1@rep1-industries.test", None]


def test_tags_are_set_on_update_and_limited_to_the_organization(world):
    services.record_update(
        membership=world.rep1, model=Company, record_id=world.company_rep1.pk, data={"tag_ids": [world.tag.pk]}
    )
    assert list(world.company_rep1.tags.all()) == [world.tag]
    with pytest.raises(ValidationError):
        services.record_update(
            membership=world.rep1, model=Company, record_id=world.company_rep1.pk, data={"tag_ids": [world.tag_b.pk]}
        )
    assert list(world.company_rep1.tags.all()) == [world.tag]


def test_factory_company_matches_service_company(world):
    # The factories compute keys the way services do; selectors rely on that.
    made = f.CompanyFactory(organization=world.org, name="ООО «Ёжик и Ко»")
    served = services.record_create(membership=world.admin, model=Company, data={"name": "ООО «Ёжик и Ко»"})
    assert made.name_key == served.name_key == "ежик и ко"
    lead = f.LeadFactory(organization=world.org, company_name="Acme, Inc.")
    assert (
        lead.company_key
        == services.lead_create(membership=world.admin, data={"company_name": "Acme, Inc."}).company_key
    )


@pytest.mark.parametrize("field", ["pipeline_id", "stage_id", "company_id", "contact_id"])
@pytest.mark.parametrize("value", ["abc", "1.5", 10**30, [1]])
def test_malformed_link_ids_are_validation_errors(world, field, value):
    before = db_state()
    with pytest.raises(ValidationError):
        services.record_create(membership=world.rep1, model=Deal, data={"name": "X", field: value})
    assert db_state() == before
