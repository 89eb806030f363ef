"""DateFormatter writes exactly what Django's dateformat.format writes, in both languages."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import dateformat, translation
from django.utils.formats import get_format
from hypothesis import given, settings
from hypothesis import strategies as st

from insidesales.core import dates
from insidesales.core.dates import DateFormatter

ZONES = [zoneinfo.ZoneInfo(name) for name in ("UTC", "Europe/Moscow", "America/New_York", "Asia/Kolkata")]
NAMED = ("DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT", "TIME_FORMAT")
# Every format character Django knows, escapes and literal text: one formatter, many values.
EVERYTHING = r"a A b c d D e E f F g G h H i I j l L m M n N o O P r s S t T u U w W y Y z Z \Y\e\s \\ — at"

datetimes = st.datetimes(
    min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2200, 12, 31), timezones=st.sampled_from(ZONES)
)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(datetimes, min_size=1, max_size=30), language=st.sampled_from(["en", "ru"]))
def test_datetimes_match_django_in_every_named_format(values, language):
    with translation.override(language):
        for name in NAMED:
            format_string = get_format(name)
            formatter = DateFormatter(format_string)  # one per page; the memo is shared across pages
            for value in values:
                assert formatter(value) == dateformat.format(value, format_string), (name, value)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(datetimes, min_size=1, max_size=20), language=st.sampled_from(["en", "ru"]))
def test_every_format_character_matches_django(values, language):
    with translation.override(language):
        formatter = DateFormatter(EVERYTHING)
        for value in values + [value.replace(tzinfo=None) for value in values]:
            assert formatter(value) == dateformat.format(value, EVERYTHING), value


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.dates(), min_size=1, max_size=20), language=st.sampled_from(["en", "ru"]))
def test_dates_match_django(values, language):
    with translation.override(language):
        for format_string in (get_format("DATE_FORMAT"), get_format("SHORT_DATE_FORMAT"), "D, j E Y (W, o, t, L, z)"):
            formatter = DateFormatter(format_string)
            for value in values:
                assert formatter(value) == dateformat.format(value, format_string)


def test_same_date_in_two_languages_is_not_mixed_up():
    """The shared memo belongs to one language: formatters made under another language do not see it."""
    value = dt.datetime(2026, 11, 28, 18, 38, tzinfo=zoneinfo.ZoneInfo("Europe/Moscow"))
    with translation.override("en"):
        english = DateFormatter("N j, Y, P")(value)
    with translation.override("ru"):
        russian = DateFormatter("N j, Y, P")(value)
    assert english == "Nov. 28, 2026, 6:38 p.m."
    assert russian != english and "2026" in russian


def test_time_characters_on_a_date_are_refused_like_django():
    with pytest.raises(TypeError) as django_error:
        dateformat.format(dt.date(2026, 1, 2), "Y H:i")
    with pytest.raises(TypeError) as ours:
        DateFormatter("Y H:i")(dt.date(2026, 1, 2))
    assert str(ours.value) == str(django_error.value)


def test_times_sharing_a_minute_share_the_memo_but_not_the_seconds():
    zone = zoneinfo.ZoneInfo("UTC")
    first = dt.datetime(2026, 11, 28, 18, 38, 5, tzinfo=zone)
    second = first.replace(second=59, microsecond=7)
    with translation.override("en"):
        assert DateFormatter("P")(first) == DateFormatter("P")(second) == "6:38 p.m."
        assert DateFormatter("H:i:s.u")(first) == "18:38:05.000000"
        assert DateFormatter("H:i:s.u")(second) == "18:38:59.000007"


def test_the_shared_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(dates, "MEMO_LIMIT", 10)
    zone = zoneinfo.ZoneInfo("UTC")
    with translation.override("en"):
        for day in range(1, 29):
            value = dt.datetime(2026, 2, day, 1, day, tzinfo=zone)
            assert DateFormatter("N j, Y, P")(value) == dateformat.format(value, "N j, Y, P")
        # cleared when a formatter is made past the limit; one value adds at most four entries (N, j, Y, P)
        assert len(dates._MEMOS[("en", "N j, Y, P")]) <= 10 + 1 + 4
