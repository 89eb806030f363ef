"""The test database as a `DATABASE_URL`, for the real processes tests start on it (server, workers, CLI)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def url_of_test_database() -> str:
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
