"""An SMTP server on loopback (aiosmtpd) that keeps every message it accepts, for the sending tests:
it can refuse or drop the connection on chosen messages to test retries."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Sink:
    """What arrived, and how to misbehave: `answer(message_bytes)` may return an SMTP reply instead of 250."""

    received: list[bytes] = field(default_factory=list)
    answer: Callable[[bytes], str | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        data = envelope.original_content or envelope.content
        if self.answer is not None:
            reply = self.answer(data)
            if reply:
                return reply
        with self.lock:
            self.received.append(data)
        return "250 2.0.0 Ok: queued"

    def message_ids(self) -> list[str]:
        with self.lock:
            data = list(self.received)
        return [
            str(BytesParser(policy=default_policy).parsebytes(d, headersonly=True)["Message-ID"]).strip("<>")
            for d in data
        ]

    def parsed(self) -> list:
        with self.lock:
            data = list(self.received)
        return [BytesParser(policy=default_policy).parsebytes(d) for d in data]


class running_sink:
    """Context manager: an aiosmtpd server on a free loopback port, yielding (sink, port)."""

    def __init__(self, sink: Sink | None = None) -> None:
        self.sink = sink or Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, data_size_limit=0)

    def __enter__(self) -> tuple[Sink, int]:
        self.controller.start()
        return self.sink, self.port

    def __exit__(self, *exc) -> None:
        self.controller.stop()
