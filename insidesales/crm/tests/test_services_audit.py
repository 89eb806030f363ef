"""Every write leaves an audit row: who, what, which object, and the changed values before and after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from insidesales.core.testing import factories as f
from insidesales.core.testing.world import World
from insidesales.crm import services
from insidesales.crm.models import Company, Contact, Deal, Lead, StageKind
from insidesales.orgs import services as org_services
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db

NEW = {Company: {"name": "Audited"}, Contact: {"last_name": "Audited"}, Deal: {"name": "Audited"}}
RENAME = {Company: {"name": "Renamed"}, Contact: {"last_name": "Renamed"}, Deal: {"name": "Renamed"}}
PIPELINE = [
    {"name": "Open", "kind": StageKind.OPEN},
    {"name": "Won", "kind": StageKind.WON},
    {"name": "Lost", "kind": StageKind.LOST},
]

# (action expected, the write, changes the row must include: {field: [before, after]})
WRITES: list[tuple[str, Callable[[World], Any], dict[str, list[Any]]]] = [
    (
        "lead.create",
        lambda w: services.lead_create(membership=w.rep1, data={"last_name": "Audited"}),
        {"last_name": [None, "Audited"]},
    ),
    (
        "lead.update",
        lambda w: services.lead_update(membership=w.rep1, lead_id=w.lead_rep1.pk, data={"title": "CFO"}),
        {"title": ["", "CFO"]},
    ),
    (
        "lead.assign",
        lambda w: services.lead_assign(membership=w.manager, lead_id=w.lead_rep1.pk, owner_id=w.manager.user_id),
        {"owner_id": "<rep1→manager>"},
    ),
    (
        "lead.working",
        lambda w: services.lead_start_working(membership=w.rep1, lead_id=w.lead_rep1.pk),
        {"status": ["new", "working"]},
    ),
    (
        "lead.qualified",
        lambda w: services.lead_qualify(membership=w.rep1, lead_id=w.lead_rep1.pk),
        {"status": ["new", "qualified"]},
    ),
    (
        "lead.disqualified",
        lambda w: services.lead_disqualify(membership=w.rep1, lead_id=w.lead_rep1.pk, reason="duplicate"),
        {"status": ["new", "disqualified"], "disqualify_reason": ["", "duplicate"]},
    ),
    (
        "lead.convert",
        lambda w: services.lead_convert(membership=w.rep1, lead_id=w.lead_rep1.pk)["lead"],
        {"status": ["new", "converted"]},
    ),
    (
        "lead.delete",
        lambda w: services.lead_delete(membership=w.rep1, lead_id=w.lead_rep1.pk),
        {"last_name": ["Rep1lead", None]},
    ),
    *[
        (
            f"{model._meta.model_name}.create",
            lambda w, m=model: services.record_create(membership=w.rep1, model=m, data=NEW[m]),
            {},
        )
        for model in NEW
    ],
    *[
        (
            f"{model._meta.model_name}.update",
            lambda w, m=model: services.record_update(
                membership=w.rep1, model=m, record_id=w.slots["rep1"].record(m).pk, data=RENAME[m]
            ),
            {next(iter(RENAME[model])): ["<old>", "Renamed"]},
        )
        for model in NEW
    ],
    *[
        (
            f"{model._meta.model_name}.assign",
            lambda w, m=model: services.record_assign(
                membership=w.admin, model=m, record_id=w.slots["rep1"].record(m).pk
            ),
            {"owner_id": "<rep1→none>"},
        )
        for model in NEW
    ],
    *[
        (
            f"{model._meta.model_name}.delete",
            lambda w, m=model: services.record_delete(
                membership=w.rep1, model=m, record_id=w.slots["rep1"].record(m).pk
            ),
            {},
        )
        for model in NEW
    ],
    ("deal.stage.won", lambda w: services.deal_mark_won(membership=w.rep1, deal_id=w.deal_rep1.pk), {}),
    (
        "deal.stage.lost",
        lambda w: services.deal_mark_lost(membership=w.rep1, deal_id=w.deal_rep1.pk, reason="Price"),
        {},
    ),
    (
        "note.add",
        lambda w: services.note_add(membership=w.rep1, record_type=Deal, record_id=w.deal_rep1.pk, body="Hi"),
        {"record": [None, "<deal>"]},
    ),
    ("task.create", lambda w: services.task_create(membership=w.rep1, title="Audited"), {}),
    (
        "task.update",
        lambda w: services.task_update(membership=w.rep1, task_id=w.task_rep1.pk, title="Audited"),
        {"title": ["Call Rep1", "Audited"]},
    ),
    ("task.complete", lambda w: services.task_complete(membership=w.rep1, task_id=w.task_rep1.pk), {}),
    (
        "task.delete",
        lambda w: services.task_delete(membership=w.rep1, task_id=w.task_rep1.pk),
        {"title": ["Call Rep1", None]},
    ),
    ("tag.create", lambda w: services.tag_create(membership=w.rep1, name="new-tag"), {}),
    (
        "custom_field.create",
        lambda w: services.custom_field_create(
            membership=w.admin, record_type="lead", label="Budget", field_type="number"
        ),
        {},
    ),
    (
        "saved_view.save",
        lambda w: services.saved_view_save(
            membership=w.rep1,
            record_type="lead",
            name="Mine",
            filters={"owner": "me"},
            columns=["name"],
            sort="-created_at",
        ),
        {},
    ),
    (
        "saved_view.delete",
        lambda w: services.saved_view_delete(
            membership=w.rep1, view_id=f.SavedViewFactory(organization=w.org, owner=w.rep1.user).pk
        ),
        {},
    ),
    ("pipeline.create", lambda w: services.pipeline_create(membership=w.admin, name="Renewals", stages=PIPELINE), {}),
    (
        "lead.assign",
        lambda w: services.records_bulk_assign(
            membership=w.manager, model=Lead, ids=[w.lead_unassigned.pk], owner_id=w.rep1.user_id
        ),
        {},
    ),
    (
        "lead.bulk_tag",
        lambda w: services.records_bulk_tag(membership=w.rep1, model=Lead, ids=[w.lead_rep1.pk], tag_id=w.tag.pk),
        {"tag": [None, "hot"]},
    ),
    (
        "lead.delete",
        lambda w: services.records_bulk_delete(membership=w.rep1, model=Lead, ids=[w.lead_rep1.pk]),
        {"bulk": [None, True]},
    ),
    (
        "lead.qualified",
        lambda w: services.leads_bulk_status(membership=w.rep1, ids=[w.lead_rep1.pk], status="qualified"),
        {"status": ["new", "qualified"]},
    ),
    ("member.add", lambda w: org_services.member_add(actor=w.admin.user, organization=w.org, email="n@acme.test"), {}),
    (
        "agency.deactivate",
        lambda w: org_services.agency_set_active(actor_membership=w.admin, agency_id=w.agency_x.pk, is_active=False),
        {"is_active": [True, False]},
    ),
    ("api_key.create", lambda w: org_services.api_key_create(membership=w.rep1, name="CI")[0], {}),
    (
        "api_key.revoke",
        lambda w: org_services.api_key_revoke(
            membership=w.rep1, key_id=org_services.api_key_create(membership=w.rep1, name="CI")[0].pk
        ),
        {},
    ),
    (
        "user.preferences",
        lambda w: org_services.user_update_preferences(user=w.rep1.user, language="ru"),
        {"language": ["en", "ru"]},
    ),
]


@pytest.mark.parametrize(("action", "call", "changes"), WRITES, ids=[f"{i}-{w[0]}" for i, w in enumerate(WRITES)])
def test_every_write_is_audited(world, action, call, changes):
    before_id = AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    call(world)
    rows = list(AuditLog.objects.filter(id__gt=before_id, action=action))
    assert rows, (
        f"no audit row {action}; got {list(AuditLog.objects.filter(id__gt=before_id).values_list('action', flat=True))}"
    )
    row = rows[-1]
    assert row.organization_id == world.org.pk
    assert row.actor_id in {m.user_id for m in world.members.values()}
    assert row.object_type
    for field, expected in changes.items():
        assert field in row.changes, (field, row.changes)
        if isinstance(expected, list) and "<" not in str(expected):
            assert row.changes[field] == expected
        else:
            before, after = row.changes[field]
            assert before != after


def test_refused_writes_leave_no_audit_row(world):
    from insidesales.core.errors import ApplicationError

    attempts = [
        lambda: services.lead_update(membership=world.rep1, lead_id=world.lead_rep2.pk, data={"title": "X"}),
        lambda: services.lead_update(membership=world.rep1, lead_id=world.lead_rep1.pk, data={"email": "bad"}),
        lambda: services.lead_qualify(membership=world.rep1, lead_id=world.lead_rep2.pk),
        lambda: services.deal_mark_lost(membership=world.rep1, deal_id=world.deal_rep1.pk, reason=""),
        lambda: services.custom_field_create(membership=world.rep1, record_type="lead", label="X", field_type="text"),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError):
            attempt()
    assert not AuditLog.objects.exists()
