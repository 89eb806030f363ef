"""`/api/v1/forms`: admins create, change and delete web forms; managers read; everyone else and other
organizations get 404; bad input answers problem+json 422 with the service's words."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from insidesales.core.testing import factories as f
from insidesales.inbound.models import Submission, WebForm
from insidesales.orgs.services import api_key_create

pytestmark = pytest.mark.django_db

BODY = {
    "name": "Demo request",
    "fields": [{"key": "email", "required": True}, {"key": "company_name", "label": "Company"}],
    "consent_text": "I agree.",
    "consent_required": True,
    "allowed_domains": ["Example.com", "bücher.example"],
    "redirect_url": "https://www.example.com/thanks",
    "language": "ru",
}


class Api:
    def __init__(self, membership) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {api_key_create(membership=membership, name='t')[1]}"}

    def call(self, method: str, path: str, body=None):
        data = "" if body is None else json.dumps(body)
        return self.client.generic(
            method, f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def people(db):
    admin = f.AdminMembershipFactory()
    org = admin.organization
    return {
        "admin": Api(admin),
        "manager": Api(f.ManagerMembershipFactory(organization=org)),
        "rep": Api(f.InsideRepMembershipFactory(organization=org)),
        "admin_b": Api(f.AdminMembershipFactory()),
        "membership": admin,
    }


def test_admin_creates_reads_changes_and_deletes_a_form(people):
    api = people["admin"]
    created = api.call("POST", "/forms", BODY)
    assert created.status_code == 201, created.content
    form = created.json()
    assert form["allowed_domains"] == ["example.com", "xn--bcher-kva.example"]
    assert form["fields"] == [
        {"key": "email", "label": "Email", "required": True},
        {"key": "company_name", "label": "Company", "required": False},
    ]
    assert (form["language"], form["source"], form["is_active"]) == ("ru", "web_form", True)
    got = api.call("GET", f"/forms/{form['id']}").json()
    assert got["public_key"] == form["public_key"]
    changed = api.call("PATCH", f"/forms/{form['id']}", {"title": "Talk to us", "is_active": False})
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["is_active"], changed.json()["name"]) == (
        "Talk to us",
        False,
        "Demo request",
    )
    listed = api.call("GET", "/forms").json()
    assert [item["id"] for item in listed["items"]] == [form["id"]]
    assert api.call("DELETE", f"/forms/{form['id']}").status_code == 204
    assert not WebForm.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": [{"key": "first_name"}]}, "fields"),
        ({"fields": [{"key": "email"}, {"key": "email"}]}, "fields"),
        ({"fields": [{"key": "custom:nope"}, {"key": "phone"}]}, "fields"),
        ({"allowed_domains": ["https://example.com/"]}, "allowed_domains"),
        ({"redirect_url": "https://elsewhere.test/"}, "redirect_url"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
        ({"consent_text": ""}, "consent_text"),
        ({"min_fill_seconds": 121}, "min_fill_seconds"),
        ({"language": "de"}, "language"),
        ({"fields": [{"key": "email", "label": "x" * 101}]}, "fields"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(people, change, field):
    response = people["admin"].call("POST", "/forms", {**BODY, **change})
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(name.split(".")[0] == field for name in problem["errors"]), problem
    assert not WebForm.objects.exists()


def test_managers_read_but_do_not_write_and_reps_see_nothing(people):
    form = people["admin"].call("POST", "/forms", BODY).json()
    manager, rep = people["manager"], people["rep"]
    assert manager.call("GET", f"/forms/{form['id']}").status_code == 200
    assert manager.call("GET", "/forms").json()["items"][0]["id"] == form["id"]
    assert manager.call("GET", f"/forms/{form['id']}/submissions").status_code == 200
    assert manager.call("POST", "/forms", BODY).status_code == 403
    assert manager.call("PATCH", f"/forms/{form['id']}", {"name": "x"}).status_code == 403
    assert manager.call("DELETE", f"/forms/{form['id']}").status_code == 403
    for method, path, body in (
        ("GET", "/forms", None),
        ("POST", "/forms", BODY),
        ("GET", f"/forms/{form['id']}", None),
        ("PATCH", f"/forms/{form['id']}", {"name": "x"}),
        ("DELETE", f"/forms/{form['id']}", None),
        ("GET", f"/forms/{form['id']}/submissions", None),
    ):
        assert rep.call(method, path, body).status_code == 404, (method, path)
    assert WebForm.objects.get().name == "Demo request"


def test_another_organizations_admin_gets_404(people):
    form = people["admin"].call("POST", "/forms", BODY).json()
    other = people["admin_b"]
    assert other.call("GET", "/forms").json()["items"] == []
    for method, body in (("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)):
        assert other.call(method, f"/forms/{form['id']}", body).status_code == 404
    assert other.call("GET", f"/forms/{form['id']}/submissions").status_code == 404
    assert WebForm.objects.get().name == "Demo request"


def test_submissions_are_listed_newest_first_in_pages(people):
    form = people["admin"].call("POST", "/forms", BODY).json()
    org = people["membership"].organization_id
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    for n in range(3):
        Submission.objects.create(
            organization_id=org,
            form_id=form["id"],
            received_at=start + dt.timedelta(hours=n),
            data={"email": f"v{n}@example.test"},
            utm={"source": "ads"},
        )
    Submission.objects.create(organization_id=org, data={"email": "api@example.test"})  # no form
    first = people["admin"].call("GET", f"/forms/{form['id']}/submissions?limit=2").json()
    assert [item["data"]["email"] for item in first["items"]] == ["v2@example.test", "v1@example.test"]
    assert first["items"][0]["received_at"] == "2026-03-01T14:00:00Z"
    rest = people["admin"].call("GET", f"/forms/{form['id']}/submissions?limit=2&cursor={first['next_cursor']}")
    assert [item["data"]["email"] for item in rest.json()["items"]] == ["v0@example.test"]
    # A manager sees only what was routed to their teams or to them: none of these.
    assert people["manager"].call("GET", f"/forms/{form['id']}/submissions").json()["items"] == []
