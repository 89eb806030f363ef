"""Live events: every open stream of a process shares one poll; each stream gets its own topic's events,
in order, once, including those published before it started listening."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from insidesales.core import live
from insidesales.core.models import LiveEvent

pytestmark = pytest.mark.django_db(transaction=True)


def publish_now(topic: str, n: int) -> None:
    LiveEvent.objects.create(topic=topic, payload={"n": n})


def test_streams_share_one_poll_and_get_only_their_topics_in_order(monkeypatch):
    calls = {"news": 0}
    original = live._news

    def counted(after, gaps=()):
        calls["news"] += 1
        return original(after, gaps)

    monkeypatch.setattr(live, "_news", counted)
    publish_now("a", 0)  # before anyone listens: read by the stream that asks from id 0

    async def collect(topic: str, want: int) -> list[int]:
        seen = []
        async for event in live.listen([topic], 0, heartbeat=5):
            if event is not None:
                seen.append(event[2]["n"])
            if len(seen) == want:
                return seen
        return seen

    async def scenario():
        streams = [asyncio.create_task(collect(t, w)) for t, w in (("a", 4), ("b", 3), ("c", 3))]
        await asyncio.sleep(0.3)
        started = calls["news"]
        await asyncio.sleep(1.0)  # three streams open and waiting
        polls_per_second = calls["news"] - started
        for n in range(1, 4):
            for topic in ("a", "b", "c"):
                await sync_to_async(publish_now)(topic, n)
            await asyncio.sleep(0.15)
        results = await asyncio.wait_for(asyncio.gather(*streams), 5)
        return results, polls_per_second

    (a, b, c), polls_per_second = asyncio.run(scenario())
    assert a == [0, 1, 2, 3] and b == [1, 2, 3] and c == [1, 2, 3]
    # One poll every POLL_SECONDS for the whole process, not one per stream.
    assert 1 <= polls_per_second <= 1.0 / live.POLL_SECONDS + 2


def test_a_quiet_stream_yields_heartbeats_and_then_the_next_event():
    async def scenario():
        got = []
        async for event in live.listen(["quiet"], 0, heartbeat=0.2):
            got.append(event)
            if event is None and got.count(None) == 2:
                await sync_to_async(publish_now)("quiet", 7)
            if event is not None:
                return got

    got = asyncio.run(asyncio.wait_for(scenario(), 5))
    assert got[:2] == [None, None] and got[-1][2] == {"n": 7}


def test_an_event_committed_after_a_newer_one_still_wakes_its_stream():
    """On PostgreSQL a transaction that took a lower id may commit after one with a higher id: the hub asks
    for the missing ids again, so that event is not left until the next heartbeat."""

    async def scenario():
        base = await sync_to_async(live._newest_id)() + 10
        got = []

        async def read():
            async for event in live.listen(["late"], 0, heartbeat=30):
                if event is not None:
                    got.append(event[2]["n"])
                    return

        task = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        await sync_to_async(lambda: LiveEvent.objects.create(id=base + 2, topic="other", payload={"n": 2}))()
        await asyncio.sleep(0.3)  # the hub has seen id base+2: base+1 is a gap now
        await sync_to_async(lambda: LiveEvent.objects.create(id=base + 1, topic="late", payload={"n": 1}))()
        await asyncio.wait_for(task, 3)  # well before the 30 s heartbeat
        return got

    assert asyncio.run(scenario()) == [1]
