"""Live events for server-sent-event screens (the agent desktop, the wallboard), across processes.

`publish` writes after the surrounding transaction commits (a screen never shows what was rolled
back); `listen` is an async iterator a streaming view reads. Events go through the database, which
every deployment has; a listener polls its topics' newest ids every `POLL_SECONDS` with one indexed
query, which keeps delivery well under half a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections, transaction
from django.db.models import Max
from django.utils import timezone

from insidesales.core.models import LiveEvent

POLL_SECONDS = 0.1
KEEP = dt.timedelta(minutes=10)
HEARTBEAT_SECONDS = 15.0


def publish(topic: str, payload: dict[str, Any]) -> None:
    """Send `payload` to everyone listening on `topic` once the current transaction commits."""
    transaction.on_commit(lambda: LiveEvent.objects.create(topic=topic, payload=payload))


def latest_id(topics: Iterable[str]) -> int:
    return LiveEvent.objects.filter(topic__in=list(topics)).aggregate(m=Max("id"))["m"] or 0


def events_after(topics: Iterable[str], after: int, limit: int = 100) -> list[tuple[int, str, dict]]:
    rows = LiveEvent.objects.filter(topic__in=list(topics), id__gt=after).order_by("id")[:limit]
    return [(row.id, row.topic, row.payload) for row in rows]


def _poll(topics: list[str], after: int) -> list[tuple[int, str, dict]]:
    try:
        return events_after(topics, after)
    finally:
        close_old_connections()


async def listen(
    topics: list[str], after: int, heartbeat: float | None = None
) -> AsyncIterator[tuple[int, str, dict] | None]:
    """Yield (id, topic, payload) for every event on `topics` after id `after`, forever; with `heartbeat`,
    also None after each `heartbeat` seconds without an event (time for a keep-alive).

    Never wrap a step of this iterator in `asyncio.wait_for`: a timeout cancels the generator mid-await,
    which ends it for good (the next step raises StopAsyncIteration) — hence the heartbeat ticks."""
    poll = sync_to_async(_poll, thread_sensitive=False)
    quiet_since = time.monotonic()
    while True:
        events = await poll(topics, after)
        for event in events:
            after = event[0]
            yield event
        if events:
            quiet_since = time.monotonic()
        elif heartbeat is not None and time.monotonic() - quiet_since >= heartbeat:
            quiet_since = time.monotonic()
            yield None
        await asyncio.sleep(POLL_SECONDS)


def sse_frame(event_id: int, name: str, payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\nevent: {name}\ndata: {data}\n\n".encode()


def prune(now: dt.datetime | None = None) -> int:
    """Delete events older than KEEP (listeners that were away longer reload the page anyway)."""
    cutoff = (now or timezone.now()) - KEEP
    deleted, _ = LiveEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
