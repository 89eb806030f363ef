"""Response deadlines and speed to lead: working-minute deadlines, reassign/escalate when missed (once, on the
timeline), a person's call or email stops the clock, and the report per rep, team, source and hour."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
from django.test import Client
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, ActivityKind, Lead, Task
from insidesales.inbound import sla
from insidesales.inbound.models import (
    AssignTo,
    InboundSettings,
    Notification,
    NotificationKind,
    RepAvailability,
    RoutingRule,
    SlaAction,
    Submission,
)
from insidesales.inbound.services.submissions import submission_accept
from insidesales.inbound.speed import first_touch_record, speed_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    org = f.OrganizationFactory(time_zone="Europe/Berlin", default_region="DE")
    admin = f.AdminMembershipFactory(organization=org)
    team = f.TeamFactory(organization=org)
    manager = f.ManagerMembershipFactory(organization=org, team=team)
    team.managers.add(manager.user)
    reps = [f.InsideRepMembershipFactory(organization=org, team=team) for _ in range(2)]
    for rep in reps:
        RepAvailability.objects.create(organization=org, user=rep.user, seen_at=timezone.now())
    rule = RoutingRule.objects.create(
        organization=org,
        name="Team",
        assign_to=AssignTo.ROUND_ROBIN,
        team=team,
        sla_minutes=5,
        sla_working_hours=False,
        sla_action=SlaAction.BOTH,
        sla_max_reassignments=1,
        prefer_account_owner=False,
    )
    return {"org": org, "admin": admin, "team": team, "manager": manager, "reps": reps, "rule": rule}


def accept(w, email="lead@example.org", now=None):
    submission, _ = submission_accept(
        organization=w["org"], form=None, channel="api", values={"last_name": "Lead", "email": email}, now=now
    )
    return submission


def test_working_minutes_skip_nights_weekends_and_holidays(w):
    org = w["org"]
    friday_evening = dt.datetime(2026, 11, 27, 16, 58, tzinfo=UTC)  # 17:58 in Berlin, Friday
    assert sla.add_working_minutes(org, friday_evening, 5) == dt.datetime(2026, 11, 30, 8, 3, tzinfo=UTC)
    christmas_eve = dt.datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # Thursday; 25th and 26th are holidays in DE
    assert sla.add_working_minutes(org, christmas_eve, 60) == dt.datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    evening = dt.datetime(2026, 12, 24, 16, 30, tzinfo=UTC)
    assert sla.add_working_minutes(org, evening, 60) == dt.datetime(2026, 12, 28, 8, 30, tzinfo=UTC)
    InboundSettings.objects.create(organization=org, working_hours={}, public_holidays=False)
    sla.forget_working_rules(org.pk)  # as the settings page does when it saves
    assert sla.add_working_minutes(org, evening, 60) == dt.datetime(2026, 12, 25, 8, 30, tzinfo=UTC)


def test_a_missed_deadline_reassigns_escalates_once_and_says_so(w):
    start = timezone.now() - dt.timedelta(minutes=10)
    submission = accept(w, now=start)
    first_owner = submission.owner_id
    assert submission.sla_due_at == start + dt.timedelta(minutes=5)
    assert sla.deadline_check(submission_id=submission.pk) == "reassigned+escalated"
    assert sla.deadline_check(submission_id=submission.pk) == ""  # the new deadline has not passed
    lead = Lead.objects.get()
    assert lead.owner_id != first_owner and lead.owner_id in {r.user_id for r in w["reps"]}
    assert Task.objects.get(lead=lead).assignee_id == lead.owner_id  # the call task moved with it
    kinds = list(Activity.objects.filter(lead=lead).values_list("kind", flat=True))
    assert kinds.count(ActivityKind.DEADLINE) == 1
    assert Notification.objects.filter(kind=NotificationKind.REASSIGNED, user_id=lead.owner_id).count() == 1
    assert list(Notification.objects.filter(kind=NotificationKind.ESCALATED).values_list("user_id", flat=True)) == [
        w["manager"].user_id
    ]
    submission.refresh_from_db()
    assert submission.sla_missed and submission.sla_steps == 1 and submission.tried_user_ids == [first_owner]
    # The second rep misses it too: at most one reassignment, so only the managers hear again.
    later = submission.sla_due_at + dt.timedelta(seconds=1)
    assert sla.deadline_check(submission_id=submission.pk, now=later) == "escalated"
    assert Lead.objects.get().owner_id == lead.owner_id
    assert Notification.objects.filter(kind=NotificationKind.ESCALATED).count() == 2
    assert Submission.objects.get().sla_due_at is None


def test_a_call_or_email_by_a_person_stops_the_clock(w):
    start = timezone.now() - dt.timedelta(minutes=10)
    submission = accept(w, now=start)
    touched_at = start + dt.timedelta(minutes=2, seconds=5)
    assert (
        first_touch_record(lead_ids=[submission.lead_id], user_id=submission.owner_id, kind="call", at=touched_at) == 1
    )
    assert (
        first_touch_record(lead_ids=[submission.lead_id], user_id=submission.owner_id, kind="email", at=touched_at) == 0
    )
    submission.refresh_from_db()
    assert submission.response_seconds == 125 and submission.first_touch_kind == "call"
    assert Task.objects.get(lead_id=submission.lead_id).completed_at == touched_at  # the call-back was the call
    assert submission.sla_due_at is None
    assert sla.deadline_check(submission_id=submission.pk) == ""
    assert not Activity.objects.filter(kind=ActivityKind.DEADLINE).exists()


def test_a_call_placed_by_a_rep_counts_as_the_first_touch(w):
    from insidesales.calls.models import Call, CallDirection
    from insidesales.calls.services.timeline import call_timeline_sync

    submission = accept(w)
    lead = Lead.objects.get()
    call = Call.objects.create(
        organization=w["org"],
        direction=CallDirection.OUTBOUND,
        lead=lead,
        agent_id=submission.owner_id,
        to_number="+4930123456",
        from_number="+4930999999",
    )
    call_timeline_sync(call)
    submission.refresh_from_db()
    assert submission.first_touch_by_id == submission.owner_id and submission.first_touch_kind == "call"


def test_report_groups_by_rep_team_source_hour_and_respects_scope(w):
    now = timezone.now()
    answered = accept(w, "a@example.org", now=now - dt.timedelta(hours=2))
    first_touch_record(
        lead_ids=[answered.lead_id],
        user_id=answered.owner_id,
        kind="call",
        at=answered.received_at + dt.timedelta(seconds=90),
    )
    accept(w, "b@example.org", now=now - dt.timedelta(hours=1))
    rows, total = speed_report(membership=w["admin"], group_by="rep")
    assert total.inquiries == 2 and total.answered == 1 and total.fast == 1 and total.median_seconds == 90
    assert sum(r.inquiries for r in rows) == 2
    team_rows, _ = speed_report(membership=w["admin"], group_by="team")
    assert [r.label for r in team_rows] == [w["team"].name]
    hours, _ = speed_report(membership=w["admin"], group_by="hour")
    assert all(0 <= r.key <= 23 for r in hours)
    outsider = f.InsideRepMembershipFactory(organization=w["org"])
    _, theirs = speed_report(membership=outsider, group_by="rep")
    assert theirs.inquiries == 0


def test_report_and_working_hours_pages(w):
    accept(w)
    client = Client()
    client.force_login(w["manager"].user)
    page = client.get("/reports/speed-to-lead/?group=source&days=7")
    assert page.status_code == 200 and "Speed to lead" in page.content.decode()
    assert client.get("/settings/working-hours/").status_code == 404  # admins only
    admin = Client()
    admin.force_login(w["admin"].user)
    bad = admin.post("/settings/working-hours/", {"start": "09:00", "end": "09:00", "weekdays": []})
    assert bad.status_code == 422
    ok = admin.post("/settings/working-hours/", {"start": "08:00", "end": "17:00", "weekdays": ["0", "1", "2"]})
    assert ok.status_code == 302
    saved = InboundSettings.objects.get(organization=w["org"])
    assert saved.working_hours["default"][0]["weekdays"] == ["mon", "tue", "wed"]
    assert saved.public_holidays is False


def test_report_api(w):
    from insidesales.orgs.services import api_key_create

    accept(w)
    key = api_key_create(membership=w["admin"], name="r")[1]
    response = Client().get("/api/v1/reports/speed-to-lead?group_by=team&days=7", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"]["inquiries"] == 1 and body["rows"][0]["label"] == w["team"].name
    bad = Client().get("/api/v1/reports/speed-to-lead?group_by=planet", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bad.status_code == 422
