"""Phone numbers: parse what people type into E.164, derive country and time zone, build search keys."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as phone_timezone

# Regions tried, after the organization's own, when a number typed in search has no country code.
FALLBACK_REGIONS = ("US", "RU", "GB", "DE", "FR", "KZ", "UA", "BY", "IN", "CA")
# Where a number (e.g. a mobile) spans several zones, the zone most of the country lives in.
MAIN_ZONE = {
    "RU": "Europe/Moscow",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "KZ": "Asia/Almaty",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
    "ID": "Asia/Jakarta",
    "CN": "Asia/Shanghai",
    "UA": "Europe/Kyiv",
    "GB": "Europe/London",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "IN": "Asia/Kolkata",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago",
}
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True)
class ParsedPhone:
    e164: str
    country: str
    time_zone: str


def parse_phone(raw: str, region: str) -> ParsedPhone | None:
    """Return the E.164 form of `raw` read in `region`, or None when it is not a possible number."""
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


def looks_like_phone(text: str) -> bool:
    """True when a search query is mostly digits and phone punctuation."""
    stripped = re.sub(r"[\s().+\-]", "", text or "")
    return len(stripped) >= 5 and stripped.isdigit()


def search_candidates(text: str, region: str) -> list[str]:
    """Every E.164 number `text` could mean: in the org's region, as international, in common regions."""
    found: list[str] = []
    for index, reg in enumerate((region, *FALLBACK_REGIONS)):
        parsed = parse_phone(text, reg)
        if index and parsed and not phonenumbers.is_valid_number(phonenumbers.parse(parsed.e164)):
            continue
        if parsed and parsed.e164 not in found:
            found.append(parsed.e164)
    digits = "".join(_DIGITS.findall(text))
    if digits and not text.strip().startswith("+"):
        parsed = parse_phone("+" + digits, region)
        if parsed and parsed.e164 not in found:
            found.append(parsed.e164)
    return found


def _from_e164(e164: str) -> phonenumbers.PhoneNumber | None:
    """The PhoneNumber of a stored E.164 string, built directly: `phonenumbers.parse` runs a dozen
    regular expressions meant for what people type, which a list of 50 numbers pays 50 times.
    None when the text is not plain `+<digits>` of a plausible length, or when parse() could read it
    differently (the caller then parses); otherwise the number equals what parse() returns."""
    digits = e164[1:]
    if not e164.startswith("+") or not digits.isdigit() or digits[0] == "0" or not 4 <= len(digits) <= 18:
        return None
    for size in (1, 2, 3):  # country calling codes are a prefix code: the first known one is it
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) < 2:
        return None
    if national[0] == "0" or _national_prefix(code).match(national):
        # A leading zero (Italy) or the country's national prefix (8 in Russia) may be kept or
        # stripped by parse() depending on per-country rules: such numbers take the slow path.
        return None
    return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))


_NEVER = re.compile(r"(?!)")


@functools.cache
def _national_prefix(code: int) -> re.Pattern:
    """What parse() would try to strip from a national number of calling code `code`."""
    region = phonenumbers.region_code_for_country_code(code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else _NEVER


def format_phone(e164: str, region: str = "US") -> str:
    """A readable form: national for the viewer's region, international otherwise."""
    if not e164:
        return ""
    number = _from_e164(e164)
    if number is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return e164
    # region_code_for_number matches patterns when regions share a calling code (+1, +7, +44):
    # only worth it when the calling code is the viewer's.
    home = number.country_code == phonenumbers.country_code_for_region(region)
    if home and phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def country_time_zone(country: str) -> str:
    """The main time zone of a country, for records with a country but no phone."""
    country = (country or "").upper()
    if country in MAIN_ZONE:
        return MAIN_ZONE[country]
    code = phonenumbers.country_code_for_region(country) if country else 0
    if not code:
        return ""
    example = phonenumbers.example_number(country)
    zones = [z for z in phone_timezone.time_zones_for_number(example) if z != "Etc/Unknown"] if example else []
    return zones[0] if zones else ""
