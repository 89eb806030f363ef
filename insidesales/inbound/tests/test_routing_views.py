"""Routing pages: the rule list (admins edit, managers read, others 404), the editor without JavaScript,
"test this lead", and the availability pages (own, team's, everyone's; times in the rep's zone)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from insidesales.inbound.models import RepAvailability, RoutingRule
from insidesales.inbound.services import routing_rules as service
from insidesales.inbound.tests import test_routing_engine as engine
from insidesales.orgs.models import AuditLog

rw = engine.rw  # the routing world fixture


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def editor_post(rw, **extra):
    data = {
        "name": "Germany <b>",
        "assign_to": "round_robin",
        "team_id": str(rw.team.pk),
        f"weight_{rw.ann.user_id}": "3",
        f"weight_{rw.outsider.user_id}": "5",  # another team's field: ignored for this team
        "prefer_account_owner": "on",
        "skip_offline": "on",
        "sla_minutes": "15",
        "sla_working_hours": "on",
        "sla_action": "reassign",
        "sla_max_reassignments": "2",
        "c-TOTAL_FORMS": "3",
        "c-INITIAL_FORMS": "0",
        "c-0-field": "country",
        "c-0-op": "in",
        "c-0-value": "DE, AT",
        "c-1-field": "",
        "c-1-op": "eq",
        "c-1-value": "",
        "c-2-field": "",
        "c-2-op": "eq",
        "c-2-value": "",
    }
    return {**data, **extra}


def test_admin_creates_a_rule_with_the_plain_form(rw):
    client = client_for(rw.admin)
    assert client.get("/settings/routing/new/").status_code == 200
    response = client.post("/settings/routing/new/", editor_post(rw))
    assert response.status_code == 302
    rule = RoutingRule.objects.get(organization=rw.org, is_default=False)
    assert rule.conditions == [{"field": "country", "op": "in", "value": ["DE", "AT"]}]
    assert rule.weights == {str(rw.ann.user_id): 3} and rule.sla_action == "reassign"
    page = client.get("/settings/routing/").content.decode()
    assert "Germany &lt;b&gt;" in page and "Germany <b>" not in page  # escaped
    assert "Country is one of “DE, AT”" in page and "Everyone else" in page


def test_more_rows_keeps_what_was_typed_and_errors_show_on_the_form(rw):
    client = client_for(rw.admin)
    response = client.post("/settings/routing/new/", editor_post(rw, more_rows="1"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="c-5-field"' in page and 'value="DE, AT"' in page
    response = client.post("/settings/routing/new/", editor_post(rw, **{"c-0-op": "gte", "c-0-value": "many"}))
    assert response.status_code == 422
    assert "needs a number" in response.content.decode()
    assert not RoutingRule.objects.filter(is_default=False).exists()


def test_edit_move_switch_off_and_remove(rw):
    client = client_for(rw.admin)
    a = service.routing_rule_create(membership=rw.admin, data={"name": "A", "assign_to": "pool"})
    b = service.routing_rule_create(membership=rw.admin, data={"name": "B", "assign_to": "pool"})
    assert client.get(f"/settings/routing/{a.pk}/edit/").status_code == 200
    response = client.post(f"/settings/routing/{a.pk}/edit/", editor_post(rw, name="A2"))
    assert response.status_code == 302 and RoutingRule.objects.get(pk=a.pk).name == "A2"
    client.post(f"/settings/routing/{b.pk}/move/", {"direction": "up"})
    assert [r.name for r in service.routing_rule_list(membership=rw.admin)] == ["B", "A2", "Everyone else"]
    client.post(f"/settings/routing/{b.pk}/active/", {"is_active": "0"})
    assert not RoutingRule.objects.get(pk=b.pk).is_active
    client.post(f"/settings/routing/{b.pk}/delete/")
    assert not RoutingRule.objects.filter(pk=b.pk).exists()
    default = RoutingRule.objects.get(organization=rw.org, is_default=True)
    response = client.post(f"/settings/routing/{default.pk}/delete/", follow=True)
    assert RoutingRule.objects.filter(pk=default.pk).exists()
    assert "cannot be removed" in response.content.decode()


def test_managers_read_the_rules_reps_get_404(rw):
    rule = service.routing_rule_create(membership=rw.admin, data={"name": "A", "assign_to": "pool"})
    manager = client_for(rw.manager)
    page = manager.get("/settings/routing/")
    assert page.status_code == 200 and "A" in page.content.decode()
    assert f"/settings/routing/{rule.pk}/edit/" not in page.content.decode()
    assert manager.get(f"/settings/routing/{rule.pk}/edit/").status_code == 404
    assert manager.post(f"/settings/routing/{rule.pk}/delete/").status_code == 404
    assert manager.get("/settings/routing/test/").status_code == 200
    rep = client_for(rw.ann)
    for url in ("/settings/routing/", "/settings/routing/new/", "/settings/routing/test/"):
        assert rep.get(url).status_code == 404
    assert client_for(rw.other_org_admin).get(f"/settings/routing/{rule.pk}/edit/").status_code == 404


def test_the_test_page_shows_rule_owner_and_trace_without_changing_anything(rw):
    service.routing_rule_create(
        membership=rw.admin,
        data={
            "name": "Germany",
            "conditions": [{"field": "country", "op": "eq", "value": "DE"}],
            "assign_to": "user",
            "user_id": rw.ann.user_id,
        },
    )
    rule = service.routing_rule_create(
        membership=rw.admin, data={"name": "Team", "assign_to": "round_robin", "team_id": rw.team.pk}
    )
    RoutingRule.objects.filter(pk=rule.pk).update(rr_state={"1": 1})
    audit = AuditLog.objects.count()
    response = client_for(rw.manager).get("/settings/routing/test/", {"run": "1", "country": "FR", "email": "a@b.test"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "does not match" in page and "Team" in page
    assert "offline" in page  # every team rep skipped: nobody has the app open
    assert RoutingRule.objects.get(pk=rule.pk).rr_state == {"1": 1} and AuditLog.objects.count() == audit
    response = client_for(rw.manager).get("/settings/routing/test/", {"run": "1", "country": "DE"})
    assert "Ann" in response.content.decode()


def test_the_test_page_refuses_a_lead_out_of_scope(rw):
    from insidesales.core.testing import factories as f

    hidden = f.LeadFactory(owned_by=rw.outsider)
    response = client_for(rw.manager).get("/settings/routing/test/", {"run": "1", "lead_id": hidden.pk})
    assert response.status_code == 422
    assert "no lead with this id" in response.content.decode()


def test_a_rep_sets_their_own_availability_in_their_time_zone(rw):
    rw.ann.user.time_zone = "Europe/Berlin"
    rw.ann.user.save()
    client = client_for(rw.ann)
    page = client.get("/settings/availability/")
    assert page.status_code == 200 and "Europe/Berlin" in page.content.decode()
    response = client.post(
        "/settings/availability/",
        {
            "accepts_inbound": "on",
            "away_from": "2031-07-01T09:00",
            "away_until": "2031-07-10T18:00",
            "max_open_leads": "5",
        },
    )
    assert response.status_code == 302
    saved = RepAvailability.objects.get(user=rw.ann.user)
    assert saved.away_from == dt.datetime(2031, 7, 1, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST
    assert saved.max_open_leads == 5 and saved.accepts_inbound
    assert AuditLog.objects.filter(action="availability.update").exists()
    bad = client.post("/settings/availability/", {"away_from": "2031-07-10T09:00", "away_until": "2031-07-01T09:00"})
    assert bad.status_code == 422 and "after its start" in bad.content.decode()
    # A rep sees only themselves and cannot edit anyone else.
    assert "Bob" not in page.content.decode()
    assert client.get(f"/settings/availability/{rw.bob.user_id}/").status_code == 404


def test_managers_edit_their_teams_reps_and_see_live_state(rw):
    from insidesales.inbound import routing

    routing.mark_seen(organization_id=rw.org.pk, user_id=rw.bob.user_id)
    RepAvailability.objects.create(
        organization=rw.org, user=rw.cat.user, away_until=timezone.now() + dt.timedelta(days=1)
    )
    client = client_for(rw.manager)
    page = client.get("/settings/availability/").content.decode()
    assert "Bob" in page and "online" in page and "out of office" in page and "offline" in page
    assert "Outsider" not in page
    response = client.post(f"/settings/availability/{rw.ann.user_id}/", {"max_open_leads": "2"})
    assert response.status_code == 302
    assert RepAvailability.objects.get(user=rw.ann.user).accepts_inbound is False  # unticked box: off
    assert client.get(f"/settings/availability/{rw.outsider.user_id}/").status_code == 404
    admin_page = client_for(rw.admin).get("/settings/availability/").content.decode()
    assert "Outsider" in admin_page
    assert client_for(rw.other_org_admin).get(f"/settings/availability/{rw.ann.user_id}/").status_code == 404


@pytest.mark.parametrize("url", ["/settings/routing/", "/settings/routing/test/", "/settings/availability/"])
def test_pages_link_from_settings(rw, url):
    assert client_for(rw.admin).get(url).status_code == 200
