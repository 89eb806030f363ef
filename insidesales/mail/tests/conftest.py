"""Fixtures for the mail app: an organization that may send at any hour, a rep with a mailbox on a real
SMTP server on loopback (aiosmtpd), and a helper to make sequences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm import services as crm
from insidesales.crm.models import Lead
from insidesales.mail.models import Mailbox, MailSettings, Security, Sequence, SequenceStep, StepKind
from insidesales.mail.tests.smtp_sink import Sink, running_sink
from insidesales.orgs.models import Membership, Organization


@dataclass
class MailWorld:
    org: Organization
    admin: Membership
    rep: Membership
    other_rep: Membership
    mailbox: Mailbox
    sink: Sink

    def lead(self, by: Membership | None = None, **data) -> Lead:
        data.setdefault("last_name", "Prospect")
        return crm.lead_create(membership=by or self.rep, data=data)

    def sequence(self, *steps: dict, **fields) -> Sequence:
        sequence = Sequence.objects.create(
            organization=self.org, name=fields.pop("name", "Outreach"), owner=self.admin.user, **fields
        )
        for position, step in enumerate(steps):
            SequenceStep.objects.create(sequence=sequence, position=position, **step)
        return sequence


def email_step(subject: str, body: str, **extra) -> dict:
    return {"kind": StepKind.AUTO_EMAIL, "subject": subject, "body": body, **extra}


def wait_step(days: int, business: bool = False) -> dict:
    return {"kind": StepKind.WAIT, "wait_days": days, "business_days": business}


def always_open(org: Organization) -> MailSettings:
    rules, _ = MailSettings.objects.get_or_create(organization=org)
    rules.sending_start, rules.sending_end = dt.time(0, 0), dt.time(23, 59, 59)
    rules.sending_weekdays = [0, 1, 2, 3, 4, 5, 6]
    rules.min_spacing_seconds = 0
    rules.daily_cap_per_mailbox = 100_000
    rules.company_name, rules.physical_address = "Acme Ltd", "1 Main St, Springfield"
    rules.save()
    return rules


@pytest.fixture
def smtp_sink():
    with running_sink() as (sink, port):
        yield sink, port


def build_mail_world(smtp_sink) -> MailWorld:
    sink, port = smtp_sink
    org = f.OrganizationFactory(name="Mailers Inc", slug="mailers", default_region="US", reps_see_unassigned=False)
    team = f.TeamFactory(organization=org, name="East")

    def member(factory, name: str, **extra) -> Membership:
        user = f.UserFactory(email=f"{name}@mailers.test", full_name=name.replace("_", " ").title())
        return factory(organization=org, user=user, **extra)

    admin = member(f.AdminMembershipFactory, "admin")
    rep = member(f.InsideRepMembershipFactory, "rep", team=team)
    other_rep = member(f.InsideRepMembershipFactory, "other_rep", team=team)
    mailbox = Mailbox.objects.create(
        organization=org,
        user=rep.user,
        email="rep@mailers.test",
        display_name="Rita Rep",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=Security.NONE,
    )
    always_open(org)
    return MailWorld(org=org, admin=admin, rep=rep, other_rep=other_rep, mailbox=mailbox, sink=sink)


@pytest.fixture
def mw(db, smtp_sink) -> MailWorld:
    return build_mail_world(smtp_sink)
