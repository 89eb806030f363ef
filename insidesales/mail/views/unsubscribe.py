"""The unsubscribe link of sequence emails: GET asks to confirm (link scanners must not unsubscribe
anyone), POST unsubscribes — from our page or as the mail provider's one-click POST (RFC 8058)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from insidesales.mail.services.unsubscribe import unsubscribe, unsubscribe_target


@csrf_exempt  # mail providers POST here without a session; the signed token is the authority
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    target = unsubscribe_target(token)
    if target is None:
        return render(request, "mail/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe(target=target, one_click=one_click)
        if one_click:
            return HttpResponse("unsubscribed\n", content_type="text/plain; charset=utf-8")
        return render(request, "mail/unsubscribe.html", {"email": target.email, "done": True})
    return render(request, "mail/unsubscribe.html", {"email": target.email, "done": target.done})
