"""The ASGI entry point: synchronous views through Django's WSGI handler on a thread pool, asynchronous
views (live event streams) through Django's ASGI handler; the same middleware either way."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from insidesales.asgi import application, is_async_view


def sync_view(request):
    return HttpResponse(f"sync {type(request).__name__} {request.path} {request.GET.get('q', '')}")


CALLS = []


@csrf_exempt
def echo_view(request):
    CALLS.append(request.body)
    return HttpResponse(f"{request.method} {len(request.body)} {request.body[:20].decode()}")


async def async_view(request):
    return HttpResponse(f"async {type(request).__name__}")


urlpatterns = [
    path("sync/", sync_view),
    path("echo/", echo_view),
    path("live/", async_view),
    path("", include("insidesales.urls")),
]


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


def scope_for(path: str, *, method: str = "POST", headers: list | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call(scope: dict, messages: list[dict]) -> tuple[int | None, bytes]:
    """Run one request through the entry point; `messages` are what the client sends, then it waits."""
    incoming = list(messages)
    sent: list[dict] = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()  # a client that sends nothing more

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    status = next((m["status"] for m in sent if m["type"] == "http.response.start"), None)
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_chunked_body_arrives_whole(test_urls):
    """A body sent without Content-Length (chunked) reaches the view with its real length."""
    chunks = [b'{"name": ', b'"Ann"}']
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    scope = scope_for("/echo/", headers=[(b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")])
    status, body = asyncio.run(call(scope, messages))
    assert status == 200
    assert body == b'POST 15 {"name": "Ann"}'


def test_a_client_gone_mid_body_runs_no_view(test_urls):
    CALLS.clear()
    messages = [
        {"type": "http.request", "body": b"csrfmiddlewaretoken=x&name=", "more_body": True},
        {"type": "http.disconnect"},
    ]
    scope = scope_for("/echo/", headers=[(b"content-length", b"1000")])
    status, body = asyncio.run(call(scope, messages))
    assert status is None and body == b""
    assert CALLS == []


def test_slow_bodies_do_not_hold_the_threads(test_urls):
    """More stalled uploads than there are threads: an ordinary request is still answered at once."""
    from insidesales import asgi

    async def run():
        stalled_scope = scope_for("/echo/", headers=[(b"content-length", b"1000")])
        stalled = [
            asyncio.create_task(call(stalled_scope, [{"type": "http.request", "body": b"a=", "more_body": True}]))
            for _ in range(asgi.django_wsgi.executor._max_workers + 4)
        ]
        await asyncio.sleep(0.1)
        try:
            get = [{"type": "http.request", "body": b"", "more_body": False}]
            return await asyncio.wait_for(call(scope_for("/sync/", method="GET"), get), timeout=10)
        finally:
            for task in stalled:
                task.cancel()
            await asyncio.gather(*stalled, return_exceptions=True)

    status, body = asyncio.run(run())
    assert status == 200
    assert body == b"sync WSGIRequest /sync/ "


def test_a_large_body_in_many_messages_arrives_intact(test_urls, settings):
    """Bigger than the in-memory limit and than one replayed chunk: spooled to disk, handed on whole."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    data = b"x" * 150_000 + b"END"
    parts = [data[:70_000], data[70_000:140_000], data[140_000:]]
    messages = [{"type": "http.request", "body": p, "more_body": i < 2} for i, p in enumerate(parts)]
    CALLS.clear()
    scope = scope_for("/echo/", headers=[(b"content-length", str(len(data)).encode())])
    status, body = asyncio.run(call(scope, messages))
    assert status == 200
    assert body.startswith(b"POST 150003 ")
    assert CALLS == [data]
