"""The load side of `bench.inbound` (not a benchmark): a lean asyncio HTTP/1.1 client for the form posts
and a server-sent-events reader for the reps' notification streams.

Written on asyncio streams rather than a full HTTP library so that the client costs little CPU: the
server, its worker and this process share the same machine, and a heavy client would show up as
server latency.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field

GIVE_UP_SECONDS = 30.0
RETRY_SECONDS = 0.25
HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
    "Origin": "https://bench.example",  # one of the form's sites
    "User-Agent": "bench.inbound",
}


class HttpError(Exception):
    """The connection failed or the answer could not be read (the post may or may not have been stored)."""


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    line = await reader.readline()
    if not line:
        raise HttpError("connection closed")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise HttpError(f"bad status line {line[:80]!r}")
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise HttpError("connection closed in the headers")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body (b"" at the end)."""
    size_line = await reader.readline()
    if not size_line:
        raise HttpError("connection closed in a chunked body")
    size = int(size_line.split(b";")[0].strip() or b"0", 16)
    if size == 0:
        await reader.readline()  # the empty trailer
        return b""
    data = await reader.readexactly(size)
    await reader.readexactly(2)
    return data


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while chunk := await _read_chunk(reader):
            chunks.append(chunk)
        return b"".join(chunks)
    return await reader.read()


class Connections:
    """Keep-alive connections to one server, opened as needed (an open-loop load needs as many as there
    are posts in flight), reused while fresh: the server closes a connection idle for 5 s (uvicorn's
    default), so older ones are dropped, and a reused one that turns out closed is replaced at once, as
    browsers do."""

    IDLE_SECONDS = 4.0

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS and not reader.at_eof():
                return reader, writer, True
            writer.close()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout=self.timeout)
        except (OSError, TimeoutError) as exc:
            raise HttpError(f"connect: {exc!r}") from exc
        self.opened += 1
        return reader, writer, False

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body); raises HttpError when no complete answer came back."""
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        while True:
            reader, writer, reused = await self._connection()
            try:
                writer.write(request)
                await writer.drain()
                status, answer_headers = await asyncio.wait_for(_read_head(reader), timeout=self.timeout)
                payload = await asyncio.wait_for(_read_body(reader, answer_headers), timeout=self.timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, HttpError) as exc:
                writer.close()
                if reused and not isinstance(exc, TimeoutError):
                    continue  # the server had closed this idle connection: a fresh one, at once
                raise HttpError(repr(exc)) from exc
            if answer_headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self.idle.append((reader, writer, time.monotonic()))
            return status, payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


@dataclass
class Frame:
    submission: int | None
    notification: int
    rep: int
    at: float  # time.monotonic() when the frame was read


@dataclass
class StreamStats:
    connects: int = 0
    refused: dict[int, int] = field(default_factory=dict)  # status → times
    failures: int = 0


class NotificationStream:
    """One rep's open app: GET /notifications/stream/ with their session cookie, read for as long as the
    bench runs; reconnects (with Last-Event-ID, as a browser's EventSource does) when the server goes away."""

    PATH = "/notifications/stream/"

    def __init__(self, host: str, port: int, rep_id: int, session_key: str, frames: list[Frame]) -> None:
        self.host, self.port, self.rep_id, self.session_key = host, port, rep_id, session_key
        self.frames = frames
        self.last_id: str = ""
        self.stats = StreamStats()
        self.connected = asyncio.Event()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        while True:
            try:
                await self._once()
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.IncompleteReadError, HttpError, ValueError):
                self.stats.failures += 1
            self.connected.clear()
            await asyncio.sleep(0.2)  # EventSource waits `retry` ms; the server asks for ~1 s

    async def _once(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            head = [
                f"GET {self.PATH} HTTP/1.1",
                f"Host: {self.host}:{self.port}",
                "Accept: text/event-stream",
                "Cache-Control: no-cache",
                f"Cookie: sessionid={self.session_key}",
            ]
            if self.last_id:
                head.append(f"Last-Event-ID: {self.last_id}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            status, headers = await _read_head(reader)
            if status != 200:
                self.stats.refused[status] = self.stats.refused.get(status, 0) + 1
                await _read_body(reader, headers) if "content-length" in headers else None
                await asyncio.sleep(1.0)
                return
            self.stats.connects += 1
            self.connected.set()
            chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            buffer = b""
            while True:
                data = await _read_chunk(reader) if chunked else await reader.read(65536)
                if not data:
                    return
                buffer += data.replace(b"\r\n", b"\n")
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._event(block.decode("utf-8"), time.monotonic())
        finally:
            writer.close()

    def _event(self, block: str, at: float) -> None:
        event_id, name, data = "", "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "id":
                event_id = value
            elif key == "event":
                name = value
            elif key == "data":
                data.append(value)
        if event_id:
            self.last_id = event_id
        if name != "notify" or not data:
            return
        payload = json.loads("\n".join(data))
        self.frames.append(Frame(payload.get("submission"), int(payload.get("id") or 0), self.rep_id, at))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass


# --- the open-loop load -----------------------------------------------------------------------------


@dataclass
class Post:
    nonce: str
    body: bytes
    first_sent: float = 0.0
    acked_at: float = 0.0
    attempts: int = 0
    error: str = ""


async def send(conns: Connections, path: str, post: Post) -> None:
    post.first_sent = time.monotonic()
    while True:
        post.attempts += 1
        status = 0
        try:
            status, payload = await conns.post(path, post.body, HEADERS)
        except HttpError as exc:
            post.error = f"connection: {exc}"[:120]
        if status == 200 and b'"ok": true' in payload.replace(b'"ok":true', b'"ok": true'):
            post.acked_at, post.error = time.monotonic(), ""
            return
        if status and status < 500:
            post.error = f"HTTP {status}: {payload[:200]!r}"
            return
        if status:
            post.error = f"HTTP {status}"
        if time.monotonic() - post.first_sent > GIVE_UP_SECONDS:
            return
        await asyncio.sleep(RETRY_SECONDS)


async def open_loop(conns: Connections, path: str, posts: list[Post], rate: float, events=()) -> float:
    """Start the posts at `rate` per second; `events` are (seconds, blocking callable) run alongside.
    Returns how far behind schedule the sender fell at worst (seconds)."""
    loop = asyncio.get_running_loop()
    started = time.monotonic() + 0.05
    tasks, lag = [], 0.0
    pending = sorted(events, key=lambda e: e[0])
    side = []
    for i, post in enumerate(posts):
        due = started + i / rate
        while pending and started + pending[0][0] <= due:
            side.append(loop.run_in_executor(None, pending.pop(0)[1]))
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lag = max(lag, time.monotonic() - due)
        tasks.append(asyncio.ensure_future(send(conns, path, post)))
    for _, action in pending:
        side.append(loop.run_in_executor(None, action))
    await asyncio.gather(*tasks)
    await asyncio.gather(*side)
    return lag


async def drain(frames: list[Frame], start_index: int, expected: int, limit: float = 10.0) -> None:
    """Give the notification frames of the acknowledged posts time to arrive: until as many came as posts
    were acknowledged, and at least a second (a stream polls every 0.1 s), at most `limit` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if len(frames) - start_index >= expected and time.monotonic() - started >= 1.0:
            return
        await asyncio.sleep(0.1)


class LoopThread:
    """One asyncio loop for the whole run (the reps' streams stay open across phases)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
