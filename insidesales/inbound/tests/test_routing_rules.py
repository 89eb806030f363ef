"""Routing rule services: validation, the one default rule, order, switching on and off, audit rows, and
"test this lead" changing nothing."""

from __future__ import annotations

import pytest

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.inbound.models import RoutingRule
from insidesales.inbound.services import routing_rules as service
from insidesales.inbound.tests import test_routing_engine as engine
from insidesales.orgs.models import AuditLog

rw = engine.rw  # the routing world fixture


def rule_data(rw, **extra):
    data = {
        "name": "Germany",
        "conditions": [{"field": "country", "op": "in", "value": "DE, AT"}],
        "assign_to": "round_robin",
        "team_id": rw.team.pk,
        "weights": {str(rw.ann.user_id): 3},
        "sla_minutes": 15,
    }
    return {**data, **extra}


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.fields


def test_first_use_creates_one_default_rule_last(rw):
    rules = service.routing_rule_list(membership=rw.admin)
    assert [(r.name, r.is_default, r.assign_to) for r in rules] == [("Everyone else", True, "pool")]
    created = service.routing_rule_create(membership=rw.admin, data=rule_data(rw))
    rules = service.routing_rule_list(membership=rw.manager)
    assert [r.pk for r in rules][0] == created.pk and rules[-1].is_default
    assert RoutingRule.objects.filter(organization=rw.org, is_default=True).count() == 1
    assert created.conditions == [{"field": "country", "op": "in", "value": ["DE", "AT"]}]
    assert AuditLog.objects.filter(action="routing_rule.create", object_id=created.pk).exists()


def test_reps_do_not_see_routing_and_managers_cannot_change_it(rw):
    with pytest.raises(NotFound):
        service.routing_rule_list(membership=rw.ann)
    with pytest.raises(PermissionDenied):
        service.routing_rule_create(membership=rw.manager, data=rule_data(rw))
    rule = service.routing_rule_create(membership=rw.admin, data=rule_data(rw))
    with pytest.raises(NotFound):
        service.routing_rule_get(membership=rw.other_org_admin, rule_id=rule.pk)
    with pytest.raises(NotFound):
        service.routing_rule_delete(membership=rw.other_org_admin, rule_id=rule.pk)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"name": " "}, "name"),
        ({"conditions": [{"field": "shoe_size", "op": "eq", "value": "9"}]}, "conditions"),
        ({"conditions": [{"field": "custom:unknown", "op": "eq", "value": "9"}]}, "conditions"),
        ({"conditions": [{"field": "country", "op": "like", "value": "D%"}]}, "conditions"),
        ({"conditions": [{"field": "company_size", "op": "gte", "value": "many"}]}, "conditions"),
        ({"conditions": [{"field": "country", "op": "eq", "value": ""}]}, "conditions"),
        ({"team_id": None}, "team_id"),
        ({"assign_to": "user", "user_id": None}, "user_id"),
        ({"assign_to": "agency", "agency_id": None}, "agency_id"),
        ({"weights": {"999999": 2}}, "weights"),
        ({"weights": {"ANN": 101}}, "weights"),
        ({"sla_minutes": 0}, "sla_minutes"),
        ({"sla_minutes": 10081}, "sla_minutes"),
        ({"sla_action": "panic"}, "sla_action"),
        ({"sla_max_reassignments": 11}, "sla_max_reassignments"),
    ],
)
def test_invalid_rules_are_refused(rw, extra, field):
    if extra.get("weights") == {"ANN": 101}:
        extra = {"weights": {str(rw.ann.user_id): 101}}
    assert field in errors_of(lambda: service.routing_rule_create(membership=rw.admin, data=rule_data(rw, **extra)))
    assert not RoutingRule.objects.filter(organization=rw.org, is_default=False).exists()


def test_people_teams_and_agencies_of_another_organization_are_refused(rw):
    other = rw.other_org_admin
    team = f.TeamFactory(organization=other.organization)
    agency = f.AgencyFactory(organization=other.organization)
    create = service.routing_rule_create
    assert "team_id" in errors_of(lambda: create(membership=rw.admin, data=rule_data(rw, team_id=team.pk)))
    data = rule_data(rw, assign_to="user", user_id=other.user_id)
    assert "user_id" in errors_of(lambda: create(membership=rw.admin, data=data))
    data = rule_data(rw, assign_to="agency", agency_id=agency.pk)
    assert "agency_id" in errors_of(lambda: create(membership=rw.admin, data=data))
    rw.agency.is_active = False
    rw.agency.save()
    data = rule_data(rw, assign_to="agency", agency_id=rw.agency.pk)
    assert "agency_id" in errors_of(lambda: create(membership=rw.admin, data=data))
    # Weights are for the team's reps only: a rep of another team cannot have one.
    data = rule_data(rw, weights={str(rw.outsider.user_id): 2})
    assert "weights" in errors_of(lambda: create(membership=rw.admin, data=data))


def test_custom_lead_fields_can_be_tested_and_numbers_compared(rw):
    f.CustomFieldFactory(organization=rw.org, key="employees", field_type="number")
    data = rule_data(rw, conditions=[{"field": "custom:employees", "op": "gte", "value": 200}])
    rule = service.routing_rule_create(membership=rw.admin, data=data)
    assert rule.conditions == [{"field": "custom:employees", "op": "gte", "value": "200"}]


def test_the_default_rule_cannot_get_conditions_be_removed_moved_or_switched_off(rw):
    default = service.default_rule_ensure(organization_id=rw.org.pk)
    data = {"conditions": [{"field": "country", "op": "eq", "value": "US"}]}
    assert "conditions" in errors_of(
        lambda: service.routing_rule_update(membership=rw.admin, rule_id=default.pk, data=data)
    )
    with pytest.raises(Conflict):
        service.routing_rule_delete(membership=rw.admin, rule_id=default.pk)
    with pytest.raises(Conflict):
        service.routing_rule_set_active(membership=rw.admin, rule_id=default.pk, is_active=False)
    with pytest.raises(Conflict):
        service.routing_rule_move(membership=rw.admin, rule_id=default.pk, direction="up")
    # Its assignment may change.
    updated = service.routing_rule_update(
        membership=rw.admin, rule_id=default.pk, data={"assign_to": "least_open", "team_id": rw.team.pk}
    )
    assert updated.assign_to == "least_open" and updated.is_default


def test_rules_move_up_and_down_and_switch_off(rw):
    a = service.routing_rule_create(membership=rw.admin, data=rule_data(rw, name="A"))
    b = service.routing_rule_create(membership=rw.admin, data=rule_data(rw, name="B"))
    c = service.routing_rule_create(membership=rw.admin, data=rule_data(rw, name="C"))

    def names():
        return [r.name for r in service.routing_rule_list(membership=rw.admin)]

    service.routing_rule_move(membership=rw.admin, rule_id=c.pk, direction="up")
    assert names() == ["A", "C", "B", "Everyone else"]
    service.routing_rule_move(membership=rw.admin, rule_id=a.pk, direction="down")
    assert names() == ["C", "A", "B", "Everyone else"]
    service.routing_rule_move(membership=rw.admin, rule_id=b.pk, direction="down")  # already last: stays
    assert names() == ["C", "A", "B", "Everyone else"]
    assert AuditLog.objects.filter(action="routing_rule.move").count() == 2
    service.routing_rule_set_active(membership=rw.admin, rule_id=b.pk, is_active=False)
    assert not RoutingRule.objects.get(pk=b.pk).is_active
    assert AuditLog.objects.filter(action="routing_rule.deactivate", object_id=b.pk).exists()
    service.routing_rule_delete(membership=rw.admin, rule_id=b.pk)
    assert names() == ["C", "A", "Everyone else"]


def test_update_keeps_what_is_not_sent_and_a_new_team_restarts_the_round_robin(rw):
    rule = service.routing_rule_create(membership=rw.admin, data=rule_data(rw))
    RoutingRule.objects.filter(pk=rule.pk).update(rr_state={str(rw.ann.user_id): 2})
    updated = service.routing_rule_update(membership=rw.admin, rule_id=rule.pk, data={"name": "DACH"})
    assert updated.name == "DACH" and updated.sla_minutes == 15 and updated.rr_state
    assert updated.weights == {str(rw.ann.user_id): 3}
    moved = service.routing_rule_update(membership=rw.admin, rule_id=rule.pk, data={"team_id": rw.other_team.pk})
    assert moved.rr_state == {} and moved.weights == {}  # the old team's weights do not apply
    log = AuditLog.objects.filter(action="routing_rule.update", object_id=rule.pk).first()
    assert log.changes["name"] == ["Germany", "DACH"]


def test_test_this_lead_shows_the_decision_and_changes_nothing(rw):
    rule = service.routing_rule_create(membership=rw.admin, data=rule_data(rw, skip_offline=False))
    RoutingRule.objects.filter(pk=rule.pk).update(rr_state={str(rw.ann.user_id): 1})
    before = (
        list(RoutingRule.objects.order_by("pk").values_list("pk", "rr_state", "updated_at")),
        AuditLog.objects.count(),
    )
    decision, facts = service.routing_test(membership=rw.manager, data={"country": "de", "email": "x@y.test"})
    assert decision.rule.pk == rule.pk and decision.owner is not None
    assert facts["country"] == "DE" and facts["email_domain"] == "y.test"
    other, _facts = service.routing_test(membership=rw.admin, data={"country": "FR"})
    assert other.rule.is_default and other.owner is None
    assert [t.matched for t in other.trace] == [False, True]
    after = (
        list(RoutingRule.objects.order_by("pk").values_list("pk", "rr_state", "updated_at")),
        AuditLog.objects.count(),
    )
    assert after == before


def test_test_an_existing_lead_only_when_visible(rw):
    mine = f.LeadFactory(owned_by=rw.ann, country="DE")
    outsiders = f.LeadFactory(owned_by=rw.outsider, country="DE")
    service.routing_rule_create(membership=rw.admin, data=rule_data(rw, skip_offline=False))
    decision, _facts = service.routing_test(membership=rw.manager, lead_id=mine.pk)
    assert decision.rule.name == "Germany"
    with pytest.raises(NotFound):
        service.routing_test(membership=rw.manager, lead_id=outsiders.pk)  # another team's lead
    with pytest.raises(NotFound):
        service.routing_test(membership=rw.other_org_admin, lead_id=mine.pk)
    with pytest.raises(NotFound):
        service.routing_test(membership=rw.ann, lead_id=mine.pk)  # reps do not test routing
