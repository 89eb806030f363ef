"""Emails in the web UI: the list of sent and received emails one may see, one email, its attachments.

Received HTML is never rendered as part of our pages: the detail shows the text; "formatted" loads the HTML
in a sandboxed frame from its own URL, served with a CSP that forbids scripts, forms and every remote load.
Attachments are always downloads (`application/octet-stream`, `nosniff`, CSP sandbox), never shown inline.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from insidesales.core.errors import ValidationError
from insidesales.core.http import member_view
from insidesales.mail.models import Direction, InboundKind
from insidesales.mail.selectors import messages as selectors
from insidesales.mail.services.ingest import attachment_path

# Received HTML: no script, no plugin, no form, nothing fetched from anywhere (no tracking pixels), own origin.
HTML_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
DOWNLOAD_CSP = "sandbox; default-src 'none'"


@require_GET
@member_view
def email_list(request: HttpRequest) -> HttpResponse:
    direction = request.GET.get("direction") or None
    kind = request.GET.get("kind") or None
    if direction not in (None, *Direction.values):
        direction = None
    if kind not in (None, *InboundKind.values):
        kind = None
    try:
        page = selectors.message_page(
            membership=request.membership,
            direction=direction,
            kind=kind,
            cursor=request.GET.get("cursor") or None,
            limit=50,
        )
    except ValidationError:  # a cursor that is not ours: start again from the first page
        page = selectors.message_page(membership=request.membership, direction=direction, kind=kind, limit=50)
    filters = {k: v for k, v in (("direction", direction), ("kind", kind)) if v}
    context = {
        "emails": page.items,
        "direction": direction or "",
        "kind": kind or "",
        "directions": Direction.choices,
        "kinds": InboundKind.choices,
        "next_query": urlencode({**filters, "cursor": page.next_cursor}) if page.next_cursor else "",
        "first_query": urlencode(filters) if request.GET.get("cursor") else None,
    }
    return render(request, "mail/message_list.html", context)


@require_GET
@member_view
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.message_get(membership=request.membership, message_id=pk)
    context = {
        "email": message,
        "attachments": selectors.message_attachments(message=message),
        "record": message.lead or message.contact or message.company,
        "show_html": bool(message.body_html) and request.GET.get("view") == "html",
    }
    return render(request, "mail/message_detail.html", context)


@require_GET
@member_view
@xframe_options_sameorigin
def email_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The received HTML as is, for the sandboxed frame of the detail page only."""
    message = selectors.message_get(membership=request.membership, message_id=pk)
    if not message.body_html:
        raise Http404()
    response = HttpResponse(without_navigation(message.body_html), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


_NAVIGATING_TAGS = re.compile(r"<\s*/?\s*(?:meta|link|base)\b[^>]*>?", re.IGNORECASE)


def without_navigation(html: str) -> str:
    """The HTML without <meta>, <link> and <base> tags: the CSP blocks scripts and remote loads, but a
    <meta http-equiv="refresh"> would still move the frame to any site (and <link> prefetches DNS).
    Repeated until nothing is left, so a tag split by another (`<me<meta>ta ...>`) cannot reassemble."""
    while True:
        cleaned = _NAVIGATING_TAGS.sub("", html)
        if cleaned == html:
            return cleaned
        html = cleaned


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real one as RFC 6266 / 5987 `filename*`."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@require_GET
@member_view
def email_attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    attachment = selectors.attachment_get(membership=request.membership, message_id=pk, attachment_id=attachment_id)
    return attachment_response(attachment)


def attachment_response(attachment) -> FileResponse:
    """The download of a stored attachment (404 when it was over the size cap or its file is gone)."""
    if not attachment.stored:
        raise Http404()
    try:
        handle = open(attachment_path(attachment.sha256), "rb")  # noqa: SIM115 - FileResponse closes it
    except (OSError, ValueError) as exc:
        raise Http404() from exc
    response = FileResponse(handle, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition(attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    return response
