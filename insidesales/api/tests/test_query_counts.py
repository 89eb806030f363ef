"""Lists cost a fixed number of queries whatever their length (no query per row)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from insidesales.core.testing import factories as f

# Key and membership (2), rate limit in the database cache (6), visibility (2), then the page and its prefetches.
# Measured on the first request after the data changed (the organization's directory is read again:
# record lists take their owners from it), and again once it is remembered (WARM_QUERIES).
MAX_QUERIES = {
    "/leads": 13,
    "/contacts": 13,
    "/companies": 13,
    "/deals": 13,
    "/tasks": 11,
    "/tasks/today": 11,
    # Per record type: one bounded candidate query per name-key column, the candidates' activity times,
    # then the top rows by id (5+4+3+3).
    "/search?q=acme": 23,
    "/pipelines": 10,
}
PATHS = list(MAX_QUERIES)
WARM_QUERIES = {"/leads": 12, "/contacts": 12, "/companies": 12, "/deals": 12}


def _fill(membership, count: int) -> None:
    org = membership.organization
    tag = f.TagFactory(organization=org)
    due = timezone.now() - dt.timedelta(hours=1)
    for index in range(count):
        company = f.CompanyFactory(owned_by=membership, name=f"Acme {index}", tags=[tag])
        contact = f.ContactFactory(owned_by=membership, company=company, tags=[tag])
        f.DealFactory(owned_by=membership, company=company, contact=contact, tags=[tag])
        lead = f.LeadFactory(owned_by=membership, company_name=f"Acme {index}", tags=[tag])
        f.TaskFactory(organization=org, assignee=membership.user, lead=lead, due_at=due)


def _queries(api, path: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = api.get(path)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


@pytest.mark.parametrize("path", PATHS)
def test_list_of_40_rows_has_a_pinned_query_count(world, api_as, django_assert_max_num_queries, path):
    api = api_as(world.manager)  # a manager's scope needs the most queries (teams, team members)
    api.get("/me")
    _fill(world.manager, 40)
    with django_assert_max_num_queries(MAX_QUERIES[path]):
        response = api.get(path)
    assert response.status_code == 200
    with django_assert_max_num_queries(WARM_QUERIES.get(path, MAX_QUERIES[path])):
        assert api.get(path).status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_query_count_does_not_grow_with_rows(world, api_as, path):
    api = api_as(world.manager)
    api.get("/me")
    _fill(world.manager, 2)
    few = _queries(api, path)
    _fill(world.manager, 38)
    assert _queries(api, path) == few
