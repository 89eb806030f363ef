"""The `sip` telephony adapter: calls placed through a SIP trunk or PBX over UDP.

Each call is an INVITE to `sip:<number>@<trunk>`; its responses become `ProviderEvent`s (see
`final_kind` for how final responses map). Bridging to an agent is third-party call control
(RFC 3725): the agent is invited with the customer's media description, then the customer is
re-invited with the agent's, so the media flows between them and never through us. `play` bridges
the customer to an announcement URI (a media server that plays the message and hangs up), or
just hangs up when none is configured. Everything else is in docs/telephony.md.

Incoming calls (only from the trunk's address) are taken as the caller's UAS: `on_incoming` names
the agent's phone, which is invited with the caller's media description; the agent's answer goes
back to the caller in our 200 OK, so here too the media flows directly between them (incoming.py).

Event ids are `<Call-ID>:<kind>` (a bridge adds the agent leg's Call-ID): a retransmitted
response is reported again under the same id, and the call record drops the repeat.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from ..base import FINAL_KINDS, AgentEndpoint, EventKind, EventSink, OriginateRequest, ProviderError, ProviderEvent
from .dialog import ALLOW, Leg
from .endpoint import Address, ServerInvite, SipEndpoint, SipTimeout, SipTimers
from .incoming import IncomingCall, IncomingHandler, caller_leg, dialog_headers, incoming_call, quoted, unusable
from .message import SipRequest, SipResponse, parse_uri
from .placing import Credentials, Placing, acknowledge, credentials_header, place, resolve

logger = logging.getLogger(__name__)

BUSY_CODES = frozenset({486, 600, 603})  # 603 Decline: the callee rejected it; for a dialer, a busy line
DEFAULT_TIMERS = SipTimers()
_URI_USER = re.compile(r"[A-Za-z0-9+\-_.!~*'()&=$,]+\Z")  # RFC 3261 user characters that need no escaping
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~\-]+\Z")
NO_ANSWER_CODES = frozenset({408, 480})  # carriers answer these when a phone rings out or is unreachable


def final_kind(status: int, gave_up: str) -> EventKind:
    """The event for a non-2xx final response to the customer's INVITE."""
    if status == 487 and gave_up:
        return EventKind.NO_ANSWER if gave_up == "no_answer" else EventKind.CANCELED
    if status in BUSY_CODES:
        return EventKind.BUSY
    if status in NO_ANSWER_CODES:
        return EventKind.NO_ANSWER
    return EventKind.FAILED


@dataclass
class _Call:
    request: OriginateRequest
    customer: Leg
    placing: Placing = field(default_factory=Placing)
    others: dict[str, tuple[Leg, Placing, str]] = field(default_factory=dict)  # agent/announcement legs by Call-ID
    ended: bool = False
    driver: asyncio.Task | None = None
    incoming: ServerInvite | None = None  # a call from the trunk: the caller's INVITE (`placing` rings the agent)


class SipProvider:
    """Places calls through one trunk or PBX, and takes the trunk's calls when given `on_incoming`.
    Commands are coroutines; events go to `sink`."""

    name = "sip"

    def __init__(
        self,
        *,
        trunk: Address,
        sink: EventSink,
        from_domain: str,
        bind: Address = ("0.0.0.0", 5060),
        advertised_host: str = "",
        username: str = "",
        password: str = "",
        announcement_uri: str = "",
        agent_ring_timeout_s: float = 20.0,
        announcement_max_s: float = 60.0,
        timers: SipTimers = DEFAULT_TIMERS,
        on_incoming: IncomingHandler | None = None,
    ) -> None:
        self._trunk, self._sink, self._from_domain, self._bind = trunk, sink, from_domain, bind
        self._on_incoming = on_incoming
        self._advertised_host = advertised_host
        self._credentials = Credentials(username, password) if username else None
        self._announcement_uri = announcement_uri
        self._agent_ring_timeout, self._announcement_max = agent_ring_timeout_s, announcement_max_s
        self._endpoint = SipEndpoint(
            timers=timers,
            on_request=self._request_received,
            on_stray_response=self._stray,
            on_invite=self._invite_received,
        )
        self._local: Address | None = None
        self._open_lock = asyncio.Lock()
        self._calls: dict[str, _Call] = {}  # by the Call-ID of each of its legs

    async def start(self) -> Address:
        """Bind the socket (originate does it when needed); return the address we listen on."""
        async with self._open_lock:
            if self._local is None:
                try:
                    host, port = await self._endpoint.open(*self._bind)
                except OSError as error:
                    raise ProviderError(f"cannot listen for SIP on {_hostport(self._bind)}: {error}") from error
                self._local = (self._advertised_host or _reachable_host(host, self._trunk), port)
        return self._local

    # ---- commands

    async def originate(self, request: OriginateRequest) -> str:
        for value in (request.to, request.caller_id):
            if not _URI_USER.match(value):
                raise ProviderError(f"not a number we can put in a SIP URI: {value!r}")
        if not _TOKEN.match(request.reference):
            raise ProviderError(f"call reference {request.reference!r} cannot go in a SIP header")
        local = await self.start()
        trunk = _hostport(self._trunk)
        leg = Leg(
            local=local,
            request_uri=f"sip:{request.to}@{trunk}",
            local_uri=f"<sip:{request.caller_id}@{self._from_domain}>",
            remote_uri=f"<sip:{request.to}@{trunk}>",
            first_hop=await resolve(*self._trunk),
            extra_headers=(("X-Insidesales-Call", request.reference),),
        )
        call = _Call(request=request, customer=leg)
        self._calls[leg.call_id] = call
        call.driver = self._endpoint.spawn(self._run(call), f"call {leg.call_id}")
        return leg.call_id

    async def cancel(self, provider_call_id: str) -> None:
        call = self._call(provider_call_id)
        if call.customer.answered_at is not None:
            await self.hangup(provider_call_id)  # answered meanwhile: end it rather than leave it up
        elif not call.ended:
            call.placing.stop("canceled")

    async def hangup(self, provider_call_id: str) -> None:
        call = self._call(provider_call_id)
        if call.customer.answered_at is None:
            call.placing.stop("canceled")
        else:
            await self._end(call, hung_up_by="us")

    async def bridge(self, provider_call_id: str, agent: AgentEndpoint) -> None:
        call = self._answered_call(provider_call_id)
        leg = await self._connect(call, agent.address, role="agent", display=call.request.to)
        await self._report(call, EventKind.BRIDGED, suffix=leg.call_id, agent=agent.address)

    async def play(self, provider_call_id: str, message: str) -> None:
        """Bridge to the announcement URI, which plays `message` (sent in X-Insidesales-Message) and
        hangs up; we then hang up the customer. Without an announcement URI, hang up at once."""
        call = self._answered_call(provider_call_id)
        if not self._announcement_uri:
            await self._end(call, hung_up_by="us")
            return
        try:
            await self._connect(call, self._announcement_uri, role="announcement", message=message)
        except ProviderError:
            await self._end(call, hung_up_by="us")
            raise
        self._endpoint.later(self._announcement_max, lambda: self._endpoint.spawn(self._end(call, "us"), "cap"))

    async def close(self, grace_s: float = 2.0) -> None:
        """End live calls (CANCEL or BYE), wait up to `grace_s` for that, and release the socket."""
        if not self._endpoint.is_open:
            return
        live = {id(call): call for call in self._calls.values() if not call.ended}.values()
        work: list[asyncio.Future] = []
        for call in live:
            if call.customer.answered_at is None and call.driver is not None:
                call.placing.stop("canceled")
                work.append(call.driver)
            elif call.customer.answered_at is not None:
                work.append(asyncio.ensure_future(self._end(call, hung_up_by="us")))
        if work:
            await asyncio.wait(work, timeout=grace_s)
        self._endpoint.close()

    # ---- the customer's call

    async def _run(self, call: _Call) -> None:
        leg = call.customer

        async def provisional(response: SipResponse) -> None:
            if response.status == 100:
                await self._report(call, EventKind.INITIATED, sip_code=100)
            elif response.status in (180, 183):
                await self._report(call, EventKind.RINGING, sip_code=response.status)

        try:
            final = await place(
                self._endpoint,
                leg,
                leg.sdp_offer(),
                call.placing,
                ring_timeout=call.request.ring_timeout_s,
                credentials=self._credentials,
                on_provisional=provisional,
            )
        except SipTimeout:
            call.ended = True
            await self._report(call, EventKind.FAILED, sip_code=408, reason="no response from the trunk")
            return
        if final is None:  # cancelled, and no final response came
            call.ended = True
            kind = EventKind.NO_ANSWER if call.placing.give_up == "no_answer" else EventKind.CANCELED
            await self._report(call, kind, reason="no final response after CANCEL")
        elif final.status < 300:
            await self._report(call, EventKind.ANSWERED, sip_code=final.status)
            if call.placing.give_up:  # answered as our CANCEL went out: keep no dialog behind
                await self._end(call, hung_up_by="us", reason="answered as we cancelled")
        else:
            call.ended = True
            kind = final_kind(final.status, call.placing.give_up)
            await self._report(call, kind, sip_code=final.status, reason=final.reason)

    async def _end(self, call: _Call, hung_up_by: str, reason: str = "", skip: Leg | None = None) -> None:
        """Report the answered call completed and hang up every leg still up but `skip`."""
        if call.ended:
            return
        call.ended = True
        answered_at = call.customer.answered_at or time.monotonic()
        duration = round(time.monotonic() - answered_at, 3)
        data: dict[str, Any] = {"duration_s": duration, "hangup_by": hung_up_by}
        if reason:
            data["reason"] = reason
        await self._report(call, EventKind.COMPLETED, **data)
        legs = [call.customer] + [leg for leg, placing, _ in call.others.values()]
        for _, placing, _ in call.others.values():
            placing.stop("canceled")
        if call.incoming is not None and call.customer is not skip:
            await call.incoming.wait_acknowledged()  # no BYE before the ACK of our 2xx (RFC 3261 §15)
        await asyncio.gather(*(self._bye(leg) for leg in legs if leg is not skip), return_exceptions=True)

    # ---- legs added to a call

    async def _connect(self, call: _Call, uri: str, *, role: str, display: str = "", message: str = "") -> Leg:
        """Invite `uri` with the customer's media, then re-invite the customer with its media."""
        if not call.customer.remote_sdp:
            raise ProviderError("the customer's answer carried no media description to pass on")
        extra = [("X-Insidesales-Call", call.request.reference)]
        if message:
            extra.append(("X-Insidesales-Message", urllib.parse.quote(message)))
        leg = await self._new_leg(uri, user=call.request.to, display=display, extra=tuple(extra))
        placing = Placing()
        call.others[leg.call_id] = (leg, placing, role)
        self._calls[leg.call_id] = call
        try:
            final = await place(
                self._endpoint,
                leg,
                leg.sdp_passed_on(call.customer.remote_sdp),
                placing,
                ring_timeout=self._agent_ring_timeout,
                # The trunk's password answers only the trunk's challenges, never a host a user chose.
                credentials=self._credentials_for(leg.first_hop),
            )
        except SipTimeout as error:
            raise ProviderError(f"{role} {uri} did not respond") from error
        if final is None or final.status >= 300:
            raise ProviderError(f"{role} {uri} did not answer: {final.status if final else 'cancelled'}")
        if not leg.remote_sdp:
            await self._bye(leg)
            raise ProviderError(f"{role} {uri} answered without a media description")
        if call.ended or placing.give_up:
            await self._bye(leg)
            raise ProviderError(f"the call ended while {role} {uri} was joining")
        response = await self._in_dialog(call.customer, "INVITE", call.customer.sdp_passed_on(leg.remote_sdp))
        if response is None or response.status >= 300:
            await self._bye(leg)
            raise ProviderError(f"the customer refused the new media: {response.status if response else 'timeout'}")
        for other_id, (other, _, _) in list(call.others.items()):
            if other is not leg:  # a second bridge replaces the first agent
                del call.others[other_id]
                self._endpoint.spawn(self._bye(other), f"BYE {other_id}")
        return leg

    def _credentials_for(self, address: Address) -> Credentials | None:
        """The trunk's credentials, for requests that go to the trunk (by address) only."""
        return self._credentials if tuple(address[:2]) == tuple(self._trunk[:2]) else None

    async def _new_leg(self, uri: str, *, user: str, display: str = "", extra: tuple[tuple[str, str], ...] = ()) -> Leg:
        """A leg to `uri` (an agent or the announcement) from `user` at our domain."""
        local = await self.start()
        try:
            if not uri.isprintable() or any(char in uri for char in '<>" '):
                raise ValueError(uri)  # it goes inside <...> in our headers
            target = parse_uri(uri)
        except ValueError as error:
            raise ProviderError(f"not a SIP URI: {uri!r}") from error
        name = f"{quoted(display)} " if display else ""
        return Leg(
            local=local,
            request_uri=uri,
            local_uri=f"{name}<sip:{user if _URI_USER.match(user) else 'insidesales'}@{self._from_domain}>",
            remote_uri=f"<{uri}>",
            first_hop=await resolve(target.host, target.port or 5060),
            extra_headers=extra,
        )

    async def _in_dialog(self, leg: Leg, method: str, body: bytes = b"") -> SipResponse | None:
        """Send BYE or re-INVITE on a dialog (answering one digest challenge); None on timeout."""
        address = await resolve(*leg.next_hop())
        authorization = None
        for _ in range(2):
            request = leg.request(method, body, authorization=authorization)
            try:
                response = await self._endpoint.request(request, address)
            except SipTimeout:
                return None
            authorization = credentials_header(leg, response, method, self._credentials_for(address))
            if authorization is None:
                break
        if method == "INVITE" and response.status < 300:
            acknowledge(self._endpoint, leg, response, address)
        return response

    async def _bye(self, leg: Leg) -> None:
        if leg.ended or not leg.confirmed:
            return
        leg.ended = True
        await self._in_dialog(leg, "BYE")

    # ---- calls from the trunk

    def _invite_received(self, server: ServerInvite) -> None:
        request = server.request
        call = self._calls.get(request.call_id)
        leg = _leg_of(call, request.call_id) if call else None
        if request.to_tag:
            # We do not renegotiate media a party offers (hold, session refresh), nor know other dialogs.
            known = leg is not None and request.to_tag == leg.local_tag
            server.respond(*((488, "Not Acceptable Here") if known else (481, "Call/Transaction Does Not Exist")))
            return
        if server.source[0] != self._trunk[0]:
            server.respond(403, "Forbidden", repeat=False)  # we take calls from our trunk only
            return
        if self._on_incoming is None or self._local is None:
            server.respond(480, "Temporarily Unavailable")
            return
        if call is not None:
            server.respond(482, "Loop Detected")  # the same call again on another branch (§8.2.2.2)
            return
        refused = unusable(request)
        if refused is not None:
            logger.warning("refused an incoming SIP call %s: %s %s", request.call_id, *refused)
            server.respond(*refused)
            return
        server.respond(100, "Trying")
        incoming = incoming_call(request)
        caller = caller_leg(server, self._local)
        placeholder = OriginateRequest(to=incoming.from_number, caller_id=incoming.to_number, reference="")
        call = _Call(request=placeholder, customer=caller, incoming=server)
        self._calls[caller.call_id] = call
        call.driver = self._endpoint.spawn(self._take(call, server, incoming), f"incoming call {caller.call_id}")

    async def _take(self, call: _Call, server: ServerInvite, incoming: IncomingCall) -> None:
        """Ask who takes the call, ring their phone with the caller's media, and answer the caller with
        theirs; or refuse the caller (480, 486 when the agent is busy) and report why."""
        assert self._on_incoming is not None and self._local is not None
        try:
            agent = await self._on_incoming(incoming)
        except Exception:
            logger.exception("routing the incoming SIP call %s failed", incoming.provider_call_id)
            server.respond(500, "Server Internal Error")
            await self._refused(call, EventKind.FAILED, 500, "routing the call failed")
            return
        if server.final:  # the caller gave up while we were routing the call
            await self._refused(call, EventKind.CANCELED, 487, "the caller hung up")
            return
        if agent is None:
            server.respond(480, "Temporarily Unavailable")
            await self._refused(call, EventKind.NO_ANSWER, 480, "nobody free to take the call")
            return
        server.respond(180, "Ringing", extra=dialog_headers(server, self._local))
        await self._report(call, EventKind.RINGING, sip_code=180)
        leg, final, reason = await self._ring_agent(call, agent, incoming)
        answered = leg is not None and final is not None and final.status < 300
        if server.final:  # the caller cancelled while the agent's phone rang (or just as the agent answered)
            if answered and leg is not None:
                await self._bye(leg)
            await self._refused(call, EventKind.CANCELED, 487, "the caller hung up")
        elif answered and leg is not None and leg.remote_sdp:
            body = call.customer.sdp_passed_on(leg.remote_sdp)
            extra = dialog_headers(server, self._local) + (("Allow", ALLOW), ("Content-Type", "application/sdp"))
            server.respond(200, "OK", extra=extra, body=body)
            call.customer.answered_at = time.monotonic()
            server.on_unacknowledged = lambda: self._endpoint.spawn(
                self._end(call, "us", reason="the caller did not acknowledge the answer"), "unacknowledged answer"
            )
            await self._report(call, EventKind.ANSWERED, sip_code=200)
            await self._report(call, EventKind.BRIDGED, suffix=leg.call_id, agent=agent.address)
        else:
            if answered and leg is not None:
                await self._bye(leg)
                kind, reason = EventKind.FAILED, "the agent answered without a media description"
            elif final is not None:
                kind = final_kind(final.status, call.placing.give_up)
                reason = f"the agent's phone answered {final.status} {final.reason}"
            elif call.placing.give_up:  # given up, and no final response came after our CANCEL
                kind = EventKind.NO_ANSWER if call.placing.give_up == "no_answer" else EventKind.CANCELED
                reason = "the agent did not answer"
            else:
                kind = EventKind.FAILED
            status, status_reason = (486, "Busy Here") if kind == EventKind.BUSY else (480, "Temporarily Unavailable")
            server.respond(status, status_reason)
            await self._refused(call, kind, status, reason)

    async def _ring_agent(
        self, call: _Call, agent: AgentEndpoint, incoming: IncomingCall
    ) -> tuple[Leg | None, SipResponse | None, str]:
        """INVITE the agent's phone with the caller's media: the leg, its final response (None when
        cancelled with no final response, or unreachable) and, when unreachable, why."""
        try:
            leg = await self._new_leg(agent.address, user=incoming.from_number, display=incoming.from_number)
        except ProviderError as error:
            return None, None, str(error)
        call.others[leg.call_id] = (leg, call.placing, "agent")
        self._calls[leg.call_id] = call
        try:
            final = await place(
                self._endpoint,
                leg,
                leg.sdp_passed_on(call.customer.remote_sdp),
                call.placing,
                ring_timeout=self._agent_ring_timeout,
                credentials=self._credentials_for(leg.first_hop),
            )
        except SipTimeout:
            return leg, None, f"the agent's phone {agent.address} did not respond"
        return leg, final, ""

    async def _refused(self, call: _Call, kind: EventKind, status: int, reason: str) -> None:
        """Report an incoming call that ended before it was answered (the caller got `status`)."""
        if call.ended:
            return
        call.ended = True
        await self._report(call, kind, sip_code=status, reason=reason)

    def _caller_gave_up(self, call: _Call) -> None:
        """The caller cancelled (or hung up) an incoming call that was not answered yet (RFC 3261 §9.2)."""
        assert call.incoming is not None
        call.incoming.respond(487, "Request Terminated")
        call.placing.stop("canceled")

    # ---- what the network sends us

    def _request_received(self, request: SipRequest, source: Address) -> None:
        call = self._calls.get(request.call_id)
        leg = _leg_of(call, request.call_id) if call else None
        in_dialog = leg is not None and request.to_tag == leg.local_tag
        if request.method == "ACK":  # of a 2xx: the caller confirms our answer (an ACK is never answered)
            if in_dialog and call is not None and leg is call.customer and call.incoming is not None:
                call.incoming.ack_received()
        elif request.method == "BYE":
            if not in_dialog or call is None or leg is None:
                self._endpoint.respond(request, source, 481, "Call/Transaction Does Not Exist")
                return
            self._endpoint.respond(request, source, 200, "OK")
            if call.incoming is not None and leg is call.customer and call.customer.answered_at is None:
                self._caller_gave_up(call)  # a BYE before our answer: taken as a CANCEL
                return
            leg.ended = True
            role = "customer" if leg is call.customer else call.others[leg.call_id][2]
            self._endpoint.spawn(self._end(call, hung_up_by=role, skip=leg), f"BYE from {role}")
        elif request.method == "OPTIONS":
            self._endpoint.respond(request, source, 200, "OK", extra=(("Allow", ALLOW),))
        elif request.method in ("INFO", "NOTIFY") and in_dialog:
            self._endpoint.respond(request, source, 200, "OK")
        elif request.method == "CANCEL":
            server = self._endpoint.invite_transaction(request)
            if server is None:
                self._endpoint.respond(request, source, 481, "Call/Transaction Does Not Exist")
                return
            self._endpoint.respond(request, source, 200, "OK", to_tag=server.tag)  # the INVITE's tag (§9.2)
            if call is not None and call.incoming is server:
                if not server.final:
                    self._caller_gave_up(call)
            else:
                server.respond(487, "Request Terminated")  # does nothing once it was answered
        else:
            self._endpoint.respond(request, source, 501, "Not Implemented")

    def _stray(self, response: SipResponse) -> None:
        """A response no transaction waits for: a retransmitted 2xx to an INVITE, or a forked one."""
        call = self._calls.get(response.call_id)
        leg = _leg_of(call, response.call_id) if call else None
        if call is None or leg is None or not leg.matches(response) or response.cseq[1] != "INVITE":
            return
        if not 200 <= response.status < 300 or leg.invite is None or response.cseq[0] != leg.invite.cseq[0]:
            return
        if response.to_tag == leg.remote_tag and leg.ack and leg.ack_to:
            self._endpoint.send_bytes(leg.ack, leg.ack_to)  # our ACK was lost or is late: send it again
            if leg is call.customer:
                self._endpoint.spawn(self._report(call, EventKind.ANSWERED, sip_code=response.status), "report")
        elif response.to_tag != leg.remote_tag and leg.remote_tag:
            # A second callee answered a forked INVITE: acknowledge that dialog and end it.
            fork = Leg(
                local=leg.local,
                request_uri=leg.request_uri,
                local_uri=leg.local_uri,
                remote_uri=leg.remote_uri,
                first_hop=leg.first_hop,
                call_id=leg.call_id,
                local_tag=leg.local_tag,
                cseq=leg.cseq,
            )
            fork.confirm(response)

            async def end_fork() -> None:
                acknowledge(self._endpoint, fork, response, await resolve(*fork.next_hop()))
                await self._bye(fork)

            self._endpoint.spawn(end_fork(), f"forked answer on {leg.call_id}")

    # ---- helpers

    def _call(self, provider_call_id: str) -> _Call:
        call = self._calls.get(provider_call_id)
        if call is None or call.customer.call_id != provider_call_id:
            raise ProviderError(f"unknown SIP call {provider_call_id}")
        return call

    def _answered_call(self, provider_call_id: str) -> _Call:
        call = self._call(provider_call_id)
        if call.ended or call.customer.answered_at is None:
            raise ProviderError(f"SIP call {provider_call_id} is not in progress")
        return call

    async def _report(self, call: _Call, kind: EventKind, *, suffix: str = "", **data: Any) -> None:
        call_id = call.customer.call_id
        event = ProviderEvent(
            provider=self.name,
            provider_call_id=call_id,
            kind=kind,
            occurred_at=dt.datetime.now(dt.UTC),
            event_id=f"{call_id}:{kind.value}" + (f":{suffix}" if suffix else ""),
            data=data,
            reference=call.request.reference,
        )
        if kind in FINAL_KINDS:  # keep answering retransmissions for a while, then forget the call
            timeout = self._endpoint.timers.transaction_timeout
            self._endpoint.later(timeout, lambda: self._forget(call))
        try:
            await self._sink(event)
        except Exception:  # a failing consumer must not stop the signalling
            logger.exception("the event sink failed on %s", event.event_id)

    def _forget(self, call: _Call) -> None:
        for call_id in [call.customer.call_id, *call.others]:
            self._calls.pop(call_id, None)


def _leg_of(call: _Call, call_id: str) -> Leg | None:
    if call.customer.call_id == call_id:
        return call.customer
    found = call.others.get(call_id)
    return found[0] if found else None


def _hostport(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reachable_host(bound: str, trunk: Address) -> str:
    """The address the trunk can reach us at: the bound one, or the one the kernel routes to it by."""
    if bound not in ("0.0.0.0", "::"):
        return bound
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(trunk)  # no packet is sent; this only asks for a route
        return probe.getsockname()[0]
