"""Fixtures for the mailbox, sending-settings and suppression tests: an organization with an admin, a
manager, two inside reps and a field rep, plus a stranger in another organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from insidesales.core.testing import factories as f
from insidesales.mail.models import Mailbox
from insidesales.mail.services.mailboxes import mailbox_create
from insidesales.orgs.models import Membership, Organization


@dataclass
class MailboxWorld:
    org: Organization
    admin: Membership
    manager: Membership
    rep: Membership
    other_rep: Membership
    field_rep: Membership
    stranger: Membership  # an admin of another organization

    def mailbox(self, member: Membership, **data: Any) -> Mailbox:
        values = {
            "email": member.user.email,
            "smtp_host": "smtp.example.com",
            "smtp_port": 587,
            "smtp_security": "starttls",
            "smtp_username": member.user.email,
            "smtp_password": "smtp-secret-1",
        }
        values.update(data)
        return mailbox_create(actor=member, data=values)


def signed_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def mbw(db) -> MailboxWorld:
    org = f.OrganizationFactory(name="Letters Ltd", slug="letters")
    team = f.TeamFactory(organization=org, name="North")

    def member(factory, name: str, organization=org, **extra) -> Membership:
        user = f.UserFactory(email=f"{name}@letters.test", full_name=name.replace("_", " ").title())
        return factory(organization=organization, user=user, **extra)

    manager = member(f.ManagerMembershipFactory, "manager", team=team)
    team.managers.add(manager.user)
    return MailboxWorld(
        org=org,
        admin=member(f.AdminMembershipFactory, "admin"),
        manager=manager,
        rep=member(f.InsideRepMembershipFactory, "rep", team=team),
        other_rep=member(f.InsideRepMembershipFactory, "other_rep", team=team),
        field_rep=member(f.FieldRepMembershipFactory, "field_rep"),
        stranger=member(f.AdminMembershipFactory, "stranger", organization=f.OrganizationFactory(name="Elsewhere")),
    )
