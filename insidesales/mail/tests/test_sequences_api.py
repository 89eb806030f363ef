"""`/api/v1/sequences` and `/api/v1/enrollments`: sequences and steps CRUD, enrolling by ids and by saved view
with skip counts, the enrollments list and report, the enrollment verbs; 404 outside scope, problem+json errors."""
# ruff: noqa: F811 - the `sw` fixture is imported from the world module and named by each test

from __future__ import annotations

import json

import pytest
from django.test import Client

from insidesales.crm.models import SavedView
from insidesales.mail.models import Enrollment, EnrollmentState, Sequence, StopReason
from insidesales.mail.services.sequences import enrollment_create
from insidesales.mail.services.suppression import suppression_add
from insidesales.orgs.services import api_key_create

from .test_sequence_views_world import sent_email, steps_of, sw  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


class Api:
    """A JSON client authenticated with a member's API key."""

    def __init__(self, membership) -> None:
        _key, secret = api_key_create(membership=membership, name="tests")
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def __call__(self, method: str, path: str, body=None):
        data = "" if body is None else json.dumps(body)
        response = self.client.generic(
            method, f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )
        return response, (json.loads(response.content) if response.content else None)


def test_manager_creates_a_sequence_with_steps_and_activates_it(sw):
    api = Api(sw.manager)
    response, body = api("POST", "/sequences", {"name": "API outreach", "team_id": sw.team.pk})
    assert response.status_code == 201 and body["status"] == "draft" and body["steps"] == []
    sequence_id = body["id"]
    response, email = api(
        "POST",
        f"/sequences/{sequence_id}/steps",
        {"kind": "auto_email", "subject": "Hi", "body": "Hello {{ lead.first_name }}"},
    )
    assert response.status_code == 201 and email["position"] == 0
    response, wait = api("POST", f"/sequences/{sequence_id}/steps", {"kind": "wait", "wait_days": 3, "position": 0})
    assert response.status_code == 201 and wait["position"] == 0
    response, moved = api(
        "PATCH", f"/sequences/{sequence_id}/steps/{wait['id']}", {"position": 1, "business_days": True}
    )
    assert response.status_code == 200 and (moved["position"], moved["business_days"]) == (1, True)
    response, body = api("PATCH", f"/sequences/{sequence_id}", {"status": "active", "allow_parallel": True})
    assert response.status_code == 200 and body["status"] == "active" and body["allow_parallel"] is True
    assert [s["kind"] for s in body["steps"]] == ["auto_email", "wait"]
    response, _ = api("DELETE", f"/sequences/{sequence_id}/steps/{wait['id']}")
    assert response.status_code == 204
    _, steps = api("GET", f"/sequences/{sequence_id}/steps")
    assert [s["id"] for s in steps] == [email["id"]]


def test_validation_errors_are_problems_with_the_request_field_names(sw):
    api = Api(sw.manager)
    response, body = api("POST", "/sequences", {"name": "Everyone"})
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert "team_id" in body["errors"]
    sequence = sw.sequence()
    response, body = api("POST", f"/sequences/{sequence.pk}/steps", {"kind": "wait", "wait_days": 0})
    assert response.status_code == 422 and "wait_days" in body["errors"]
    response, body = api(
        "POST", f"/sequences/{sequence.pk}/steps", {"kind": "call", "window_start": "18:00", "window_end": "08:00"}
    )
    assert response.status_code == 422 and "window_end" in body["errors"]
    response, body = api("POST", f"/sequences/{sequence.pk}/enrollments", {"lead_ids": [1], "contact_ids": [2]})
    assert response.status_code == 422


def test_rep_reads_but_may_not_write(sw):
    sequence = sw.sequence()
    api = Api(sw.rep)
    assert api("GET", f"/sequences/{sequence.pk}")[0].status_code == 200
    response, body = api("PATCH", f"/sequences/{sequence.pk}", {"name": "Mine"})
    assert response.status_code == 403 and body["code"] == "permission_denied"
    assert api("POST", "/sequences", {"name": "Mine"})[0].status_code == 403


def test_enroll_by_ids_counts_skips_by_reason(sw):
    sequence = sw.sequence()
    api = Api(sw.rep)
    leads = [sw.lead(), sw.lead(), sw.lead(email=""), sw.lead(email="out@example.org")]
    suppression_add(organization_id=sw.org.pk, email="out@example.org", reason="unsubscribed")
    response, body = api("POST", f"/sequences/{sequence.pk}/enrollments", {"lead_ids": [lead.pk for lead in leads]})
    assert response.status_code == 200
    assert body == {"enrolled": 2, "skipped": {"no_address": 1, "suppressed": 1}}
    response, body = api("POST", f"/sequences/{sequence.pk}/enrollments", {"lead_ids": [leads[0].pk]})
    assert body == {"enrolled": 0, "skipped": {"already": 1}}
    contact = sw.contact()
    response, body = api("POST", f"/sequences/{sequence.pk}/enrollments", {"contact_ids": [contact.pk]})
    assert body["enrolled"] == 1


def test_enroll_by_saved_view(sw):
    sequence = sw.sequence()
    sw.lead(company_name="Globex")
    view = SavedView.objects.create(
        organization=sw.org, record_type="lead", name="Globex", owner=sw.rep.user, filters={"q": "Globex"}
    )
    response, body = Api(sw.rep)("POST", f"/sequences/{sequence.pk}/enrollments", {"saved_view_id": view.pk})
    assert response.status_code == 200 and body["enrolled"] == 1


def test_enrolling_in_a_draft_sequence_is_a_conflict(sw):
    sequence = sw.sequence(active=False)
    response, body = Api(sw.manager)("POST", f"/sequences/{sequence.pk}/enrollments", {"lead_ids": [sw.lead().pk]})
    assert response.status_code == 409 and body["code"] == "conflict"


def test_enrollments_list_report_and_verbs(sw):
    sequence = sw.sequence()
    enrollment = enrollment_create(actor=sw.rep, sequence=sequence, lead=sw.lead())
    enrollment_create(actor=sw.rep, sequence=sequence, lead=sw.lead())
    sent_email(enrollment, steps_of(sequence)[0])
    api = Api(sw.rep)
    _, page = api("GET", f"/sequences/{sequence.pk}/enrollments?limit=1")
    assert len(page["items"]) == 1 and page["next_cursor"]
    _, rest = api("GET", f"/sequences/{sequence.pk}/enrollments?limit=1&cursor={page['next_cursor']}")
    assert rest["items"][0]["id"] == enrollment.pk and rest["next_cursor"] is None
    _, report = api("GET", f"/sequences/{sequence.pk}/report")
    assert report["enrolled"] == 2 and report["steps"][0]["emails_sent"] == 1
    response, body = api("POST", f"/enrollments/{enrollment.pk}/pause")
    assert response.status_code == 200 and body["state"] == "paused"
    _, paused = api("GET", f"/sequences/{sequence.pk}/enrollments?state=paused")
    assert [e["id"] for e in paused["items"]] == [enrollment.pk]
    assert api("POST", f"/enrollments/{enrollment.pk}/resume")[1]["state"] == "active"
    response, body = api("POST", f"/enrollments/{enrollment.pk}/stop")
    assert (body["state"], body["stop_reason"]) == ("stopped", "manual")
    response, body = api("POST", f"/enrollments/{enrollment.pk}/stop")
    assert response.status_code == 409
    assert api("GET", f"/enrollments/{enrollment.pk}")[1]["state"] == "stopped"


def test_out_of_scope_sequences_steps_and_enrollments_are_404(sw):
    west = sw.sequence(by=sw.other_manager, team=sw.other_team, name="West")
    east = sw.sequence()
    others = enrollment_create(actor=sw.other_rep, sequence=east, lead=sw.lead(by=sw.other_rep))
    api = Api(sw.rep)
    step = steps_of(west)[0]
    for method, path in (
        ("GET", f"/sequences/{west.pk}"),
        ("PATCH", f"/sequences/{west.pk}"),
        ("GET", f"/sequences/{west.pk}/steps/{step.pk}"),
        ("GET", f"/sequences/{east.pk}/steps/{step.pk}"),  # a step of another sequence
        ("GET", f"/sequences/{west.pk}/report"),
        ("GET", f"/enrollments/{others.pk}"),
        ("POST", f"/enrollments/{others.pk}/stop"),
    ):
        response, body = api(method, path, {} if method != "GET" else None)
        assert response.status_code == 404, (method, path)
        assert body["code"] == "not_found"
    hidden_lead = sw.lead(by=sw.outsider_rep)
    response, _ = api("POST", f"/sequences/{east.pk}/enrollments", {"lead_ids": [sw.lead().pk, hidden_lead.pk]})
    assert response.status_code == 404
    assert Enrollment.objects.filter(sequence=east).count() == 1
    others.refresh_from_db()
    assert others.state == EnrollmentState.ACTIVE
    listed = api("GET", "/sequences")[1]["items"]
    assert {s["name"] for s in listed} == {"Cold outreach"}
    assert Sequence.objects.filter(name="West").exists()
    assert StopReason.MANUAL  # the verbs above changed nothing out of scope
