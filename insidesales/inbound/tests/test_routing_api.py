"""The routing API: rules (admins write, managers read, others 404), the test operation, availability."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from insidesales.core.testing import factories as f
from insidesales.inbound.models import RepAvailability, RoutingRule
from insidesales.inbound.tests import test_routing_engine as engine
from insidesales.orgs.services import api_key_create

rw = engine.rw  # the routing world fixture


class Api:
    def __init__(self, membership) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {api_key_create(membership=membership, name='t')[1]}"}

    def call(self, method: str, path: str, body=None):
        data = "" if body is None else json.dumps(body)
        return self.client.generic(
            method, f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )


def test_rule_crud_as_admin(rw):
    api = Api(rw.admin)
    body = {
        "name": "Big companies",
        "conditions": [{"field": "company_size", "op": "gte", "value": 500}],
        "assign_to": "round_robin",
        "team_id": rw.team.pk,
        "weights": {str(rw.ann.user_id): 2},
    }
    created = api.call("POST", "/routing-rules", body)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["conditions"] == [{"field": "company_size", "op": "gte", "value": "500"}]
    listed = api.call("GET", "/routing-rules").json()
    assert [r["name"] for r in listed] == ["Big companies", "Everyone else"] and listed[-1]["is_default"]
    changed = api.call("PATCH", f"/routing-rules/{rule['id']}", {"name": "Enterprise", "is_active": False})
    assert changed.status_code == 200 and changed.json()["name"] == "Enterprise" and not changed.json()["is_active"]
    assert changed.json()["weights"] == {str(rw.ann.user_id): 2}
    bad = api.call("PATCH", f"/routing-rules/{rule['id']}", {"team_id": rw.other_org_admin.organization_id + 10**6})
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    assert "team_id" in bad.json()["errors"]
    default = listed[-1]["id"]
    assert api.call("DELETE", f"/routing-rules/{default}").status_code == 409
    assert api.call("POST", f"/routing-rules/{default}/move-up").status_code == 409
    assert api.call("DELETE", f"/routing-rules/{rule['id']}").status_code == 204
    assert api.call("GET", f"/routing-rules/{rule['id']}").status_code == 404


def test_managers_read_reps_get_404(rw):
    rule = RoutingRule.objects.create(organization=rw.org, name="R", assign_to="pool", position=1)
    manager = Api(rw.manager)
    assert manager.call("GET", f"/routing-rules/{rule.pk}").status_code == 200
    assert manager.call("POST", "/routing-rules", {"name": "x", "assign_to": "pool"}).status_code == 403
    rep = Api(rw.ann)
    assert rep.call("GET", "/routing-rules").status_code == 404
    assert rep.call("GET", f"/routing-rules/{rule.pk}").status_code == 404
    assert rep.call("POST", "/routing-rules/test", {"country": "DE"}).status_code == 404
    assert Api(rw.other_org_admin).call("GET", f"/routing-rules/{rule.pk}").status_code == 404


def test_routing_test_answers_decision_and_trace_and_keeps_tallies(rw):
    rule = RoutingRule.objects.create(
        organization=rw.org,
        name="Team",
        assign_to="round_robin",
        team=rw.team,
        position=1,
        skip_offline=False,
        rr_state={"5": 3},
    )
    answer = Api(rw.manager).call("POST", "/routing-rules/test", {"country": "DE", "utm": {"source": "google"}})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["rule_id"] == rule.pk and body["owner_id"] in (rw.ann.user_id, rw.bob.user_id, rw.cat.user_id)
    assert body["trace"][0]["matched"] is True
    rule.refresh_from_db()
    assert rule.rr_state == {"5": 3}
    hidden = f.LeadFactory(owned_by=rw.outsider)
    assert Api(rw.manager).call("POST", "/routing-rules/test", {"lead_id": hidden.pk}).status_code == 404
    assert Api(rw.admin).call("POST", "/routing-rules/test", {"lead_id": hidden.pk}).status_code == 200


def test_availability_me_and_others(rw):
    ann = Api(rw.ann)
    mine = ann.call("GET", "/me/availability")
    assert mine.status_code == 200 and mine.json()["accepts_inbound"] is True
    assert mine.json()["state"] == "offline" and mine.json()["available_now"] is False
    put = ann.call(
        "PUT",
        "/me/availability",
        {"away_from": "2031-07-01T09:00:00+02:00", "away_until": "2031-07-02T09:00:00Z", "max_open_leads": 4},
    )
    assert put.status_code == 200, put.content
    assert put.json()["away_from"] == "2031-07-01T07:00:00Z"
    assert RepAvailability.objects.get(user=rw.ann.user).max_open_leads == 4
    assert (
        ann.call(
            "PUT", "/me/availability", {"away_from": "2031-07-02T09:00:00Z", "away_until": "2031-07-01T09:00:00Z"}
        ).status_code
        == 422
    )
    assert ann.call("GET", f"/availability/{rw.bob.user_id}").status_code == 404
    manager = Api(rw.manager)
    assert manager.call("PUT", f"/availability/{rw.bob.user_id}", {"accepts_inbound": False}).status_code == 200
    assert RepAvailability.objects.get(user=rw.bob.user).accepts_inbound is False
    assert manager.call("GET", f"/availability/{rw.outsider.user_id}").status_code == 404
    assert Api(rw.admin).call("GET", f"/availability/{rw.outsider.user_id}").status_code == 200
    assert Api(rw.other_org_admin).call("GET", f"/availability/{rw.ann.user_id}").status_code == 404


@pytest.mark.parametrize(
    "body", [{"accepts_inbound": "yes"}, {"max_open_leads": -1}, {"away_until": "tomorrow"}, {"x": 1}]
)
def test_bad_availability_bodies_are_problems(rw, body):
    answer = Api(rw.ann).call("PUT", "/me/availability", body)
    assert answer.status_code == 422 and answer["Content-Type"] == "application/problem+json"
