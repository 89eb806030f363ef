"""Keyset pagination: every row exactly once, in order, however many ties; bad cursors are a 422, never a 500."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidesales.core.errors import ValidationError
from insidesales.core.pagination import paginate
from insidesales.core.testing import factories as f
from insidesales.core.text import search_key
from insidesales.crm import selectors
from insidesales.crm.models import Deal, Lead

pytestmark = pytest.mark.django_db
BASE = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _walk(fetch, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = fetch(cursor, limit)
        assert len(page.items) <= limit
        seen.extend(page.items)
        pages += 1
        assert pages < 500, "pagination does not terminate"
        if page.next_cursor is None:
            return seen
        assert page.items, "a page with a next cursor must not be empty"
        cursor = page.next_cursor


def _expected(rows, field, descending):
    return [r.pk for r in sorted(rows, key=lambda r: (getattr(r, field), r.pk), reverse=descending)]


@pytest.fixture
def organization(db):
    return f.OrganizationFactory()


ROW = st.tuples(
    st.integers(min_value=0, max_value=3),  # minutes: few values, so many ties
    st.integers(min_value=0, max_value=999_999).map(lambda us: us if us % 3 else 0),  # microseconds, often zero
    st.sampled_from(["Ann", "Bob", "Ёжик", "ann", ""]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(ROW, max_size=25),
    limit=st.integers(min_value=1, max_value=7),
    order=st.sampled_from(["-last_activity_at", "last_activity_at", "name_key", "-name_key", "-created_at"]),
)
def test_every_row_exactly_once_in_order_with_ties(organization, rows, limit, order):
    Lead.objects.filter(organization=organization).delete()
    made = [
        f.LeadFactory(
            organization=organization,
            first_name=name,
            last_activity_at=BASE + dt.timedelta(minutes=minutes, microseconds=micro),
        )
        for minutes, micro, name in rows
    ]
    field, descending = order.lstrip("-"), order.startswith("-")
    for lead in made:
        lead.refresh_from_db()  # compare with what the database stored
    queryset = Lead.objects.filter(organization=organization)
    seen = _walk(lambda cursor, size: paginate(queryset, order=order, cursor=cursor, limit=size), limit)
    assert [r.pk for r in seen] == _expected(made, field, descending)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.sampled_from(["0", "10.50", "10.5", "999999.99"]), max_size=15), limit=st.integers(1, 4))
def test_decimal_sort_keys_page_exactly_once(organization, amounts, limit):
    Deal.objects.filter(organization=organization).delete()
    made = [f.DealFactory(organization=organization, amount=Decimal(a)) for a in amounts]
    queryset = Deal.objects.filter(organization=organization)
    seen = _walk(lambda cursor, size: paginate(queryset, order="-amount", cursor=cursor, limit=size), limit)
    assert [d.pk for d in seen] == [d.pk for d in sorted(made, key=lambda d: (Decimal(d.amount), d.pk), reverse=True)]


def test_record_list_pages_visible_records_once_with_filters(world):
    for i in range(12):
        f.LeadFactory(owned_by=world.rep1, last_name=f"Bulk{i}", last_activity_at=BASE, status="working")
    fetch = lambda cursor, size: selectors.record_list(  # noqa: E731
        membership=world.rep1, model=Lead, filters={"status": ["working"]}, cursor=cursor, limit=size
    )
    seen = _walk(fetch, 5)
    assert len(seen) == len({lead.pk for lead in seen}) == 12
    assert all(lead.owner_id == world.rep1.user_id for lead in seen)


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


MALFORMED = [
    "not a cursor!",
    "%%%",
    _cursor({"a": 1}),
    _cursor([1]),
    _cursor([1, 2, 3]),
    _cursor([{"dt": "yesterday"}, 1]),
    _cursor([{"dec": "lots"}, 1]),
    _cursor([{"dt": "2026-01-01T00:00:00+00:00", "x": 1}, 1]),
    _cursor([[1, 2], 1]),
    _cursor(["a", 10**30]),
    _cursor(["a", 1.5]),
    _cursor(["a", True]),
    _cursor(["a", "1"]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]
AWARE = {"dt": "2026-01-01T00:00:00+00:00"}


@pytest.mark.parametrize("cursor", MALFORMED)
@pytest.mark.parametrize("order", ["-last_activity_at", "name_key"])
def test_malformed_cursor_is_a_validation_error(organization, cursor, order):
    f.LeadFactory(organization=organization)
    with pytest.raises(ValidationError) as exc:
        paginate(Lead.objects.all(), order=order, cursor=cursor, limit=10)
    assert "cursor" in exc.value.fields


@pytest.mark.parametrize(
    ("order", "value"),
    [
        ("-last_activity_at", "not a date"),
        ("-last_activity_at", 5),
        ("-last_activity_at", None),
        ("-last_activity_at", {"dt": "2026-01-01T00:00:00"}),  # naive: not a value we ever hand out
        ("name_key", AWARE),
        ("name_key", 5),
        ("-id", "5"),
    ],
)
def test_cursor_of_the_wrong_type_for_the_sort_is_a_validation_error(organization, order, value):
    f.LeadFactory(organization=organization)
    with pytest.raises(ValidationError):
        paginate(Lead.objects.all(), order=order, cursor=_cursor([value, 1]), limit=10)


def test_a_valid_cursor_from_another_sort_is_still_well_formed(organization):
    lead = f.LeadFactory(organization=organization)
    page = paginate(Lead.objects.all(), order="name_key", cursor=_cursor(["zzz", lead.pk + 1]), limit=10)
    assert page.items == []


@pytest.mark.parametrize(
    "cursor", [_cursor(["lots", 1]), _cursor([AWARE, 1]), _cursor([{"dec": "1e99"}, 1]), _cursor([{"dec": "NaN"}, 1])]
)
def test_invalid_cursor_for_a_decimal_sort_is_a_validation_error(organization, cursor):
    with pytest.raises(ValidationError):
        paginate(Deal.objects.all(), order="-amount", cursor=cursor, limit=10)


def test_limit_is_clamped(organization):
    for _ in range(3):
        f.LeadFactory(organization=organization)
    assert len(paginate(Lead.objects.all(), order="-id", cursor=None, limit=0).items) == 3
    assert len(paginate(Lead.objects.all(), order="-id", cursor=None, limit=1).items) == 1


def test_name_order_uses_the_normalized_key(organization):
    for name in ("bob", "Ёжик", "Ann", "ежевика"):
        f.LeadFactory(organization=organization, first_name=name, last_name="")
    page = paginate(Lead.objects.all(), order="name_key", cursor=None, limit=10)
    assert [lead.name_key for lead in page.items] == sorted(search_key(n) for n in ("bob", "Ёжик", "Ann", "ежевика"))
