"""Garbage collection between requests: the server's loaded state frozen, ordinary requests not
interrupted by the collector, a collection once the last request in flight is answered."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest
from django.http import HttpResponse
from django.urls import path

from insidesales import asgi
from insidesales.core.gcpolicy import FULL_EVERY, MIDDLE_EVERY, YOUNG_THRESHOLD, BetweenRequests

EVENTS: list = []


def view(request):
    EVENTS.append("view")
    return HttpResponse("ok")


urlpatterns = [path("plain/", view)]


@pytest.fixture
def collections():
    """Restores the collector's state afterwards; yields the list of collections seen (generation)."""
    threshold = gc.get_threshold()
    EVENTS.clear()

    def seen(phase, info):
        if phase == "start":
            EVENTS.append(("gc", info["generation"]))

    gc.callbacks.append(seen)
    yield EVENTS
    gc.callbacks.remove(seen)
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_install_freezes_the_loaded_state_and_raises_the_young_threshold(collections, monkeypatch):
    policy = BetweenRequests()
    policy.install()
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    frozen = gc.get_freeze_count()
    collections.clear()
    freezes = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append("freeze"))
    policy.install()  # once per process: no second collection, nothing frozen again
    assert freezes == [] and collections == []
    # Frozen objects can still be freed by reference counting, so the count may only fall.
    assert gc.get_freeze_count() <= frozen


def test_collects_when_the_last_request_in_flight_is_answered(collections):
    policy = BetweenRequests()
    policy.install()
    collections.clear()
    policy.started()
    policy.started()
    assert policy.finished() is None  # another request is still being served
    assert collections == []
    assert policy.finished() == 0
    assert collections == [("gc", 0)]
    generations = []
    for _ in range(FULL_EVERY - 1):
        policy.started()
        generations.append(policy.finished())
    assert generations.count(2) == 1 and generations[-1] == 2
    assert generations.count(1) == FULL_EVERY // MIDDLE_EVERY - 1
    assert all(g == 1 for i, g in enumerate(generations, start=2) if i % MIDDLE_EVERY == 0 and i % FULL_EVERY)


def test_a_request_allocating_more_than_the_threshold_is_still_collected(collections):
    BetweenRequests().install()
    collections.clear()
    cycles = []
    for _ in range(YOUNG_THRESHOLD // 2 + 1000):
        a, b = [], []
        a.append(b)
        b.append(a)
        cycles.append(a)
    assert ("gc", 0) in collections


def serve_twice(settings, monkeypatch, *, enabled: bool):
    """Two GET /plain/ through the real ASGI application with a fresh collector; returns the
    collector, both responses and the events seen by the end of the first."""
    settings.ROOT_URLCONF = __name__
    settings.GC_BETWEEN_REQUESTS = enabled
    collector = BetweenRequests()
    monkeypatch.setattr(asgi, "collector", collector)

    async def run():
        transport = httpx.ASGITransport(app=asgi.application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            first = await client.get("/plain/")
            events_after_first = list(EVENTS)
            second = await client.get("/plain/")
            return first, events_after_first, second

    return collector, *asyncio.run(run())


def test_the_server_collects_after_the_response_is_sent(collections, settings, monkeypatch):
    collector, first, after_first, second = serve_twice(settings, monkeypatch, enabled=True)
    assert first.text == second.text == "ok"
    assert collector.installed and collector.in_flight == 0 and collector.pauses == 2
    # After the first request's view: the install's full collection, then the pause's young one.
    assert after_first[after_first.index("view") + 1 :] == [("gc", 2), ("gc", 0)]
    second_events = EVENTS[len(after_first) :]
    assert second_events == ["view", ("gc", 0)]


def test_off_when_the_setting_is_off(collections, settings, monkeypatch):
    collector, first, _after_first, second = serve_twice(settings, monkeypatch, enabled=False)
    assert first.text == second.text == "ok"
    assert not collector.installed and collector.pauses == 0 and gc.get_freeze_count() == 0


def test_installs_only_when_no_request_is_in_flight(collections):
    """Freezing while another request is being served would make that request's objects permanent."""
    policy = BetweenRequests()
    policy.started()
    policy.started()
    assert policy.finished(install=True) is None
    assert not policy.installed and gc.get_freeze_count() == 0
    assert policy.finished(install=True) == 0
    assert policy.installed and gc.get_freeze_count() > 1000
