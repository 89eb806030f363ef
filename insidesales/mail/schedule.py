"""When a sequence step may run: sending windows and business days in the recipient's own time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache

from insidesales.mail.models import MailSettings, SequenceStep


@lru_cache(maxsize=512)
def zone_of(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name) if name else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def next_send_time(
    now: dt.datetime, zone: dt.tzinfo, rules: MailSettings, step: SequenceStep | None = None
) -> dt.datetime:
    """`now` if it lies in the sending hours (the organization's, narrowed by the step's window) on a
    sending day in `zone`; else the next start of those hours."""
    start, end = rules.sending_start, rules.sending_end
    if step is not None:
        if step.window_start and step.window_start > start:
            start = step.window_start
        if step.window_end and step.window_end < end:
            end = step.window_end
    days = set(rules.weekdays())
    if start >= end or not days:
        return now
    local = now.astimezone(zone)
    for offset in range(0, 15):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = dt.datetime.combine(day, start, tzinfo=zone)
        closes = dt.datetime.combine(day, end, tzinfo=zone)
        if offset == 0 and opens <= local < closes:
            return now
        if local < opens:
            return opens.astimezone(dt.UTC)
    return now + dt.timedelta(days=1)


def add_days(now: dt.datetime, zone: dt.tzinfo, days: int, *, business: bool) -> dt.datetime:
    if not business:
        return now + dt.timedelta(days=days)
    local = now.astimezone(zone)
    left = days
    while left > 0:
        local += dt.timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    return local.astimezone(dt.UTC)
