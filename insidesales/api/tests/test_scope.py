"""Objects outside the caller's scope answer 404 — exactly like missing ones — and nothing changes."""

from __future__ import annotations

import pytest

from insidesales.api.tests.conftest import assert_problem

# (member, slot they cannot see): another organization, another rep's lead, the pool for an agency rep.
HIDDEN = [
    ("rep1", "org_b"),
    ("rep1", "rep2"),
    ("agency_x_rep", "unassigned"),
    ("manager", "rep2"),
    ("field_rep", "unassigned"),
]
PLURAL = {"lead": "leads", "contact": "contacts", "company": "companies", "deal": "deals"}


def _requests(plural: str, pk: int, tag_id: int, stage_id: int) -> list[tuple[str, str, dict | None]]:
    base = f"/{plural}/{pk}"
    requests = [
        ("get", base, None),
        ("get", f"{base}/timeline", None),
        ("patch", base, {"title" if plural in ("leads", "contacts") else "name": "Hacked"}),
        ("delete", base, None),
        ("post", f"{base}/assign", {"owner_id": None, "agency_id": None}),
        ("post", f"{base}/notes", {"body": "peek"}),
        ("post", f"/{plural}/bulk", {"action": "tag", "ids": [pk], "tag_id": tag_id}),
    ]
    if plural == "leads":
        requests += [
            ("post", f"{base}/qualify", None),
            ("post", f"{base}/disqualify", {"reason": "other"}),
            ("post", f"{base}/start-working", None),
            ("post", f"{base}/convert", None),
        ]
    if plural == "deals":
        requests += [
            ("post", f"{base}/won", None),
            ("post", f"{base}/lost", {"reason": "x"}),
            ("post", f"{base}/move-stage", {"stage_id": stage_id}),
        ]
    return requests


def _send(api, method: str, path: str, body: dict | None):
    if method in ("get", "delete"):
        return getattr(api, method)(path)
    return getattr(api, method)(path, body)


@pytest.mark.parametrize(("member", "slot"), HIDDEN)
@pytest.mark.parametrize("kind", list(PLURAL))
def test_out_of_scope_record_is_a_404_and_nothing_changes(world, world_db_state, api_as, member, slot, kind):
    api = api_as(world.members[member])
    assert api.get("/me").status_code == 200  # the key's first use stamps last_used_at; do it before the snapshot
    record = getattr(world, f"{kind}_{slot}")
    stage_id = world.deal_rep1.stage_id
    missing = _send(api, "get", f"/{PLURAL[kind]}/{10**9}", None)
    before = world_db_state()
    for method, path, body in _requests(PLURAL[kind], record.pk, world.tag.pk, stage_id):
        response = _send(api, method, path, body)
        problem = assert_problem(response, 404, "not_found")
        assert problem["detail"] == missing.json()["detail"], path  # no difference between hidden and missing
    assert world_db_state() == before


@pytest.mark.parametrize(("member", "slot"), HIDDEN)
def test_out_of_scope_records_are_not_listed_or_found(world, api_as, member, slot):
    api = api_as(world.members[member])
    lead = getattr(world, f"lead_{slot}")
    assert lead.pk not in [item["id"] for item in api.get("/leads", {"limit": 200}).json()["items"]]
    hits = api.get("/search", {"q": lead.last_name}).json()["leads"]
    assert lead.pk not in [hit["id"] for hit in hits]


def test_each_member_lists_exactly_their_slots(world, api_as):
    for member in ("admin", "manager", "rep1", "agency_x_rep", "field_rep"):
        api = api_as(world.members[member])
        ids = {item["id"] for item in api.get("/deals", {"limit": 200}).json()["items"]}
        assert ids == {world.slots[s].deal.pk for s in world.visible_slots(member)}, member


def test_task_of_another_rep_is_a_404(world, world_db_state, api_as):
    api = api_as(world.rep1)
    api.get("/me")
    task = world.task_rep2
    before = world_db_state()
    assert_problem(api.get(f"/tasks/{task.pk}"), 404)
    assert_problem(api.patch(f"/tasks/{task.pk}", {"title": "mine now"}), 404)
    assert_problem(api.post(f"/tasks/{task.pk}/complete"), 404)
    assert_problem(api.delete(f"/tasks/{task.pk}"), 404)
    assert world_db_state() == before


def test_task_cannot_point_at_a_hidden_record(world, world_db_state, api_as):
    api = api_as(world.rep1)
    api.get("/me")
    before = world_db_state()
    response = api.post("/tasks", {"title": "Spy", "record_type": "lead", "record_id": world.lead_rep2.pk})
    assert_problem(response, 404)
    assert world_db_state() == before
