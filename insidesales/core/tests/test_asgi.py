"""The ASGI entry point: synchronous views through Django's WSGI handler on a thread pool, asynchronous
views (live event streams) through Django's ASGI handler; the same middleware either way."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.http import HttpResponse
from django.urls import include, path

from insidesales.asgi import application, is_async_view


def sync_view(request):
    return HttpResponse(f"sync {type(request).__name__} {request.path} {request.GET.get('q', '')}")


async def async_view(request):
    return HttpResponse(f"async {type(request).__name__}")


urlpatterns = [path("sync/", sync_view), path("live/", async_view), path("", include("insidesales.urls"))]


@pytest.fixture
def test_urls(settings):
    settings.ROOT_URLCONF = __name__


def get(url: str, **kwargs) -> httpx.Response:
    async def run():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(url, **kwargs)

    return asyncio.run(run())


def test_views_are_told_apart_by_their_kind(test_urls):
    assert is_async_view("/live/")
    assert not is_async_view("/sync/")
    assert not is_async_view("/no/such/page/")


def test_a_synchronous_view_is_served_by_the_wsgi_handler(test_urls):
    response = get("/sync/?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82")
    assert response.status_code == 200
    assert response.text == "sync WSGIRequest /sync/ привет"
    # The project's middleware ran: security headers are there.
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_asynchronous_view_is_served_by_the_asgi_handler(test_urls):
    response = get("/live/")
    assert response.status_code == 200
    assert response.text == "async ASGIRequest"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_paths_get_the_projects_404(test_urls):
    response = get("/no/such/page/")
    assert response.status_code == 404


def test_the_openapi_document_is_served_through_the_entry_point():
    response = get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
