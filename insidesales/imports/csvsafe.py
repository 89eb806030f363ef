"""Cells that a spreadsheet would run as formulas ("=HYPERLINK(...)", "+1+cmd|...") are written with a
leading apostrophe, which spreadsheets show as text and hide; reading such a file back strips it."""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Apostrophes (any number) and then a trigger: such a cell gets, or loses, exactly one apostrophe, so a
# value that itself starts with "'=" survives the round trip too.
_RISKY = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def neutralize(value: str) -> str:
    """The text to write in a CSV/XLSX cell so no spreadsheet evaluates it."""
    return "'" + value if _RISKY.match(value) else value


def unneutralize(value: str) -> str:
    """What `neutralize` was given."""
    return value[1:] if _ESCAPED.match(value) else value
