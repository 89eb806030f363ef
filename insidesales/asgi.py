"""ASGI entry point used by `insidesales serve`.

Django's ASGI handler runs a synchronous view by hopping between the event loop and a thread created
for the request several times (middleware, view, signals), which costs a couple of milliseconds per
request. Nearly every view here is synchronous, so HTTP requests for synchronous views go to Django's
WSGI handler on a fixed pool of threads (one hop in, one out); asynchronous views — streams of live
events — and every other kind of connection stay on the ASGI handler. Both handlers run the same
middleware, URLs and settings.

The request body is read on the event loop first, as Django's ASGI handler does (into a spooled
temporary file): a client sending its body slowly holds a coroutine, never one of the threads; a
client that disconnects mid-body is dropped before any view runs; a chunked body arrives whole,
with its length.

WEB_THREADS: how many requests one process works on at once (default 8).

Garbage is collected between synchronous requests rather than during them (`core.gcpolicy`; setting
GC_BETWEEN_REQUESTS), installed once the first request has loaded the URL configuration and views.
"""

import io
import os
import tempfile

from a2wsgi import WSGIMiddleware
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, get_resolver

from insidesales.core.gcpolicy import BetweenRequests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insidesales.settings")

django_asgi = get_asgi_application()
django_wsgi = WSGIMiddleware(get_wsgi_application(), workers=int(os.environ.get("WEB_THREADS", "8")))
CHUNK = 64 * 1024
collector = BetweenRequests()


def is_async_view(path: str) -> bool:
    """Whether the view `path` resolves to is asynchronous, as Django's handler decides it (unknown
    paths: no)."""
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


class ClientGone(Exception):
    """The client disconnected before sending its whole request body."""


async def read_body(receive):
    """The whole request body as a file positioned at its start (in memory up to
    FILE_UPLOAD_MAX_MEMORY_SIZE, then on disk), and its size."""
    body = None
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if body is not None:
                body.close()
            raise ClientGone()
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        if body is None:
            if not more:  # the usual case: the whole body (often none) in one message
                return io.BytesIO(chunk), len(chunk)
            body = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b")
        body.write(chunk)
        size += len(chunk)
        if not more:
            body.seek(0)
            return body, size


def replaying(body, receive):
    """An ASGI `receive` that hands out the buffered body, then waits for the client's disconnect."""
    finished = False

    async def replay():
        nonlocal finished
        if finished:
            return await receive()
        chunk = body.read(CHUNK)
        if len(chunk) < CHUNK:
            finished = True
            body.close()
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    return replay


def with_length(scope, size: int):
    """The scope with `content-length` set to the size actually received (chunked bodies have none)."""
    headers = [(name, value) for name, value in scope.get("headers", []) if name.lower() != b"content-length"]
    headers.append((b"content-length", str(size).encode()))
    return {**scope, "headers": headers}


async def serve_wsgi(scope, receive, send):
    try:
        body, size = await read_body(receive)
    except ClientGone:
        return None  # nobody to answer; no view runs on half a form
    return await django_wsgi(with_length(scope, size), replaying(body, receive), send)


async def application(scope, receive, send):
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if scope["type"] == "http" and not is_async_view(path or "/"):
        # Only synchronous requests count: a live event stream stays open for hours and would keep
        # the server from ever looking idle.
        collector.started()
        try:
            return await serve_wsgi(scope, receive, send)
        finally:
            collector.finished(install=settings.GC_BETWEEN_REQUESTS)
    return await django_asgi(scope, receive, send)
