"""Placing one INVITE until it is answered, refused or given up (RFC 3261 §13.2, §9.1, §22).

Shared by the customer's call and the legs a bridge or an announcement adds. It answers digest
challenges, cancels after the ring timeout or on request (only once a provisional response has
come, as §9.1 requires), acknowledges the 2xx at once (so a retransmitted 2xx arriving right
behind it is acknowledged too) and, when the callee answers just as we cancel, keeps the answer:
the caller decides to hang it up, so no dialog is left behind.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..base import ProviderError
from .dialog import Leg, authorization_header
from .digest import DigestError, authorization, parse_challenge
from .endpoint import Address, SipEndpoint, SipTimeout
from .message import SipResponse, serialize

logger = logging.getLogger(__name__)

ProvisionalHandler = Callable[[SipResponse], Awaitable[None]]
_TIMED_OUT = object()  # Timer B fired: the INVITE never got any response


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass
class Placing:
    """An INVITE on its way: the responses its transactions deliver and our decision to give up."""

    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    give_up: str = ""  # why we cancel ("no_answer", "canceled"); empty while we still want the call
    provisional: bool = False
    cancel_sent_at: float | None = None

    def stop(self, reason: str) -> None:
        self.inbox.put_nowait(reason)


async def resolve(host: str, port: int) -> Address:
    """An IP address for a URI host (RFC 3263's SRV and NAPTR lookups are not done)."""
    try:
        ipaddress.ip_address(host)
        return (host, port)
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as error:
        raise ProviderError(f"cannot resolve SIP host {host}: {error}") from error
    return infos[0][4][0], port


def credentials_header(
    leg: Leg, response: SipResponse, method: str, credentials: Credentials | None
) -> tuple[str, str] | None:
    """The Authorization header answering a 401/407 to a request on `leg`, or None if we cannot."""
    headers = authorization_header(response)
    if headers is None or credentials is None:
        return None
    challenge_name, answer_name = headers
    uri = leg.remote_target if leg.remote_tag else leg.request_uri
    try:
        challenge = parse_challenge(response.headers.get(challenge_name) or "")
        value = authorization(
            challenge, method=method, uri=uri, username=credentials.username, password=credentials.password
        )
    except DigestError as error:
        logger.warning("cannot answer the SIP challenge on %s: %s", leg.call_id, error)
        return None
    return (answer_name, value)


def acknowledge(endpoint: SipEndpoint, leg: Leg, response: SipResponse, address: Address) -> None:
    """ACK a 2xx to the leg's last INVITE and keep the ACK for the 2xx's retransmissions."""
    leg.confirm(response)
    leg.ack = serialize(leg.ack_for(response))
    leg.ack_to = address
    endpoint.send_bytes(leg.ack, address)


async def place(
    endpoint: SipEndpoint,
    leg: Leg,
    body: bytes,
    placing: Placing,
    *,
    ring_timeout: float,
    credentials: Credentials | None,
    on_provisional: ProvisionalHandler | None = None,
) -> SipResponse | None:
    """INVITE `leg` and return the final response (a 2xx is acknowledged and its dialog set up).
    None when we cancelled and no final response came within 64·T1 after the CANCEL (§9.1).
    Raises SipTimeout when nothing at all answered the INVITE (Timer B)."""
    loop = asyncio.get_running_loop()
    ring_deadline = loop.time() + ring_timeout
    challenges = 0

    def send(authorization_value: tuple[str, str] | None) -> None:
        invite = leg.request("INVITE", body, authorization=authorization_value)

        def on_response(response: SipResponse) -> None:
            if 200 <= response.status < 300:
                leg.confirm(response)
                if _is_ip(leg.next_hop()[0]):  # else the hop is resolved below, off this callback
                    acknowledge(endpoint, leg, response, leg.next_hop())
            placing.inbox.put_nowait(response)

        def on_timeout() -> None:
            placing.inbox.put_nowait(_TIMED_OUT)

        endpoint.start(invite, leg.first_hop, on_response=on_response, on_timeout=on_timeout)

    def cancel_if_we_may() -> None:
        if placing.give_up and placing.provisional and placing.cancel_sent_at is None:
            placing.cancel_sent_at = loop.time()
            endpoint.spawn(endpoint.request(leg.cancel(), leg.first_hop), f"CANCEL {leg.call_id}")

    send(None)
    while True:
        if placing.cancel_sent_at is not None:
            deadline: float | None = placing.cancel_sent_at + endpoint.timers.transaction_timeout
        else:
            deadline = None if placing.give_up else ring_deadline
        try:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            item = await asyncio.wait_for(placing.inbox.get(), timeout)
        except TimeoutError:
            if placing.cancel_sent_at is not None:
                return None
            item = "no_answer"
        if item is _TIMED_OUT:
            raise SipTimeout(f"no response to INVITE {leg.call_id}")
        if isinstance(item, str):
            placing.give_up = placing.give_up or item
            cancel_if_we_may()
            continue
        response: SipResponse = item
        if response.status < 200:
            placing.provisional = True
            cancel_if_we_may()
            if on_provisional is not None:
                await on_provisional(response)
            continue
        if response.status < 300:
            if not leg.ack:
                acknowledge(endpoint, leg, response, await resolve(*leg.next_hop()))
            return response
        answer = credentials_header(leg, response, "INVITE", credentials) if challenges < 2 else None
        if answer is None or placing.give_up:
            return response
        challenges += 1
        placing.provisional = False
        send(answer)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
