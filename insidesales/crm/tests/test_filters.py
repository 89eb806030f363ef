"""The one filter definition per record type: cleaning query parameters and applying them within scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict
from django.utils import timezone

from insidesales.core.errors import ValidationError
from insidesales.core.testing import factories as f
from insidesales.crm import selectors
from insidesales.crm.filters import FILTERSETS, LEAD_FILTERS, MODEL_FILTERSETS
from insidesales.crm.models import Company, Contact, Deal, Lead, StageKind

pytestmark = pytest.mark.django_db


def _clean(filterset, query: str):
    errors: dict[str, list[str]] = {}
    return filterset.clean(QueryDict(query), errors), errors


def _ids(world, member, model, query):
    filterset = MODEL_FILTERSETS[model]
    cleaned, errors = _clean(filterset, query)
    assert errors == {}
    page = selectors.record_list(membership=world.members[member], model=model, filters=cleaned, limit=200)
    return {r.pk for r in page.items}


def test_every_record_type_has_one_filterset():
    assert set(FILTERSETS) == {"lead", "contact", "company", "deal"}
    assert set(MODEL_FILTERSETS) == {Lead, Contact, Company, Deal}
    for filterset in FILTERSETS.values():
        assert filterset.default_sort.lstrip("-") in filterset.sorts
        assert set(filterset.default_columns) <= set(filterset.columns)


def test_clean_types_values_and_ignores_unknown_parameters():
    cleaned, errors = _clean(
        LEAD_FILTERS, "status=new,working&status=qualified&owner=me&team=3&q=+Ivan+&cursor=x&sort=name_key&bogus=1"
    )
    assert errors == {}
    assert cleaned == {"status": ["new", "working", "qualified"], "owner": "me", "team": 3, "q": "Ivan"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=sleeping", "status"),
        ("status=new,sleeping", "status"),
        ("source=pigeon", "source"),
        ("owner=someone", "owner"),
        ("team=abc", "team"),
        ("created_from=yesterday", "created_from"),
        ("created_to=2026-13-01", "created_to"),
    ],
)
def test_clean_reports_bad_values_by_filter_name(query, field):
    cleaned, errors = _clean(LEAD_FILTERS, query)
    assert list(errors) == [field]
    assert field not in cleaned


def test_clean_accepts_plain_dicts_as_the_api_sends_them():
    errors: dict[str, list[str]] = {}
    cleaned = LEAD_FILTERS.clean({"status": ["new", "working"], "owner": "none", "country": "RU"}, errors)
    assert errors == {}
    assert cleaned == {"status": ["new", "working"], "owner": "none", "country": "RU"}


def test_owner_filters(world):
    assert _ids(world, "admin", Lead, "owner=me") == set()
    assert _ids(world, "rep1", Lead, "owner=me") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, f"owner={world.rep2.user_id}") == {world.lead_rep2.pk}
    assert _ids(world, "admin", Lead, "owner=none") == {
        world.lead_unassigned.pk,
        world.lead_agency_x.pk,
        world.lead_agency_y.pk,
        world.lead_agency_off.pk,
    }


def test_filters_never_widen_the_scope(world):
    assert _ids(world, "rep1", Lead, f"owner={world.rep2.user_id}") == set()
    assert _ids(world, "rep1", Lead, f"team={world.team2.pk}") == set()
    assert _ids(world, "agency_x_rep", Lead, f"agency={world.agency_y.pk}") == set()
    assert _ids(world, "admin", Lead, f"owner={world.admin_b.user_id}") == set()


def test_status_source_country_team_agency_and_tag(world):
    from insidesales.crm.models import Lead as LeadModel

    LeadModel.objects.filter(pk=world.lead_rep1.pk).update(status="working", source="web_form", country="RU")
    world.lead_rep2.tags.add(world.tag)
    assert _ids(world, "admin", Lead, "status=working") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, "status=working,new") == {s.lead.pk for s in world.slots.values()} - {
        world.lead_org_b.pk
    }
    assert _ids(world, "admin", Lead, "source=web_form") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, "country=RU") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, f"team={world.team1.pk}") == {world.lead_rep1.pk, world.lead_manager.pk}
    assert _ids(world, "admin", Lead, f"agency={world.agency_x.pk}") == {world.lead_agency_x.pk}
    assert _ids(world, "admin", Lead, f"tag={world.tag.pk}") == {world.lead_rep2.pk}


def test_deal_filters(world):
    from insidesales.crm import services

    services.deal_mark_won(membership=world.admin, deal_id=world.deal_rep1.pk)
    assert _ids(world, "admin", Deal, f"stage_kind={StageKind.WON}") == {world.deal_rep1.pk}
    assert _ids(world, "admin", Deal, f"company={world.company_rep2.pk}") == {world.deal_rep2.pk}
    assert len(_ids(world, "admin", Deal, f"pipeline={world.deal_rep1.pipeline_id}")) == 8


def test_created_date_range(world):
    old = f.LeadFactory(owned_by=world.rep1)
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    since = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    until = (timezone.now() - dt.timedelta(days=20)).date().isoformat()
    assert old.pk not in _ids(world, "rep1", Lead, f"created_from={since}")
    assert _ids(world, "rep1", Lead, f"created_to={until}") == {old.pk}


def test_custom_field_filters(world):
    f.CustomFieldFactory(organization=world.org, record_type="lead", key="vip", field_type="boolean")
    f.CustomFieldFactory(organization=world.org, record_type="lead", key="seats", field_type="number")
    f.CustomFieldFactory(organization=world.org, record_type="lead", key="tier", field_type="choice")
    Lead.objects.filter(pk=world.lead_rep1.pk).update(custom={"vip": True, "seats": 5, "tier": "gold"})
    Lead.objects.filter(pk=world.lead_rep2.pk).update(custom={"vip": False, "seats": 2.5, "tier": "silver"})
    assert _ids(world, "admin", Lead, "custom.vip=yes") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, "custom.vip=no") == {world.lead_rep2.pk}
    assert _ids(world, "admin", Lead, "custom.seats=5") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, "custom.seats=2.5") == {world.lead_rep2.pk}
    assert _ids(world, "admin", Lead, "custom.seats=many") == set()
    assert _ids(world, "admin", Lead, "custom.tier=silver") == {world.lead_rep2.pk}
    assert _ids(world, "admin", Lead, "custom.unknown=1") == set()


@pytest.mark.parametrize("query", ["team=99999999999999999999999", "owner=99999999999999999999999"])
def test_out_of_range_ids_are_invalid_values_instead_of_failing(query):
    cleaned, errors = _clean(LEAD_FILTERS, query)
    assert list(errors) == [query.split("=")[0]] and cleaned == {}


def test_ids_that_match_nothing_find_nothing(world):
    assert _ids(world, "admin", Lead, "tag=-1") == set()
    assert _ids(world, "admin", Lead, "team=987654321") == set()


def test_search_filter_uses_the_type_search_fields(world):
    assert _ids(world, "admin", Lead, "q=rep1lead") == {world.lead_rep1.pk}
    assert _ids(world, "admin", Lead, "q=Rep2+Prosp") == {world.lead_rep2.pk}
    assert _ids(world, "admin", Company, "q=agencyx") == {world.company_agency_x.pk}
    assert _ids(world, "admin", Contact, "q=contact.field@") == {world.contact_field.pk}


def test_unknown_sort_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        selectors.record_list(membership=world.admin, model=Lead, sort="password")
    assert "sort" in exc.value.fields
    page = selectors.record_list(membership=world.admin, model=Deal, sort="-amount")
    assert len(page.items) == 8
