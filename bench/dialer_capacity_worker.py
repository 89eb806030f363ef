"""The measured dialer worker of `bench.dialer_capacity`, in a process of its own: the real `Dialer` and
`SimulatedProvider` at speed 1.0, with every event's emit and applied time and the carrier's draw per call
reported to the bench's main process (`Collector`)."""

from __future__ import annotations

import os
import time


def profile():
    from insidesales.calls.simulated import CarrierProfile, TalkTime

    return CarrierProfile(live_rate=0.20, machine_rate=0.15, busy_rate=0.05, talk=TalkTime(mean=180.0))


def drawn_status(outcome: str, seconds: float, ring_timeout: float) -> str:
    """The final status a carrier draw means for a call nobody hangs up while it rings."""
    if outcome == "no_answer" or seconds > ring_timeout:
        return "no_answer"
    return {"live": "completed", "machine": "machine", "busy": "busy"}[outcome]


def worker_main(queue, stop, seed: int, profile_path: str = "") -> None:
    """The dialer worker, measured: every event's emit and applied time and the carrier's draw per call
    go to `queue` (every 0.5 s), with the process's CPU time, pending events and event-loop lag."""
    import asyncio

    import django

    django.setup()
    if profile_path:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    asyncio.run(_work(queue, stop, seed))
    if profile_path:
        profiler.disable()
        profiler.dump_stats(profile_path)


async def _work(queue, stop, seed: int) -> None:
    import asyncio

    from insidesales.calls.dialer import RING_TIMEOUT_S, Dialer
    from insidesales.calls.models import ProviderKind
    from insidesales.calls.providers.simulated import SimulatedProvider

    loop = asyncio.get_running_loop()
    dialer = Dialer(speed=1.0)
    records: list[tuple] = []
    pending: dict[int, float] = {}
    draws: dict[asyncio.Task, tuple] = {}
    drawn: list[tuple[str, str]] = []
    loop_lags: list[tuple[float, float]] = []

    async def sink(event) -> None:
        emitted, error = event.occurred_at.timestamp(), ""
        draw = draws.pop(asyncio.current_task(), None)  # the leg's task drew its outcome just before
        if draw is not None:
            drawn.append((event.provider_call_id, drawn_status(*draw, RING_TIMEOUT_S)))
        pending[id(event)] = emitted
        try:
            await dialer.on_event(event)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            raise
        finally:
            del pending[id(event)]
            applied = time.time()
            records.append((event.provider_call_id, event.event_id, str(event.kind), emitted, applied, error))

    provider = SimulatedProvider(sink, profile=profile(), seed=seed, speed=1.0)
    dial = provider.carrier.dial

    def dial_recorded():
        result = dial()
        draws[asyncio.current_task()] = (str(result.outcome), result.seconds)
        return result

    provider.carrier.dial = dial_recorded
    dialer.providers[ProviderKind.SIMULATED] = provider

    async def watch_loop() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(0.05)
            loop_lags.append((time.time(), (loop.time() - before - 0.05) * 1000))

    def report(kind: str) -> None:
        cpu = os.times()
        queue.put(
            (
                kind,
                records[:],
                drawn[:],
                loop_lags[:],
                (time.time(), cpu.user + cpu.system, min(pending.values(), default=None), len(pending)),
            )
        )
        del records[:], drawn[:], loop_lags[:]

    running = asyncio.create_task(dialer.run())
    watcher = asyncio.create_task(watch_loop())
    report("ready")
    while not stop.is_set() and not running.done():
        await asyncio.sleep(0.5)
        report("batch")
    dialer.stopping.set()
    await running
    watcher.cancel()
    report("done")


class Collector:
    """The worker's reports, gathered in this process."""

    def __init__(self, queue) -> None:
        self.queue = queue
        self.records: list[tuple] = []
        self.drawn: dict[str, str] = {}
        self.loop_lags: list[tuple[float, float]] = []
        self.cpu: list[tuple[float, float]] = []
        self.oldest_pending: float | None = None
        self.done = False

    def take(self, message) -> str:
        kind, records, drawn, loop_lags, (now, cpu, oldest, _count) = message
        self.records += records
        self.drawn.update(drawn)
        self.loop_lags += loop_lags
        self.cpu.append((now, cpu))
        self.oldest_pending = oldest
        self.done = self.done or kind == "done"
        return kind

    def poll(self) -> None:
        import queue as queue_module

        while True:
            try:
                self.take(self.queue.get_nowait())
            except queue_module.Empty:
                return

    def wait(self, kind: str, timeout: float) -> None:
        deadline = time.time() + timeout
        while self.take(self.queue.get(timeout=max(0.1, deadline - time.time()))) != kind:
            pass

    def cpu_percent(self, start: float, end: float) -> float:
        inside = [sample for sample in self.cpu if start <= sample[0] <= end]
        if len(inside) < 2:
            return 0.0
        (wall_a, cpu_a), (wall_b, cpu_b) = inside[0], inside[-1]
        return round(100 * (cpu_b - cpu_a) / (wall_b - wall_a), 1)
