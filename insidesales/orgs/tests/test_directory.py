"""The organization directory version: every change to what pages remember raises it, and pages show
the change on the next request."""

from __future__ import annotations

import pytest

from insidesales.core.testing.factories import (
    AgencyFactory,
    InsideRepMembershipFactory,
    ManagerMembershipFactory,
    OrganizationFactory,
    SavedViewFactory,
    TagFactory,
    TeamFactory,
)
from insidesales.orgs.directory import remembered
from insidesales.orgs.models import Organization

pytestmark = pytest.mark.django_db


def version(org) -> int:
    return Organization.objects.get(pk=org.pk).directory_version


@pytest.fixture
def org():
    return OrganizationFactory()


def changes(org, action) -> bool:
    before = version(org)
    action()
    return version(org) != before


def test_people_teams_agencies_tags_and_views_raise_the_version(org):
    member = InsideRepMembershipFactory(organization=org)
    team = TeamFactory(organization=org)
    assert changes(org, lambda: TeamFactory(organization=org))
    assert changes(org, lambda: AgencyFactory(organization=org))
    assert changes(org, lambda: TagFactory(organization=org))
    assert changes(org, lambda: InsideRepMembershipFactory(organization=org))
    assert changes(org, lambda: SavedViewFactory(organization=org, owner=member.user))

    def rename():
        member.user.full_name = "Renamed"
        member.user.save(update_fields=["full_name"])

    assert changes(org, rename)

    def move():
        member.team = team
        member.save()

    assert changes(org, move)
    assert changes(org, lambda: team.managers.add(member.user))
    assert changes(org, lambda: member.user.managed_teams.remove(team))
    assert changes(org, lambda: team.delete())


def test_a_sign_in_does_not_raise_the_version(org):
    member = InsideRepMembershipFactory(organization=org)

    def sign_in():
        member.user.last_login = member.created_at
        member.user.save(update_fields=["last_login"])

    assert not changes(org, sign_in)


def test_saving_an_organization_never_puts_back_an_older_version(org):
    stale = Organization.objects.get(pk=org.pk)
    TagFactory(organization=org)
    newer = version(org)
    stale.name = "Renamed Ltd"
    stale.save()
    assert version(org) == newer
    assert Organization.objects.get(pk=org.pk).name == "Renamed Ltd"


def test_remembered_answers_last_until_the_version_changes(org):
    member = ManagerMembershipFactory(organization=org)
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    def fresh_membership():
        return type(member).objects.select_related("organization").get(pk=member.pk)

    assert remembered(fresh_membership(), "x", compute) == 1
    assert remembered(fresh_membership(), "x", compute) == 1
    TagFactory(organization=org)
    assert remembered(fresh_membership(), "x", compute) == 2


def test_shared_answers_are_kept_once_for_every_member(org):
    first, second = ManagerMembershipFactory(organization=org), ManagerMembershipFactory(organization=org)
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    def fresh(member):
        return type(member).objects.select_related("organization").get(pk=member.pk)

    one = remembered(fresh(first), "people", compute, shared=True)
    assert remembered(fresh(second), "people", compute, shared=True) is one
    assert remembered(fresh(second), "people", compute) == {"n": 2}  # not shared: the member's own
    TagFactory(organization=org)
    assert remembered(fresh(first), "people", compute, shared=True) == {"n": 3}


def test_the_list_page_shows_people_and_tags_changed_since_the_last_page(client, org):
    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add

    admin = member_add(
        actor=None, organization=org, email="boss@org.test", full_name="Boss", role=Role.ADMIN, password="pw-1234567890"
    )
    client.force_login(admin.user)
    first = client.get("/leads/").content.decode()
    assert "Newcomer Neil" not in first and "trade-show-2027" not in first

    member_add(
        actor=admin.user,
        organization=org,
        email="neil@org.test",
        full_name="Newcomer Neil",
        role=Role.INSIDE_REP,
        password="pw-1234567890",
    )
    TagFactory(organization=org, name="trade-show-2027")
    second = client.get("/leads/").content.decode()
    assert "Newcomer Neil" in second
    assert "trade-show-2027" in second

    admin.user.full_name = "Boss Renamed"
    admin.user.save(update_fields=["full_name"])
    assert "Boss Renamed" in client.get("/leads/").content.decode()


def test_a_membership_moved_to_another_organization_never_sees_the_old_ones_lists(org):
    """Versions are random and answers are kept per organization: a member moved (in the admin) to an
    organization gets that organization's answers, and the organization left changes version too."""
    other = OrganizationFactory()
    member = ManagerMembershipFactory(organization=org)

    def fresh():
        return type(member).objects.select_related("organization").get(pk=member.pk)

    assert remembered(fresh(), "x", lambda: ("from", org.pk)) == ("from", org.pk)
    left_before = version(org)
    moved = fresh()
    moved.organization = other
    moved.save()
    assert version(org) != left_before
    Organization.objects.filter(pk=other.pk).update(directory_version=left_before)  # even a matching number
    assert remembered(fresh(), "x", lambda: ("from", other.pk)) == ("from", other.pk)


def test_members_share_one_copy_of_each_listed_user(org):
    first = InsideRepMembershipFactory(organization=org)
    second = InsideRepMembershipFactory(organization=org)
    users = type(first.user).objects.filter(pk__in=[first.user.pk, second.user.pk]).order_by("pk")

    def fresh(m):
        return type(m).objects.select_related("organization").get(pk=m.pk)

    a = remembered(fresh(first), "users", lambda: tuple(users))
    b = remembered(fresh(second), "users", lambda: tuple(users))
    assert a == b
    assert all(x is y for x, y in zip(a, b, strict=True))


def test_custom_fields_raise_the_version(org):
    from insidesales.core.testing.factories import CustomFieldFactory

    field = None

    def add():
        nonlocal field
        field = CustomFieldFactory(organization=org, record_type="lead", key="budget", label="Budget")

    assert changes(org, add)

    def relabel():
        field.label = "Budget (USD)"
        field.save()

    assert changes(org, relabel)
    assert changes(org, lambda: field.delete())


def test_the_detail_page_shows_custom_fields_and_agencies_added_since_the_last_page(client, org):
    from insidesales.core.testing.factories import CustomFieldFactory, LeadFactory
    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add

    admin = member_add(
        actor=None, organization=org, email="boss@org.test", full_name="Boss", role=Role.ADMIN, password="pw-1234567890"
    )
    lead = LeadFactory(organization=org, custom={"budget": "12000"})
    client.force_login(admin.user)
    first = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Budget in dollars" not in first and "Agency Zeta" not in first
    CustomFieldFactory(organization=org, record_type="lead", key="budget", label="Budget in dollars")
    AgencyFactory(organization=org, name="Agency Zeta")
    second = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Budget in dollars" in second and "12000" in second
    assert "Agency Zeta" in second
