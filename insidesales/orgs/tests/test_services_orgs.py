"""Organizations, members, agencies, preferences and the audit log."""

from __future__ import annotations

import pytest

from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import db_state
from insidesales.crm.models import Pipeline, StageKind
from insidesales.orgs.models import Agency, AuditLog, Membership, Role, User
from insidesales.orgs.selectors import agency_list, audit_log_list, member_list
from insidesales.orgs.services import agency_set_active, member_add, organization_create, user_update_preferences

pytestmark = pytest.mark.django_db


def test_new_organization_gets_a_default_pipeline_with_open_won_and_lost_stages():
    organization = organization_create(name="Acme", slug="acme", default_region="RU", time_zone="Europe/Moscow")
    pipeline = Pipeline.objects.get(organization=organization)
    assert pipeline.is_default
    stages = list(pipeline.stages.order_by("position"))
    assert [s.kind for s in stages].count(StageKind.WON) == 1
    assert [s.kind for s in stages].count(StageKind.LOST) == 1
    assert stages[0].kind == StageKind.OPEN
    assert all(s.organization_id == organization.pk for s in stages)


def test_member_add_creates_the_user_once_and_audits(world):
    membership = member_add(
        actor=world.admin.user,
        organization=world.org,
        email=" New.Rep@Acme.TEST ",
        full_name="New Rep",
        team=world.team2,
    )
    assert membership.user.email == "new.rep@acme.test"
    assert (membership.role, membership.team) == (Role.INSIDE_REP, world.team2)
    again = member_add(actor=world.admin_b.user, organization=world.org_b, email="new.rep@acme.test", role=Role.MANAGER)
    assert again.user == membership.user
    assert User.objects.filter(email="new.rep@acme.test").count() == 1
    audit = AuditLog.objects.get(action="member.add", organization=world.org)
    assert audit.changes == {"role": [None, Role.INSIDE_REP], "user": [None, "new.rep@acme.test"]}


def test_agency_rep_needs_an_agency(world):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        member_add(actor=world.admin.user, organization=world.org, email="a@x.test", role=Role.AGENCY_REP)
    assert "agency" in exc.value.fields
    assert db_state() == before


@pytest.mark.parametrize("member", ["manager", "rep1", "field_rep", "agency_x_rep"])
def test_only_admins_switch_agencies(world, member):
    before = db_state()
    with pytest.raises(PermissionDenied):
        agency_set_active(actor_membership=world.members[member], agency_id=world.agency_x.pk, is_active=False)
    assert db_state() == before


def test_switching_an_agency_is_audited(world):
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=False)
    assert Agency.objects.get(pk=world.agency_x.pk).is_active is False
    audit = AuditLog.objects.get(action="agency.deactivate")
    assert (audit.object_id, audit.changes, audit.actor) == (
        world.agency_x.pk,
        {"is_active": [True, False]},
        world.admin.user,
    )


def test_preferences_are_validated_and_audited(world):
    user = world.rep1.user
    user_update_preferences(user=user, language="ru", time_zone="Europe/Moscow")
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("ru", "Europe/Moscow")
    audit = AuditLog.objects.get(action="user.preferences")
    assert audit.changes == {"language": ["en", "ru"], "time_zone": ["UTC", "Europe/Moscow"]}
    for kwargs, field in (({"language": "de"}, "language"), ({"time_zone": "Moon/Base"}, "time_zone")):
        with pytest.raises(ValidationError) as exc:
            user_update_preferences(user=user, **kwargs)
        assert field in exc.value.fields
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("ru", "Europe/Moscow")


@pytest.mark.parametrize("member", ["manager", "rep1", "agency_x_rep"])
def test_only_admins_read_the_audit_log(world, member):
    with pytest.raises(PermissionDenied):
        audit_log_list(membership=world.members[member])


def test_audit_log_is_per_organization(world):
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=False)
    assert audit_log_list(membership=world.admin).count() == 1
    assert audit_log_list(membership=world.admin_b).count() == 0


def test_member_lists_by_role(world):
    emails = lambda member: {m.user.email for m in member_list(membership=world.members[member])}  # noqa: E731
    assert emails("agency_x_rep") == {"agency-x-rep@acme.test"}
    assert "agency-x-rep@acme.test" not in emails("rep1")
    assert "admin-b@globex.test" not in emails("admin")
    assert emails("admin_b") == {"admin-b@globex.test"}
    Membership.objects.filter(pk=world.rep2.pk).update(is_active=False)
    assert "rep2@acme.test" not in emails("admin")


def test_agency_rep_sees_only_their_agency(world):
    assert list(agency_list(membership=world.agency_x_rep)) == [world.agency_x]
    assert set(agency_list(membership=world.admin)) == {world.agency_x, world.agency_y, world.agency_off}
    assert f.AgencyFactory(organization=world.org_b) not in agency_list(membership=world.admin)
