"""Normalizing text for search keys and emails."""

import re
import unicodedata


def search_key(*parts: str) -> str:
    """Lower-cased, accent-folded, whitespace-collapsed text, used by the `prefix` lookup."""
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("ё", "е")
    return " ".join(text.split())[:255]


# Legal forms people leave out when they look a company up ("ООО «Ромашка»" is found by "ромашка").
# Matched on the search key (lower case), as a whole word at the start or the end of the name.
LEGAL_FORMS = ("ооо", "оао", "зао", "пао", "ао", "ип", "llc", "inc", "ltd", "gmbh", "l.l.c.", "inc.", "ltd.")
_FORMS = "|".join(re.escape(form) for form in sorted(LEGAL_FORMS, key=len, reverse=True))
_LEADING_FORM = re.compile(rf"^(?:{_FORMS})(?=[\s\"'«»„“”]|$)[\s,]*")
_TRAILING_FORM = re.compile(rf"[\s,]+(?:{_FORMS})$")
_QUOTES = "\"'«»„“”"


def company_search_key(name: str) -> str:
    """`search_key` of a company name without its legal form and quotes: "ООО «Ромашка»" → "ромашка".

    Stored as Company.name_key and Lead.company_key; a name that is nothing but a legal form keeps it.
    """
    key = search_key(name)
    stripped = key
    for _ in range(2):  # "ООО «Ромашка» LLC" has two
        stripped = _LEADING_FORM.sub("", stripped)
        stripped = _TRAILING_FORM.sub("", stripped.rstrip(" ,")).strip(_QUOTES + " ,")
    stripped = " ".join(stripped.replace("«", " ").replace("»", " ").replace('"', " ").split())
    return stripped or key


def normalize_email(value: str) -> str:
    """Emails are compared lower-cased and trimmed."""
    return (value or "").strip().lower()
