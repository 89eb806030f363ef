"""May this lead be called now? The do-not-call and calling-window check every dial goes through.

`check_call` answers with a `Decision`: allowed or not, a reason code and text to log on the lead,
and when a refusal is only a matter of time, the earliest instant the call becomes allowed so the
dialer can come back then. It is pure (no database): the caller passes the lead's fields, the
organization's `WindowRules` and its do-not-call numbers.

"The lead's local time" is the set of zones the lead may be in (`lead_time_zones`), and a call must
be inside the window in every one of them, as US TCPA practice does for numbers that do not tell
where their owner is. A lead whose zone cannot be known at all is refused, never called on a guess.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import phonenumbers
from django.utils import formats
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from phonenumbers import timezone as phone_timezone

from insidesales.calls.dnc import DoNotCall, is_do_not_call, normalize_for_dnc
from insidesales.calls.windows import (
    SEARCH_DAYS,
    CallingWindow,
    WindowRules,
    allowed_intervals,
    closed_reason,
    country_zones,
    first_common_instant,
    is_known_zone,
    zone_country,
)
from insidesales.core.phones import country_time_zone, parse_phone

__all__ = [
    "CallingWindow",
    "Decision",
    "Reason",
    "WindowRules",
    "check_call",
    "lead_time_zones",
    "normalize_for_dnc",
    "phone_zones",
]


class Reason(StrEnum):
    ALLOWED = "allowed"
    DO_NOT_CALL = "do_not_call"
    INVALID_NUMBER = "invalid_number"
    UNKNOWN_TIME_ZONE = "unknown_time_zone"
    OUTSIDE_WINDOW = "outside_window"
    BLOCKED_DATE = "blocked_date"
    HOLIDAY = "holiday"
    NO_WINDOW = "no_window"  # the window never opens in all the lead's zones at once


WINDOW_REASONS = frozenset({Reason.OUTSIDE_WINDOW, Reason.BLOCKED_DATE, Reason.HOLIDAY})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason
    message: str | Promise  # for the lead's history; translated when rendered
    next_allowed_at: datetime | None = None  # UTC; set when waiting is all it takes
    time_zones: tuple[str, ...] = ()  # the zones the lead was checked in


def check_call(
    *,
    lead_phone: str,
    lead_country: str,
    lead_time_zone: str,
    now_utc: datetime,
    rules: WindowRules,
    dnc: DoNotCall,
    time_zone_confirmed: bool = False,
) -> Decision:
    """Whether a call to the lead may be placed at `now_utc` (an aware datetime).

    `dnc` holds E.164 numbers (organization and campaign lists together) or is a predicate on one.
    `time_zone_confirmed` says the stored zone comes from a person or the lead's address rather than
    from the phone number (see `lead_time_zones`).
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be an aware datetime")
    e164 = normalize_for_dnc(lead_phone, lead_country or None)
    if e164 is None:
        return Decision(False, Reason.INVALID_NUMBER, _("The phone number is not a valid number."))
    if is_do_not_call(e164, dnc):
        return Decision(False, Reason.DO_NOT_CALL, _("The number is on a do-not-call list."))
    zones = lead_time_zones(
        phone=e164,
        country=lead_country,
        time_zone=lead_time_zone,
        time_zone_confirmed=time_zone_confirmed or rules.trust_stored_zones,
    )
    if not zones:
        return Decision(False, Reason.UNKNOWN_TIME_ZONE, _("Unknown time zone: the lead's local time cannot be told."))

    now = now_utc.astimezone(UTC).replace(tzinfo=None)
    country = (lead_country or _number_country(e164)).upper()
    until = now + timedelta(days=SEARCH_DAYS)
    streams = [allowed_intervals(rules, zone, zone_country(zone) or country, now, until) for zone in zones]
    opening = first_common_instant(streams, now, until)
    if opening == now:
        return Decision(True, Reason.ALLOWED, _("Inside the calling window."), time_zones=zones)
    if opening is None:
        return Decision(False, Reason.NO_WINDOW, _no_window_message(zones), time_zones=zones)
    reason, message = Reason.OUTSIDE_WINDOW, _("Outside the calling window.")
    for zone in zones:
        why = closed_reason(rules, zone, zone_country(zone) or country, now)
        local = now_utc.astimezone(zoneinfo.ZoneInfo(zone))
        if why == "window":
            reason = Reason.OUTSIDE_WINDOW
            message = format_lazy(
                _("Outside the calling window: it is {time} in {zone}."),
                time=formats.date_format(local, "D H:i"),  # the weekday in the active language
                zone=zone,
            )
        elif why == "blocked":
            reason = Reason.BLOCKED_DATE
            message = format_lazy(_("{date} is a blocked date in {zone}."), date=local.date().isoformat(), zone=zone)
        elif why is not None:
            reason = Reason.HOLIDAY
            message = format_lazy(
                _("{date} is a public holiday in {zone} ({name})."), date=local.date().isoformat(), zone=zone, name=why
            )
        if why is not None:
            break
    return Decision(False, reason, message, opening.replace(tzinfo=UTC), zones)


def _no_window_message(zones: tuple[str, ...]) -> str | Promise:
    return format_lazy(
        _("The calling window is never open in all of the lead's possible time zones at once ({zones})."),
        zones=", ".join(zones),
    )


def lead_time_zones(*, phone: str, country: str, time_zone: str, time_zone_confirmed: bool = False) -> tuple[str, ...]:
    """The zones the lead may be in, sorted; () when nothing tells.

    1. The stored zone alone, when it is knowledge: `time_zone_confirmed`, or a zone other than what
       the application fills in by itself from the phone number or the country (their main zone,
       e.g. Moscow for any Russian mobile, New York for a US lead without a phone).
    2. Otherwise the phone number's zones: a landline's area (phonenumbers' prefix data; some areas
       span two zones), and for a mobile or other non-geographic number every zone of its country,
       since it can be anywhere in it (IANA's list, e.g. Kaliningrad to Kamchatka for Russia);
       without those, every zone of the lead's country. A stored zone that may be a guess is
       checked too: it may also be what a person typed.
    """
    stored = (time_zone or "").strip()
    if not is_known_zone(stored):
        stored = ""
    if stored:
        guessed = {country_time_zone(country)}
        parsed = parse_phone(phone, country or "US") if phone else None
        if parsed is not None:
            guessed.add(parsed.time_zone)
        if time_zone_confirmed or stored not in guessed:
            return (stored,)
    zones = set(phone_zones(phone, country) or country_zones(country))
    if stored:
        zones.add(stored)
    return tuple(sorted(zones))


def phone_zones(phone: str, country: str) -> tuple[str, ...]:
    """The zones a phone number may be in (see `lead_time_zones`); () for an unknown number."""
    e164 = normalize_for_dnc(phone, country or None)
    return _phone_zones(e164) if e164 is not None else ()


@functools.lru_cache(maxsize=4096)
def _phone_zones(e164: str) -> tuple[str, ...]:
    number = phonenumbers.parse(e164, None)
    region = _number_country(e164)
    kind = phonenumbers.number_type(number)
    if not phonenumbers.is_number_type_geographical(kind, number.country_code):
        if region and country_zones(region):
            return country_zones(region)
        zones = phone_timezone.time_zones_for_number(number)  # the calling code's zones
    else:
        zones = phone_timezone.time_zones_for_geographical_number(number)
    known = tuple(sorted({z for z in zones if is_known_zone(z)}))
    return known or (country_zones(region) if region else ())


def _number_country(e164: str) -> str:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""
    return "" if region in ("001", "ZZ") else region


REASON_LABELS = {
    Reason.DO_NOT_CALL: _("On a do-not-call list"),
    Reason.INVALID_NUMBER: _("Not a valid phone number"),
    Reason.UNKNOWN_TIME_ZONE: _("Unknown time zone"),
    Reason.OUTSIDE_WINDOW: _("Outside the calling window"),
    Reason.BLOCKED_DATE: _("A blocked date"),
    Reason.HOLIDAY: _("A public holiday"),
    Reason.NO_WINDOW: _("The calling window never opens in all of the lead's time zones"),
}
