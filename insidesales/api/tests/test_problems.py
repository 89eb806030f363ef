"""Every error is an RFC 9457 problem (application/problem+json) with the right status and code."""

from __future__ import annotations

from insidesales.api.tests.conftest import assert_problem


def test_unknown_id_is_a_404_problem(admin_api):
    body = assert_problem(admin_api.get("/leads/123456789"), 404, "not_found")
    assert body["title"] == "Not Found"


def test_out_of_range_id_is_a_404_not_a_crash(admin_api):
    assert_problem(admin_api.get(f"/leads/{2**70}"), 404)
    assert_problem(admin_api.get("/leads/0"), 404)


def test_unknown_path_and_wrong_method_are_problems(admin_api):
    assert_problem(admin_api.get("/no-such-thing"), 404)
    response = admin_api.delete("/me")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_validation_errors_name_the_fields(admin_api):
    body = assert_problem(admin_api.post("/companies", {"name": "", "employees": -1}), 422, "validation_error")
    assert set(body["errors"]) == {"name", "employees"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_service_validation_errors_are_problems_too(admin_api):
    body = assert_problem(admin_api.post("/leads", {"email": "not-an-email", "last_name": "X"}), 422)
    assert "email" in body["errors"]


def test_conflict_is_a_409_problem(admin_api):
    lead = admin_api.post("/leads", {"last_name": "Done"}).json()
    admin_api.post(f"/leads/{lead['id']}/convert")
    body = assert_problem(admin_api.post(f"/leads/{lead['id']}/qualify"), 409, "conflict")
    assert "errors" not in body


def test_permission_denied_is_a_403_problem(world, api_as):
    body = assert_problem(
        api_as(world.rep1).post("/custom-fields", {"record_type": "lead", "label": "Budget", "field_type": "number"}),
        403,
        "permission_denied",
    )
    assert body["detail"]


def test_malformed_json_is_a_400_problem(admin_api):
    response = admin_api.client.post(
        "/api/v1/leads", "{not json", content_type="application/json", headers=admin_api.headers
    )
    assert_problem(response, 400, "bad_request")


def test_nul_characters_are_refused_not_stored(admin_api):
    assert_problem(admin_api.post("/leads", {"last_name": "A\x00B"}), 422)
    assert_problem(admin_api.get("/leads", {"q": "A\x00B"}), 422)
    assert_problem(admin_api.get("/leads", {"custom.tier": "A\x00B"}), 422)


def test_naive_datetimes_are_refused(admin_api):
    body = assert_problem(admin_api.post("/tasks", {"title": "Call", "due_at": "2030-01-01T10:00:00"}), 422)
    assert "due_at" in body["errors"]
