"""Normalizing text for search keys and emails."""

import unicodedata


def search_key(*parts: str) -> str:
    """Lower-cased, accent-folded, whitespace-collapsed text, used by the `prefix` lookup."""
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("ё", "е")
    return " ".join(text.split())[:255]


def normalize_email(value: str) -> str:
    """Emails are compared lower-cased and trimmed."""
    return (value or "").strip().lower()
