"""Do-not-call numbers: one canonical form (E.164) so a number matches however it was typed.

A do-not-call list is only as good as its matching: "+1 (415) 555-2671", "415.555.2671" typed by a US
team and "001 415 555 2671" typed in Europe are one number, and a list that stores them as text
would miss two of them. Every entry and every number about to be dialled goes through
`normalize_for_dnc` first; the lists themselves (organization and campaign) store its output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

import phonenumbers

DoNotCall = Container[str] | Callable[[str], bool]  # E.164 numbers, or a predicate on one (e.g. a DB lookup)

_DIGITS = re.compile(r"\d")


def normalize_for_dnc(raw: str, default_region: str | None) -> str | None:
    """The E.164 form of `raw` ("+14155552671"), read in `default_region` when it has no country code;
    None when it is not a possible phone number.

    "00" followed by a country code is read as international even where the region dials abroad
    differently (the US dials 011, and a US number never starts with 0): lists get merged across
    countries, and that is how most of the world writes it.
    """
    text = (raw or "").strip()
    digits = "".join(_DIGITS.findall(text))
    if len(digits) < 5:
        return None
    region = (default_region or "").upper() or None
    first = _parse(text, region)
    if first is not None and phonenumbers.is_valid_number(first):
        return _e164(first)
    if not text.startswith("+") and digits.startswith("00"):
        international = _parse("+" + digits[2:], None)
        if international is not None and phonenumbers.is_valid_number(international):
            return _e164(international)
    if first is not None and phonenumbers.is_possible_number(first):
        return _e164(first)  # possible but not assigned today: still matched exactly
    return None


def is_do_not_call(e164: str, dnc: DoNotCall) -> bool:
    """Whether an E.164 number is on the list (a container of E.164 numbers, or a predicate)."""
    if callable(dnc) and not isinstance(dnc, Container):
        return bool(dnc(e164))
    return e164 in dnc  # type: ignore[operator]


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
