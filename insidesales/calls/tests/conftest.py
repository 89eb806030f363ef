"""Fixtures for the calls app: an organization (US numbers) with a team, an agency and every role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm import services
from insidesales.crm.models import Lead
from insidesales.orgs.models import Agency, Membership, Organization, Team

# Every hour of every day: tests that are not about calling windows must not depend on the clock.
ALWAYS_OPEN = {"default": [{"start": "00:00", "end": "00:00"}]}


@dataclass
class CallWorld:
    org: Organization
    team: Team
    other_team: Team
    agency: Agency
    admin: Membership
    manager: Membership
    rep: Membership
    other_rep: Membership
    outsider_rep: Membership  # an inside rep of another team
    agency_rep: Membership
    field_rep: Membership

    def lead(self, by: Membership | None = None, **data) -> Lead:
        data.setdefault("last_name", "Callee")
        return services.lead_create(membership=by or self.admin, data=data)


@pytest.fixture
def cw(db) -> CallWorld:
    from insidesales.calls.services.config import telephony_settings

    org = f.OrganizationFactory(name="Dialers Inc", slug="dialers", default_region="US", reps_see_unassigned=False)
    team = f.TeamFactory(organization=org, name="East")
    other_team = f.TeamFactory(organization=org, name="West")
    agency = f.AgencyFactory(organization=org, name="Outsourced Calls")

    def member(factory, name: str, **extra) -> Membership:
        user = f.UserFactory(email=f"{name}@dialers.test", full_name=name.replace("_", " ").title())
        return factory(organization=org, user=user, **extra)

    manager = member(f.ManagerMembershipFactory, "manager", team=team)
    team.managers.add(manager.user)
    world = CallWorld(
        org=org,
        team=team,
        other_team=other_team,
        agency=agency,
        admin=member(f.AdminMembershipFactory, "admin"),
        manager=manager,
        rep=member(f.InsideRepMembershipFactory, "rep", team=team),
        other_rep=member(f.InsideRepMembershipFactory, "other_rep", team=team),
        outsider_rep=member(f.InsideRepMembershipFactory, "outsider_rep", team=other_team),
        agency_rep=member(f.AgencyRepMembershipFactory, "agency_rep", agency=agency),
        field_rep=member(f.FieldRepMembershipFactory, "field_rep"),
    )
    settings = telephony_settings(org.pk)
    settings.window_rules = ALWAYS_OPEN
    settings.save()
    return world
