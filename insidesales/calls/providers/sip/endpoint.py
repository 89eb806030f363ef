"""Our SIP socket over UDP and the transaction layer on top of it (RFC 3261 §17, §18).

Client transactions retransmit requests until a response comes (Timers A/E), give up after 64·T1
(Timers B/F), and acknowledge non-2xx final responses to INVITE themselves on the same branch,
again for each retransmission of that response (Timer D). A 2xx to INVITE ends the transaction
and goes to the dialog's owner, which acknowledges it with a new transaction, as do 2xx
retransmissions that arrive later (`on_stray_response`).

Requests that reach us (a BYE from the customer, OPTIONS pings) go to `on_request`; the
responses we send are kept for 64·T1 and sent again when the request is retransmitted.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .message import Headers, SipMessage, SipParseError, SipRequest, SipResponse, header_params, parse, serialize

logger = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass(frozen=True)
class SipTimers:
    """RFC 3261 §17 timer values in seconds. Tests shorten them; production keeps the defaults."""

    t1: float = 0.5  # round-trip estimate: first retransmission interval
    t2: float = 4.0  # longest retransmission interval for non-INVITE requests
    t4: float = 5.0  # how long a message may stay in the network (Timer K)

    @property
    def transaction_timeout(self) -> float:  # Timers B, F, H and J
        return 64 * self.t1


class SipTimeout(Exception):
    """No final response came within 64·T1 (Timer B or F)."""


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(10)  # the magic cookie marks RFC 3261 branch ids


def new_tag() -> str:
    return secrets.token_hex(6)


class ClientTransaction:
    """One request we sent, until its final response (and, for INVITE, a while after)."""

    def __init__(
        self,
        endpoint: SipEndpoint,
        request: SipRequest,
        address: Address,
        on_response: Callable[[SipResponse], None],
        on_timeout: Callable[[], None],
    ) -> None:
        self.request, self.address = request, address
        self.is_invite = request.method == "INVITE"
        self.key = (request.branch, request.method)
        self.provisional = False  # "Proceeding": a 1xx came
        self.final: SipResponse | None = None
        self._endpoint, self._on_response, self._on_timeout = endpoint, on_response, on_timeout
        self._data = serialize(request)
        self._ack: bytes | None = None
        endpoint.send_bytes(self._data, address)
        self._timer = asyncio.get_running_loop().create_task(self._retransmit())

    async def _retransmit(self) -> None:
        loop = asyncio.get_running_loop()
        timers = self._endpoint.timers
        deadline = loop.time() + timers.transaction_timeout
        interval = timers.t1
        while self.final is None:
            if self.is_invite and self.provisional:
                return  # INVITE in Proceeding: no retransmission, no Timer B; the caller's ring timeout rules
            await asyncio.sleep(max(0.0, min(interval, deadline - loop.time())))
            if self.final is not None or (self.is_invite and self.provisional):
                return
            if loop.time() >= deadline:
                self._endpoint.forget(self)
                self._on_timeout()
                return
            self._endpoint.send_bytes(self._data, self.address)
            interval = (
                2 * interval if self.is_invite else (timers.t2 if self.provisional else min(2 * interval, timers.t2))
            )

    def receive(self, response: SipResponse) -> None:
        if response.status < 200:
            if self.final is None:
                self.provisional = True
                self._on_response(response)
            return
        if self.final is not None:
            if self._ack is not None:  # a retransmitted non-2xx final response: acknowledge it again
                self._endpoint.send_bytes(self._ack, self.address)
            return
        self.final = response
        self._timer.cancel()
        timers = self._endpoint.timers
        if self.is_invite and response.status >= 300:
            self._ack = serialize(self._ack_for(response))
            self._endpoint.send_bytes(self._ack, self.address)
            self._endpoint.forget(self, after=max(32.0, timers.transaction_timeout))  # Timer D
        else:
            self._endpoint.forget(self, after=0.0 if self.is_invite else timers.t4)  # 2xx ends it; Timer K
        self._on_response(response)

    def _ack_for(self, response: SipResponse) -> SipRequest:
        """RFC 3261 §17.1.1.3: the ACK for a non-2xx final response is part of the INVITE transaction."""
        invite = self.request
        headers = Headers()
        headers.add("Via", invite.headers.get("Via") or "")
        for route in invite.headers.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", invite.headers.get("From") or "")
        headers.add("To", response.headers.get("To") or "")
        headers.add("Call-ID", invite.call_id)
        headers.add("CSeq", f"{invite.cseq[0]} ACK")
        return SipRequest(headers, b"", method="ACK", uri=invite.uri)

    def cancel_timers(self) -> None:
        self._timer.cancel()


class SipEndpoint(asyncio.DatagramProtocol):
    """A bound UDP socket that sends and receives SIP messages and runs client transactions."""

    def __init__(
        self,
        *,
        timers: SipTimers,
        on_request: Callable[[SipRequest, Address], None],
        on_stray_response: Callable[[SipResponse], None],
    ) -> None:
        self.timers = timers
        self._on_request, self._on_stray_response = on_request, on_stray_response
        self._transport: asyncio.DatagramTransport | None = None
        self._transactions: dict[tuple[str, str], ClientTransaction] = {}
        self._answered: dict[tuple[str, str], tuple[bytes, Address]] = {}  # responses we sent, for retransmissions
        self._handles: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task] = set()

    async def open(self, host: str, port: int) -> Address:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._transport = transport
        return transport.get_extra_info("sockname")[:2]

    def close(self) -> None:
        for transaction in self._transactions.values():
            transaction.cancel_timers()
        for handle in self._handles:
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        self._transactions.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    def send_bytes(self, data: bytes, address: Address) -> None:
        if self._transport is None:
            raise ConnectionError("the SIP socket is closed")
        self._transport.sendto(data, address)

    def send(self, message: SipMessage, address: Address) -> None:
        self.send_bytes(serialize(message), address)

    def start(
        self,
        request: SipRequest,
        address: Address,
        *,
        on_response: Callable[[SipResponse], None],
        on_timeout: Callable[[], None],
    ) -> ClientTransaction:
        transaction = ClientTransaction(self, request, address, on_response, on_timeout)
        self._transactions[transaction.key] = transaction
        return transaction

    async def request(self, request: SipRequest, address: Address) -> SipResponse:
        """Send a request and return its final response; raises SipTimeout."""
        done: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()

        def on_response(response: SipResponse) -> None:
            if response.status >= 200 and not done.done():
                done.set_result(response)

        def on_timeout() -> None:
            if not done.done():
                done.set_exception(SipTimeout(f"no final response to {request.method}"))

        self.start(request, address, on_response=on_response, on_timeout=on_timeout)
        return await done

    def forget(self, transaction: ClientTransaction, after: float = 0.0) -> None:
        def drop() -> None:
            if self._transactions.get(transaction.key) is transaction:
                del self._transactions[transaction.key]

        if after <= 0:
            drop()
        else:
            self.later(after, drop)

    def respond(
        self,
        request: SipRequest,
        source: Address,
        status: int,
        reason: str,
        *,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Answer a request that reached us, and remember the answer for its retransmissions."""
        headers = Headers()
        for index, via in enumerate(request.headers.get_all("Via")):
            if index == 0 and "rport" in header_params(via):  # RFC 3581: say where it came from
                via = ";".join(p for p in via.split(";") if p.strip().split("=")[0] not in ("rport", "received"))
                via += f";received={source[0]};rport={source[1]}"
            headers.add("Via", via)
        to = request.headers.get("To") or ""
        if not request.to_tag:  # a response outside a dialog carries a tag of ours (RFC 3261 §8.2.6.2)
            to += f";tag={new_tag()}"
        headers.add("From", request.headers.get("From") or "")
        headers.add("To", to)
        headers.add("Call-ID", request.call_id)
        headers.add("CSeq", request.headers.get("CSeq") or "")
        for name, value in extra:
            headers.add(name, value)
        data = serialize(SipResponse(headers, b"", status=status, reason=reason))
        key = (request.branch, request.method)
        self._answered[key] = (data, source)
        self.later(self.timers.transaction_timeout, lambda: self._answered.pop(key, None))
        self.send_bytes(data, source)  # symmetric response: back to where the request came from

    def spawn(self, work: Awaitable[object], what: str) -> asyncio.Task:
        """Run work nobody waits for (a CANCEL, a BYE after the call was reported over); log its failure."""

        async def run() -> None:
            try:
                await work
            except (SipTimeout, ConnectionError) as error:
                logger.info("%s: %s", what, error)
            except Exception:
                logger.exception("%s failed", what)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def later(self, delay: float, callback: Callable[[], object]) -> None:
        """Run `callback` after `delay` seconds unless the endpoint is closed first."""

        def run() -> None:
            self._handles.discard(handle)
            callback()

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._handles.add(handle)

    # asyncio.DatagramProtocol
    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not data.strip(b"\r\n"):
            return  # keep-alive (RFC 5626 CRLF ping)
        try:
            message = parse(data)
        except SipParseError as error:
            logger.info("dropped an unreadable SIP datagram from %s: %s", addr[0], error)
            return
        source = (addr[0], addr[1])
        if isinstance(message, SipResponse):
            self._response_received(message)
        else:
            self._request_received(message, source)

    def error_received(self, exc: Exception) -> None:
        logger.info("SIP socket error: %s", exc)

    def _response_received(self, response: SipResponse) -> None:
        if len(response.headers.get_all("Via")) != 1:
            return  # a response with more than our Via was not meant for us (RFC 3261 §8.1.3.3)
        transaction = self._transactions.get((response.branch, response.cseq[1]))
        if transaction is not None:
            transaction.receive(response)
        else:
            self._on_stray_response(response)

    def _request_received(self, request: SipRequest, source: Address) -> None:
        retransmission = self._answered.get((request.branch, request.method))
        if retransmission is not None:
            self.send_bytes(retransmission[0], retransmission[1])
            return
        if request.method != "ACK":
            self._on_request(request, source)
