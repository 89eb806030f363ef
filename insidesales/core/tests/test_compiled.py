"""CompiledQuery returns what the plain queryset returns, binds only the values it was given, and
runs on the calling thread's connection."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from insidesales.core.compiled import CompiledQuery
from insidesales.core.testing.factories import (
    AgencyFactory,
    AgencyRepMembershipFactory,
    InsideRepMembershipFactory,
    LeadFactory,
    TeamFactory,
)
from insidesales.crm.models import Lead
from insidesales.orgs.models import Membership

pytestmark = pytest.mark.django_db


def memberships(user_id):
    return (
        Membership.objects.select_related("organization", "agency", "team", "user")
        .filter(user_id=user_id, is_active=True)
        .order_by("id")
    )


def described(membership) -> tuple:
    """Every attribute of the membership and of each related object select_related filled."""

    def plain(instance):
        return {k: v for k, v in vars(instance).items() if k != "_state"} if instance is not None else None

    related = {name: plain(obj) for name, obj in membership._state.fields_cache.items()}
    return plain(membership), related


def test_same_instances_as_the_queryset_for_every_user():
    team = TeamFactory()
    rep = InsideRepMembershipFactory(organization=team.organization, team=team)
    agency = AgencyFactory(organization=team.organization)
    agency_rep = AgencyRepMembershipFactory(organization=team.organization, agency=agency)
    second = InsideRepMembershipFactory(user=rep.user)  # the same person in a second organization
    InsideRepMembershipFactory(user=rep.user, is_active=False)
    compiled = CompiledQuery(memberships, user_id=-999_999_001)

    for user_id in (rep.user_id, agency_rep.user_id, 10**9):
        got = compiled.run(user_id=user_id)
        expected = list(memberships(user_id))
        assert [described(m) for m in got] == [described(m) for m in expected]
    assert [m.pk for m in compiled.run(user_id=rep.user_id)] == [rep.pk, second.pk]
    assert compiled.run(user_id=agency_rep.user_id)[0].agency.name == agency_rep.agency.name


def test_text_values_and_several_slots():
    lead = LeadFactory(first_name="Анна", last_name="O'Brien; DROP TABLE x")
    LeadFactory(organization=lead.organization, first_name="Анна", last_name="Other")
    compiled = CompiledQuery(
        lambda org, last: Lead.objects.filter(organization_id=org, last_name=last).order_by("id"),
        org=-5,
        last="\x00sentinel",
    )
    assert [x.pk for x in compiled.run(org=lead.organization_id, last=lead.last_name)] == [lead.pk]
    assert compiled.run(org=lead.organization_id, last="nobody") == []
    assert compiled.run(org=lead.organization_id + 1000, last=lead.last_name) == []


def test_refuses_what_it_cannot_bind_exactly():
    with pytest.raises(TypeError):
        CompiledQuery(memberships, user_id=1.5)
    compiled = CompiledQuery(memberships, user_id=-999_999_002)
    with pytest.raises(TypeError):
        compiled.run(user_id="5")
    with pytest.raises(TypeError):
        compiled.run(user=5)
    twice = CompiledQuery(lambda v: Lead.objects.filter(owner_id=v, team_id=v), v=-999_999_003)
    with pytest.raises(ImproperlyConfigured, match="2 times"):
        twice.run(v=1)


@pytest.mark.django_db(transaction=True)
def test_runs_on_the_calling_threads_connection():
    rep = InsideRepMembershipFactory()
    compiled = CompiledQuery(memberships, user_id=-999_999_004)
    assert [m.pk for m in compiled.run(user_id=rep.user_id)] == [rep.pk]  # compiled on this thread
    mine = connections["default"]
    used = []

    def other_thread():
        own = connections["default"]
        try:
            used.append((own is not mine, [m.pk for m in compiled.run(user_id=rep.user_id)]))
        finally:
            own.close()

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert used == [(True, [rep.pk])]


def test_kept_statements_are_prepared_once_per_connection_on_postgresql():
    """On PostgreSQL the kept SQL is prepared at its first run on a connection and reused; nothing
    else run on that connection is prepared (generic plans would slow some searches)."""
    from django.db import connection

    rep = InsideRepMembershipFactory()
    compiled = CompiledQuery(memberships, user_id=-999_999_011)
    for _ in range(3):
        assert [m.pk for m in compiled.run(user_id=rep.user_id)] == [rep.pk]
    list(Lead.objects.filter(organization_id=rep.organization_id))  # an ordinary query: never prepared
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert sum('FROM "orgs_membership"' in s for s in statements) == 1
    assert not any('FROM "crm_lead"' in s for s in statements)
    assert connection.connection.prepare_threshold is None  # restored after each run
