"""Deterministic generator of realistic people, companies and phone numbers for the demo and the benchmarks.

Everything comes from one seeded `random.Random`, so the same seed gives the same data. Phone numbers
are generated as valid numbers, written the way people type them (national format for the
organization's own country, international otherwise), and described (country, time zone) exactly as
`core.phones.parse_phone` would — cached per number prefix so millions of rows stay fast.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from phonenumbers import tzdata

from insidesales.core import demo_data as data
from insidesales.core.phones import parse_phone
from insidesales.core.text import company_search_key, search_key

# Share of each market among generated leads and companies.
MARKETS = (("US", 50), ("RU", 38), ("GB", 6), ("DE", 6))
GB_MOBILE = ("7711", "7723", "7740", "7766", "7788", "7800", "7821", "7870", "7900", "7944", "7958", "7970")
# Time-zone prefixes of +1, +7, +44 and +49 numbers are at most 7 digits long (a test checks this), so
# the first 7 digits decide a generated number's country and zone.
HEAD_DIGITS = 7
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@dataclass(slots=True)
class Phone:
    e164: str
    raw: str
    country: str
    time_zone: str


@dataclass(slots=True)
class CompanyData:
    name: str
    domain: str
    industry: str
    country: str
    city: str
    employees: int
    phone: Phone
    name_key: str


@dataclass(slots=True)
class PersonData:
    first_name: str
    last_name: str
    title: str
    email: str
    phone: Phone
    country: str
    language: str
    name_key: str
    name_rev_key: str


class Synthetic:
    """Seeded source of people, companies and phones; `region` is the organization's phone region."""

    def __init__(self, seed: int, region: str = "US") -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.region = region.upper()
        self._described: dict[tuple[str, str], tuple[str, str]] = {}
        self._by_head: dict[str, tuple[str, str]] = {}
        self._latin: dict[str, str] = {}
        self._keys: dict[tuple[str, str], tuple[str, str]] = {}
        self._markets = [market for market, weight in MARKETS for _ in range(weight)]

    # --- small helpers ------------------------------------------------------------------------------
    # `random.choice`/`randint` cost several times `random()`; at millions of rows that is most of the time.
    def pick(self, items):
        return items[int(self.rng.random() * len(items))]

    def below(self, n: int) -> int:
        return int(self.rng.random() * n)

    def market(self) -> str:
        return self.pick(self._markets)

    def latin(self, text: str) -> str:
        found = self._latin.get(text)
        if found is None:
            found = self._latin[text] = data.transliterate(text).translate(_UMLAUTS)
        return found

    def name_keys(self, first: str, last: str) -> tuple[str, str]:
        """(name_key, name_rev_key) exactly as the lead/contact services compute them."""
        pair = (first, last)
        keys = self._keys.get(pair)
        if keys is None:
            keys = self._keys[pair] = (search_key(first, last), search_key(last, first))
        return keys

    def describe(self, e164: str) -> tuple[str, str]:
        """(country, time zone) of a valid number, as `parse_phone` gives them, cached by prefix."""
        digits = e164[1:]
        head = digits[:HEAD_DIGITS]
        found = self._by_head.get(head)
        if found is not None:
            return found
        prefix = ""
        for length in range(min(tzdata.TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
            if digits[:length] in tzdata.TIMEZONE_DATA:
                prefix = digits[:length]
                break
        # The country of a +1 or +7 number depends on its area code, so that is part of the key too.
        key = (prefix, digits[:4])
        found = self._described.get(key)
        if found is None:
            parsed = parse_phone(e164, self.region)
            found = self._described[key] = (parsed.country, parsed.time_zone) if parsed else ("", "")
        self._by_head[head] = found
        return found

    # --- phones -----------------------------------------------------------------------------------
    def phone(self, country: str, *, area: str | None = None, mobile: bool | None = None) -> Phone:
        """A valid number in `country`, typed in one of the ways people type it."""
        rng, pick, below = self.rng, self.pick, self.below
        national = country == self.region
        if country == "US":
            npa = area or pick(pick(data.US_CITIES)[1])
            exchange = 200 + below(800)
            if exchange % 100 == 11 or exchange == 555:
                exchange += 1
            line = f"{below(10_000):04d}"
            e164 = f"+1{npa}{exchange}{line}"
            styles = (
                (
                    f"({npa}) {exchange}-{line}",
                    f"{npa}-{exchange}-{line}",
                    f"{npa}.{exchange}.{line}",
                    f"1-{npa}-{exchange}-{line}",
                    f"+1 {npa} {exchange} {line}",
                    f"+1 ({npa}) {exchange}-{line}",
                )
                if national
                else (f"+1 {npa}-{exchange}-{line}", f"+1 ({npa}) {exchange}-{line}", e164)
            )
        elif country == "RU":
            if mobile is None:
                mobile = area is None and rng.random() < 0.8
            code = pick(data.RU_MOBILE_CODES) if mobile else (area or pick(pick(data.RU_CITIES)[1]))
            rest = str(2_000_000 + below(8_000_000))
            a, b, c = rest[:3], rest[3:5], rest[5:]
            e164 = f"+7{code}{rest}"
            styles = (f"+7 {code} {a}-{b}-{c}", f"+7 ({code}) {a}-{b}-{c}", e164, f"+7 {code} {a} {b} {c}")
            if national:
                styles += (f"8 ({code}) {a}-{b}-{c}", f"8{code}{rest}")
        elif country == "GB":
            if mobile or (mobile is None and area is None and rng.random() < 0.5):
                code, rest = pick(GB_MOBILE), f"{below(1_000_000):06d}"
                e164 = f"+44{code}{rest}"
                styles = (f"+44 {code} {rest}", e164) + ((f"0{code} {rest}",) if national else ())
            else:
                code = area or pick(pick(data.GB_CITIES)[1])
                if code == "20":
                    rest = f"{pick('378')}{below(10_000_000):07d}"
                    spaced = f"{rest[:4]} {rest[4:]}"
                else:
                    rest = str(2_000_000 + below(6_000_000))
                    spaced = f"{rest[:3]} {rest[3:]}"
                e164 = f"+44{code}{rest}"
                styles = (f"+44 {code} {spaced}", e164) + ((f"0{code} {spaced}",) if national else ())
        elif country == "DE":
            if mobile or (mobile is None and area is None and rng.random() < 0.4):
                code, rest = pick(data.DE_MOBILE_CODES), f"{below(100_000_000):08d}"
            else:
                code, rest = area or pick(pick(data.DE_CITIES)[1]), str(20_000_000 + below(80_000_000))
            e164 = f"+49{code}{rest}"
            styles = (f"+49 {code} {rest}", f"+49 {code} {rest[:4]} {rest[4:]}", e164)
            if national:
                styles += (f"0{code} {rest}",)
        else:
            raise ValueError(f"No phone plan for {country}")
        found_country, zone = self.describe(e164)
        return Phone(e164=e164, raw=pick(styles), country=found_country, time_zone=zone)

    # --- companies and people ----------------------------------------------------------------------
    def company(self, country: str | None = None) -> CompanyData:
        rng, pick = self.rng, self.pick
        country = country or self.market()
        if country == "RU":
            stem = pick(data.RU_COMPANY_HEAD) + pick(data.RU_COMPANY_TAIL)
            name = f"{pick(data.RU_COMPANY_FORM)} «{stem}»"
            domain = data.transliterate(stem) + pick((".ru", ".ru", ".ru", ".com"))
            industry = pick(data.INDUSTRIES_RU)
            city, areas = pick(data.RU_CITIES)
        else:
            head, tail = pick(data.EN_COMPANY_HEAD), pick(data.EN_COMPANY_TAIL)
            form = {"GB": "Ltd", "DE": "GmbH"}.get(country) or pick(data.EN_COMPANY_FORM)
            name = f"{head} {tail} {form}".strip()
            tld = {"GB": ".co.uk", "DE": ".de"}.get(country, ".com")
            domain = f"{head}{tail}".lower().replace(" ", "") + tld
            industry = pick(data.INDUSTRIES_EN)
            city, areas = pick(
                {"US": data.US_CITIES, "GB": data.GB_CITIES, "DE": data.DE_CITIES}.get(country, data.US_CITIES)
            )
        employees = int(rng.lognormvariate(3.5, 1.3)) + 2
        phone = self.phone(country, area=pick(areas), mobile=False)
        return CompanyData(
            name=name,
            domain=domain,
            industry=industry,
            country=country,
            city=city,
            employees=employees,
            phone=phone,
            name_key=company_search_key(name),
        )

    def person(self, country: str | None = None, *, domain: str = "") -> PersonData:
        """A person of `country`; with a company `domain` the email is at work, else at a free mail service."""
        rng, pick, below = self.rng, self.pick, self.below
        country = country or self.market()
        female = rng.random() < 0.5
        if country == "RU":
            first = pick(data.RU_FEMALE if female else data.RU_MALE)
            last = data.ru_surname(pick(data.RU_LAST), female)
            title = pick(data.RU_TITLES)
            language = "ru"
        else:
            if country == "DE":
                first, last = pick(data.DE_FIRST), pick(data.DE_LAST)
            else:
                first = pick(data.EN_FEMALE if female else data.EN_MALE)
                last = pick(data.UK_LAST if country == "GB" else data.EN_LAST)
            title = pick(data.EN_TITLES)
            language = "en"
        latin_first, latin_last = self.latin(first), self.latin(last)
        roll = rng.random()
        if domain:
            local = (
                f"{latin_first}.{latin_last}"
                if roll < 0.45
                else f"{latin_first[0]}{latin_last}"
                if roll < 0.75
                else f"{latin_first}"
                if roll < 0.9
                else f"{latin_first}_{latin_last}"
            )
            email = f"{local}@{domain}"
        else:
            number = 1 + below(99) if rng.random() < 0.4 else ""
            local = f"{latin_first}.{latin_last}{number}" if roll < 0.6 else f"{latin_last}.{latin_first}{number}"
            email = f"{local}@{pick(data.FREE_MAIL[country])}"
        phone = self.phone(country)
        name_key, name_rev_key = self.name_keys(first, last)
        return PersonData(
            first_name=first,
            last_name=last,
            title=title,
            email=email.lower(),
            phone=phone,
            country=phone.country or country,
            language=language,
            name_key=name_key,
            name_rev_key=name_rev_key,
        )
