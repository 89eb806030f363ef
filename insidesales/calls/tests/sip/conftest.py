"""SIPp as the carrier, the customers and the agents for the `sip` adapter's tests.

Each scenario in scenarios/ is one far end. `sipp` runs it on a free port of 127.0.0.1 for
exactly one call: as a UAS, or as a UAC calling `remote` (the caller the trunk sends us). A test
asserts the events our provider reported and that SIPp ran the scenario to its end (exit status 0,
one successful call, no failed one).
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from insidesales.calls.providers.base import EventKind, ProviderEvent
from insidesales.calls.providers.sip import SipProvider, SipTimers

SCENARIOS = Path(__file__).parent / "scenarios"
FAST_TIMERS = SipTimers(t1=0.05, t2=0.4, t4=0.5)


@pytest.fixture(scope="session")
def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        pytest.fail(
            "sipp is not installed (Debian package sip-tester): run scripts/test, which installs it",
            pytrace=False,
        )
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _udp_port_bound(port: int) -> bool:
    # Reading the socket table rather than trying to bind the port ourselves: a probe bind could
    # take the port from SIPp in the instant it starts.
    with open("/proc/net/udp") as table:
        next(table)  # the column names
        return any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in table)


@dataclass
class SippResult:
    returncode: int
    counters: dict[str, str]
    errors: str

    @property
    def succeeded(self) -> bool:
        return (
            self.returncode == 0
            and self.counters.get("SuccessfulCall(C)") == "1"
            and self.counters.get("FailedCall(C)") == "0"
        )


@dataclass
class Sipp:
    """One SIPp process playing one scenario as the far end of one call."""

    binary: str
    scenario: str
    workdir: Path
    port: int = field(default_factory=free_udp_port)
    options: tuple[str, ...] = ()
    fill: dict[str, str] = field(default_factory=dict)  # @name@ in the scenario → value (SIPp reads
    # status codes when it loads a scenario, before any -key substitution)
    host: str = "127.0.0.1"  # another loopback address (127.0.0.2) is another machine to our provider
    remote: str = ""  # host:port a UAC scenario calls
    process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def uri(self) -> str:
        return f"sip:far-end@{self.host}:{self.port}"

    async def start(self) -> Sipp:
        text = (SCENARIOS / self.scenario).read_text()
        for name, value in self.fill.items():
            text = text.replace(f"@{name}@", value)
        (self.workdir / self.scenario).write_text(text)
        command = [self.binary, "-sf", self.scenario, "-i", self.host, "-p", str(self.port)]
        command += ["-mp", str(free_udp_port()), "-cp", str(free_udp_port()), "-m", "1", "-nostdin"]
        command += ["-timeout", "10", "-timeout_error", "-trace_err", "-trace_stat", "-stf", "stats.csv"]
        command += list(self.options) + ([self.remote] if self.remote else [])
        self.process = await asyncio.create_subprocess_exec(
            *command, cwd=self.workdir, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(500):
            if _udp_port_bound(self.port):
                return self
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        raise AssertionError(f"sipp did not start on port {self.port}: {await self._stderr()}")

    async def finish(self, timeout: float = 10.0) -> SippResult:
        assert self.process is not None
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        counters: dict[str, str] = {}
        stats = self.workdir / "stats.csv"
        if stats.exists():
            rows = list(csv.reader(stats.read_text().splitlines(), delimiter=";"))
            counters = dict(zip(rows[0], rows[-1], strict=False))
        errors = "".join(path.read_text() for path in self.workdir.glob("*_errors.log"))
        return SippResult(self.process.returncode or 0, counters, errors + await self._stderr())

    async def _stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        if self.process.returncode is None:
            return ""
        return (await self.process.stderr.read()).decode(errors="replace")


@pytest.fixture
def sipp(sipp_binary: str, tmp_path: Path) -> Callable[..., Sipp]:
    """Make (not yet start) a SIPp far end: `sipp("rejected.xml", fill={"status": "486"})`."""
    count = 0

    def make(
        scenario: str, *, options: tuple[str, ...] = (), fill: dict[str, str] | None = None, host: str = "127.0.0.1"
    ) -> Sipp:
        nonlocal count
        count += 1
        workdir = tmp_path / f"sipp{count}"
        workdir.mkdir()
        return Sipp(sipp_binary, scenario, workdir, options=options, fill=fill or {}, host=host)

    return make


class Recorder:
    """The EventSink of the provider under test."""

    def __init__(self) -> None:
        self.events: list[ProviderEvent] = []

    async def __call__(self, event: ProviderEvent) -> None:
        self.events.append(event)

    @property
    def kinds(self) -> list[EventKind]:
        return [event.kind for event in self.events]

    async def wait_for(self, kind: EventKind, count: int = 1, timeout: float = 5.0) -> ProviderEvent:
        async with asyncio.timeout(timeout):
            while sum(event.kind == kind for event in self.events) < count:
                await asyncio.sleep(0.005)
        return [event for event in self.events if event.kind == kind][count - 1]


def make_provider(trunk: tuple[str, int], recorder: Recorder, **options: object) -> SipProvider:
    options.setdefault("timers", FAST_TIMERS)
    return SipProvider(
        trunk=trunk,
        sink=recorder,
        from_domain="sales.example.org",
        bind=("127.0.0.1", 0),
        **options,  # type: ignore[arg-type]
    )
