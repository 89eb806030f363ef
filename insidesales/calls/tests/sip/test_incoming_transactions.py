"""The server side of an incoming call, message by message (RFC 3261 §17.2.1, §13.3.1.4): what a
retransmitted INVITE gets, how long our final responses are repeated, and that nothing the caller
sends can add a header to what we send. A bare UDP socket plays the caller and the agent's phone here,
where SIPp would hide the retransmissions these tests count."""

from __future__ import annotations

import asyncio

from insidesales.calls.providers.base import AgentEndpoint, EventKind
from insidesales.calls.providers.sip.message import SipMessage, SipRequest, SipResponse, parse

from .conftest import Recorder, make_provider

SDP = b"v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
AGENT_SDP = SDP.replace(b"caller", b"agent").replace(b"40000", b"41000")


class Peer(asyncio.DatagramProtocol):
    """A bare SIP socket: what it receives, in order; what it sends, as written."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[SipMessage, bytes]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr) -> None:
        self.inbox.put_nowait((parse(data), data))

    def send(self, data: str | bytes, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data.encode() if isinstance(data, str) else data, ("127.0.0.1", port))

    async def receive(self, timeout: float = 2.0) -> SipMessage:
        return (await asyncio.wait_for(self.inbox.get(), timeout))[0]

    async def receive_raw(self, timeout: float = 2.0) -> bytes:
        return (await asyncio.wait_for(self.inbox.get(), timeout))[1]

    def count_waiting(self) -> int:
        return self.inbox.qsize()


async def peer() -> Peer:
    _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
    return protocol


def invite(caller: Peer, our_port: int, *, from_user: str = "+14155552671") -> str:
    head = (
        f"INVITE sip:+12125550143@127.0.0.1:{our_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{caller.port};branch=z9hG4bKcaller1\r\n"
        f'From: "Caller" <sip:{from_user}@127.0.0.1>;tag=callertag\r\n'
        f"To: <sip:+12125550143@127.0.0.1:{our_port}>\r\n"
        "Call-ID: incoming-1@127.0.0.1\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{caller.port}>\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(SDP)}\r\n\r\n"
    )
    return head + SDP.decode()


def response_to(request: SipRequest, status: str, *, contact_port: int = 0, body: bytes = b"") -> bytes:
    lines = [f"SIP/2.0 {status}"]
    lines += [f"Via: {via}" for via in request.headers.get_all("Via")]
    lines += [
        f"From: {request.headers.get('From')}",
        f"To: {request.headers.get('To')}" + ("" if request.to_tag else ";tag=agenttag"),
        f"Call-ID: {request.call_id}",
        f"CSeq: {request.headers.get('CSeq')}",
    ]
    if contact_port:
        lines.append(f"Contact: <sip:agent@127.0.0.1:{contact_port}>")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def in_dialog(method: str, ok: SipResponse, caller: Peer, cseq: int, branch: str) -> str:
    return (
        f"{method} sip:insidesales@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{caller.port};branch={branch}\r\n"
        f"From: {ok.headers.get('From')}\r\nTo: {ok.headers.get('To')}\r\n"
        f"Call-ID: {ok.call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )


async def statuses(peer_: Peer, count: int) -> list[int]:
    found = []
    for _ in range(count):
        message = await peer_.receive()
        assert isinstance(message, SipResponse)
        found.append(message.status)
    return found


def test_retransmitted_invite_gets_the_last_provisional_and_our_200_is_repeated_until_the_ack():
    async def scenario():
        caller, agent = await peer(), await peer()
        events = Recorder()

        async def route(incoming):
            return AgentEndpoint(address=f"sip:agent@127.0.0.1:{agent.port}")

        provider = make_provider(("127.0.0.1", caller.port), events, on_incoming=route)
        _host, port = await provider.start()
        caller.send(invite(caller, port), port)
        assert await statuses(caller, 2) == [100, 180]
        agent_invite = await agent.receive()
        assert isinstance(agent_invite, SipRequest) and agent_invite.method == "INVITE"
        assert b"m=audio 40000" in agent_invite.body  # the caller's media, offered to the agent
        caller.send(invite(caller, port), port)  # retransmitted while the agent's phone rings
        ringing = await caller.receive()
        assert isinstance(ringing, SipResponse) and ringing.status == 180 and ringing.to_tag
        agent.send(response_to(agent_invite, "200 OK", contact_port=agent.port, body=AGENT_SDP), port)
        ack = await agent.receive()
        assert isinstance(ack, SipRequest) and ack.method == "ACK"
        ok = await caller.receive()
        assert isinstance(ok, SipResponse) and ok.status == 200 and b"m=audio 41000" in ok.body
        assert ok.to_tag == ringing.to_tag and ok.headers.get("Contact")
        again = await caller.receive()  # no ACK yet: the 200 comes again (T1 = 50 ms, then 100 ms...)
        assert isinstance(again, SipResponse) and again.status == 200 and again.to_tag == ok.to_tag
        caller.send(in_dialog("ACK", ok, caller, 1, "z9hG4bKcallerack"), port)
        await asyncio.sleep(0.9)  # longer than T2 (0.4 s): any retransmission due would have come
        while caller.count_waiting():
            late = await caller.receive()
            assert isinstance(late, SipResponse) and late.status == 200  # sent before our ACK arrived
        await asyncio.sleep(0.9)
        assert caller.count_waiting() == 0
        caller.send(in_dialog("BYE", ok, caller, 2, "z9hG4bKcallerbye"), port)
        assert await statuses(caller, 1) == [200]
        bye = await agent.receive()
        assert isinstance(bye, SipRequest) and bye.method == "BYE" and bye.call_id == agent_invite.call_id
        agent.send(response_to(bye, "200 OK"), port)
        await events.wait_for(EventKind.COMPLETED)
        await provider.close()
        return events

    events = asyncio.run(scenario())
    assert events.kinds == [EventKind.RINGING, EventKind.ANSWERED, EventKind.BRIDGED, EventKind.COMPLETED]
    assert events.events[-1].data["hangup_by"] == "customer"


def test_refusal_is_repeated_until_acknowledged_and_a_provider_without_on_incoming_refuses_480():
    async def scenario():
        caller = await peer()
        events = Recorder()
        provider = make_provider(("127.0.0.1", caller.port), events)
        _host, port = await provider.start()
        caller.send(invite(caller, port), port)
        first = await statuses(caller, 2)  # no ACK: Timer G repeats the 480
        caller.send(invite(caller, port), port)  # a retransmitted INVITE gets it again
        third = await statuses(caller, 1)
        refusal = await caller.receive()
        assert isinstance(refusal, SipResponse)
        ack = (
            f"ACK sip:+12125550143@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{caller.port};branch=z9hG4bKcaller1\r\n"
            f"From: {refusal.headers.get('From')}\r\nTo: {refusal.headers.get('To')}\r\n"
            "Call-ID: incoming-1@127.0.0.1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        caller.send(ack, port)  # the ACK of a non-2xx response: same branch, it ends the repeats
        await asyncio.sleep(0.9)
        while caller.count_waiting():
            await caller.receive()
        await asyncio.sleep(0.9)
        waiting = caller.count_waiting()
        await provider.close()
        return first, third, waiting, events

    first, third, waiting, events = asyncio.run(scenario())
    assert first == [480, 480] and third == [480]
    assert waiting == 0
    assert events.events == []  # no call was taken, so there is nothing to report


def test_nothing_the_caller_sends_becomes_a_header_of_ours():
    async def scenario():
        caller, agent = await peer(), await peer()
        events = Recorder()
        seen = []

        async def route(incoming):
            seen.append(incoming)
            return AgentEndpoint(address=f"sip:agent@127.0.0.1:{agent.port}")

        provider = make_provider(("127.0.0.1", caller.port), events, on_incoming=route)
        _host, port = await provider.start()
        caller.send(invite(caller, port, from_user="%0D%0AX-Evil:%20yes%0D%0A%22"), port)
        raw = await agent.receive_raw()
        await provider.close()
        return seen, raw

    seen, raw = asyncio.run(scenario())
    assert seen[0].from_number == "X-Evil: yes"  # decoded, but stripped of line breaks and quotes
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nX-Evil" not in head and b"\n\n" not in head
    agent_invite = parse(raw)
    assert agent_invite.headers.get("X-Evil") is None
    assert agent_invite.headers.get("From", "").startswith('"X-Evil: yes" <sip:insidesales@')
