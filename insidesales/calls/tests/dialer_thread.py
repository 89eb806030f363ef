"""A real dialer worker for tests: its own thread and event loop, the simulated carrier sped up."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from insidesales.calls.dialer import Dialer
from insidesales.calls.models import ProviderKind
from insidesales.calls.providers.simulated import SimulatedProvider
from insidesales.calls.simulated import CarrierProfile


@contextlib.contextmanager
def running_dialer(profile: CarrierProfile, *, speed: float = 1000.0):
    """A dialer worker in a thread of its own (simulated carrier, 1000× faster than life)."""
    loop = asyncio.new_event_loop()
    dialer: Dialer | None = None
    started = threading.Event()

    async def main() -> None:
        nonlocal dialer
        dialer = Dialer(speed=speed)
        dialer.providers[ProviderKind.SIMULATED] = SimulatedProvider(
            dialer.on_event, profile=profile, seed=7, speed=speed
        )
        started.set()
        await dialer.run()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    started.wait(5)
    try:
        yield dialer
    finally:
        loop.call_soon_threadsafe(dialer.stopping.set)
        thread.join(10)
        loop.close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the dialer did not get there in time"
        time.sleep(0.02)
