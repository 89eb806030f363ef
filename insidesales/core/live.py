"""Live events for server-sent-event screens (the agent desktop, the wallboard), across processes.

`publish` writes after the surrounding transaction commits (a screen never shows what was rolled
back); `listen` is an async iterator a streaming view reads. Events go through the database, which
every deployment has: one poll per process every `POLL_SECONDS` finds which topics have news (`_Hub`)
and wakes their listeners, which keeps delivery well under half a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections, transaction
from django.db.models import Max, Q
from django.utils import timezone

from insidesales.core.models import LiveEvent

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.1
GAP_SECONDS = 10.0
MAX_GAPS = 1000
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


def _news(after: int, gaps: Iterable[int] = ()) -> list[tuple[int, str]]:
    """(id, topic) of every event after `after` or with one of the ids in `gaps`, whatever its topic (the
    hub's one query)."""
    try:
        wanted = Q(id__gt=after)
        if gaps:
            wanted |= Q(id__in=list(gaps))
        return list(LiveEvent.objects.filter(wanted).order_by("id").values_list("id", "topic")[:1000])
    finally:
        close_old_connections()


def _newest_id() -> int:
    try:
        return LiveEvent.objects.aggregate(m=Max("id"))["m"] or 0
    finally:
        close_old_connections()


class _Hub:
    """One poll per process for every open stream: every `POLL_SECONDS` it asks which topics have new
    events and wakes the streams listening to them (each then reads its own events, in order, from its own
    last id). Fifty reps with the app open cost one small query ten times a second, not fifty."""

    def __init__(self) -> None:
        self.waiting: dict[str, set[asyncio.Event]] = {}
        self.task: asyncio.Task | None = None

    async def join(self, topics: list[str], wake: asyncio.Event) -> None:
        """Wake `wake` for news on `topics` from now on. Returns once the hub's position is read, so a
        listener's own first read (after this) covers everything older."""
        for topic in topics:
            self.waiting.setdefault(topic, set()).add(wake)
        if self.task is None or self.task.done():
            position = await sync_to_async(_newest_id, thread_sensitive=False)()
            if self.task is None or self.task.done():
                self.task = asyncio.get_running_loop().create_task(self._run(position))

    def leave(self, topics: list[str], wake: asyncio.Event) -> None:
        for topic in topics:
            listeners = self.waiting.get(topic)
            if listeners is not None:
                listeners.discard(wake)
                if not listeners:
                    del self.waiting[topic]

    async def _run(self, position: int) -> None:
        news = sync_to_async(_news, thread_sensitive=False)
        # Ids below the newest seen that were not there yet: on PostgreSQL a transaction that took a lower id
        # may commit after one with a higher id. They are asked for again until they show up (or, rolled
        # back, for GAP_SECONDS).
        gaps: dict[int, float] = {}
        while self.waiting:
            await asyncio.sleep(POLL_SECONDS)
            try:
                rows = await news(position, list(gaps))
            except Exception:  # noqa: BLE001 - a failed poll (database restarting) is tried again next time
                logger.warning("live events: poll failed, trying again", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            now = time.monotonic()
            seen = {event_id for event_id, _topic in rows}
            for event_id in seen:
                gaps.pop(event_id, None)
            if rows and rows[-1][0] > position:
                newest = rows[-1][0]
                if newest - position < MAX_GAPS:
                    for missing in range(position + 1, newest):
                        if missing not in seen:
                            gaps[missing] = now
                position = newest
            for stale in [event_id for event_id, since in gaps.items() if now - since > GAP_SECONDS]:
                del gaps[stale]
            for topic in {topic for _id, topic in rows}:
                for wake in self.waiting.get(topic, ()):
                    wake.set()
        self.task = None


_hubs: dict[asyncio.AbstractEventLoop, _Hub] = {}


def _hub() -> _Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for closed in [other for other in _hubs if other.is_closed()]:
            del _hubs[closed]
        hub = _hubs[loop] = _Hub()
    return hub


async def listen(
    topics: list[str], after: int, heartbeat: float | None = None
) -> AsyncIterator[tuple[int, str, dict] | None]:
    """Yield (id, topic, payload) for every event on `topics` after id `after`, forever; with `heartbeat`,
    also None after each `heartbeat` seconds without an event (time for a keep-alive).

    The process's hub tells when to look (see `_Hub`); the events themselves are read by id, so none is
    missed or repeated whatever the timing."""
    poll = sync_to_async(_poll, thread_sensitive=False)
    wake = asyncio.Event()
    hub = _hub()
    await hub.join(topics, wake)
    try:
        while True:
            wake.clear()
            events = await poll(topics, after)
            for event in events:
                after = event[0]
                yield event
            if len(events) >= 100:
                continue  # more waiting
            try:
                await asyncio.wait_for(wake.wait(), timeout=heartbeat)
            except TimeoutError:
                yield None
    finally:
        hub.leave(topics, wake)


def sse_frame(event_id: int, name: str, payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event_id}\nevent: {name}\ndata: {data}\n\n".encode()


def prune(now: dt.datetime | None = None) -> int:
    """Delete events older than KEEP (listeners that were away longer reload the page anyway)."""
    cutoff = (now or timezone.now()) - KEEP
    deleted, _ = LiveEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
