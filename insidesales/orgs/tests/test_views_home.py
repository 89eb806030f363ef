"""Home (my tasks today), global search and the error pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.crm.models import Company, Lead
from insidesales.crm.services import lead_create, record_create, task_create

pytestmark = pytest.mark.django_db


def test_home_lists_my_tasks_due_today_with_links_to_their_records(client_for, acme_rep, django_assert_max_num_queries):
    lead = lead_create(membership=acme_rep, data={"first_name": "Lena", "last_name": "Lead"})
    task = task_create(
        membership=acme_rep,
        title="Call Lena back",
        due_at=timezone.now() - dt.timedelta(hours=1),
        record_type=Lead,
        record_id=lead.pk,
    )
    task_create(membership=acme_rep, title="Next week's call", due_at=timezone.now() + dt.timedelta(days=7))
    client = client_for(acme_rep)

    with django_assert_max_num_queries(15):
        response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Call Lena back" in page
    assert f'href="/leads/{lead.pk}/"' in page
    assert f'action="/tasks/{task.pk}/complete/"' in page
    assert "overdue" in page
    assert "Next week&#x27;s call" not in page and "Next week's call" not in page
    assert response.context["counts"] == {"open_leads": 1, "open_deals": 0, "overdue_tasks": 1}


def test_home_does_not_show_a_colleagues_tasks(client_for, acme_rep, acme_admin):
    task_create(membership=acme_admin, title="Admin's own errand", due_at=timezone.now())

    page = client_for(acme_rep).get("/").content.decode()

    assert "errand" not in page


def test_search_groups_results_by_type_and_formats_phones(client_for, acme_rep):
    lead = lead_create(
        membership=acme_rep, data={"first_name": "Zoe", "last_name": "Quinn", "phone": "+1 415 555 0100"}
    )
    company = record_create(membership=acme_rep, model=Company, data={"name": "Zoetic Labs"})

    response = client_for(acme_rep).get("/search/", {"q": "zo"})

    page = response.content.decode()
    assert response.status_code == 200
    assert [group["label"] for group in response.context["groups"]] == ["Leads", "Companies"]
    assert f'href="/leads/{lead.pk}/"' in page
    assert f'href="/companies/{company.pk}/"' in page
    assert "(415) 555-0100" in page


def test_search_by_phone_in_another_format_finds_the_lead(client_for, acme_rep):
    lead = lead_create(membership=acme_rep, data={"last_name": "Dialer", "phone": "+1 415 555 0100"})

    response = client_for(acme_rep).get("/search/", {"q": "415-555-0100"})

    assert response.status_code == 200  # a single hit still shows the results page
    assert f'href="/leads/{lead.pk}/"' in response.content.decode()


def test_search_hides_records_outside_the_users_scope(client_for, acme, acme_rep, acme_admin):
    from insidesales.orgs.services import member_add

    other = member_add(actor=None, organization=acme, email="olga@acme.test", full_name="Olga Other")
    lead_create(membership=other, data={"first_name": "Secret", "last_name": "Prospect"})

    response = client_for(acme_rep).get("/search/", {"q": "secret"})

    assert response.context["groups"] == []
    assert "Nothing found" in response.content.decode()
    assert client_for(acme_admin).get("/search/", {"q": "secret"}).context["total"] == 1


def test_search_escapes_the_query_and_the_results(client_for, acme_rep):
    page = client_for(acme_rep).get("/search/", {"q": "<script>alert(1)</script>"}).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page

    lead_create(membership=acme_rep, data={"last_name": "Mallory", "company_name": "<img src=x onerror=alert(1)>"})
    page = client_for(acme_rep).get("/search/", {"q": "mallory"}).content.decode()

    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_unknown_page_is_a_404_in_the_layout(client_for, acme_rep):
    response = client_for(acme_rep).get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and 'name="q"' in page


def test_server_error_page_renders_without_a_request(acme):
    from django.template.loader import render_to_string

    page = render_to_string("500.html")

    assert "Something went wrong" in page
