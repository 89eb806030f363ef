"""What the browser tests share besides fixtures: the test organization's people and signing in by the form."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import Page

from insidesales.core.testing import factories
from insidesales.orgs import services as org_services
from insidesales.orgs.models import Agency, Membership, Organization, Role, Team

PASSWORD = factories.PASSWORD

PEOPLE = {
    # key: (role, full name, email)
    "admin": (Role.ADMIN, "Anna Adminova", "anna@romashka.test"),
    "manager": (Role.MANAGER, "Mikhail Managerov", "mikhail@romashka.test"),
    "inside_rep": (Role.INSIDE_REP, "Irina Repina", "irina@romashka.test"),
    "field_rep": (Role.FIELD_REP, "Fedor Polevoy", "fedor@romashka.test"),
    "agency_rep": (Role.AGENCY_REP, "Alla Agentova", "alla@partner.test"),
}


@dataclass
class BrowserWorld:
    """One Russian-region organization with a member of every role; `world.admin` → that membership."""

    organization: Organization
    team: Team
    agency: Agency
    members: dict[str, Membership]

    def __getattr__(self, name: str) -> Membership:
        members = self.__dict__.get("members", {})
        if name in members:
            return members[name]
        raise AttributeError(name)


def build_browser_world() -> BrowserWorld:
    """Made through the services, as the product makes them (RU region: phones are read as Russian)."""
    organization = org_services.organization_create(
        name="Romashka", slug="romashka", default_region="RU", time_zone="Europe/Moscow"
    )
    # Teams and agencies have no services yet (they are made in the Django admin); the factories stand in.
    team = factories.TeamFactory(organization=organization, name="Moscow desk")
    agency = factories.AgencyFactory(organization=organization, name="Partner Calls")
    members = {}
    for key, (role, full_name, email) in PEOPLE.items():
        members[key] = org_services.member_add(
            actor=None,
            organization=organization,
            email=email,
            full_name=full_name,
            role=role,
            team=team if role in (Role.MANAGER, Role.INSIDE_REP) else None,
            agency=agency if role == Role.AGENCY_REP else None,
            password=PASSWORD,
        )
    team.managers.add(members["manager"].user)
    return BrowserWorld(organization=organization, team=team, agency=agency, members=members)


def sign_in(page: Page, membership: Membership, *, password: str = PASSWORD) -> None:
    """Sign in through the /login/ form, as a person would, and wait for the home page."""
    page.goto("/login/")
    page.get_by_label("Email").fill(membership.user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def sign_in_at(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")
