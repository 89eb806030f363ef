"""Fixtures for the record-page (web UI) tests: one organization with every role, and signed-in clients.

Names start with `ui` so they never shadow the shared fixtures of the project-wide conftest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from insidesales.core.testing import factories as f
from insidesales.crm import services
from insidesales.crm.models import Lead
from insidesales.orgs.models import Agency, Membership, Organization, Team


@dataclass
class UiWorld:
    """An organization (US region) with a team, an agency and one member of each role."""

    org: Organization
    team: Team
    agency: Agency
    admin: Membership
    manager: Membership
    rep: Membership
    other_rep: Membership
    agency_rep: Membership

    def lead(self, by: Membership | None = None, **data) -> Lead:
        """A lead created through the service, as the UI would (by the admin unless `by` is given)."""
        return services.lead_create(membership=by or self.admin, data=data)


@pytest.fixture
def ui(db) -> UiWorld:
    org = f.OrganizationFactory(name="Acme", slug="acme", default_region="US")
    team = f.TeamFactory(organization=org, name="Team 1")
    agency = f.AgencyFactory(organization=org, name="Callers Ltd")

    def member(factory, name: str, **extra) -> Membership:
        user = f.UserFactory(email=f"{name}@acme.test", full_name=name.replace("_", " ").title())
        return factory(organization=org, user=user, **extra)

    return UiWorld(
        org=org,
        team=team,
        agency=agency,
        admin=member(f.AdminMembershipFactory, "admin"),
        manager=member(f.ManagerMembershipFactory, "manager", team=team),
        rep=member(f.InsideRepMembershipFactory, "rep", team=team),
        other_rep=member(f.InsideRepMembershipFactory, "other_rep", team=team),
        agency_rep=member(f.AgencyRepMembershipFactory, "agency_rep", agency=agency),
    )


@pytest.fixture
def ui_login():
    """`ui_login(membership)` → a test client signed in as that member."""

    def login(membership: Membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    return login
