"""Outgoing webhook settings pages, for admins (everyone else gets a 404, as if the pages did not exist):
the list, create, the webhook's page (secret, recent deliveries, test, rotate, re-enable), edit, delete,
the delivery log and one delivery with its attempts (redeliver). Thin: read the form, call one service
or selector, render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from insidesales.calls.secrets import CredentialsUnreadable
from insidesales.core.errors import Conflict, ValidationError
from insidesales.core.http import member_view
from insidesales.core.pagination import paginate
from insidesales.inbound.delivery import MAX_ATTEMPTS
from insidesales.inbound.forms_webhooks import WebhookForm
from insidesales.inbound.services import webhooks as service
from insidesales.orgs.models import Membership

RECENT = 10
LOG_PAGE = 50


def _admin(request: HttpRequest) -> Membership:
    if not request.membership.is_admin:
        raise Http404()
    return request.membership


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # pages that show a signing secret
    return response


@require_GET
@member_view
def webhook_list(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    endpoints = list(service.endpoint_list(membership=membership))
    latest = service.endpoint_last_deliveries(endpoints)
    rows = [{"endpoint": e, "last": latest.get(e.pk)} for e in endpoints]
    return render(request, "inbound/webhooks/list.html", {"rows": rows, "event_types": service.EVENT_TYPES})


@require_http_methods(["GET", "POST"])
@member_view
def webhook_create(request: HttpRequest) -> HttpResponse:
    membership = _admin(request)
    if request.method == "GET":
        form = WebhookForm(initial={"events": ["lead.created"]})
        return render(request, "inbound/webhooks/form.html", {"form": form})
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            endpoint, _secret = service.endpoint_create(membership=membership, data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Webhook added. Copy its signing secret below for your receiver."))
            return redirect("webhook_detail", endpoint.pk)
    return render(request, "inbound/webhooks/form.html", {"form": form}, status=422)


@require_GET
@member_view
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    endpoint = service.endpoint_get(membership=membership, endpoint_id=pk)
    try:
        secret = service.endpoint_secret(endpoint)
    except CredentialsUnreadable:
        secret = ""
    deliveries = list(service.delivery_list(membership=membership, endpoint_id=pk).order_by("-id")[: RECENT + 1])
    context = {
        "endpoint": endpoint,
        "secret": secret,
        "deliveries": deliveries[:RECENT],
        "more": len(deliveries) > RECENT,
        "event_types": service.EVENT_TYPES,
    }
    return _no_store(render(request, "inbound/webhooks/detail.html", context))


@require_http_methods(["GET", "POST"])
@member_view
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    endpoint = service.endpoint_get(membership=membership, endpoint_id=pk)
    if request.method == "GET":
        initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
        return render(
            request, "inbound/webhooks/form.html", {"form": WebhookForm(initial=initial), "endpoint": endpoint}
        )
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            service.endpoint_update(membership=membership, endpoint_id=endpoint.pk, data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Webhook saved."))
            return redirect("webhook_detail", endpoint.pk)
    return render(request, "inbound/webhooks/form.html", {"form": form, "endpoint": endpoint}, status=422)


@require_POST
@member_view
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    service.endpoint_delete(membership=membership, endpoint_id=pk)
    messages.success(request, _("Webhook removed."))
    return redirect("webhook_list")


@require_POST
@member_view
def webhook_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    service.endpoint_rotate_secret(membership=membership, endpoint_id=pk)
    messages.success(
        request,
        _("New signing secret made. For 24 hours deliveries carry a signature with the old one too."),
    )
    return redirect("webhook_detail", pk)


@require_POST
@member_view
def webhook_enable(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    service.endpoint_enable(membership=membership, endpoint_id=pk)
    messages.success(request, _("Webhook switched on: new events go to it again."))
    return redirect("webhook_detail", pk)


@require_POST
@member_view
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    delivery = service.webhook_send_test(membership=membership, endpoint_id=pk)
    _say_outcome(request, delivery.last_status_code, delivery.last_error, delivery.status == "delivered")
    return redirect("webhook_delivery_detail", delivery.pk)


def _say_outcome(request: HttpRequest, status_code: int | None, error: str, ok: bool) -> None:
    if ok:
        messages.success(request, _("Delivered: the receiver answered %(status)s.") % {"status": status_code})
    else:
        messages.error(request, _("Not delivered: %(error)s") % {"error": error or status_code})


@require_GET
@member_view
def webhook_delivery_list(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    endpoint = service.endpoint_get(membership=membership, endpoint_id=pk)
    cursor = request.GET.get("cursor") or None
    try:
        page = paginate(
            service.delivery_list(membership=membership, endpoint_id=pk), order="-id", cursor=cursor, limit=LOG_PAGE
        )
    except ValidationError:
        raise Http404() from None
    context = {"endpoint": endpoint, "deliveries": page.items, "next_cursor": page.next_cursor, "paged": bool(cursor)}
    return render(request, "inbound/webhooks/deliveries.html", context)


@require_GET
@member_view
def webhook_delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    delivery = service.delivery_get(membership=membership, delivery_id=pk)
    context = {
        "delivery": delivery,
        "endpoint": delivery.endpoint,
        "attempts": service.delivery_attempts(delivery),
        "body": json.dumps(delivery.payload, indent=2, ensure_ascii=False, sort_keys=True),
        "max_attempts": MAX_ATTEMPTS,
    }
    return render(request, "inbound/webhooks/delivery.html", context)


@require_POST
@member_view
def webhook_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _admin(request)
    try:
        attempt = service.delivery_redeliver(membership=membership, delivery_id=pk)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        _say_outcome(request, attempt.status_code, attempt.error, not attempt.error)
    return redirect("webhook_delivery_detail", pk)
