"""Incoming calls over SIP: SIPp as the caller the trunk sends us and as the agent's phone."""

from __future__ import annotations

import asyncio

import pytest

from insidesales.calls.providers.base import AgentEndpoint, EventKind
from insidesales.calls.providers.sip.incoming import IncomingCall, number_of

from .conftest import Recorder, Sipp, make_provider

R, A, B, C = EventKind.RINGING, EventKind.ANSWERED, EventKind.BRIDGED, EventKind.COMPLETED
CALLER = {"from": "+14155552671", "to": "+12125550143"}


class Router:
    """The provider's `on_incoming`: the agent to ring (or None), and the calls it was asked about."""

    def __init__(self, agent: Sipp | None) -> None:
        self.agent = agent
        self.calls: list[IncomingCall] = []

    async def __call__(self, incoming: IncomingCall) -> AgentEndpoint | None:
        self.calls.append(incoming)
        return AgentEndpoint(address=self.agent.uri) if self.agent else None


async def take_one_call(caller: Sipp, agent: Sipp | None, *, trunk_host: str = "127.0.0.1", **options):
    """Start the agent's phone and our provider (the trunk: the caller's address), then let SIPp call us;
    return when both SIPp processes finished."""
    if agent is not None:
        await agent.start()
    events, router = Recorder(), Router(agent)
    provider = make_provider((trunk_host, caller.port), events, on_incoming=router, **options)
    _host, port = await provider.start()
    caller.remote = f"127.0.0.1:{port}"
    await caller.start()
    caller_result = await caller.finish()
    agent_result = await agent.finish() if agent is not None else None
    await asyncio.sleep(0.05)  # the last event is reported as the last message goes out
    await provider.close()
    return events, router, caller_result, agent_result


def test_incoming_call_rings_the_agent_with_the_callers_media_and_the_caller_hangs_up(sipp):
    caller = sipp("caller.xml", fill=CALLER | {"talk_ms": "300"})
    agent = sipp("agent_answers.xml", fill={"digits": "14155552671"})
    events, router, caller_result, agent_result = asyncio.run(take_one_call(caller, agent))
    # The agent got the caller's media and number; the caller got the agent's media in our 200 OK.
    assert agent_result.succeeded, agent_result
    assert caller_result.succeeded, caller_result
    assert events.kinds == [R, A, B, C]
    (incoming,) = router.calls
    assert (incoming.from_number, incoming.to_number) == ("+14155552671", "+12125550143")
    assert {event.provider_call_id for event in events.events} == {incoming.provider_call_id}
    assert events.events[2].data["agent"] == agent.uri
    completed = events.events[-1].data
    assert completed["hangup_by"] == "customer"
    assert 0.25 <= completed["duration_s"] < 2.0


def test_agent_hangs_up_an_incoming_call_and_we_hang_up_the_caller(sipp):
    caller = sipp("caller_hung_up_on.xml", fill=CALLER)
    agent = sipp("agent_hangs_up.xml")
    events, _router, caller_result, agent_result = asyncio.run(take_one_call(caller, agent))
    assert agent_result.succeeded, agent_result
    assert caller_result.succeeded, caller_result  # it got our BYE
    assert events.kinds == [R, A, B, C]
    assert events.events[-1].data["hangup_by"] == "agent"


def test_caller_cancelling_while_the_agent_rings_cancels_the_agents_phone(sipp):
    caller = sipp("caller_cancels.xml", fill=CALLER)
    agent = sipp("rings_until_cancelled.xml")
    events, _router, caller_result, agent_result = asyncio.run(take_one_call(caller, agent))
    assert caller_result.succeeded, caller_result  # 200 for its CANCEL, 487 for its INVITE
    assert agent_result.succeeded, agent_result  # it got our CANCEL, then our ACK for its 487
    assert events.kinds == [R, EventKind.CANCELED]
    assert events.events[-1].data["sip_code"] == 487


def test_agent_not_answering_within_the_ring_timeout_refuses_the_caller_480(sipp):
    caller = sipp("caller_refused.xml", fill=CALLER | {"status": "480"})
    agent = sipp("rings_until_cancelled.xml")
    events, _router, caller_result, agent_result = asyncio.run(take_one_call(caller, agent, agent_ring_timeout_s=0.4))
    assert caller_result.succeeded, caller_result
    assert agent_result.succeeded, agent_result
    assert events.kinds == [R, EventKind.NO_ANSWER]
    assert events.events[-1].data["sip_code"] == 480


def test_busy_agent_refuses_the_caller_486(sipp):
    caller = sipp("caller_refused.xml", fill=CALLER | {"status": "486"})
    agent = sipp("rejected.xml", fill={"status": "486"})
    events, _router, caller_result, agent_result = asyncio.run(take_one_call(caller, agent))
    assert caller_result.succeeded, caller_result
    assert agent_result.succeeded, agent_result
    assert events.kinds == [R, EventKind.BUSY]


def test_nobody_ready_refuses_the_caller_480_at_once(sipp):
    caller = sipp("caller_refused.xml", fill=CALLER | {"status": "480"})
    events, router, caller_result, _ = asyncio.run(take_one_call(caller, None))
    assert caller_result.succeeded, caller_result
    assert len(router.calls) == 1
    assert events.kinds == [EventKind.NO_ANSWER]
    assert events.events[0].data["sip_code"] == 480


def test_invite_from_an_address_that_is_not_the_trunk_is_forbidden(sipp):
    caller = sipp("caller_refused.xml", fill=CALLER | {"status": "403"}, host="127.0.0.2")
    events, router, caller_result, _ = asyncio.run(take_one_call(caller, None, trunk_host="127.0.0.1"))
    assert caller_result.succeeded, caller_result
    assert router.calls == [] and events.events == []


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("sip:+14155552671@trunk.example", "+14155552671"),
        ("sip:+1-415-555-2671@trunk.example;user=phone", "+14155552671"),
        ("sip:+14155552671;isub=12@trunk.example", "+14155552671"),
        ("tel:+1-415-555-2671;phone-context=example.com", "+14155552671"),
        ("sip:004915123456789@trunk.example", "+4915123456789"),
        ("sip:4155552671@trunk.example", "4155552671"),  # national: the organization's region reads it
        ("sip:anonymous@anonymous.invalid", "anonymous"),
        ("sip:%0D%0AX-Evil:%20yes@trunk.example", "X-Evil: yes"),
        ("not a uri", ""),
    ],
)
def test_caller_numbers_are_read_from_the_user_part(uri, number):
    assert number_of(uri) == number


def test_hanging_up_an_incoming_call_from_our_side_ends_both_legs(sipp):
    async def scenario():
        caller = sipp("caller_hung_up_on.xml", fill=CALLER)
        agent = await sipp("agent_answers.xml", fill={"digits": "14155552671"}).start()
        events, router = Recorder(), Router(agent)
        provider = make_provider(("127.0.0.1", caller.port), events, on_incoming=router)
        _host, port = await provider.start()
        caller.remote = f"127.0.0.1:{port}"
        await caller.start()
        bridged = await events.wait_for(B)
        await provider.hangup(bridged.provider_call_id)  # the rep pressed "hang up" on the call page
        results = await caller.finish(), await agent.finish()
        await provider.close()
        return events, results

    events, (caller_result, agent_result) = asyncio.run(scenario())
    assert caller_result.succeeded, caller_result  # it got our BYE (after its ACK)
    assert agent_result.succeeded, agent_result
    assert events.kinds == [R, A, B, C]
    assert events.events[-1].data["hangup_by"] == "us"
