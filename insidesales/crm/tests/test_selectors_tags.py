"""A page's tags, read with kept SQL, are exactly what the ORM query reads, for every tagged model."""

from __future__ import annotations

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm.models import Company, Contact, Deal, Lead
from insidesales.crm.selectors import attach_tags

pytestmark = pytest.mark.django_db

FACTORIES = {Lead: f.LeadFactory, Contact: f.ContactFactory, Company: f.CompanyFactory, Deal: f.DealFactory}


def orm_rows(model, ids):
    through = model.tags.through
    source = f"{model._meta.model_name}_id"
    return list(
        through.objects.filter(**{f"{source}__in": ids})
        .order_by("tag__name", "tag_id")
        .values_list(source, "tag_id", "tag__name", "tag__color")
    )


@pytest.mark.parametrize("model", list(FACTORIES))
def test_tags_of_a_page_match_the_orm(model):
    org = f.OrganizationFactory()
    names = ["b", "B", "а-кириллица", "Ёлка", "z", "a b", "<i>x</i>"]
    tags = [f.TagFactory(organization=org, name=name, color="#%06x" % (i * 99991)) for i, name in enumerate(names)]
    records = [FACTORIES[model](organization=org) for _ in range(6)]
    for i, record in enumerate(records[:5]):
        record.tags.set(tags[i : i + 3 + i % 2])
    other = FACTORIES[model](organization=org)
    other.tags.set(tags[:2])  # not on the page: must not appear

    attach_tags(records, model)
    expected = orm_rows(model, [r.pk for r in records])
    got = [(r.pk, t.pk, t.name, t.color) for r in records for t in r.tag_list]
    assert sorted(got, key=expected.index) == expected
    for record in records:  # each record's tags in the ORM's order
        assert [t.pk for t in record.tag_list] == [tag_id for pk, tag_id, *_ in expected if pk == record.pk]
    assert records[5].tag_list == []
    assert len({id(t) for r in records for t in r.tag_list}) == len({t.pk for r in records for t in r.tag_list})


@pytest.mark.parametrize("count", [1, 3, 26, 51])
def test_padded_id_lists_give_each_record_its_own_tags_once(count):
    """The id list is padded to a few fixed sizes (prepared statements on PostgreSQL): padding never
    repeats or moves a tag."""
    org = f.OrganizationFactory()
    tags = [f.TagFactory(organization=org, name=f"t{i}") for i in range(3)]
    records = [f.LeadFactory(organization=org) for _ in range(count)]
    for i, record in enumerate(records):
        record.tags.set(tags[: i % 4])
    attach_tags(records, Lead)
    for i, record in enumerate(records):
        assert [t.name for t in record.tag_list] == [t.name for t in tags[: i % 4]]
