"""Date formatting for pages that show many dates at once.

`django.utils.dateformat.format` splits the format string with a regular expression and translates
month names and "a.m."/"p.m." on every call; a list of 50 rows paid that 50 times per column.
`DateFormatter` reads the format once and remembers the parts that repeat (a date's "Nov. 28, 2026",
a time's "6:38 p.m."), keyed by exactly what each part depends on (the "P" of 18:38:05 and of
18:38:59 is the same text). The memo is shared by every formatter of the same format and language,
so a page does not pay again for the times of day and recent dates the previous page wrote; it is
bounded (there are 1,440 minutes in a day; dates are cleared past `MEMO_LIMIT` entries). Its output is
exactly `dateformat.format(value, format)` in the active language (the tests compare both over random
datetimes).
"""

from __future__ import annotations

import datetime as dt
from operator import attrgetter
from typing import Any

from django.utils.dateformat import DateFormat, TimeFormat, re_escaped, re_formatchars
from django.utils.translation import get_language

# Format characters whose output depends only on the date, or only on the time of day. Anything
# else ("e", "O", "T", "Z", "U", "c", "r", "I": time zone and timestamp) is computed for each value.
DATE_CHARS = frozenset("dDEFjlLmMnNoStwWyYz")
# What each time-of-day character depends on.
TIME_PARTS = {
    "a": ("hour",),
    "A": ("hour",),
    "g": ("hour",),
    "G": ("hour",),
    "h": ("hour",),
    "H": ("hour",),
    "f": ("hour", "minute"),
    "P": ("hour", "minute"),
    "i": ("minute",),
    "s": ("second",),
    "u": ("microsecond",),
}
MEMO_LIMIT = 50_000
_MEMOS: dict[tuple[str, str], dict[tuple, str]] = {}  # (language, format) -> memo


class DateFormatter:
    """`formatter(value)` == `dateformat.format(value, format)`; make one per page (it remembers)."""

    def __init__(self, format_string: Any) -> None:
        # (kind, text, parts): kind is "", "date", "time" or "other"; parts reads what a time piece shows
        self.pieces: list[tuple[str, str, Any]] = []
        for index, piece in enumerate(re_formatchars.split(str(format_string))):
            if index % 2:
                kind = "date" if piece in DATE_CHARS else "time" if piece in TIME_PARTS else "other"
                self.pieces.append((kind, piece, attrgetter(*TIME_PARTS[piece]) if kind == "time" else None))
            elif piece:
                self.pieces.append(("", re_escaped.sub(r"\1", piece), None))
        key = (get_language() or "", str(format_string))
        memo = _MEMOS.get(key)
        if memo is None or len(memo) > MEMO_LIMIT:
            memo = _MEMOS[key] = {}
        self.memo = memo
        # Django refuses a date (not a datetime) with a time character in the format: so do we.
        self.time_char = next((text for kind, text, _ in self.pieces if kind and hasattr(TimeFormat, text)), None)

    def __call__(self, value: dt.date | dt.datetime) -> str:
        if self.time_char is not None and type(value) is dt.date:
            raise TypeError(
                "The format for date objects may not contain time-related format specifiers"
                f" (found '{self.time_char}')."
            )
        memo = self.memo
        out = []
        formatter = None
        is_datetime = isinstance(value, dt.datetime)
        for kind, text, parts in self.pieces:
            if not kind:
                out.append(text)
                continue
            if kind == "date":
                key = (text, value.year, value.month, value.day)
            elif kind == "time" and is_datetime:
                key = (text, parts(value))
            else:
                key = None
            shown = memo.get(key) if key is not None else None
            if shown is None:
                if formatter is None:
                    formatter = DateFormat(value)
                shown = str(getattr(formatter, text)())
                if key is not None:
                    memo[key] = shown
            out.append(shown)
        return "".join(out)
