"""The sequences tests' world: an organization with two teams, an agency, every role, mailboxes, and helpers to
write sequences and to fake what the mailer worker leaves behind (step runs, sent emails, replies, bounces).

Imported by the other sequence test modules (`from .test_sequence_views_world import sw`); it has no tests.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm import services as crm
from insidesales.crm.models import Contact, Lead
from insidesales.mail.models import (
    Direction,
    EmailMessage,
    Enrollment,
    InboundKind,
    Mailbox,
    MessageStatus,
    Sequence,
    SequenceStep,
    StepRun,
)
from insidesales.mail.services import sequence_editing as editing
from insidesales.orgs.models import Agency, Membership, Organization, Team

_ids = itertools.count(1)


@dataclass
class SequenceWorld:
    org: Organization
    team: Team
    other_team: Team
    agency: Agency
    admin: Membership
    manager: Membership
    other_manager: Membership  # manages the other team
    rep: Membership
    other_rep: Membership  # same team as `rep`
    outsider_rep: Membership  # the other team
    agency_rep: Membership
    field_rep: Membership

    def lead(self, by: Membership | None = None, **data) -> Lead:
        data.setdefault("last_name", "Prospect")
        data.setdefault("email", f"prospect{next(_ids)}@example.org")
        return crm.lead_create(membership=by or self.rep, data=data)

    def contact(self, by: Membership | None = None, **data) -> Contact:
        data.setdefault("last_name", "Buyer")
        data.setdefault("email", f"buyer{next(_ids)}@example.org")
        return crm.record_create(membership=by or self.rep, model=Contact, data=data)

    def sequence(self, by: Membership | None = None, *, team: Team | None = None, active: bool = True, **data):
        """A sequence of the team (the team's manager writes it): email, wait 2 days, call task."""
        by = by or self.manager
        team = team if team is not None else self.team
        sequence = editing.sequence_create(
            actor=by, data={"name": data.pop("name", "Cold outreach"), "team_id": team.pk if team else None, **data}
        )
        editing.step_add(actor=by, sequence=sequence, kind="auto_email", data={"subject": "Hello", "body": "Hi there"})
        editing.step_add(actor=by, sequence=sequence, kind="wait", data={"wait_days": 2})
        editing.step_add(actor=by, sequence=sequence, kind="call", data={"title": "Call them"})
        if active:
            editing.sequence_activate(actor=by, sequence=sequence)
        sequence.refresh_from_db()
        return sequence


def steps_of(sequence: Sequence) -> list[SequenceStep]:
    return list(SequenceStep.objects.filter(sequence=sequence).order_by("position"))


def sent_email(enrollment: Enrollment, step: SequenceStep, *, at: dt.datetime | None = None, status="sent"):
    """What the worker leaves after sending a step's email: the message and the step's run."""
    at = at or timezone.now()
    message_id = f"step{step.pk}-e{enrollment.pk}-{next(_ids)}@mail.example.test"
    message = EmailMessage.objects.create(
        organization_id=enrollment.organization_id,
        mailbox=enrollment.mailbox,
        direction=Direction.OUT,
        status=status,
        message_id=message_id,
        thread_root=enrollment.thread_root or message_id,
        from_address="rep@sales.example.test",
        to_addresses=[enrollment.email],
        subject="Hello",
        lead=enrollment.lead,
        contact=enrollment.contact,
        owner_id=enrollment.owner_id,
        team_id=enrollment.team_id,
        agency_id=enrollment.agency_id,
        enrollment=enrollment,
        step=step,
        sent_at=at if status == MessageStatus.SENT else None,
    )
    EmailMessage.objects.filter(pk=message.pk).update(created_at=at)
    if not enrollment.thread_root:
        Enrollment.objects.filter(pk=enrollment.pk).update(thread_root=message_id)
        enrollment.thread_root = message_id
    StepRun.objects.create(
        organization_id=enrollment.organization_id, enrollment=enrollment, step=step, outcome="sent", message=message
    )
    message.refresh_from_db()
    return message


def received(
    enrollment: Enrollment,
    *,
    in_reply_to: str = "",
    thread_root: str = "",
    at: dt.datetime | None = None,
    kind: str = InboundKind.MESSAGE,
):
    """A message that came back: a reply, an out-of-office or a bounce."""
    at = at or timezone.now()
    message_id = f"in{next(_ids)}@prospect.example.org"
    return EmailMessage.objects.create(
        organization_id=enrollment.organization_id,
        direction=Direction.IN,
        status=MessageStatus.RECEIVED,
        kind=kind,
        message_id=message_id,
        in_reply_to=in_reply_to,
        thread_root=thread_root or in_reply_to or message_id,
        from_address=enrollment.email,
        to_addresses=["rep@sales.example.test"],
        lead=enrollment.lead,
        owner_id=enrollment.owner_id,
        team_id=enrollment.team_id,
        received_at=at,
        content_hash=message_id,
    )


def run(enrollment: Enrollment, step: SequenceStep, outcome: str) -> StepRun:
    return StepRun.objects.create(
        organization_id=enrollment.organization_id, enrollment=enrollment, step=step, outcome=outcome
    )


@pytest.fixture
def sw(db) -> SequenceWorld:
    org = f.OrganizationFactory(name="Mailers Inc", slug="mailers", reps_see_unassigned=False)
    team = f.TeamFactory(organization=org, name="East")
    other_team = f.TeamFactory(organization=org, name="West")
    agency = f.AgencyFactory(organization=org, name="Outsourced Mail")

    def member(factory, name: str, **extra) -> Membership:
        user = f.UserFactory(email=f"{name}@mailers.test", full_name=name.replace("_", " ").title())
        membership = factory(organization=org, user=user, **extra)
        Mailbox.objects.create(
            organization=org, user=user, email=f"{name}@mailers.test", smtp_host="127.0.0.1", smtp_port=2525
        )
        return membership

    manager = member(f.ManagerMembershipFactory, "manager", team=team)
    other_manager = member(f.ManagerMembershipFactory, "other_manager", team=other_team)
    return SequenceWorld(
        org=org,
        team=team,
        other_team=other_team,
        agency=agency,
        admin=member(f.AdminMembershipFactory, "admin"),
        manager=manager,
        other_manager=other_manager,
        rep=member(f.InsideRepMembershipFactory, "rep", team=team),
        other_rep=member(f.InsideRepMembershipFactory, "other_rep", team=team),
        outsider_rep=member(f.InsideRepMembershipFactory, "outsider_rep", team=other_team),
        agency_rep=member(f.AgencyRepMembershipFactory, "agency_rep", agency=agency),
        field_rep=member(f.FieldRepMembershipFactory, "field_rep"),
    )
