"""`{% alerts_bell %}`: the bell in the top bar — unread alerts, and the live stream new ones arrive on."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from insidesales.inbound.selectors_notifications import UNREAD_CAP, unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def alerts_bell(context: template.Context) -> str:
    membership = context.get("membership")
    if membership is None:
        return ""
    count = unread_count(membership=membership)
    shown = f"{UNREAD_CAP}+" if count > UNREAD_CAP else str(count)
    return format_html(
        '<a class="bell" href="{}" data-stream="{}" data-count="{}" data-open="{}" data-dismiss="{}" aria-label="{}" '
        'title="{}">'
        '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" '
        'd="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66'
        'A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg><span class="bell-count"{}>{}</span></a>',
        reverse("notifications"),
        reverse("notification_events"),
        count,
        _("Open"),
        _("Dismiss"),
        _("Alerts"),
        _("Alerts"),
        "" if count else " hidden",
        shown,
    )
