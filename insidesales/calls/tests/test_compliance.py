"""The do-not-call and calling-window check: examples, and properties over random leads, zones and clocks."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import holidays
import phonenumbers
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

from insidesales.calls.compliance import WINDOW_REASONS, Reason, check_call, lead_time_zones
from insidesales.calls.dnc import normalize_for_dnc
from insidesales.calls.windows import CallingWindow, WindowRules, country_zones, zone_country

NO_DNC: frozenset[str] = frozenset()
NEW_YORK_LANDLINE = "+12125550123"  # area code 212: America/New_York only
RU_MOBILE = "+79161234567"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def check(now: str | datetime, *, phone=NEW_YORK_LANDLINE, country="US", zone="", rules=None, dnc=NO_DNC, **extra):
    return check_call(
        lead_phone=phone,
        lead_country=country,
        lead_time_zone=zone,
        now_utc=at(now) if isinstance(now, str) else now,
        rules=rules or WindowRules(),
        dnc=dnc,
        **extra,
    )


# ---- examples


def test_default_window_is_eight_to_nine_in_the_leads_zone():
    # 2026-06-10 is a Wednesday; New York is UTC-4 in June.
    assert not check("2026-06-10 11:59").allowed
    assert check("2026-06-10 11:59").next_allowed_at == at("2026-06-10 12:00")
    assert check("2026-06-10 12:00").allowed
    assert check("2026-06-11 00:59").allowed
    refused = check("2026-06-11 01:00")
    assert refused.reason == Reason.OUTSIDE_WINDOW
    assert "21:00 in America/New_York" in str(refused.message)
    assert refused.next_allowed_at == at("2026-06-11 12:00")


def test_window_start_in_the_skipped_hour_opens_when_the_clock_jumps():
    # New York skips 02:00–03:00 on 2026-03-08: a 02:30 start opens at 03:00 EDT (07:00 UTC).
    rules = WindowRules(default=(CallingWindow(time(2, 30), time(21)),))
    refused = check("2026-03-08 06:59:59", rules=rules)
    assert refused.next_allowed_at == at("2026-03-08 07:00")
    assert check("2026-03-08 07:00", rules=rules).allowed


def test_window_end_in_the_skipped_hour_closes_when_the_clock_jumps():
    rules = WindowRules(default=(CallingWindow(time(0), time(2, 30)),))
    assert check("2026-03-08 06:59:59", rules=rules).allowed  # 01:59:59 EST
    refused = check("2026-03-08 07:00", rules=rules)  # 03:00 EDT
    assert refused.reason == Reason.OUTSIDE_WINDOW
    assert refused.next_allowed_at == at("2026-03-09 04:00")  # midnight EDT


def test_repeated_hour_is_inside_the_window_both_times():
    # New York repeats 01:00–02:00 on 2026-11-01 (05:00–06:00 UTC as EDT, 06:00–07:00 as EST).
    rules = WindowRules(default=(CallingWindow(time(0), time(1, 30)),))
    assert check("2026-11-01 05:29", rules=rules).allowed
    assert check("2026-11-01 05:30", rules=rules).next_allowed_at == at("2026-11-01 06:00")
    assert check("2026-11-01 06:29", rules=rules).allowed
    assert check("2026-11-01 06:30", rules=rules).next_allowed_at == at("2026-11-02 05:00")


def test_window_past_midnight_belongs_to_the_day_it_opens():
    friday_night = CallingWindow(time(22), time(1), frozenset({4}))
    rules = WindowRules(default=(friday_night,))
    assert check("2026-06-13 04:30", rules=rules).allowed  # Saturday 00:30 New York
    assert check("2026-06-14 04:30", rules=rules).next_allowed_at == at("2026-06-20 02:00")


def test_public_holiday_and_blocked_date_close_the_whole_local_day():
    rules = WindowRules(public_holidays=True, blocked_dates=frozenset({date(2026, 12, 28)}))
    christmas = check("2026-12-25 15:00", rules=rules)
    assert christmas.reason == Reason.HOLIDAY
    assert "Christmas" in str(christmas.message)
    assert christmas.next_allowed_at == at("2026-12-26 13:00")
    blocked = check("2026-12-28 15:00", rules=rules)
    assert blocked.reason == Reason.BLOCKED_DATE
    assert blocked.next_allowed_at == at("2026-12-29 13:00")
    assert check("2026-12-25 15:00").allowed  # holidays are the organization's choice


def test_most_specific_rule_wins():
    rules = WindowRules(
        countries={"US": (CallingWindow(time(9), time(20)),)},
        zones={"America/Chicago": (CallingWindow(time(10), time(18)),)},
    )
    assert check("2026-06-10 12:30", rules=rules).next_allowed_at == at("2026-06-10 13:00")  # 9:00 New York
    chicago = check("2026-06-10 14:30", phone="+13125550123", rules=rules)  # 09:30 Chicago
    assert chicago.time_zones == ("America/Chicago",)
    assert chicago.next_allowed_at == at("2026-06-10 15:00")
    assert check("2026-06-10 12:30", phone="+4930123456", country="DE", rules=rules).allowed  # 14:30 Berlin


def test_mobile_number_must_be_inside_the_window_in_every_zone_of_its_country():
    zones = lead_time_zones(phone=RU_MOBILE, country="RU", time_zone="")
    assert {"Europe/Kaliningrad", "Europe/Moscow", "Asia/Vladivostok", "Asia/Kamchatka"} <= set(zones)
    # 08:00 in Kaliningrad (UTC+2) is 06:00 UTC; 21:00 in Kamchatka (UTC+12) is 09:00 UTC.
    assert check("2026-06-10 05:59", phone=RU_MOBILE, country="RU").next_allowed_at == at("2026-06-10 06:00")
    assert check("2026-06-10 08:59", phone=RU_MOBILE, country="RU").allowed
    assert check("2026-06-10 09:00", phone=RU_MOBILE, country="RU").next_allowed_at == at("2026-06-11 06:00")


def test_stored_zone_is_used_unless_it_is_only_the_automatic_guess():
    # Moscow is what the application fills in for any Russian mobile: not knowledge.
    assert len(lead_time_zones(phone=RU_MOBILE, country="RU", time_zone="Europe/Moscow")) > 10
    confirmed = lead_time_zones(phone=RU_MOBILE, country="RU", time_zone="Europe/Moscow", time_zone_confirmed=True)
    assert confirmed == ("Europe/Moscow",)
    assert lead_time_zones(phone=RU_MOBILE, country="RU", time_zone="Asia/Omsk") == ("Asia/Omsk",)
    assert check("2026-06-10 12:00", phone=RU_MOBILE, country="RU", zone="Asia/Omsk").allowed  # 18:00 Omsk


def test_stored_zone_that_may_be_a_guess_is_checked_with_the_numbers_zones():
    # New York is the guess for a US lead without a phone; with a Los Angeles number it may be either.
    zones = lead_time_zones(phone="+14155552671", country="US", time_zone="America/New_York")
    assert zones == ("America/Los_Angeles", "America/New_York")
    assert check("2026-06-10 12:30", phone="+14155552671", zone="America/New_York").next_allowed_at == at(
        "2026-06-10 15:00"
    )  # 08:00 in Los Angeles
    evening = check("2026-06-11 01:30", phone="+14155552671", zone="America/New_York")
    assert "21:30 in America/New_York" in str(evening.message)  # though only 18:30 in Los Angeles
    assert evening.next_allowed_at == at("2026-06-11 15:00")


def test_zone_falls_back_to_the_country_and_never_to_a_guess():
    assert lead_time_zones(phone="", country="DE", time_zone="") == ("Europe/Berlin", "Europe/Busingen")
    assert check("2026-06-10 12:00", phone="+4930123456", country="", zone="").time_zones == ("Europe/Berlin",)
    assert check("2026-06-10 12:00", phone="+4930123456", country="", zone="Not/A_Zone").allowed
    # A number of an international service (+882) has no country and no zone.
    unknown = check("2026-06-10 12:00", phone="+88213612345", country="", zone="")
    assert unknown.reason == Reason.UNKNOWN_TIME_ZONE
    assert not unknown.allowed and unknown.next_allowed_at is None


def test_no_common_window_is_reported_without_a_retry_time():
    # A US non-geographic number may be in Honolulu or New York: a 2-hour window never overlaps.
    rules = WindowRules(default=(CallingWindow(time(9), time(11)),))
    decision = check("2026-06-10 12:00", phone="+15002345678", rules=rules)
    assert "Pacific/Honolulu" in decision.time_zones and "America/New_York" in decision.time_zones
    assert decision.reason == Reason.NO_WINDOW
    assert decision.next_allowed_at is None
    assert check("2026-06-10 12:00", rules=WindowRules(default=())).reason == Reason.NO_WINDOW


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+1 (415) 555-2671", "DE"),
        ("415.555.2671", "US"),
        ("1-415-555-2671", "US"),
        ("011 1 415 555 2671", "US"),
        ("001 415 555 2671", "DE"),
        ("+14155552671", None),
    ],
)
def test_one_number_however_it_is_typed(raw, region):
    assert normalize_for_dnc(raw, region) == "+14155552671"


def test_international_prefix_00_is_read_even_in_the_us():
    assert normalize_for_dnc("0044 20 7946 0958", "GB") == "+442079460958"
    assert normalize_for_dnc("0044 20 7946 0958", "US") == "+442079460958"
    assert normalize_for_dnc("020 7946 0958", "GB") == "+442079460958"
    assert normalize_for_dnc("8 (916) 123-45-67", "RU") == RU_MOBILE


@pytest.mark.parametrize("raw", ["", "   ", "hello", "12", "+", "call me maybe", "+999 123"])
def test_what_is_not_a_number_normalizes_to_none(raw):
    assert normalize_for_dnc(raw, "US") is None


def test_do_not_call_wins_over_everything_and_never_offers_a_retry():
    for dnc in ({"+12125550123"}, lambda number: number == "+12125550123"):
        decision = check("2026-06-10 15:00", phone="(212) 555-0123", dnc=dnc)
        assert decision.reason == Reason.DO_NOT_CALL
        assert not decision.allowed and decision.next_allowed_at is None
    assert check("2026-06-10 15:00", phone="(212) 555-0123", dnc={"+12125550124"}).allowed
    assert check("2026-06-10 15:00", phone="not a phone").reason == Reason.INVALID_NUMBER


def test_rules_round_trip_through_json():
    rules = WindowRules(
        default=(
            CallingWindow(time(9), time(20), frozenset(range(5))),
            CallingWindow(time(12), time(18), frozenset({6})),
        ),
        countries={"gb": (CallingWindow(time(8), time(21)),)},
        zones={"America/Chicago": ()},
        blocked_dates=frozenset({date(2026, 12, 31)}),
        public_holidays=True,
    )
    assert rules.countries.keys() == {"GB"}
    assert WindowRules.from_json(rules.to_json()) == rules
    import json

    assert WindowRules.from_json(json.dumps(rules.to_json())) == rules
    assert WindowRules.from_json({}) == WindowRules()


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"default": [{"start": "25:00", "end": "21:00"}]},
        {"default": [{"start": "08:00"}]},
        {"default": [{"start": "08:00", "end": "21:00", "weekdays": ["someday"]}]},
        {"default": {"start": "08:00", "end": "21:00"}},
        {"zones": {"Mars/Olympus": []}},
        {"blocked_dates": ["tomorrow"]},
    ],
)
def test_malformed_rules_are_rejected(data):
    with pytest.raises(ValueError):
        WindowRules.from_json(data)


# ---- properties: no call outside the window or to a do-not-call number, and the retry time is exact

# (zone, UTC instant of a DST change) in 2026 and 2027; test_transition_fixtures_are_real_changes checks them.
TRANSITIONS = [
    ("America/New_York", "2026-03-08 07:00"),
    ("America/New_York", "2026-11-01 06:00"),
    ("America/New_York", "2027-03-14 07:00"),
    ("America/New_York", "2027-11-07 06:00"),
    ("Europe/London", "2026-03-29 01:00"),
    ("Europe/London", "2026-10-25 01:00"),
    ("Europe/London", "2027-03-28 01:00"),
    ("Europe/London", "2027-10-31 01:00"),
    ("Australia/Sydney", "2026-04-04 16:00"),
    ("Australia/Sydney", "2026-10-03 16:00"),
    ("Australia/Sydney", "2027-04-03 16:00"),
    ("Australia/Sydney", "2027-10-02 16:00"),
]

PHONES = [
    "+12125550123",  # New York
    "+13125550123",  # Chicago
    "+14155552671",  # Los Angeles
    "+18085550123",  # Honolulu
    "+15002345678",  # US non-geographic: anywhere in the US
    "+14165550123",  # Toronto
    RU_MOBILE,  # anywhere in Russia: 11 zones
    "+74232123456",  # Vladivostok landline
    "+74951234567",  # Moscow landline
    "+447911123456",  # a Guernsey mobile (+44)
    "+447400123456",  # UK mobile
    "+442079460958",  # London
    "+4915112345678",  # German mobile
    "+61412345678",  # Australian mobile: Perth to Lord Howe
    "+61291234567",  # Sydney
    "+61891234567",  # Perth
    "+919876543210",  # India (UTC+5:30)
    "+9779841234567",  # Nepal (UTC+5:45)
    "+88213612345",  # no country, no zone
]
STORED_ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Moscow",
    "Asia/Omsk",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute DST change
    "Asia/Kathmandu",
    "Not/A_Zone",
]


def _times():
    hours = st.integers(0, 23)
    minutes = st.sampled_from([0, 0, 30, 15, 45, 59, 1])
    return st.builds(time, hours, minutes)


windows = st.builds(
    CallingWindow,
    start=_times(),
    end=_times(),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1) | st.just(frozenset(range(7))),
)
schedules = st.lists(windows, max_size=3).map(tuple) | st.just((CallingWindow(time(8), time(21)),))
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.builds(
        lambda change, seconds: at(change[1]) + timedelta(seconds=seconds),
        st.sampled_from(TRANSITIONS),
        st.integers(-7200, 7200),
    ),
    st.builds(  # around public holidays of several countries (Russia's New Year week, Christmas, 4 July, ANZAC Day)
        lambda day, hours: datetime.combine(day, time(), tzinfo=UTC) + timedelta(hours=hours),
        st.sampled_from([date(2026, 1, 1), date(2027, 1, 5), date(2026, 12, 25), date(2026, 7, 4), date(2027, 4, 25)]),
        st.floats(-30, 30),
    ),
)


@st.composite
def leads_and_rules(draw):
    phone = draw(st.sampled_from(PHONES))
    region = phonenumbers.region_code_for_number(phonenumbers.parse(phone)) or ""
    region = "" if region == "001" else region  # an international service's number: no country
    country = draw(st.sampled_from([region, region, "", "DE", "US"]))
    if draw(st.booleans()) and region:  # the form a person typed, read in the lead's country
        phone = phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL)
        country = region
    zone = draw(st.sampled_from(["", "", *STORED_ZONES]))
    now = draw(instants)
    local_today = now.date()
    rules = WindowRules(
        default=draw(schedules),
        countries=draw(st.dictionaries(st.sampled_from(["US", "RU", "GB", "AU"]), schedules, max_size=2)),
        zones=draw(st.dictionaries(st.sampled_from(["America/New_York", "Europe/Moscow"]), schedules, max_size=1)),
        blocked_dates=frozenset(
            local_today + timedelta(days=d) for d in draw(st.lists(st.integers(-1, 6), max_size=3))
        ),
        public_holidays=draw(st.booleans()),
    )
    e164 = normalize_for_dnc(phone, country or None)
    dnc = {e164, "+10000000000"} if e164 and draw(st.integers(0, 9)) == 7 else {"+442079460959"}
    return {"phone": phone, "country": country, "zone": zone, "now": now, "rules": rules, "dnc": dnc}


def open_in_zone(rules: WindowRules, zone: str, country: str, instant: datetime) -> bool:
    """The window read off the local wall clock, independently of the implementation's UTC arithmetic."""
    local = instant.astimezone(zoneinfo.ZoneInfo(zone))
    today, wall = local.date(), local.time().replace(tzinfo=None)
    country = zone_country(zone) or country

    def closed(day: date) -> bool:
        return day in rules.blocked_dates or (
            rules.public_holidays and bool(country) and day in holidays.country_holidays(country)
        )

    if closed(today):
        return False
    for window in rules.schedule_for(zone, country):
        overnight = window.end <= window.start
        if today.weekday() in window.weekdays and window.start <= wall and (overnight or wall < window.end):
            return True
        yesterday = today - timedelta(days=1)
        if overnight and wall < window.end and yesterday.weekday() in window.weekdays and not closed(yesterday):
            return True
    return False


def open_everywhere(rules, zones, country, instant) -> bool:
    return all(open_in_zone(rules, zone, country, instant) for zone in zones)


def number_zones_in_its_country(e164: str) -> set[str]:
    """Where phonenumbers places a number, limited to its own country (+7 also covers Kazakhstan)."""
    number = phonenumbers.parse(e164)
    region = phonenumbers.region_code_for_number(number)
    return {z for z in phone_timezone.time_zones_for_number(number) if zone_country(z) == region}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=leads_and_rules(), offsets=st.lists(st.floats(0, 1, exclude_max=True), min_size=20, max_size=20))
def test_no_call_outside_the_window_or_to_a_do_not_call_number(case, offsets):
    rules, now, country = case["rules"], case["now"], case["country"]
    decision = check(now, phone=case["phone"], country=country, zone=case["zone"], rules=rules, dnc=case["dnc"])
    e164 = normalize_for_dnc(case["phone"], country or None)
    zones = decision.time_zones
    event(str(decision.reason))
    assert e164 is not None

    if e164 in case["dnc"]:
        assert decision.reason == Reason.DO_NOT_CALL and decision.next_allowed_at is None
        return
    if case["zone"] in ("", "Not/A_Zone", "Europe/Moscow") and decision.reason != Reason.UNKNOWN_TIME_ZONE:
        # No stored zone to trust (Moscow is the automatic guess for Russian mobiles; elsewhere it is a
        # real choice and then the only zone): every zone the number may be in is checked.
        if not (case["zone"] == "Europe/Moscow" and zones == ("Europe/Moscow",)):
            assert number_zones_in_its_country(e164) <= set(zones)
    if case["zone"] != "Not/A_Zone" and decision.reason != Reason.UNKNOWN_TIME_ZONE:
        assert case["zone"] in zones or not case["zone"]
    if decision.reason == Reason.UNKNOWN_TIME_ZONE:
        assert not decision.allowed and not zones
        assert not (country and country_zones(country)) and phonenumbers.parse(e164).country_code == 882
        return

    if decision.allowed:
        assert open_everywhere(rules, zones, country, now)
        return
    assert not open_everywhere(rules, zones, country, now)
    if decision.reason == Reason.NO_WINDOW:
        assert decision.next_allowed_at is None
        for offset in offsets:
            assert not open_everywhere(rules, zones, country, now + timedelta(days=8) * offset)
        return

    assert decision.reason in WINDOW_REASONS
    retry = decision.next_allowed_at
    assert retry is not None and retry > now
    assert open_everywhere(rules, zones, country, retry)
    later = check(retry, phone=case["phone"], country=country, zone=case["zone"], rules=rules, dnc=case["dnc"])
    assert later.allowed, later.message
    if retry - timedelta(seconds=1) >= now:
        assert not open_everywhere(rules, zones, country, retry - timedelta(seconds=1))
    gap = retry - now
    samples = [now + gap * offset for offset in offsets]
    samples += [now + timedelta(minutes=10 * k) for k in range(min(300, int(gap / timedelta(minutes=10))))]
    for instant in (s for s in samples if s < retry):  # gap * offset may round up to gap
        assert not open_everywhere(rules, zones, country, instant), (instant, case, decision)


@pytest.mark.parametrize(("zone", "change"), TRANSITIONS)
def test_transition_fixtures_are_real_changes(zone, change):
    tz = zoneinfo.ZoneInfo(zone)
    instant = at(change)
    assert (instant - timedelta(seconds=1)).astimezone(tz).utcoffset() != instant.astimezone(tz).utcoffset()


def test_an_organization_may_trust_stored_zones_that_repeat_the_numbers_guess():
    from insidesales.calls.compliance import WindowRules, check_call

    noon_utc = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 15:00 in Moscow, midnight in Kamchatka
    strict = WindowRules.from_json({"default": [{"start": "08:00", "end": "21:00"}]})
    trusting = WindowRules.from_json({"default": [{"start": "08:00", "end": "21:00"}], "trust_stored_zones": True})
    assert trusting.to_json()["trust_stored_zones"] is True
    lead = {"lead_phone": "+79165550105", "lead_country": "RU", "lead_time_zone": "Europe/Moscow", "dnc": set()}
    refused = check_call(now_utc=noon_utc, rules=strict, **lead)
    assert not refused.allowed and "Asia/Kamchatka" in refused.time_zones
    allowed = check_call(now_utc=noon_utc, rules=trusting, **lead)
    assert allowed.allowed and allowed.time_zones == ("Europe/Moscow",)
