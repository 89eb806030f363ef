"""Lead services: create and update rules, ownership by role, status verbs, assignment, deletion."""

from __future__ import annotations

import pytest

from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import db_state
from insidesales.crm import services
from insidesales.crm.models import Activity, ActivityKind, Lead, LeadStatus
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def _create(membership, **data):
    return services.lead_create(membership=membership, data=data)


def test_rep_creates_a_lead_they_own_in_their_team(world):
    lead = _create(world.rep1, first_name=" Ivan ", last_name="Petrov", company_name="Romashka LLC")
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.agency) == (world.rep1.user, world.team1, None)
    assert (lead.first_name, lead.status, lead.organization) == ("Ivan", LeadStatus.NEW, world.org)
    # The company key leaves the legal form out, so "Romashka" finds "Romashka LLC".
    assert (lead.name_key, lead.name_rev_key, lead.company_key) == ("ivan petrov", "petrov ivan", "romashka")
    assert Activity.objects.filter(lead=lead, kind=ActivityKind.CREATED).count() == 1
    audit = AuditLog.objects.get(action="lead.create", object_id=lead.pk)
    assert audit.actor == world.rep1.user
    assert audit.changes["last_name"] == [None, "Petrov"]


def test_admin_creates_unassigned_unless_an_owner_is_given(world):
    pool = _create(world.admin, last_name="Pool")
    assert (pool.owner, pool.team, pool.agency) == (None, None, None)
    given = _create(world.admin, last_name="Given", owner_id=world.rep2.user_id)
    assert (given.owner, given.team) == (world.rep2.user, world.team2)


def test_agency_rep_creates_leads_for_their_agency_and_themselves_only(world):
    lead = _create(world.agency_x_rep, last_name="Agency", owner_id=world.rep1.user_id)
    assert (lead.owner, lead.agency) == (world.agency_x_rep.user, world.agency_x)


def test_rep_cannot_create_a_lead_for_someone_else(world):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        _create(world.rep1, last_name="Other", owner_id=world.rep2.user_id)
    assert "owner" in exc.value.fields
    assert db_state() == before


def test_manager_assigns_only_within_their_teams(world):
    lead = _create(world.manager, last_name="Team", owner_id=world.rep1.user_id)
    assert lead.owner == world.rep1.user
    with pytest.raises(ValidationError) as exc:
        _create(world.manager, last_name="Other team", owner_id=world.rep2.user_id)
    assert "owner" in exc.value.fields


def test_owner_from_another_organization_is_unknown(world):
    with pytest.raises(ValidationError) as exc:
        _create(world.admin, last_name="X", owner_id=world.admin_b.user_id)
    assert "owner" in exc.value.fields


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "last_name"),
        ({"first_name": "  ", "last_name": ""}, "last_name"),
        ({"last_name": "X", "email": "not-an-email"}, "email"),
        ({"last_name": "X", "phone": "call me maybe"}, "phone"),
        ({"last_name": "X", "source": "carrier_pigeon"}, "source"),
        ({"last_name": "X", "country": "Russia"}, "country"),
        ({"last_name": "X", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"last_name": "X" * 101}, "last_name"),
        ({"last_name": "X", "company_name": "C" * 256}, "company_name"),
    ],
)
def test_invalid_lead_input_is_refused_with_the_field_named(world, data, field):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        _create(world.rep1, **data)
    assert field in exc.value.fields
    assert db_state() == before


def test_lead_with_only_an_email_or_phone_is_fine(world):
    assert _create(world.rep1, email="Only@Email.test").email == "only@email.test"
    assert _create(world.rep1, phone="415 555 0199").phone == "+14155550199"


def test_update_changes_details_and_audits_before_and_after(world):
    lead = world.lead_rep1
    services.lead_update(membership=world.rep1, lead_id=lead.pk, data={"first_name": "Pyotr", "title": "CTO"})
    lead.refresh_from_db()
    assert (lead.first_name, lead.title, lead.name_key) == ("Pyotr", "CTO", "pyotr rep1lead")
    audit = AuditLog.objects.get(action="lead.update", object_id=lead.pk)
    assert audit.changes["first_name"] == ["Lead", "Pyotr"]
    assert audit.changes["title"] == ["", "CTO"]
    assert "updated_at" not in audit.changes


def test_update_without_changes_writes_no_audit_row(world):
    services.lead_update(membership=world.rep1, lead_id=world.lead_rep1.pk, data={"first_name": "Lead"})
    assert not AuditLog.objects.filter(action="lead.update").exists()


@pytest.mark.parametrize("status", [*LeadStatus.values, "bogus"])
def test_update_refuses_any_status_change(world, status):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        services.lead_update(
            membership=world.admin, lead_id=world.lead_rep1.pk, data={"status": status, "first_name": "Sneaky"}
        )
    assert "status" in exc.value.fields
    assert db_state() == before


def test_update_cannot_reassign_or_move_organizations(world):
    lead = world.lead_rep1
    services.lead_update(
        membership=world.rep1,
        lead_id=lead.pk,
        data={"owner_id": world.rep2.user_id, "organization_id": world.org_b.pk, "agency_id": world.agency_x.pk},
    )
    lead.refresh_from_db()
    assert (lead.owner, lead.organization, lead.agency) == (world.rep1.user, world.org, None)


VERBS = {
    "start_working": (lambda m, pk: services.lead_start_working(membership=m, lead_id=pk), LeadStatus.WORKING),
    "qualify": (lambda m, pk: services.lead_qualify(membership=m, lead_id=pk), LeadStatus.QUALIFIED),
    "disqualify": (
        lambda m, pk: services.lead_disqualify(membership=m, lead_id=pk, reason="no_budget"),
        LeadStatus.DISQUALIFIED,
    ),
}
# from-status → the verbs allowed from it (a verb into the current status is a no-op, also allowed).
ALLOWED = {
    LeadStatus.NEW: {"start_working", "qualify", "disqualify"},
    LeadStatus.WORKING: {"start_working", "qualify", "disqualify"},
    LeadStatus.QUALIFIED: {"start_working", "qualify", "disqualify"},
    LeadStatus.DISQUALIFIED: {"start_working", "disqualify"},
    LeadStatus.CONVERTED: set(),
}


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("start", LeadStatus.values)
def test_status_verbs_follow_the_allowed_transitions(world, start, verb):
    call, target = VERBS[verb]
    lead = world.lead_rep1
    Lead.objects.filter(pk=lead.pk).update(status=start)
    if verb in ALLOWED[start]:
        result = call(world.rep1, lead.pk)
        lead.refresh_from_db()
        assert result.status == lead.status == target
        changes = Activity.objects.filter(lead=lead, kind=ActivityKind.STATUS_CHANGE)
        if start == target:
            assert not changes.exists()
        else:
            assert changes.get().data == {"from": start, "to": target, "reason": lead.disqualify_reason}
            assert AuditLog.objects.get(action=f"lead.{target}", object_id=lead.pk).changes["status"] == [
                start,
                target,
            ]
    else:
        before = db_state()
        with pytest.raises(Conflict):
            call(world.rep1, lead.pk)
        assert db_state() == before


def test_disqualify_needs_a_known_reason_and_reopening_clears_it(world):
    lead = world.lead_rep1
    with pytest.raises(ValidationError) as exc:
        services.lead_disqualify(membership=world.rep1, lead_id=lead.pk, reason="")
    assert "reason" in exc.value.fields
    services.lead_disqualify(membership=world.rep1, lead_id=lead.pk, reason="competitor", note="Went with X")
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == (LeadStatus.DISQUALIFIED, "competitor")
    assert Activity.objects.get(lead=lead, kind=ActivityKind.STATUS_CHANGE).body == "Went with X"
    services.lead_start_working(membership=world.rep1, lead_id=lead.pk)
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == (LeadStatus.WORKING, "")


def test_a_note_on_a_new_lead_starts_work_on_it(world):
    lead = world.lead_rep1
    previous_activity = lead.last_activity_at
    note = services.note_add(membership=world.rep1, record_type=Lead, record_id=lead.pk, body="  Called, no answer ")
    lead.refresh_from_db()
    assert note.body == "Called, no answer"
    assert lead.status == LeadStatus.WORKING
    assert lead.last_activity_at >= note.occurred_at > previous_activity
    with pytest.raises(ValidationError):
        services.note_add(membership=world.rep1, record_type=Lead, record_id=lead.pk, body="   ")


def test_rep_claims_a_lead_from_the_pool_and_can_give_it_back(world):
    lead = world.lead_unassigned
    services.lead_assign(membership=world.rep1, lead_id=lead.pk, owner_id=world.rep1.user_id)
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (world.rep1.user, world.team1)
    assignment = Activity.objects.get(lead=lead, kind=ActivityKind.ASSIGNMENT)
    assert assignment.data["owner_id"] == [None, world.rep1.user_id]
    services.lead_assign(membership=world.rep1, lead_id=lead.pk)
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.agency) == (None, None, None)
    assert AuditLog.objects.filter(action="lead.assign", object_id=lead.pk).count() == 2


def test_rep_cannot_hand_leads_to_others_or_agencies(world):
    before = db_state()
    with pytest.raises(ValidationError):
        services.lead_assign(membership=world.rep1, lead_id=world.lead_rep1.pk, owner_id=world.rep2.user_id)
    with pytest.raises(PermissionDenied):
        services.lead_assign(membership=world.rep1, lead_id=world.lead_rep1.pk, agency_id=world.agency_x.pk)
    with pytest.raises(PermissionDenied):
        # The pool lead is visible but not theirs to "return".
        services.lead_assign(membership=world.rep1, lead_id=world.lead_unassigned.pk)
    assert db_state() == before


def test_agency_rep_cannot_reassign(world):
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.lead_assign(
            membership=world.agency_x_rep, lead_id=world.lead_agency_x.pk, owner_id=world.agency_x_rep.user_id
        )
    assert db_state() == before


def test_manager_hands_leads_to_the_team_or_an_agency(world):
    lead = world.lead_unassigned
    services.lead_assign(membership=world.manager, lead_id=lead.pk, owner_id=world.rep1.user_id)
    lead.refresh_from_db()
    assert (lead.owner, lead.team) == (world.rep1.user, world.team1)
    services.lead_assign(membership=world.manager, lead_id=lead.pk, agency_id=world.agency_x.pk)
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.agency) == (None, None, world.agency_x)
    with pytest.raises(ValidationError):
        services.lead_assign(membership=world.admin, lead_id=lead.pk, agency_id=world.agency_off.pk)


def test_admin_assigning_to_an_agency_rep_gives_the_lead_to_their_agency(world):
    lead = world.lead_rep1
    services.lead_assign(membership=world.admin, lead_id=lead.pk, owner_id=world.agency_y_rep.user_id)
    lead.refresh_from_db()
    assert (lead.owner, lead.agency, lead.team) == (world.agency_y_rep.user, world.agency_y, None)
    services.lead_assign(membership=world.admin, lead_id=lead.pk, owner_id=world.rep2.user_id)
    lead.refresh_from_db()
    assert (lead.owner, lead.agency, lead.team) == (world.rep2.user, None, world.team2)


def test_rep_deletes_own_lead_but_not_the_pool(world):
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.lead_delete(membership=world.rep1, lead_id=world.lead_unassigned.pk)
    assert db_state() == before
    services.lead_delete(membership=world.rep1, lead_id=world.lead_rep1.pk)
    assert not Lead.objects.filter(pk=world.lead_rep1.pk).exists()
    audit = AuditLog.objects.get(action="lead.delete", object_id=world.lead_rep1.pk)
    assert audit.changes["last_name"] == ["Rep1lead", None]


def test_manager_deletes_a_team_members_lead(world):
    services.lead_delete(membership=world.manager, lead_id=world.lead_rep1.pk)
    assert not Lead.objects.filter(pk=world.lead_rep1.pk).exists()


def test_tags_from_another_organization_are_refused(world):
    with pytest.raises(ValidationError) as exc:
        _create(world.rep1, last_name="Tagged", tag_ids=[world.tag_b.pk])
    assert "tags" in exc.value.fields
    lead = _create(world.rep1, last_name="Tagged", tag_ids=[world.tag.pk])
    assert list(lead.tags.all()) == [world.tag]
    assert f.TagFactory._meta.model.objects.filter(organization=world.org_b).count() == 1
