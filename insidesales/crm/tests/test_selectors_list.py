"""The list selector's page query reads the records and only the relations a list shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insidesales.core.testing import factories as f
from insidesales.crm import selectors
from insidesales.crm.models import Company, Contact, Deal, Lead
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
