"""The `Inside Sales API` object: authentication, rate limits, idempotency, problem responses, routers.

Mounted at /api/v1/ by `insidesales/urls.py`; OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs
(served from django-ninja's bundled static files, no CDN).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger

from insidesales.api.auth import auth_schemes
from insidesales.api.errors import install_exception_handlers, problem_response
from insidesales.api.idempotency import idempotency_lookup, idempotency_transaction
from insidesales.api.openapi import complete_schema
from insidesales.api.ratelimit import ApiRateLimit, add_rate_limit_headers
from insidesales.api.routers import (
    calls,
    campaigns,
    companies,
    config,
    contacts,
    deals,
    do_not_call,
    duplicates,
    email_templates,
    emails,
    leads,
    mailboxes,
    me,
    record_duplicates,
    routing,
    sequences,
    tasks,
    web_forms,
    webhooks,
)
from insidesales.api.routers import inbound as inbound_api

DESCRIPTION = gettext_lazy(
    "The Inside Sales REST API. Authenticate with an API key (`Authorization: Bearer <key>` or "
    "`X-API-Key: <key>`) or a browser session with its CSRF token. Errors are RFC 9457 problem details "
    "(`application/problem+json`). Lists are cursor-paginated. POST accepts an `Idempotency-Key`."
)


class InsideSalesAPI(NinjaAPI):
    """NinjaAPI whose URLs answer problem+json for unknown paths and wrong methods too."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return complete_schema(schema)

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        urls: list[URLPattern | URLResolver] = []
        for pattern in super()._get_urls():
            if isinstance(pattern, URLPattern) and pattern.name == "api-root":
                root = functools.partial(api_root, api=self)
                root.csrf_exempt = True  # type: ignore[attr-defined]
                urls.append(path("", root, name="api-root"))
            elif isinstance(pattern, URLPattern):
                pattern.callback = _problem_for_wrong_method(pattern.callback)
                urls.append(pattern)
            else:
                urls.append(pattern)
        urls.append(re_path(r"^.*$", unknown_path, name="api-unknown"))
        return urls


def _problem_for_wrong_method(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return problem_response(
                405,
                _("This path does not answer %(method)s.") % {"method": request.method},
                headers={"Allow": response["Allow"]},
            )
        return response

    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapper


def api_root(request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
    return JsonResponse(
        {"title": api.title, "version": api.version, "openapi": "openapi.json", "docs": "docs"},
    )


@csrf_exempt  # a POST to a wrong path answers problem+json, never Django's HTML CSRF page
def unknown_path(request: HttpRequest) -> HttpResponse:
    return problem_response(404, _("There is no such API path."))


def add_response_headers(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Outermost wrapper: the rate-limit headers go on every answer to a known caller, errors included."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = run(request, *args, **kwargs)
        add_rate_limit_headers(request, response)
        return response

    return wrapper


api = InsideSalesAPI(
    title="Inside Sales API",
    version="1",
    description=str(DESCRIPTION),
    urls_namespace="api-v1",
    docs=Swagger(settings={"persistAuthorization": False}),
    auth=auth_schemes(),
    throttle=[ApiRateLimit()],
)
install_exception_handlers(api)
# "operation" wraps the endpoint function (after auth and validation); "view" wraps the whole operation.
api.add_decorator(idempotency_lookup, mode="operation")
api.add_decorator(idempotency_transaction, mode="view")
api.add_decorator(add_response_headers, mode="view")

api.add_router("/leads", leads.router)
api.add_router("/contacts", contacts.router)
api.add_router("/companies", companies.router)
api.add_router("/deals", deals.router)
api.add_router("/tasks", tasks.router)
api.add_router("/duplicates", duplicates.router)
api.add_router("/duplicates/contacts", record_duplicates.CONTACT_PAIRS)
api.add_router("/duplicates/companies", record_duplicates.COMPANY_PAIRS)
api.add_router("/merges", duplicates.merges_router)
api.add_router("/merges/contacts", record_duplicates.CONTACT_MERGES)
api.add_router("/merges/companies", record_duplicates.COMPANY_MERGES)
api.add_router("/tags", config.tags_router)
api.add_router("/custom-fields", config.custom_fields_router)
api.add_router("/pipelines", config.pipelines_router)
api.add_router("/saved-views", config.saved_views_router)
api.add_router("/calls", calls.router)
api.add_router("/dispositions", calls.dispositions_router)
api.add_router("/do-not-call", do_not_call.router)
api.add_router("/callbacks", calls.callbacks_router)
api.add_router("/campaigns", campaigns.router)
api.add_router("/me/dialer", campaigns.dialer_router)
api.add_router("/mailboxes", mailboxes.router)
api.add_router("/emails", emails.router)
api.add_router("/suppressions", mailboxes.suppressions_router)
api.add_router("/email-templates", email_templates.router)
api.add_router("/sequences", sequences.router)
api.add_router("/enrollments", sequences.enrollments_router)
api.add_router("/inbound", inbound_api.router)
api.add_router("/reports", inbound_api.reports_router)
api.add_router("/forms", web_forms.router)
api.add_router("/routing-rules", routing.router)
api.add_router("/me/availability", routing.me_router)
api.add_router("/availability", routing.availability_router)
api.add_router("/webhooks", webhooks.router)
api.add_router("/webhook-deliveries", webhooks.deliveries_router)
api.add_router("", me.router)
