"""Calling windows: when a lead may be called, in the lead's local time, and when that next happens.

The rules are plain data (`WindowRules.to_json`/`from_json`) so an organization can store and edit
them. A window is a local wall-clock range on some weekdays; a zone's rule is the most specific of
the zone's own, its country's and the organization's default; blocked dates and, if asked, the
country's public holidays (the `holidays` package) close whole local days.

The hard part is local time itself: wall clocks skip an hour in spring and repeat one in autumn, so
"08:00–21:00 local" is not one fixed range of UTC. `allowed_intervals` works from the UTC side: it
cuts time into stretches where the zone's UTC offset is constant and, in each, shifts the local
window by that offset. A window edge that falls in a skipped hour simply opens (or closes) when the
clock jumps; a repeated hour is inside the window both times if its wall time is.
"""

from __future__ import annotations

import functools
import json
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any

import holidays

ALL_DAYS = frozenset(range(7))  # Monday is 0, as in `date.weekday()`
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400  # how far ahead the next opening is looked for before a lead counts as never callable
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class CallingWindow:
    """Calls may start from `start` up to (not including) `end`, local time, on `weekdays`.

    An `end` at or before `start` runs past midnight into the next day (22:00–02:00); `end == start`
    is a whole 24 hours. The window belongs to the day it starts on: its weekday and date decide.
    """

    start: time
    end: time
    weekdays: frozenset[int] = ALL_DAYS

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("calling window times are local wall-clock times, without a zone")
        if not self.weekdays <= ALL_DAYS:
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), not {sorted(self.weekdays)}")

    def occurrence(self, day: date) -> tuple[datetime, datetime]:
        """The naive local range of this window when it opens on `day`."""
        start = datetime.combine(day, self.start)
        end = datetime.combine(day, self.end)
        return start, end if end > start else end + _DAY

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(timespec="minutes" if not self.start.second else "seconds"),
            "end": self.end.isoformat(timespec="minutes" if not self.end.second else "seconds"),
            "weekdays": [WEEKDAY_NAMES[d] for d in sorted(self.weekdays)],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallingWindow:
        try:
            days = data.get("weekdays", WEEKDAY_NAMES)
            return cls(
                start=time.fromisoformat(data["start"]),
                end=time.fromisoformat(data["end"]),
                weekdays=frozenset(WEEKDAY_NAMES.index(str(d).lower()[:3]) for d in days),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a calling window: {data!r} ({error})") from error


Schedule = tuple[CallingWindow, ...]  # a rule: the union of its windows (e.g. weekdays 9–21 and Sunday 12–21)

DEFAULT_SCHEDULE: Schedule = (CallingWindow(time(8), time(21)),)


@dataclass(frozen=True)
class WindowRules:
    """An organization's calling-window rules.

    `zones` (by IANA zone) beat `countries` (by ISO 3166 code), which beat `default`. An empty
    schedule means no calls at all there. `blocked_dates` are local dates closed everywhere;
    `public_holidays` also closes the public holidays of each zone's country. `trust_stored_zones`: a
    lead's stored zone counts as its zone even when it only repeats what the number's country suggests
    (by default such a zone is a guess, and a mobile number may be in any zone of its country).
    """

    default: Schedule = DEFAULT_SCHEDULE
    countries: Mapping[str, Schedule] = field(default_factory=dict)
    zones: Mapping[str, Schedule] = field(default_factory=dict)
    blocked_dates: frozenset[date] = frozenset()
    public_holidays: bool = False
    trust_stored_zones: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "countries", {code.upper(): tuple(s) for code, s in self.countries.items()})
        object.__setattr__(self, "zones", {name: tuple(s) for name, s in self.zones.items()})
        for name in self.zones:
            if not is_known_zone(name):
                raise ValueError(f"unknown time zone in calling-window rules: {name!r}")

    def schedule_for(self, zone: str, country: str) -> Schedule:
        if zone in self.zones:
            return self.zones[zone]
        return self.countries.get(country.upper(), self.default)

    def is_closed(self, day: date, country: str) -> str | None:
        """Why `day` (a local date in `country`) is closed to calls: "blocked", a holiday's name, or None."""
        if day in self.blocked_dates:
            return "blocked"
        if self.public_holidays and country:
            return public_holiday(country, day)
        return None

    def to_json(self) -> dict[str, Any]:
        def schedule(windows: Schedule) -> list[dict[str, Any]]:
            return [w.to_json() for w in windows]

        return {
            "default": schedule(self.default),
            "countries": {code: schedule(s) for code, s in sorted(self.countries.items())},
            "zones": {name: schedule(s) for name, s in sorted(self.zones.items())},
            "blocked_dates": [d.isoformat() for d in sorted(self.blocked_dates)],
            "public_holidays": self.public_holidays,
            "trust_stored_zones": self.trust_stored_zones,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> WindowRules:
        """Rules from `to_json`'s form (or its JSON text); a missing key takes its default. ValueError if malformed."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping):
            raise ValueError("calling-window rules must be a JSON object")

        def schedule(items: Any) -> Schedule:
            if not isinstance(items, list):
                raise ValueError(f"a schedule is a list of windows, not {items!r}")
            return tuple(CallingWindow.from_json(item) for item in items)

        try:
            blocked = frozenset(date.fromisoformat(d) for d in data.get("blocked_dates", ()))
        except (TypeError, ValueError) as error:
            raise ValueError(f"blocked_dates must be ISO dates: {error}") from error
        return cls(
            default=schedule(data["default"]) if "default" in data else DEFAULT_SCHEDULE,
            countries={code: schedule(s) for code, s in dict(data.get("countries", {})).items()},
            zones={name: schedule(s) for name, s in dict(data.get("zones", {})).items()},
            blocked_dates=blocked,
            public_holidays=bool(data.get("public_holidays", False)),
            trust_stored_zones=bool(data.get("trust_stored_zones", False)),
        )


@functools.cache
def _holiday_calendar(country: str) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country.upper())
    except NotImplementedError:  # a country the package has no calendar for
        return None


def public_holiday(country: str, day: date) -> str | None:
    """The name of `day`'s public holiday in `country` (national ones), or None."""
    calendar = _holiday_calendar(country.upper())
    return calendar.get(day) if calendar is not None else None


@functools.cache
def is_known_zone(name: str) -> bool:
    if not name or name in ("Etc/Unknown", "localtime"):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@functools.cache
def _zone_table() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """IANA's zone.tab (from the `tzdata` package): the zones of each country and the country of each zone."""
    text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    by_country: dict[str, list[str]] = {}
    by_zone: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, zone = line.split("\t")[:3]
        if is_known_zone(zone):
            by_country.setdefault(country, []).append(zone)
            by_zone[zone] = country
    return {c: tuple(sorted(z)) for c, z in by_country.items()}, by_zone


def country_zones(country: str) -> tuple[str, ...]:
    """Every zone of a country (ISO 3166 code), from IANA's data; () for an unknown code."""
    return _zone_table()[0].get((country or "").upper(), ())


def zone_country(zone: str) -> str:
    """The country a zone belongs to, or "" (links such as "US/Eastern" and "Etc/GMT+5" have none)."""
    return _zone_table()[1].get(zone, "")


# ---- when the window is open, as UTC intervals


def _offset(zone: zoneinfo.ZoneInfo, instant: datetime) -> timedelta:
    """The zone's UTC offset at a naive UTC instant."""
    offset = instant.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _constant_offset_stretches(
    zone: zoneinfo.ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """[start, end) (naive UTC, at most a day) cut where the zone's offset changes, with each piece's offset.

    Offsets change at whole seconds and at most once a day in every real zone, so a change is found
    by bisection between the ends of the stretch.
    """
    before, after = _offset(zone, start), _offset(zone, end - _SECOND)
    if before == after:
        yield start, end, before
        return
    low, high = start, end - _SECOND  # offset(low) == before, offset(high) != before
    while high - low > _SECOND:
        middle = low + (high - low) // 2
        middle -= timedelta(microseconds=middle.microsecond)
        if middle <= low:
            middle = low + _SECOND
        if _offset(zone, middle) == before:
            low = middle
        else:
            high = middle
    yield start, high, before
    yield from _constant_offset_stretches(zone, high, end)


def _open_local_ranges(
    rules: WindowRules, zone_name: str, country: str, first: datetime, last: datetime
) -> list[tuple[datetime, datetime]]:
    """The naive local ranges in which calls are allowed, for windows opening on local days first−1 … last."""
    schedule = rules.schedule_for(zone_name, country)
    ranges: list[tuple[datetime, datetime]] = []
    day = first.date() - _DAY
    while day <= last.date():
        if rules.is_closed(day, country) is None:
            for window in schedule:
                if day.weekday() not in window.weekdays:
                    continue
                opens, closes = window.occurrence(day)
                # A window running past midnight stops at a closed day.
                midnight = datetime.combine(day + _DAY, time())
                while midnight < closes:
                    if rules.is_closed(midnight.date(), country) is not None:
                        closes = midnight
                        break
                    midnight += _DAY
                ranges.append((opens, closes))
        day += _DAY
    return ranges


def allowed_intervals(
    rules: WindowRules, zone_name: str, country: str, since: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The UTC intervals [start, end) in which a lead in `zone_name` may be called, in order: those
    ending after `since` and starting before about `until` (naive UTC). Touching intervals are merged.
    """
    zone = zoneinfo.ZoneInfo(zone_name)
    chunk = since.replace(minute=0, second=0, microsecond=0)
    pending: tuple[datetime, datetime] | None = None
    while chunk < until:
        chunk_end = chunk + _DAY
        found: list[tuple[datetime, datetime]] = []
        for piece_start, piece_end, offset in _constant_offset_stretches(zone, chunk, chunk_end):
            local_start, local_end = piece_start + offset, piece_end + offset
            for opens, closes in _open_local_ranges(rules, zone_name, country, local_start, local_end):
                low, high = max(opens, local_start), min(closes, local_end)
                if low < high:
                    found.append((low - offset, high - offset))
        for start, end in sorted(found):
            if pending is not None and start <= pending[1]:
                pending = (pending[0], max(pending[1], end))
                continue
            if pending is not None and pending[1] > since:
                yield pending
            pending = (start, end)
        if pending is not None and pending[1] < chunk_end and pending[1] > since:
            yield pending  # nothing later in this chunk can touch it; later chunks start at chunk_end
            pending = None
        chunk = chunk_end
    if pending is not None:
        yield pending


def first_common_instant(
    streams: list[Iterator[tuple[datetime, datetime]]], since: datetime, until: datetime
) -> datetime | None:
    """The earliest instant ≥ `since` and < `until` inside an interval of every stream, or None."""
    try:
        current = [next(stream) for stream in streams]
        moment = since
        while moment < until:
            for index, stream in enumerate(streams):
                while current[index][1] <= moment:
                    current[index] = next(stream)
            latest_start = max(start for start, _ in current)
            if latest_start <= moment:
                return moment
            moment = latest_start
    except StopIteration:  # a stream has no more open time before `until`
        pass
    return None


def closed_reason(rules: WindowRules, zone_name: str, country: str, instant: datetime) -> str | None:
    """Why the window is shut at a naive UTC instant in one zone: "blocked", a holiday's name,
    "window", or None when it is open."""
    local = instant.replace(tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(zone_name)).replace(tzinfo=None)
    closed = rules.is_closed(local.date(), country)
    if closed is not None:
        return closed
    for opens, closes in _open_local_ranges(rules, zone_name, country, local, local):
        if opens <= local < closes:
            return None
    return "window"
