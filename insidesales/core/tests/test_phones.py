"""Phone numbers: what people type becomes E.164 with a country and time zone; records keep what was typed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidesales.core.phones import (
    country_time_zone,
    format_phone,
    looks_like_phone,
    parse_phone,
    search_candidates,
)
from insidesales.core.text import normalize_email, search_key


@pytest.mark.parametrize(
    ("raw", "region", "e164", "country", "time_zone"),
    [
        ("+7 916 123-45-67", "RU", "+79161234567", "RU", "Europe/Moscow"),
        ("8 (916) 1234567", "RU", "+79161234567", "RU", "Europe/Moscow"),
        ("+7 916 123-45-67", "US", "+79161234567", "RU", "Europe/Moscow"),
        ("(343) 123-45-67", "RU", "+73431234567", "RU", "Asia/Yekaterinburg"),
        ("(415) 555-0100", "US", "+14155550100", "US", "America/Los_Angeles"),
        ("415.555.0100", "US", "+14155550100", "US", "America/Los_Angeles"),
        ("+44 20 7946 0958", "US", "+442079460958", "GB", "Europe/London"),
    ],
)
def test_parse_phone_gives_e164_country_and_zone(raw, region, e164, country, time_zone):
    parsed = parse_phone(raw, region)
    assert parsed is not None
    assert (parsed.e164, parsed.country, parsed.time_zone) == (e164, country, time_zone)


@pytest.mark.parametrize("raw", ["", "   ", "call me", "12", "+1 23", "1234"])
def test_not_a_phone_is_none(raw):
    assert parse_phone(raw, "US") is None


def test_national_number_depends_on_the_region():
    assert parse_phone("8 (916) 1234567", "RU").e164 == "+79161234567"
    # The same digits read in the US are not a Russian number.
    us = parse_phone("8 (916) 1234567", "US")
    assert us is None or us.e164 != "+79161234567"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+7 (916) 123-45-67", True), ("415 555 0100", True), ("Ivan", False), ("12-34", False), ("ivan@x.ru", False)],
)
def test_looks_like_phone(text, expected):
    assert looks_like_phone(text) is expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("8 916 123 45 67", "RU", "+79161234567"),
        ("9161234567", "US", "+79161234567"),  # a Russian mobile typed without a prefix, searched in a US org
        ("79161234567", "US", "+79161234567"),
        ("(415) 555-0100", "RU", "+14155550100"),
        ("+1 415 555 0100", "RU", "+14155550100"),
    ],
)
def test_search_candidates_cover_other_formats(text, region, expected):
    assert expected in search_candidates(text, region)


def test_format_phone_is_national_at_home_and_international_abroad():
    assert format_phone("+14155550100", "US") == "(415) 555-0100"
    assert format_phone("+79161234567", "US") == "+7 916 123-45-67"
    assert format_phone("+79161234567", "RU") == "8 (916) 123-45-67"
    assert format_phone("", "US") == ""
    assert format_phone("garbage", "US") == "garbage"


@pytest.mark.parametrize(
    ("country", "zone"), [("RU", "Europe/Moscow"), ("US", "America/New_York"), ("ru", "Europe/Moscow"), ("", "")]
)
def test_country_time_zone(country, zone):
    assert country_time_zone(country) == zone


def test_country_time_zone_for_a_country_not_in_the_table():
    assert country_time_zone("JP") == "Asia/Tokyo"


def test_search_key_folds_case_accents_yo_and_spaces():
    assert search_key("  Ёлкина ", "АННА") == "елкина анна"
    assert search_key("ＡＣＭＥ", "Inc") == "acme inc"  # NFKC: full-width letters
    assert search_key("", "Smith") == "smith"


def test_normalize_email():
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalize_email(None) == ""


def _format_by_parsing(e164: str, region: str) -> str:
    """format_phone as it was written first: parse the stored text, then format."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@pytest.mark.parametrize(
    "e164",
    ["+14155550100", "+14165550100", "+79161234567", "+77011234567", "+390612345678", "+442079460123", "+78001234567"],
)
@pytest.mark.parametrize("region", ["US", "CA", "RU", "KZ", "IT", "GB"])
def test_format_phone_reads_stored_numbers_exactly_as_parse_would(e164, region):
    assert format_phone(e164, region) == _format_by_parsing(e164, region)


@settings(max_examples=3000, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=2, max_size=19), region=st.sampled_from(["US", "RU", "IT", "GB"]))
def test_the_direct_e164_path_never_disagrees_with_parse(digits, region):
    """Numbers built straight from "+<digits>" (the fast path) must equal what phonenumbers.parse makes
    of them, including national prefixes (8 in Russia) and Italian leading zeros."""
    import phonenumbers

    from insidesales.core.phones import _from_e164

    text = "+" + digits
    direct = _from_e164(text)
    if direct is not None:
        assert direct == phonenumbers.parse(text, None)
    assert format_phone(text, region) == _format_by_parsing(text, region)


def _example_numbers():
    """An example number of every type of every region phonenumbers knows (the metadata's own)."""
    import phonenumbers

    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield region, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            yield "001", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_the_compiled_plan_formats_every_regions_examples_as_phonenumbers():
    """Every example number, and its neighbours with other last digits, read by viewers of its own
    region, of each region sharing its calling code and of a few others."""
    import random

    import phonenumbers

    rng = random.Random(20261129)
    checked = 0
    for region, e164 in _example_numbers():
        code = phonenumbers.parse(e164).country_code
        # Viewers are organizations' regions: countries, never the non-geographic "001".
        viewers = {region, "US", "RU", "GB", *phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())} - {"001"}
        variants = [e164] + [e164[:-3] + f"{rng.randrange(1000):03d}" for _ in range(3)]
        variants += [e164[:-1], e164 + str(rng.randrange(10))]  # a digit short and a digit long
        for text in variants:
            for viewer in viewers:
                assert format_phone(text, viewer) == _format_by_parsing(text, viewer), (text, viewer)
                checked += 1
    assert checked > 20_000


@settings(max_examples=3000, deadline=None)
@given(
    code=st.sampled_from(["1", "7", "44", "39", "61", "49", "33", "380", "998", "800", "882"]),
    digits=st.text(alphabet="0123456789", min_size=4, max_size=13),
    region=st.sampled_from(["US", "CA", "JM", "PR", "RU", "KZ", "GB", "GG", "JE", "IT", "VA", "AU", "CX", "DE"]),
)
def test_the_compiled_plan_agrees_on_any_digits_of_shared_calling_codes(code, digits, region):
    text = f"+{code}{digits}"
    assert format_phone(text, region) == _format_by_parsing(text, region)


def _parse_by_phonenumbers(raw: str, region: str):
    """parse_phone as it was written first: phonenumbers' region and time-zone functions."""
    import phonenumbers
    from phonenumbers import timezone as phone_timezone

    from insidesales.core.phones import _DIGITS, MAIN_ZONE, ParsedPhone

    text = (raw or "").strip()
    if not text or len(_DIGITS.findall(text)) < 5:
        return None
    try:
        number = phonenumbers.parse(text, (region or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    country = phonenumbers.region_code_for_number(number) or ""
    if country == "001":
        country = ""
    zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    return ParsedPhone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=country,
        time_zone=zones[0] if len(zones) == 1 else (MAIN_ZONE.get(country) or (zones[0] if zones else "")),
    )


def test_parse_phone_reads_every_regions_examples_as_phonenumbers_does():
    """Every example number in national, international and E.164 writing, with neighbours, read in its
    own region and a few others: same E.164, country and time zone as phonenumbers' own functions."""
    import random

    import phonenumbers

    from insidesales.core.phones import parse_phone

    rng = random.Random(11)
    checked = 0
    for region, e164 in _example_numbers():
        for text in (e164, e164[:-2] + f"{rng.randrange(100):02d}", e164[:-1]):
            try:
                number = phonenumbers.parse(text)
            except phonenumbers.NumberParseException:
                continue
            writings = {
                text,
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
            }
            for writing in writings:
                for reader in {region, "US", "RU", "GB"} - {"001"}:
                    assert parse_phone(writing, reader) == _parse_by_phonenumbers(writing, reader), (writing, reader)
                    checked += 1
    assert checked > 20_000


@settings(max_examples=2000, deadline=None)
@given(
    text=st.text(alphabet="0123456789 +-()", min_size=5, max_size=20),
    region=st.sampled_from(["US", "CA", "RU", "KZ", "GB", "IT", "DE", "AU", "FR", "IN", "BR"]),
)
def test_parse_phone_agrees_with_phonenumbers_on_anything_typed(text, region):
    from insidesales.core.phones import parse_phone

    assert parse_phone(text, region) == _parse_by_phonenumbers(text, region)
