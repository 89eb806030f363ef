"""Admin-only pages: the audit log and the agencies switch. Everyone else gets a 404."""

from __future__ import annotations

import pytest

from insidesales.orgs.services import audit_record, user_update_preferences

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/audit/", "/agencies/"])
def test_admin_pages_are_404_for_everyone_else(client_for, acme_rep, acme_agency_rep, path):
    assert client_for(acme_rep).get(path).status_code == 404
    assert client_for(acme_agency_rep).get(path).status_code == 404


def test_admin_navigation_is_shown_to_admins_only(client_for, acme_admin, acme_rep):
    assert 'href="/audit/"' in client_for(acme_admin).get("/settings/").content.decode()
    assert 'href="/audit/"' not in client_for(acme_rep).get("/settings/").content.decode()


def test_audit_log_shows_who_did_what_with_before_and_after(client_for, acme_admin, acme_rep):
    user_update_preferences(user=acme_rep.user, time_zone="Europe/Berlin")

    page = client_for(acme_admin).get("/audit/").content.decode()

    assert "user.preferences" in page
    assert "Rob Rep" in page
    assert "<del>UTC</del>" in page and "<ins>Europe/Berlin</ins>" in page


def test_audit_log_escapes_recorded_values(client_for, acme_admin, acme):
    audit_record(
        organization_id=acme.pk,
        actor=acme_admin.user,
        action="lead.update",
        object_type="lead",
        object_id=1,
        changes={"last_name": ["<b>old</b>", "<script>x</script>"]},
    )

    page = client_for(acme_admin).get("/audit/").content.decode()

    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_audit_log_filters_by_action_prefix_and_object_type(client_for, acme_admin, acme):
    audit_record(organization_id=acme.pk, actor=None, action="lead.assign", object_type="lead", object_id=1)
    audit_record(organization_id=acme.pk, actor=None, action="deal.move_stage", object_type="deal", object_id=2)
    client = client_for(acme_admin)

    page = client.get("/audit/", {"action": "lead."}).content.decode()
    assert "<code>lead.assign</code>" in page and "<code>deal.move_stage</code>" not in page

    page = client.get("/audit/", {"object_type": "deal"}).content.decode()
    assert "<code>deal.move_stage</code>" in page and "<code>lead.assign</code>" not in page


def test_audit_log_pages_with_a_cursor(client_for, acme_admin, acme, django_assert_max_num_queries):
    for number in range(60):
        audit_record(organization_id=acme.pk, actor=None, action=f"test.step{number:02d}", object_type="test")
    client = client_for(acme_admin)

    with django_assert_max_num_queries(12):
        response = client.get("/audit/", {"action": "test."})
    first = response.content.decode()
    assert first.count("test.step") == 50
    assert "test.step59" in first and "test.step09" not in first
    next_url = response.context["next_url"]
    assert "cursor=" in next_url and "action=test." in next_url

    second = client.get("/audit/" + next_url).content.decode()
    assert second.count("test.step") == 10
    assert "test.step09" in second and "test.step10" not in second


def test_a_broken_cursor_falls_back_to_the_newest_entries(client_for, acme_admin):
    response = client_for(acme_admin).get("/audit/", {"cursor": "not-a-cursor"})
    assert response.status_code == 200


def test_agencies_page_lists_agencies_with_member_counts(client_for, acme_admin, acme_agency_rep):
    page = client_for(acme_admin).get("/agencies/").content.decode()

    assert "CallCo" in page
    assert '<td class="num">1</td>' in page


def test_switching_an_agency_off_signs_its_users_out_and_on_lets_them_back(
    client_for, acme_admin, acme_agency_rep, acme_agency
):
    agent = client_for(acme_agency_rep)
    admin = client_for(acme_admin)
    assert agent.get("/").status_code == 200

    response = admin.post(f"/agencies/{acme_agency.pk}/active/", {"is_active": "0"})

    assert response.status_code == 302
    acme_agency.refresh_from_db()
    assert acme_agency.is_active is False
    response = agent.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")

    admin.post(f"/agencies/{acme_agency.pk}/active/", {"is_active": "1"})
    acme_agency.refresh_from_db()
    assert acme_agency.is_active is True
    assert client_for(acme_agency_rep).get("/").status_code == 200


def test_agency_switch_is_admin_only(client_for, acme_rep, acme_agency):
    response = client_for(acme_rep).post(f"/agencies/{acme_agency.pk}/active/", {"is_active": "0"})

    assert response.status_code == 404
    acme_agency.refresh_from_db()
    assert acme_agency.is_active is True
