"""Phone numbers: parse what people type into E.164, derive country and time zone, build search keys."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType
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
    plan = _plan(number.country_code)
    if plan is not None:  # the region and the time zones from the compiled plan (an import parses millions)
        nsn = phonenumbers.national_significant_number(number)
        found = plan.region_of(nsn)
        country = found or ""
        all_zones = plan.time_zones(number, nsn, found)
    else:
        country = phonenumbers.region_code_for_number(number) or ""
        all_zones = phone_timezone.time_zones_for_number(number)
    if country == "001":
        country = ""
    zones = [z for z in all_zones if z != "Etc/Unknown"]
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
    if number is not None:
        plan = _plan(number.country_code)
        if plan is not None:
            return plan.format(str(number.national_number), region)
    if number is None:
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return e164
    return _format_slowly(number, region)


def _format_slowly(number: phonenumbers.PhoneNumber, region: str) -> str:
    """`format_phone` through phonenumbers' own functions (the reference `_Plan` is tested against)."""
    # region_code_for_number matches patterns when regions share a calling code (+1, +7, +44):
    # only worth it when the calling code is the viewer's.
    home = number.country_code == phonenumbers.country_code_for_region(region)
    if home and phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class _Plan:
    """phonenumbers' formatting of one calling code's numbers with its metadata read once.

    `format_number` and `region_code_for_number` look the metadata up and fetch each regular
    expression from a cache on every call, ~20 µs a number here, paid for each phone of a list page.
    This does the same steps in the same order with the patterns compiled up front: which region a
    number of a shared calling code belongs to (leading digits, else the first region where the
    number is of a known type), the first number format whose leading digits and pattern fit, and
    the national prefix rule in national format. Tests compare it with phonenumbers on random and
    example numbers of every region. Numbers with an extension or an Italian leading zero never get
    here (`_from_e164`).
    """

    def __init__(self, code: int) -> None:
        self.code = code
        self.prefix = f"+{code} "
        main = phonenumbers.region_code_for_country_code(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, main.upper())
        self.national = tuple(self._formats(metadata.number_format, national=True))
        self.international = tuple(self._formats(metadata.intl_number_format or metadata.number_format, national=False))
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
        self._types: dict[str, tuple | None] = {}
        self.only_region = regions[0] if len(regions) == 1 else None
        self.regions = tuple(self._region_test(r) for r in regions) if self.only_region is None else ()

    @staticmethod
    def _formats(formats, *, national: bool):
        for number_format in formats:
            patterns = number_format.leading_digits_pattern
            leading = re.compile(patterns[-1]) if patterns else None  # the last is the most detailed
            template = number_format.format
            if national and number_format.national_prefix_formatting_rule:
                template = _FIRST_GROUP.sub(number_format.national_prefix_formatting_rule, template, count=1)
            yield leading, re.compile(number_format.pattern), template

    @staticmethod
    def _region_test(region: str):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            return region, None, None, ()
        if metadata.leading_digits is not None:
            return region, re.compile(metadata.leading_digits), None, ()

        kinds = [
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
            metadata.fixed_line,
        ]
        if not metadata.same_mobile_and_fixed_line_pattern:
            kinds.append(metadata.mobile)  # else mobile is only asked after fixed_line matched
        return region, None, _desc(metadata.general_desc), tuple(d for d in map(_desc, kinds) if d is not None)

    def region_of(self, nsn: str) -> str | None:
        if self.only_region is not None:
            return self.only_region
        size = len(nsn)
        for region, leading, general, kinds in self.regions:
            if leading is not None:
                if leading.match(nsn):
                    return region
            elif general is not None and _fits(general, nsn, size) and any(_fits(k, nsn, size) for k in kinds):
                return region
        return None

    def number_type(self, nsn: str, region: str | None) -> int:
        """phonenumbers.number_type: the type in the metadata of `region`, the one the number belongs
        to (`region_of(nsn)`, which the caller has)."""
        if region is None:
            return PhoneNumberType.UNKNOWN
        kinds = self._types.get(region)
        if kinds is None:
            kinds = self._types[region] = self._type_test(self.code, region)
        if kinds is None:
            return PhoneNumberType.UNKNOWN
        general, ordered, fixed, mobile, same = kinds
        size = len(nsn)
        if not _fits_desc(general, nsn, size):
            return PhoneNumberType.UNKNOWN
        for desc, kind in ordered:
            if _fits_desc(desc, nsn, size):
                return kind
        if _fits_desc(fixed, nsn, size):
            if same or _fits_desc(mobile, nsn, size):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not same and _fits_desc(mobile, nsn, size):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN

    @staticmethod
    def _type_test(code: int, region: str):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
        if metadata is None:
            return None
        ordered = [
            (metadata.premium_rate, PhoneNumberType.PREMIUM_RATE),
            (metadata.toll_free, PhoneNumberType.TOLL_FREE),
            (metadata.shared_cost, PhoneNumberType.SHARED_COST),
            (metadata.voip, PhoneNumberType.VOIP),
            (metadata.personal_number, PhoneNumberType.PERSONAL_NUMBER),
            (metadata.pager, PhoneNumberType.PAGER),
            (metadata.uan, PhoneNumberType.UAN),
            (metadata.voicemail, PhoneNumberType.VOICEMAIL),
        ]
        return (
            _desc(metadata.general_desc),
            tuple((d, kind) for d, kind in ((_desc(desc), kind) for desc, kind in ordered) if d is not None),
            _desc(metadata.fixed_line),
            _desc(metadata.mobile),
            bool(metadata.same_mobile_and_fixed_line_pattern),
        )

    def time_zones(self, number: phonenumbers.PhoneNumber, nsn: str, region: str | None):
        """phonenumbers.timezone.time_zones_for_number, with the number's type from this plan."""
        kind = self.number_type(nsn, region)
        if kind == PhoneNumberType.UNKNOWN:
            return (phone_timezone.UNKNOWN_TIMEZONE,)
        if not phonenumbers.is_number_type_geographical(kind, number.country_code):
            return phone_timezone._country_level_time_zones_for_number(number)
        return phone_timezone.time_zones_for_geographical_number(number)

    def format(self, nsn: str, viewer_region: str) -> str:
        home = self.code == phonenumbers.country_code_for_region(viewer_region)
        national = home and self.region_of(nsn) == viewer_region
        for leading, pattern, template in self.national if national else self.international:
            if (leading is None or leading.match(nsn)) and pattern.fullmatch(nsn):
                nsn = pattern.sub(template, nsn)
                break
        return nsn if national else self.prefix + nsn


def _desc(number_desc) -> tuple[frozenset, re.Pattern] | None:
    """A PhoneNumberDesc as (possible lengths, compiled pattern); None where phonenumbers' matching of
    it is always false (no desc, or an empty pattern)."""
    if number_desc is None or not number_desc.national_number_pattern:
        return None
    return frozenset(number_desc.possible_length), re.compile(number_desc.national_number_pattern)


def _fits_desc(desc: tuple[frozenset, re.Pattern] | None, nsn: str, size: int) -> bool:
    return desc is not None and _fits(desc, nsn, size)


def _fits(desc: tuple[frozenset, re.Pattern], nsn: str, size: int) -> bool:
    lengths, pattern = desc
    return (not lengths or size in lengths) and pattern.fullmatch(nsn) is not None


_FIRST_GROUP = re.compile(r"(\\\d)")


@functools.cache
def _plan(code: int) -> _Plan | None:
    """The plan of a calling code phonenumbers knows (None for others: they take the slow path)."""
    if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE or phonenumbers.region_code_for_country_code(code) == "ZZ":
        return None
    return _Plan(code)


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
