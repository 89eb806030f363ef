"""The list selector's page query reads the records and only the relations a list shows; a detail
page's record, timeline and tasks get their users, team, agency and tags from remembered data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insidesales.core.testing import factories as f
from insidesales.crm import selectors
from insidesales.crm.models import Activity, Company, Contact, Deal, Lead
from insidesales.crm.selectors import LIST_RELATED

pytestmark = pytest.mark.django_db

FACTORIES = {Lead: f.LeadFactory, Contact: f.ContactFactory, Company: f.CompanyFactory, Deal: f.DealFactory}


@pytest.mark.parametrize("model", list(FACTORIES))
def test_page_query_joins_only_the_shown_relations(model):
    admin = f.MembershipFactory(role="admin")
    for _ in range(3):
        FACTORIES[model](owned_by=admin)
    with CaptureQueriesContext(connection) as queries:
        page = selectors.record_list(membership=admin, model=model, with_tags=False)
    assert len(page.items) == 3
    page_sql = next(q["sql"] for q in queries.captured_queries if model._meta.db_table in q["sql"].split(" FROM ")[1])
    joined = {part.split(" ON ")[0].split()[-1].strip('"') for part in page_sql.split(" JOIN ")[1:]}
    wanted = {model._meta.get_field(name).related_model._meta.db_table for name in LIST_RELATED[model]}
    assert joined <= wanted - {"orgs_user"}  # owners come from the remembered people, not a join
    assert "orgs_organization" not in joined  # `select_related()` with no names would follow every foreign key
    for record in page.items:
        assert "organization" not in record._state.fields_cache
        if record.owner_id:
            assert record.owner.pk == record.owner_id


@pytest.mark.parametrize("model", list(FACTORIES))
def test_record_get_attaches_what_the_joins_and_prefetch_gave(model):
    """Owner, team, agency and tags of a detail page are those `select_related` + `prefetch_related`
    read, including an owner who has left the organization."""
    org = f.OrganizationFactory()
    admin = f.MembershipFactory(organization=org, role="admin")
    team = f.TeamFactory(organization=org)
    agency = f.AgencyFactory(organization=org)
    rep = f.MembershipFactory(organization=org, role="inside_rep", team=team)
    tags = [f.TagFactory(organization=org, name=name) for name in ("b", "a", "<c>")]
    records = [
        FACTORIES[model](owned_by=rep, agency=agency),
        FACTORIES[model](owned_by=admin),
        FACTORIES[model](organization=org, owner=None, team=None, agency=agency),
    ]
    records[0].tags.set(tags)
    gone = FACTORIES[model](owned_by=rep)
    gone_user = rep.user
    records.append(gone)
    for record in records:
        got = selectors.record_get(membership=admin, model=model, record_id=record.pk)
        expected = model.objects.select_related("owner", "team", "agency").prefetch_related("tags").get(pk=record.pk)
        for name in ("owner", "team", "agency"):
            assert getattr(got, name) == getattr(expected, name), name
            if getattr(expected, name) is not None:
                assert str(getattr(got, name)) == str(getattr(expected, name))
        assert [(t.pk, t.name) for t in selectors.record_tags(got)] == [(t.pk, t.name) for t in expected.tags.all()]
    rep.delete()  # the owner is no longer a member: read on its own
    got = selectors.record_get(membership=admin, model=model, record_id=gone.pk)
    assert got.owner == gone_user


def test_timeline_and_tasks_carry_their_users():
    org = f.OrganizationFactory()
    admin = f.MembershipFactory(organization=org, role="admin")
    rep = f.MembershipFactory(organization=org, role="inside_rep")
    lead = f.LeadFactory(owned_by=rep)
    f.ActivityFactory(organization=org, kind="note", actor=rep.user, lead=lead)
    f.ActivityFactory(organization=org, kind="note", actor=None, lead=lead)
    f.TaskFactory(organization=org, lead=lead, assignee=rep.user, created_by=admin.user)
    f.TaskFactory(organization=org, lead=lead, assignee=admin.user, created_by=admin.user)
    page = selectors.timeline(membership=admin, record=lead)
    actors = {a.pk: a.actor for a in page.items}
    for activity in Activity.objects.select_related("actor").filter(lead=lead):
        assert actors[activity.pk] == activity.actor
    tasks = selectors.record_tasks(membership=admin, record=lead)
    assert sorted(t.assignee.pk for t in tasks) == sorted([admin.user.pk, rep.user.pk])


def test_name_key_indexes_cover_id_and_activity_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'lead_name_key'")
            assert cursor.fetchone() is not None
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE indexname LIKE '%%name%%key' OR indexname = 'lead_company_key'"
        )
        definitions = dict(cursor.fetchall())
    for name in (
        "lead_name_key",
        "lead_name_rev_key",
        "lead_company_key",
        "contact_name_key",
        "contact_name_rev_key",
        "company_name_key",
        "deal_name_key",
    ):
        assert "varchar_pattern_ops" in definitions[name] and "INCLUDE (id, last_activity_at)" in definitions[name]
