"""Fixtures for the orgs UI tests: one small organization ("Acme") with an admin, a rep and an agency rep."""

from __future__ import annotations

import pytest
from django.test import Client

from insidesales.orgs.models import Agency, Membership, Organization, Role
from insidesales.orgs.services import member_add, organization_create

ACME_PASSWORD = "correct-horse-battery-1"


@pytest.fixture
def acme(db) -> Organization:
    return organization_create(name="Acme", slug="acme", default_region="US")


@pytest.fixture
def acme_admin(acme) -> Membership:
    return member_add(
        actor=None,
        organization=acme,
        email="ada@acme.test",
        full_name="Ada Admin",
        role=Role.ADMIN,
        password=ACME_PASSWORD,
    )


@pytest.fixture
def acme_rep(acme) -> Membership:
    return member_add(
        actor=None,
        organization=acme,
        email="rob@acme.test",
        full_name="Rob Rep",
        role=Role.INSIDE_REP,
        password=ACME_PASSWORD,
    )


@pytest.fixture
def acme_agency(acme) -> Agency:
    return Agency.objects.create(organization=acme, name="CallCo")


@pytest.fixture
def acme_agency_rep(acme, acme_agency) -> Membership:
    return member_add(
        actor=None,
        organization=acme,
        email="amy@callco.test",
        full_name="Amy Agent",
        role=Role.AGENCY_REP,
        agency=acme_agency,
        password=ACME_PASSWORD,
    )


@pytest.fixture
def client_for(db):
    """A function giving a fresh test client signed in as the given membership's user."""

    def make(membership: Membership) -> Client:
        client = Client()
        client.force_login(membership.user)
        return client

    return make
