"""The page chrome every signed-in page repeats, written in Python and kept per distinct content.

The main navigation is the same for every member of a role on every page of a section, yet as
template code it was some twenty tags, filters and URL reversals per request (about a millisecond).
`{% main_nav %}` writes the same markup once per (language, current section, what the member may
see, URL configuration) and reuses it.
"""

from __future__ import annotations

import functools

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()

# (key, path prefix that makes it the current page — "/" only for the home page itself, URL name).
MAIN_LINKS = (
    ("home", "/", "home"),
    ("leads", "/leads/", None),
    ("contacts", "/contacts/", None),
    ("companies", "/companies/", None),
    ("deals", "/deals/", None),
    ("tasks", "/tasks/", None),
    ("calls", "/calls/", "call_list"),
    ("emails", "/emails/", "email_list"),
    ("sequences", "/sequences/", "sequence_list"),
    ("imports", "/imports/", "import_list"),
    ("duplicates", "/duplicates/", "duplicate_list"),
)
ADMIN_LINKS = (
    ("audit", "/audit/", "audit_log"),
    ("agencies", "/agencies/", "agency_list"),
    ("telephony", "/settings/telephony/", "telephony_settings"),
    ("mail_settings", "/settings/mail/", "mail_settings"),
)


def current_section(path: str) -> str | None:
    """The key of the navigation entry `path` belongs to (None: none of them)."""
    if path == "/":
        return "home"
    for key, prefix, _name in MAIN_LINKS[1:] + ADMIN_LINKS:
        if path.startswith(prefix):
            return key
    return None


def _labels() -> dict[str, str]:
    return {
        "home": _("Home"),
        "leads": _("Leads"),
        "contacts": _("Contacts"),
        "companies": _("Companies"),
        "deals": _("Deals"),
        "tasks": _("Tasks"),
        "calls": _("Calls"),
        "emails": _("Emails"),
        "sequences": _("Sequences"),
        "imports": _("Imports"),
        "duplicates": _("Duplicates"),
        "audit": _("Audit log"),
        "agencies": _("Agencies"),
        "telephony": _("Telephony"),
        "mail_settings": _("Email sending"),
    }


@functools.lru_cache(maxsize=256)
def _nav(
    language: str, urlconf: str, prefix: str, section: str | None, duplicates: str, admin: bool, staff: bool
) -> str:
    """`duplicates`: the URL name of the member's duplicates page (field reps review contacts and
    companies, not leads)."""
    labels = _labels()

    def link(key: str, path: str, name: str | None) -> str:
        href = escape(reverse(name) if name else path)
        current = ' aria-current="page"' if section == key else ""
        return f'<a href="{href}"{current}>{escape(labels[key])}</a>'

    parts = [
        link(key, path, duplicates if key == "duplicates" else name)
        for key, path, name in MAIN_LINKS
        if key != "duplicates" or duplicates
    ]
    if admin:
        current = ' aria-current="page"' if section in {key for key, _path, _name in ADMIN_LINKS} else ""
        items = [link(*entry) for entry in ADMIN_LINKS]
        if staff:
            django_admin = escape(_("Django admin"))  # gettext calls outside f-strings: makemessages sees them
            items.append(f'<a href="{escape(reverse("admin:index"))}">{django_admin}</a>')
        administration = escape(_("Administration"))
        parts.append(
            f'<details class="dropdown navmenu"><summary{current}>{administration}</summary>'
            f'<div class="menu">{"".join(items)}</div></details>'
        )
    main = escape(_("Main"))
    return f'<nav class="mainnav" aria-label="{main}">{"".join(parts)}</nav>'


@register.simple_tag(takes_context=True)
def main_nav(context: template.Context) -> SafeString:
    """`{% main_nav %}`: the signed-in member's main navigation, the current section marked."""
    request = context["request"]
    membership = context.get("membership")
    user = context.get("user")
    html = _nav(
        get_language() or settings.LANGUAGE_CODE,
        str(get_urlconf() or settings.ROOT_URLCONF),
        get_script_prefix(),
        current_section(request.path),
        ("contact_duplicate_list" if membership.role == "field_rep" else "duplicate_list") if membership else "",
        bool(membership) and membership.is_admin,
        bool(user) and user.is_staff,
    )
    return mark_safe(html)  # every text in it is escaped above
