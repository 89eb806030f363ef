"""Every service refuses an id outside the actor's scope with NotFound, and changes nothing at all.

Each operation is tried by every member of the world against every record they must not see
(other team, other agency, other organization, the pool when hidden, a switched-off agency's records)
and against ids that do not exist; the whole database must be byte-for-byte the same afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from insidesales.core.errors import NotFound
from insidesales.core.testing import factories as f
from insidesales.core.testing.world import MEMBERS, VISIBLE_TASK_SLOTS, World, db_state
from insidesales.crm import selectors, services
from insidesales.crm.models import Company, Contact, Deal, Lead, Stage, StageKind
from insidesales.orgs.models import Membership
from insidesales.orgs.services import agency_set_active, api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db
RECORD_MODELS = (Lead, Contact, Company, Deal)
MISSING_IDS = (987654321, 10**30, "abc", -1, "1 OR 1=1")

Operation = Callable[[World, Membership, Any, type], Any]


def _visible_ids(world: World, member: str, model: type) -> list[int]:
    return [world.slots[s].record(model).pk for s in sorted(world.visible_slots(member))]


def _any_stage(world: World, membership: Membership, kind: str = StageKind.OPEN) -> int:
    stage = Stage.objects.filter(organization_id=membership.organization_id, kind=kind).order_by("-position").first()
    return stage.pk


# Operations on any record type: (name, models it applies to, call(world, membership, target_id, model)).
OPERATIONS: list[tuple[str, tuple[type, ...], Operation]] = [
    ("get", RECORD_MODELS, lambda w, m, pk, model: selectors.record_get(membership=m, model=model, record_id=pk)),
    (
        "lead_update",
        (Lead,),
        lambda w, m, pk, model: services.lead_update(membership=m, lead_id=pk, data={"first_name": "Changed"}),
    ),
    (
        "lead_assign_to_self",
        (Lead,),
        lambda w, m, pk, model: services.lead_assign(membership=m, lead_id=pk, owner_id=m.user_id),
    ),
    ("lead_assign_to_pool", (Lead,), lambda w, m, pk, model: services.lead_assign(membership=m, lead_id=pk)),
    (
        "lead_assign_to_agency",
        (Lead,),
        lambda w, m, pk, model: services.lead_assign(membership=m, lead_id=pk, agency_id=w.agency_y.pk),
    ),
    ("lead_start_working", (Lead,), lambda w, m, pk, model: services.lead_start_working(membership=m, lead_id=pk)),
    ("lead_qualify", (Lead,), lambda w, m, pk, model: services.lead_qualify(membership=m, lead_id=pk)),
    (
        "lead_disqualify",
        (Lead,),
        lambda w, m, pk, model: services.lead_disqualify(membership=m, lead_id=pk, reason="no_budget"),
    ),
    ("lead_convert", (Lead,), lambda w, m, pk, model: services.lead_convert(membership=m, lead_id=pk)),
    ("lead_delete", (Lead,), lambda w, m, pk, model: services.lead_delete(membership=m, lead_id=pk)),
    (
        "record_update",
        (Contact, Company, Deal),
        lambda w, m, pk, model: services.record_update(
            membership=m,
            model=model,
            record_id=pk,
            data={"last_name": "Changed"} if model is Contact else {"name": "Changed"},
        ),
    ),
    (
        "record_assign_to_self",
        (Contact, Company, Deal),
        lambda w, m, pk, model: services.record_assign(membership=m, model=model, record_id=pk, owner_id=m.user_id),
    ),
    (
        "record_assign_to_pool",
        (Contact, Company, Deal),
        lambda w, m, pk, model: services.record_assign(membership=m, model=model, record_id=pk),
    ),
    (
        "record_delete",
        (Contact, Company, Deal),
        lambda w, m, pk, model: services.record_delete(membership=m, model=model, record_id=pk),
    ),
    (
        "deal_move_stage",
        (Deal,),
        lambda w, m, pk, model: services.deal_move_stage(membership=m, deal_id=pk, stage_id=_any_stage(w, m)),
    ),
    ("deal_mark_won", (Deal,), lambda w, m, pk, model: services.deal_mark_won(membership=m, deal_id=pk)),
    (
        "deal_mark_lost",
        (Deal,),
        lambda w, m, pk, model: services.deal_mark_lost(membership=m, deal_id=pk, reason="Budget cut"),
    ),
    (
        "note_add",
        RECORD_MODELS,
        lambda w, m, pk, model: services.note_add(membership=m, record_type=model, record_id=pk, body="Hello"),
    ),
    (
        "task_create_on_record",
        RECORD_MODELS,
        lambda w, m, pk, model: services.task_create(membership=m, title="Call", record_type=model, record_id=pk),
    ),
    # Bulk actions mix the member's visible records with the hidden one: the visible ones must not change either.
    (
        "records_bulk_assign",
        RECORD_MODELS,
        lambda w, m, pk, model: services.records_bulk_assign(
            membership=m, model=model, ids=[*_visible_ids(w, _name(w, m), model), pk], owner_id=m.user_id
        ),
    ),
    (
        "records_bulk_tag",
        RECORD_MODELS,
        lambda w, m, pk, model: services.records_bulk_tag(
            membership=m, model=model, ids=[*_visible_ids(w, _name(w, m), model), pk], tag_id=_tag(w, m)
        ),
    ),
    (
        "records_bulk_delete",
        RECORD_MODELS,
        lambda w, m, pk, model: services.records_bulk_delete(
            membership=m, model=model, ids=[*_visible_ids(w, _name(w, m), model), pk]
        ),
    ),
    (
        "leads_bulk_status",
        (Lead,),
        lambda w, m, pk, model: services.leads_bulk_status(
            membership=m, ids=[*_visible_ids(w, _name(w, m), Lead), pk], status="qualified"
        ),
    ),
]


def _name(world: World, membership: Membership) -> str:
    return next(name for name, m in world.members.items() if m.pk == membership.pk)


def _tag(world: World, membership: Membership) -> int:
    return (world.tag if membership.organization_id == world.org.pk else world.tag_b).pk


CASES = [(name, model) for name, models, _ in OPERATIONS for model in models]


@pytest.mark.parametrize(("operation", "model"), CASES, ids=[f"{n}-{m.__name__}" for n, m in CASES])
def test_operation_on_a_record_out_of_scope_is_not_found_and_changes_nothing(world, operation, model):
    call = next(c for n, models, c in OPERATIONS if n == operation)
    before = db_state()
    tried = 0
    for member in MEMBERS:
        membership = world.members[member]
        for slot in sorted(world.hidden_slots(member)):
            target = world.slots[slot].record(model)
            with pytest.raises(NotFound):
                call(world, membership, target.pk, model)
            tried += 1
        for missing in MISSING_IDS:
            with pytest.raises(NotFound):
                call(world, membership, missing, model)
    assert tried > 40  # every member has something hidden from them
    assert db_state() == before


def test_tasks_out_of_scope_are_not_found_and_unchanged(world):
    operations = {
        "get": lambda m, pk: services.task_get(membership=m, task_id=pk),
        "update": lambda m, pk: services.task_update(membership=m, task_id=pk, title="Changed"),
        "complete": lambda m, pk: services.task_complete(membership=m, task_id=pk),
        "delete": lambda m, pk: services.task_delete(membership=m, task_id=pk),
    }
    visible_tasks = VISIBLE_TASK_SLOTS
    tasks = {slot: s.task for slot, s in world.slots.items() if s.task is not None}
    before = db_state()
    for member, visible in visible_tasks.items():
        membership = world.members[member]
        for slot, task in tasks.items():
            if slot in visible:
                assert services.task_get(membership=membership, task_id=task.pk) == task
                continue
            for call in operations.values():
                with pytest.raises(NotFound):
                    call(membership, task.pk)
        for call in operations.values():
            with pytest.raises(NotFound):
                call(membership, "abc")
    assert db_state() == before


def test_task_create_on_a_missing_record_type_id_is_not_found(world):
    before = db_state()
    with pytest.raises(NotFound):
        services.task_create(membership=world.rep1, title="Call", record_type=Lead, record_id=world.lead_rep2.pk)
    assert db_state() == before


def test_saved_views_of_others_are_not_found(world):
    mine = f.SavedViewFactory(organization=world.org, owner=world.rep1.user)
    before = db_state()
    for member in ("rep2", "manager", "admin", "admin_b"):
        membership = world.members[member]
        with pytest.raises(NotFound):
            services.saved_view_delete(membership=membership, view_id=mine.pk)
        with pytest.raises(NotFound):
            services.saved_view_save(
                membership=membership,
                record_type="lead",
                name="Mine now",
                filters={},
                columns=[],
                sort="",
                view_id=mine.pk,
            )
        with pytest.raises(NotFound):
            selectors.saved_view_get(membership=membership, view_id=mine.pk)
    assert db_state() == before


def test_api_key_of_another_user_cannot_be_revoked(world):
    key, _ = api_key_create(membership=world.rep1, name="CI")
    before = db_state()
    for member in ("rep2", "admin", "admin_b"):
        with pytest.raises(NotFound):
            api_key_revoke(membership=world.members[member], key_id=key.pk)
    assert db_state() == before


def test_agency_of_another_organization_cannot_be_switched(world):
    other = f.AgencyFactory(organization=world.org_b)
    before = db_state()
    with pytest.raises(NotFound):
        agency_set_active(actor_membership=world.admin, agency_id=other.pk, is_active=False)
    assert db_state() == before


def test_timeline_and_record_tasks_are_reached_only_through_a_visible_record(world):
    # The selectors take a record the caller fetched through `record_get`, which is where scope is enforced.
    with pytest.raises(NotFound):
        selectors.record_get(membership=world.rep1, model=Lead, record_id=world.lead_rep2.pk)
    record = selectors.record_get(membership=world.rep1, model=Lead, record_id=world.lead_rep1.pk)
    page = selectors.timeline(membership=world.rep1, record=record)
    assert [a.lead_id for a in page.items] == [record.pk]


@pytest.mark.parametrize("team_id", ["abc", 10**30, -1])
def test_saved_view_with_a_malformed_team_is_a_validation_error(world, team_id):
    from insidesales.core.errors import ValidationError

    before = db_state()
    for member in ("admin", "rep1"):
        with pytest.raises(ValidationError) as exc:
            services.saved_view_save(
                membership=world.members[member],
                record_type="lead",
                name="V",
                filters={},
                columns=[],
                sort="",
                team_id=team_id,
            )
        assert "team" in exc.value.fields
    assert db_state() == before


def test_saved_view_shared_with_another_organizations_team_is_refused(world):
    from insidesales.core.errors import ValidationError

    other_team = f.TeamFactory(organization=world.org_b)
    with pytest.raises(ValidationError):
        services.saved_view_save(
            membership=world.admin, record_type="lead", name="V", filters={}, columns=[], sort="", team_id=other_team.pk
        )


@pytest.mark.parametrize("view_id", ["abc", 10**30])
def test_saved_view_with_a_malformed_id_is_not_found(world, view_id):
    with pytest.raises(NotFound):
        services.saved_view_save(
            membership=world.rep1, record_type="lead", name="V", filters={}, columns=[], sort="", view_id=view_id
        )
