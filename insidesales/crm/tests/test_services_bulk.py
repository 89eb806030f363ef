"""Bulk actions: all or nothing — one id out of scope, one refused change, and nothing at all is written."""

from __future__ import annotations

import pytest

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import db_state
from insidesales.crm import services
from insidesales.crm.models import Company, Contact, Lead, LeadStatus
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def test_manager_hands_out_the_pool_in_bulk(world):
    pool = [world.lead_unassigned.pk, *(f.LeadFactory(organization=world.org).pk for _ in range(3))]
    assert (
        services.records_bulk_assign(membership=world.manager, model=Lead, ids=pool, owner_id=world.rep1.user_id) == 4
    )
    assert set(Lead.objects.filter(pk__in=pool).values_list("owner_id", "team_id")) == {
        (world.rep1.user_id, world.team1.pk)
    }
    assert AuditLog.objects.filter(action="lead.assign", object_id__in=pool).count() == 4


def test_bulk_with_one_id_out_of_scope_changes_nothing(world):
    before = db_state()
    with pytest.raises(NotFound):
        services.records_bulk_assign(
            membership=world.manager,
            model=Lead,
            ids=[world.lead_unassigned.pk, world.lead_rep1.pk, world.lead_rep2.pk],
            owner_id=world.rep1.user_id,
        )
    with pytest.raises(NotFound):
        services.records_bulk_tag(
            membership=world.rep1,
            model=Company,
            ids=[world.company_rep1.pk, world.company_org_b.pk],
            tag_id=world.tag.pk,
        )
    assert db_state() == before


def test_bulk_assign_refused_for_one_record_changes_none(world):
    before = db_state()
    with pytest.raises(PermissionDenied):
        # The rep may return their own lead to the pool, but not the pool lead: the whole request fails.
        services.records_bulk_assign(
            membership=world.rep1, model=Lead, ids=[world.lead_rep1.pk, world.lead_unassigned.pk], owner_id=None
        )
    assert db_state() == before


def test_bulk_tag_and_untag(world):
    ids = [world.contact_rep1.pk, world.contact_unassigned.pk]
    world.contact_rep1.tags.add(world.tag)
    assert services.records_bulk_tag(membership=world.rep1, model=Contact, ids=ids, tag_id=world.tag.pk) == 2
    assert set(Contact.objects.filter(tags=world.tag).values_list("pk", flat=True)) == set(ids)
    services.records_bulk_tag(membership=world.rep1, model=Contact, ids=ids, tag_id=world.tag.pk, remove=True)
    assert not Contact.objects.filter(tags=world.tag).exists()
    actions = list(AuditLog.objects.filter(object_type="contact").values_list("action", flat=True).order_by("id"))
    assert actions == ["contact.bulk_tag", "contact.bulk_untag"]


def test_bulk_tag_with_a_tag_of_another_organization_is_refused(world):
    before = db_state()
    with pytest.raises(ValidationError):
        services.records_bulk_tag(membership=world.rep1, model=Lead, ids=[world.lead_rep1.pk], tag_id=world.tag_b.pk)
    assert db_state() == before


def test_rep_bulk_deletes_only_own_records(world):
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.records_bulk_delete(
            membership=world.rep1, model=Lead, ids=[world.lead_rep1.pk, world.lead_unassigned.pk]
        )
    assert db_state() == before
    assert services.records_bulk_delete(membership=world.rep1, model=Lead, ids=[world.lead_rep1.pk]) == 1
    assert not Lead.objects.filter(pk=world.lead_rep1.pk).exists()
    assert AuditLog.objects.filter(action="lead.delete", object_id=world.lead_rep1.pk).exists()


def test_manager_bulk_deletes_team_records(world):
    ids = [world.company_rep1.pk, world.company_unassigned.pk, world.company_manager.pk]
    assert services.records_bulk_delete(membership=world.manager, model=Company, ids=ids) == 3
    assert not Company.objects.filter(pk__in=ids).exists()
    assert AuditLog.objects.filter(action="company.delete", object_id__in=ids).count() == 3


def test_bulk_status_moves_every_lead(world):
    ids = [world.lead_rep1.pk, world.lead_unassigned.pk]
    services.leads_bulk_status(membership=world.rep1, ids=ids, status="disqualified", reason="duplicate")
    assert set(Lead.objects.filter(pk__in=ids).values_list("status", "disqualify_reason")) == {
        (LeadStatus.DISQUALIFIED, "duplicate")
    }


def test_bulk_status_with_one_forbidden_transition_changes_nothing(world):
    Lead.objects.filter(pk=world.lead_unassigned.pk).update(status=LeadStatus.CONVERTED)
    before = db_state()
    with pytest.raises(Conflict):
        services.leads_bulk_status(
            membership=world.rep1, ids=[world.lead_rep1.pk, world.lead_unassigned.pk], status="qualified"
        )
    assert db_state() == before


@pytest.mark.parametrize(
    ("status", "reason"), [("converted", ""), ("new", ""), ("bogus", ""), ("disqualified", ""), ("disqualified", "meh")]
)
def test_bulk_status_refuses_other_statuses_and_missing_reasons(world, status, reason):
    before = db_state()
    with pytest.raises(ValidationError):
        services.leads_bulk_status(membership=world.rep1, ids=[world.lead_rep1.pk], status=status, reason=reason)
    assert db_state() == before


def test_bulk_needs_some_ids_and_not_too_many(world):
    with pytest.raises(ValidationError):
        services.records_bulk_delete(membership=world.admin, model=Lead, ids=[])
    with pytest.raises(ValidationError):
        services.records_bulk_delete(membership=world.admin, model=Lead, ids=list(range(1, 1002)))
