"""ASGI entry point used by `insidesales serve`.

Django's ASGI handler runs a synchronous view by hopping between the event loop and a thread created
for the request several times (middleware, view, signals), which costs a couple of milliseconds per
request. Nearly every view here is synchronous, so HTTP requests for synchronous views go to Django's
WSGI handler on a fixed pool of threads (one hop in, one out); asynchronous views — streams of live
events — and every other kind of connection stay on the ASGI handler. Both handlers run the same
middleware, URLs and settings.

WEB_THREADS: how many requests one process works on at once (default 8).
"""

import os

from a2wsgi import WSGIMiddleware
from asgiref.sync import iscoroutinefunction
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "insidesales.settings")

django_asgi = get_asgi_application()
django_wsgi = WSGIMiddleware(get_wsgi_application(), workers=int(os.environ.get("WEB_THREADS", "8")))


def is_async_view(path: str) -> bool:
    """Whether the view `path` resolves to is asynchronous, as Django's handler decides it (unknown
    paths: no)."""
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


async def application(scope, receive, send):
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if scope["type"] == "http" and not is_async_view(path or "/"):
        return await django_wsgi(scope, receive, send)
    return await django_asgi(scope, receive, send)
