"""Our SIP socket over UDP and the transaction layer on top of it (RFC 3261 §17, §18).

Client transactions retransmit requests until a response comes (Timers A/E), give up after 64·T1
(Timers B/F), and acknowledge non-2xx final responses to INVITE themselves on the same branch,
again for each retransmission of that response (Timer D). A 2xx to INVITE ends the transaction
and goes to the dialog's owner, which acknowledges it with a new transaction, as do 2xx
retransmissions that arrive later (`on_stray_response`).

Requests that reach us (a BYE from the customer, OPTIONS pings) go to `on_request`; the
responses we send are kept for 64·T1 and sent again when the request is retransmitted. An INVITE
that reaches us gets a server transaction (`ServerInvite`) handed to `on_invite`.
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


def transaction_id(request: SipRequest) -> str:
    """What identifies the request's transaction: its branch (RFC 3261 §17.2.3), or for an RFC 2543
    sender without the magic cookie, its Call-ID, From tag, CSeq number and top Via together."""
    if request.branch.startswith("z9hG4bK"):
        return request.branch
    return "|".join((request.call_id, request.from_tag, str(request.cseq[0]), request.headers.get("Via") or ""))


def build_response(
    request: SipRequest,
    source: Address,
    status: int,
    reason: str,
    *,
    to_tag: str = "",
    extra: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> SipResponse:
    """A response to `request` (RFC 3261 §8.2.6): its Via (marked with where it came from), From,
    Call-ID and CSeq, and its To with our tag unless it is a 100 Trying."""
    headers = Headers()
    for index, via in enumerate(request.headers.get_all("Via")):
        if index == 0 and "rport" in header_params(via):  # RFC 3581: say where it came from
            via = ";".join(p for p in via.split(";") if p.strip().split("=")[0] not in ("rport", "received"))
            via += f";received={source[0]};rport={source[1]}"
        headers.add("Via", via)
    to = request.headers.get("To") or ""
    if not request.to_tag and status > 100:  # a response outside a dialog carries a tag of ours (§8.2.6.2)
        to += f";tag={to_tag or new_tag()}"
    headers.add("From", request.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", request.headers.get("CSeq") or "")
    for name, value in extra:
        headers.add(name, value)
    return SipResponse(headers, body, status=status, reason=reason)


class ServerInvite:
    """An INVITE that reached us, as its server transaction (RFC 3261 §17.2.1 with the Accepted state
    of RFC 6026). A retransmitted INVITE gets our last provisional or non-2xx final response again, and
    is absorbed once a 2xx went out. A final response is retransmitted (T1, doubling up to T2) until its
    ACK comes, for at most 64·T1; for a 2xx that is the UAS core's duty (§13.3.1.4), done here as well,
    and `on_unacknowledged` is called when no ACK came (the caller then hangs the dialog up)."""

    def __init__(self, endpoint: SipEndpoint, request: SipRequest, source: Address) -> None:
        self.request, self.source = request, source
        self.key = (transaction_id(request), "INVITE")
        self.tag = request.to_tag or new_tag()  # our To tag, the same on every response: the dialog's local tag
        self.status = 0  # of the last response sent
        self.on_unacknowledged: Callable[[], None] | None = None
        self._endpoint = endpoint
        self._last = b""
        self._acknowledged = asyncio.Event()
        self._given_up = False  # 64·T1 passed without the ACK

    @property
    def final(self) -> bool:
        return self.status >= 200

    @property
    def acknowledged(self) -> bool:
        return self._acknowledged.is_set()

    def respond(
        self,
        status: int,
        reason: str,
        *,
        extra: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        repeat: bool = True,
    ) -> bool:
        """Send a response; False, and nothing sent, once a final response went out. `repeat=False`: a
        final response sent once (and again only for a retransmitted INVITE), for a refusal to an
        address we do not know, which we must not flood with repeats if the request was spoofed."""
        if self.final:
            return False
        response = build_response(self.request, self.source, status, reason, to_tag=self.tag, extra=extra, body=body)
        self._last = serialize(response)
        self.status = status
        self._endpoint.send_bytes(self._last, self.source)
        if status >= 200 and repeat:
            self._endpoint.spawn(self._retransmit(), f"{status} to INVITE {self.request.call_id}")
        if status >= 200:
            self._endpoint.forget_server(self, after=self._endpoint.timers.transaction_timeout)  # Timers H, L
        return True

    def retransmitted(self) -> None:
        """The INVITE came again: repeat the last response, unless it is a 2xx (already being repeated)."""
        if self._last and not 200 <= self.status < 300:
            self._endpoint.send_bytes(self._last, self.source)

    def ack_received(self) -> None:
        self._acknowledged.set()

    async def wait_acknowledged(self) -> bool:
        """Wait (at most 64·T1) for the ACK of our final response; whether it came."""
        if self._given_up:
            return self.acknowledged
        try:
            async with asyncio.timeout(self._endpoint.timers.transaction_timeout):
                await self._acknowledged.wait()
        except TimeoutError:
            return False
        return True

    async def _retransmit(self) -> None:
        loop = asyncio.get_running_loop()
        timers = self._endpoint.timers
        deadline = loop.time() + timers.transaction_timeout
        interval = timers.t1
        while not self.acknowledged:
            await asyncio.sleep(max(0.0, min(interval, deadline - loop.time())))
            if self.acknowledged:
                return
            if loop.time() >= deadline:
                self._given_up = True
                if 200 <= self.status < 300 and self.on_unacknowledged is not None:
                    self.on_unacknowledged()
                return
            self._endpoint.send_bytes(self._last, self.source)
            interval = min(2 * interval, timers.t2)  # Timer G, and §13.3.1.4 for a 2xx


class SipEndpoint(asyncio.DatagramProtocol):
    """A bound UDP socket that sends and receives SIP messages and runs client transactions."""

    def __init__(
        self,
        *,
        timers: SipTimers,
        on_request: Callable[[SipRequest, Address], None],
        on_stray_response: Callable[[SipResponse], None],
        on_invite: Callable[[ServerInvite], None] | None = None,
    ) -> None:
        self.timers = timers
        self._on_request, self._on_stray_response = on_request, on_stray_response
        self._on_invite = on_invite
        self._transport: asyncio.DatagramTransport | None = None
        self._transactions: dict[tuple[str, str], ClientTransaction] = {}
        self._servers: dict[tuple[str, str], ServerInvite] = {}  # INVITEs that reached us, by transaction
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
        self._servers.clear()
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

    def forget_server(self, server: ServerInvite, after: float) -> None:
        def drop() -> None:
            if self._servers.get(server.key) is server:
                del self._servers[server.key]

        self.later(after, drop)

    def invite_transaction(self, request: SipRequest) -> ServerInvite | None:
        """The INVITE server transaction a CANCEL (or an ACK) names: the same branch (RFC 3261 §9.2)."""
        return self._servers.get((transaction_id(request), "INVITE"))

    def respond(
        self,
        request: SipRequest,
        source: Address,
        status: int,
        reason: str,
        *,
        extra: tuple[tuple[str, str], ...] = (),
        to_tag: str = "",
    ) -> None:
        """Answer a request (not an INVITE) that reached us, and remember the answer for its retransmissions."""
        data = serialize(build_response(request, source, status, reason, to_tag=to_tag, extra=extra))
        key = (transaction_id(request), request.method)
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
        if request.method in ("INVITE", "ACK"):
            server = self.invite_transaction(request)
            if request.method == "ACK":
                if server is not None and server.status >= 300:
                    server.ack_received()  # the ACK of a non-2xx final response is part of its transaction
                else:
                    self._on_request(request, source)  # the ACK of a 2xx is the dialog's (§13.3.1.4)
            elif server is not None:
                server.retransmitted()
            else:
                server = ServerInvite(self, request, source)
                self._servers[server.key] = server
                if self._on_invite is not None:
                    self._on_invite(server)
                else:
                    server.respond(480, "Temporarily Unavailable")
            return
        retransmission = self._answered.get((transaction_id(request), request.method))
        if retransmission is not None:
            self.send_bytes(retransmission[0], retransmission[1])
            return
        self._on_request(request, source)
