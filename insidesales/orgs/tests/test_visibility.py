"""The visibility rules of DESIGN.md, role by role, through `visible_records` and the record selectors."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from insidesales.core.errors import NotFound
from insidesales.core.testing import factories as f
from insidesales.core.testing.factories import PASSWORD
from insidesales.core.testing.world import MEMBERS, SLOTS
from insidesales.crm import selectors
from insidesales.crm.models import Company, Contact, Deal, Lead
from insidesales.orgs.models import Membership
from insidesales.orgs.services import agency_set_active
from insidesales.orgs.visibility import visible_records

pytestmark = pytest.mark.django_db
RECORD_MODELS = (Lead, Contact, Company, Deal)


def visible_slot_names(world, model, membership) -> set[str]:
    ids = set(visible_records(model.objects.all(), membership).values_list("pk", flat=True))
    return {slot for slot in SLOTS if world.slots[slot].record(model).pk in ids}


@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("member", MEMBERS)
def test_each_role_sees_exactly_its_records(world, member, model):
    assert visible_slot_names(world, model, world.members[member]) == world.visible_slots(member)


@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("member", MEMBERS)
def test_each_role_sees_exactly_its_records_when_pool_is_hidden(world_pool_hidden, member, model):
    world = world_pool_hidden
    assert visible_slot_names(world, model, world.members[member]) == world.visible_slots(member)


@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("member", MEMBERS)
def test_selectors_list_and_get_follow_the_rules(world, member, model):
    membership = world.members[member]
    page = selectors.record_list(membership=membership, model=model, limit=200)
    listed = {r.pk for r in page.items}
    assert listed == {world.slots[s].record(model).pk for s in world.visible_slots(member)}
    for slot in SLOTS:
        record = world.slots[slot].record(model)
        if slot in world.visible_slots(member):
            assert selectors.record_get(membership=membership, model=model, record_id=record.pk).pk == record.pk
        else:
            with pytest.raises(NotFound):
                selectors.record_get(membership=membership, model=model, record_id=record.pk)


def test_inside_rep_sees_the_unassigned_pool_only_when_the_organization_allows(world):
    assert visible_slot_names(world, Lead, world.rep1) == {"rep1", "unassigned"}
    world.org.reps_see_unassigned = False
    world.org.save()
    world.refresh()
    assert visible_slot_names(world, Lead, world.rep1) == {"rep1"}
    # Managers keep the pool: someone must hand it out.
    assert "unassigned" in visible_slot_names(world, Lead, world.manager)


def test_field_rep_never_sees_the_unassigned_pool(world):
    assert "unassigned" not in visible_slot_names(world, Lead, world.field_rep)


def test_manager_sees_records_of_their_team_by_team_or_by_owner(world):
    # A record whose owner is in team 1, even with no team stamped on it, belongs to the manager's view.
    by_owner = f.LeadFactory(organization=world.org, owner=world.rep1.user, team=None)
    by_team = f.LeadFactory(organization=world.org, owner=None, team=world.team1, agency=world.agency_y)
    other_team = f.LeadFactory(organization=world.org, owner=None, team=world.team2, agency=world.agency_y)
    visible = set(visible_records(Lead.objects.all(), world.manager).values_list("pk", flat=True))
    assert by_owner.pk in visible
    assert by_team.pk in visible
    assert other_team.pk not in visible


def test_manager_of_no_team_sees_own_records_and_the_pool(world):
    lonely = f.ManagerMembershipFactory(organization=world.org, team=None)
    own = f.LeadFactory(owned_by=lonely)
    visible = set(visible_records(Lead.objects.all(), lonely).values_list("pk", flat=True))
    assert visible == {own.pk, world.lead_unassigned.pk}


def test_manager_of_two_teams_sees_both(world):
    world.team2.managers.add(world.manager.user)
    membership = Membership.objects.get(pk=world.manager.pk)
    assert visible_slot_names(world, Lead, membership) == {"manager", "rep1", "rep2", "unassigned"}


def test_agency_rep_sees_records_assigned_to_their_agency_whoever_owns_them(world):
    owned = f.LeadFactory(owned_by=world.agency_x_rep)
    visible = set(visible_records(Lead.objects.all(), world.agency_x_rep).values_list("pk", flat=True))
    assert visible == {owned.pk, world.lead_agency_x.pk}


def test_switching_an_agency_off_hides_everything_and_back_on_restores(world):
    assert visible_slot_names(world, Lead, world.agency_x_rep) == {"agency_x"}
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=False)
    world.refresh()
    for model in RECORD_MODELS:
        assert visible_slot_names(world, model, world.agency_x_rep) == set()
    assert selectors.global_search(membership=world.agency_x_rep, text="Lead") == {
        "leads": [],
        "contacts": [],
        "companies": [],
        "deals": [],
    }
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=True)
    world.refresh()
    assert visible_slot_names(world, Lead, world.agency_x_rep) == {"agency_x"}


def test_switched_off_agency_rep_cannot_sign_in(world):
    email = world.agency_x_rep.user.email
    assert authenticate(None, username=email, password=PASSWORD) == world.agency_x_rep.user
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=False)
    assert authenticate(None, username=email, password=PASSWORD) is None
    assert authenticate(None, username=world.agency_off_rep.user.email, password=PASSWORD) is None


def test_sign_in_is_by_email_case_insensitively_and_needs_the_right_password(world):
    user = world.rep1.user
    assert authenticate(None, username=user.email.upper(), password=PASSWORD) == user
    assert authenticate(None, username=user.email, password="wrong-password-1") is None
    assert authenticate(None, username="nobody@acme.test", password=PASSWORD) is None


def test_user_without_active_membership_cannot_sign_in(world):
    Membership.objects.filter(pk=world.rep1.pk).update(is_active=False)
    assert authenticate(None, username=world.rep1.user.email, password=PASSWORD) is None


def _through_membership_middleware(user):
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django.test import RequestFactory

    from insidesales.orgs.middleware import MembershipMiddleware

    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = user
    request.session["_auth_user_id"] = str(user.pk)
    MembershipMiddleware(lambda r: HttpResponse())(request)
    return request


def test_signed_in_agency_rep_is_signed_out_when_the_agency_is_switched_off(world):
    user = world.agency_x_rep.user
    request = _through_membership_middleware(user)
    assert request.membership == world.agency_x_rep
    assert request.user.is_authenticated
    agency_set_active(actor_membership=world.admin, agency_id=world.agency_x.pk, is_active=False)
    request = _through_membership_middleware(user)
    assert request.membership is None
    assert not request.user.is_authenticated
    assert "_auth_user_id" not in request.session


def test_inactive_membership_sees_nothing(world):
    membership = world.rep1
    membership.is_active = False
    assert visible_records(Lead.objects.all(), membership).count() == 0
    assert visible_records(Lead.objects.all(), None).count() == 0


@pytest.mark.parametrize("member", MEMBERS)
def test_no_one_sees_across_organizations(world, member):
    membership = world.members[member]
    for model in RECORD_MODELS:
        organizations = set(visible_records(model.objects.all(), membership).values_list("organization_id", flat=True))
        assert organizations <= {membership.organization_id}


def test_admin_of_one_organization_does_not_see_another(world):
    assert visible_slot_names(world, Lead, world.admin) == set(SLOTS) - {"org_b"}
    assert visible_slot_names(world, Lead, world.admin_b) == {"org_b"}


def test_agency_rep_membership_needs_an_agency(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(organization=world.org, user=f.UserFactory(), role="agency_rep", agency=None)


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("admin", {"rep1", "rep2", "manager", "field_rep", "agency_x_rep", "agency_y_rep"}),
        ("manager", {"rep1", "manager"}),
        ("rep1", {"rep1"}),
        ("field_rep", {"field_rep"}),
        ("agency_x_rep", {"agency_x_rep"}),
        ("agency_off_rep", set()),
        ("admin_b", {"admin_b"}),
    ],
)
def test_task_lists_show_own_tasks_and_managers_their_teams(world, member, expected):
    assignee_of = {m.user_id: name for name, m in world.members.items()}
    page = selectors.task_list(membership=world.members[member], limit=200)
    assert {assignee_of[t.assignee_id] for t in page.items} == expected
