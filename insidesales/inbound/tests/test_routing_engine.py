"""The routing engine: conditions, rule order, the default rule, account owners, weighted round robin,
fewest open leads, agencies, reps who cannot take a lead, and the pool when nothing matches."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pytest
from django.utils import timezone

from insidesales.calls.models import AgentSession, AgentState
from insidesales.core.testing import factories as f
from insidesales.crm.models import LeadStatus
from insidesales.inbound import routing
from insidesales.inbound.models import RepAvailability, RoutingRule
from insidesales.orgs.models import Agency, Membership, Organization, Team

NOW = timezone.now()


@dataclass
class RoutingWorld:
    org: Organization
    team: Team
    other_team: Team
    agency: Agency
    admin: Membership
    manager: Membership
    ann: Membership  # inside reps of `team`
    bob: Membership
    cat: Membership
    outsider: Membership  # an inside rep of `other_team`
    other_org_admin: Membership

    def online(self, *members: Membership, at: dt.datetime = NOW) -> None:
        for m in members:
            routing.mark_seen(organization_id=self.org.pk, user_id=m.user_id, now=at)

    def rule(self, **values) -> RoutingRule:
        values.setdefault("name", "Rule")
        values.setdefault("skip_offline", False)
        values.setdefault("prefer_account_owner", False)
        position = RoutingRule.objects.filter(organization=self.org).count() + 1
        return RoutingRule.objects.create(organization=self.org, position=position, **values)

    def lead(self, **fields):
        fields.setdefault("last_name", "Inbound")
        return f.LeadFactory(organization=self.org, **fields)


@pytest.fixture
def rw(db) -> RoutingWorld:
    org = f.OrganizationFactory(name="Routers", slug="routers")
    team = f.TeamFactory(organization=org, name="Inbound")
    other_team = f.TeamFactory(organization=org, name="Outbound")

    def member(factory, name: str, **extra) -> Membership:
        user = f.UserFactory(email=f"{name}@routers.test", full_name=name.title())
        return factory(organization=org, user=user, **extra)

    manager = member(f.ManagerMembershipFactory, "manager", team=team)
    return RoutingWorld(
        org=org,
        team=team,
        other_team=other_team,
        agency=f.AgencyFactory(organization=org, name="Callcenter"),
        admin=member(f.AdminMembershipFactory, "admin"),
        manager=manager,
        ann=member(f.InsideRepMembershipFactory, "ann", team=team),
        bob=member(f.InsideRepMembershipFactory, "bob", team=team),
        cat=member(f.InsideRepMembershipFactory, "cat", team=team),
        outsider=member(f.InsideRepMembershipFactory, "outsider", team=other_team),
        other_org_admin=f.AdminMembershipFactory(
            organization=f.OrganizationFactory(name="Elsewhere", slug="elsewhere"),
            user=f.UserFactory(email="admin@elsewhere.test"),
        ),
    )


def route(lead, **facts):
    return routing.decide(lead, {**routing.lead_facts(lead), **facts}, commit=True, now=NOW)


# --- conditions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "actual", "holds"),
    [
        ("eq", "de", "DE", True),
        ("eq", "DE", "AT", False),
        ("ne", "DE", "AT", True),
        ("in", ["DE", "AT"], "at", True),
        ("in", "DE, AT", "AT", True),
        ("not_in", ["DE", "AT"], "CH", True),
        ("not_in", ["DE", "AT"], "DE", False),
        ("contains", "ware", "Software GmbH", True),
        ("starts_with", "head", "Head of Sales", True),
        ("starts_with", "sales", "Head of Sales", False),
        ("gte", "50", "120", True),
        ("gte", "50", "49", False),
        ("lte", "50", "50", True),
        ("gte", "50", "many", False),
        ("empty", "", "", True),
        ("empty", "", "x", False),
        ("not_empty", "", "x", True),
    ],
)
def test_condition_operators(op, value, actual, holds):
    assert routing.condition_holds({"field": "x", "op": op, "value": value}, {"x": actual}) is holds


def test_rules_are_tried_in_order_and_the_first_match_wins(rw):
    rw.rule(
        name="Germany", conditions=[{"field": "country", "op": "eq", "value": "DE"}], assign_to="user", user=rw.ann.user
    )
    rw.rule(
        name="Europe",
        conditions=[{"field": "region", "op": "eq", "value": "Europe"}],
        assign_to="user",
        user=rw.bob.user,
    )
    german = route(rw.lead(country="DE", time_zone="Europe/Berlin"))
    assert german.rule.name == "Germany" and german.owner_id == rw.ann.user_id
    french = route(rw.lead(country="FR", time_zone="Europe/Paris"))
    assert french.rule.name == "Europe" and french.owner_id == rw.bob.user_id
    assert [t.matched for t in french.trace] == [False, True]
    assert "does not match" in french.trace[0].why[0]


def test_the_default_rule_is_tried_last_whatever_its_position(rw):
    RoutingRule.objects.create(organization=rw.org, name="Everyone else", is_default=True, position=0, assign_to="pool")
    rw.rule(name="US", conditions=[{"field": "country", "op": "eq", "value": "US"}], assign_to="user", user=rw.ann.user)
    assert route(rw.lead(country="US")).rule.name == "US"
    fallback = route(rw.lead(country="BR"))
    assert fallback.rule.name == "Everyone else" and fallback.owner is None and fallback.agency_id is None


def test_nothing_matches_leaves_the_lead_in_the_pool(rw):
    rw.rule(name="US", conditions=[{"field": "country", "op": "eq", "value": "US"}], assign_to="user", user=rw.ann.user)
    decision = route(rw.lead(country="BR"))
    assert decision.rule is None and decision.owner is None and decision.agency_id is None
    assert "unassigned pool" in decision.reason


def test_the_owner_of_an_existing_account_wins(rw):
    f.CompanyFactory(owned_by=rw.cat, name="Initech", domain="initech.test")
    rw.rule(name="Team", assign_to="round_robin", team=rw.team, prefer_account_owner=True)
    decision = route(rw.lead(email="peter@initech.test"))
    assert decision.owner_id == rw.cat.user_id
    assert "existing account" in decision.reason
    # A free-mail address says nothing about the company: the team's round robin decides.
    assert "round robin" in route(rw.lead(email="peter@gmail.com")).reason


def test_an_account_owner_rule_without_an_account_falls_through(rw):
    rw.rule(name="Owners", assign_to="account_owner")
    rw.rule(name="Ann", assign_to="user", user=rw.ann.user)
    decision = route(rw.lead(email="new@unknown.test"))
    assert decision.rule.name == "Ann"
    assert decision.trace[0].matched is False


def test_weighted_round_robin_gives_exactly_three_to_one_over_eight_leads(rw):
    rule = rw.rule(
        name="Weighted",
        assign_to="round_robin",
        team=rw.team,
        weights={str(rw.ann.user_id): 3, str(rw.bob.user_id): 1, str(rw.cat.user_id): 0},
    )
    owners = [route(rw.lead()).owner_id for _ in range(8)]
    assert Counter(owners) == {rw.ann.user_id: 6, rw.bob.user_id: 2}
    # Interleaved, not in bursts: Bob never waits more than three leads.
    assert owners.index(rw.bob.user_id) <= 3
    rule.refresh_from_db()
    assert rule.rr_state  # the tallies were kept


def test_round_robin_skips_offline_paused_away_and_full_reps(rw):
    rule = rw.rule(name="Team", assign_to="round_robin", team=rw.team, skip_offline=True)
    rw.online(rw.ann, rw.bob, rw.cat)
    RepAvailability.objects.update_or_create(
        organization=rw.org,
        user=rw.ann.user,
        defaults={"away_from": NOW - dt.timedelta(hours=1), "away_until": NOW + dt.timedelta(days=1)},
    )
    AgentSession.objects.create(organization=rw.org, user=rw.bob.user, state=AgentState.PAUSED)
    RepAvailability.objects.filter(user=rw.cat.user).update(max_open_leads=1)
    f.LeadFactory(owned_by=rw.cat, status=LeadStatus.NEW)
    decision = route(rw.lead())
    assert decision.rule is None  # nobody could take it: on to the (missing) next rule, then the pool
    skipped = dict(decision.trace[0].skipped)
    assert skipped == {"Ann": "out of office", "Bob": "paused", "Cat": "at capacity (1 open new leads)"}
    # Cat's limit raised, an offline Ann back from holiday: Cat only, Ann is offline.
    RepAvailability.objects.filter(user=rw.cat.user).update(max_open_leads=5)
    RepAvailability.objects.filter(user=rw.ann.user).update(away_until=None, seen_at=NOW - dt.timedelta(hours=1))
    decision = route(rw.lead())
    assert decision.owner_id == rw.cat.user_id and decision.rule == rule
    assert dict(decision.trace[0].skipped) == {"Ann": "offline", "Bob": "paused"}


def test_a_rep_who_takes_no_inbound_leads_is_skipped(rw):
    rw.rule(name="Team", assign_to="round_robin", team=rw.team)
    RepAvailability.objects.create(organization=rw.org, user=rw.ann.user, accepts_inbound=False)
    RepAvailability.objects.create(organization=rw.org, user=rw.bob.user, accepts_inbound=False)
    decision = route(rw.lead())
    assert decision.owner_id == rw.cat.user_id
    assert dict(decision.trace[0].skipped)["Ann"] == "does not take inbound leads"


def test_fewest_open_leads(rw):
    rw.rule(name="Least", assign_to="least_open", team=rw.team)
    for _ in range(2):
        f.LeadFactory(owned_by=rw.ann, status=LeadStatus.WORKING)
    f.LeadFactory(owned_by=rw.bob, status=LeadStatus.NEW)
    f.LeadFactory(owned_by=rw.cat, status=LeadStatus.NEW)
    f.LeadFactory(owned_by=rw.cat, status=LeadStatus.QUALIFIED)  # not open: does not count
    # Bob and Cat hold one open lead each: the lower user id decides the tie.
    assert route(rw.lead()).owner_id == min(rw.bob.user_id, rw.cat.user_id)


def test_agency_rule_gives_the_lead_to_the_agency_unless_it_is_switched_off(rw):
    rw.rule(name="Outsourced", assign_to="agency", agency=rw.agency)
    rw.rule(name="Fallback", assign_to="user", user=rw.ann.user)
    decision = route(rw.lead())
    assert decision.agency_id == rw.agency.pk and decision.owner is None
    rw.agency.is_active = False
    rw.agency.save()
    assert route(rw.lead()).rule.name == "Fallback"


def test_a_person_rule_skips_an_unavailable_person(rw):
    rw.rule(name="Ann's territory", assign_to="user", user=rw.ann.user, skip_offline=True)
    decision = route(rw.lead())
    assert decision.rule is None
    assert dict(decision.trace[0].skipped) == {"Ann": "offline"}
    rw.online(rw.ann)
    assert route(rw.lead()).owner_id == rw.ann.user_id


def test_decide_without_commit_leaves_the_round_robin_as_it_was(rw):
    rule = rw.rule(name="Team", assign_to="round_robin", team=rw.team)
    route(rw.lead())
    rule.refresh_from_db()
    state = dict(rule.rr_state)
    for _ in range(3):
        routing.decide(rw.lead(), routing.lead_facts(rw.lead()), commit=False, now=NOW)
    rule.refresh_from_db()
    assert rule.rr_state == state
