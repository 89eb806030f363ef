"""The `sip` provider against SIPp playing the carrier, the customer, the agent and the media server."""

from __future__ import annotations

import asyncio

import pytest

from insidesales.calls.providers.base import AgentEndpoint, EventKind, OriginateRequest, ProviderError
from insidesales.calls.providers.sip import SipTimers

from .conftest import Recorder, free_udp_port, make_provider

TRYING, R, A, C = EventKind.INITIATED, EventKind.RINGING, EventKind.ANSWERED, EventKind.COMPLETED


def call_request(ring_timeout_s: float = 5.0) -> OriginateRequest:
    return OriginateRequest(to="+15550100", caller_id="+15550199", reference="call-42", ring_timeout_s=ring_timeout_s)


def test_answered_call_that_we_hang_up(sipp):
    async def scenario():
        customer = await sipp("answer_we_hang_up.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        call_id = await provider.originate(call_request())
        await events.wait_for(A)
        await provider.hangup(call_id)
        result = await customer.finish()
        await provider.close()
        return call_id, events, result

    call_id, events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, R, A, C]
    assert {event.provider_call_id for event in events.events} == {call_id}
    assert events.events[1].data == {"sip_code": 180}
    assert events.events[-1].data["hangup_by"] == "us"
    assert [event.event_id for event in events.events] == [f"{call_id}:{kind}" for kind in events.kinds]


def test_customer_hangs_up(sipp):
    async def scenario():
        customer = await sipp("customer_hangs_up.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        await provider.originate(call_request())
        await events.wait_for(C)
        result = await customer.finish()
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, R, A, C]
    completed = events.events[-1].data
    assert completed["hangup_by"] == "customer"
    assert 0.25 <= completed["duration_s"] < 2.0  # the customer talked for 300 ms


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (486, EventKind.BUSY),
        (600, EventKind.BUSY),
        (603, EventKind.BUSY),
        (480, EventKind.NO_ANSWER),
        (503, EventKind.FAILED),
    ],
)
def test_refused_call(sipp, status, kind):
    async def scenario():
        trunk = await sipp("rejected.xml", fill={"status": str(status)}).start()
        events = Recorder()
        provider = make_provider(trunk.address, events)
        await provider.originate(call_request())
        await events.wait_for(kind)
        result = await trunk.finish()  # it got our ACK for the final response
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, kind]
    assert events.events[-1].data["sip_code"] == status


def test_ring_timeout_cancels_and_reports_no_answer(sipp):
    async def scenario():
        customer = await sipp("rings_until_cancelled.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        started = asyncio.get_running_loop().time()
        await provider.originate(call_request(ring_timeout_s=0.4))
        await events.wait_for(EventKind.NO_ANSWER)
        elapsed = asyncio.get_running_loop().time() - started
        result = await customer.finish()
        await provider.close()
        return events, result, elapsed

    events, result, elapsed = asyncio.run(scenario())
    assert result.succeeded, result  # it got CANCEL, then our ACK for its 487
    assert events.kinds == [TRYING, R, EventKind.NO_ANSWER]
    assert events.events[-1].data["sip_code"] == 487
    assert 0.4 <= elapsed < 2.0


def test_cancel_gives_up_a_ringing_call(sipp):
    async def scenario():
        customer = await sipp("rings_until_cancelled.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        call_id = await provider.originate(call_request(ring_timeout_s=30))
        await events.wait_for(R)
        await provider.cancel(call_id)
        await events.wait_for(EventKind.CANCELED)
        result = await customer.finish()
        await provider.cancel(call_id)  # again, after the end: nothing happens
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, R, EventKind.CANCELED]


def test_answer_crossing_our_cancel_is_acknowledged_and_hung_up(sipp):
    async def scenario():
        customer = await sipp("cancel_race.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        await provider.originate(call_request(ring_timeout_s=0.3))
        await events.wait_for(C)
        result = await customer.finish()  # it got our ACK for its 200 OK and our BYE
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, R, A, C]
    assert events.events[-1].data["hangup_by"] == "us"
    assert events.events[-1].data["reason"] == "answered as we cancelled"


def test_digest_challenge_is_answered(sipp):
    async def scenario():
        trunk = await sipp("digest_challenge.xml").start()
        events = Recorder()
        provider = make_provider(trunk.address, events, username="trunk-user", password="trunk-secret")
        call_id = await provider.originate(call_request())
        await events.wait_for(A)
        await provider.hangup(call_id)
        result = await trunk.finish()
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result  # SIPp checked our Authorization against the password
    assert events.kinds == [TRYING, A, C]


def test_wrong_password_fails_the_call(sipp):
    async def scenario():
        trunk = await sipp("digest_challenge.xml").start()
        events = Recorder()
        provider = make_provider(trunk.address, events, username="trunk-user", password="wrong")
        await provider.originate(call_request())
        await events.wait_for(EventKind.FAILED)
        result = await trunk.finish()
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert events.kinds == [EventKind.FAILED]
    assert events.events[0].data["sip_code"] == 403
    assert result.returncode != 0  # the scenario stops itself on bad credentials


def test_retransmitted_ok_is_acknowledged_again_and_reported_under_the_same_id(sipp):
    async def scenario():
        # -nr: SIPp would otherwise take our second, identical ACK for a retransmission of the first.
        customer = await sipp("retransmitted_ok.xml", options=("-nr",)).start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        call_id = await provider.originate(call_request())
        await events.wait_for(A, count=2)
        await provider.hangup(call_id)
        result = await customer.finish()  # it got two ACKs, then our BYE
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, A, A, C]
    assert events.events[1].event_id == events.events[2].event_id


def test_bridge_to_an_agent_by_third_party_call_control(sipp):
    async def scenario():
        customer = await sipp("customer_bridged.xml").start()
        agent = await sipp("agent.xml", fill={"reference": "call-42"}).start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        call_id = await provider.originate(call_request())
        await events.wait_for(A)
        await provider.bridge(call_id, AgentEndpoint(address=agent.uri, display_name="Agent Smith"))
        await events.wait_for(C)
        customer_result, agent_result = await customer.finish(), await agent.finish()
        await provider.close()
        return events, customer_result, agent_result

    events, customer_result, agent_result = asyncio.run(scenario())
    # The agent got the customer's media and was hung up when the customer left; the customer got
    # the agent's media in a re-INVITE (each scenario checks the SDP it receives).
    assert agent_result.succeeded, agent_result
    assert customer_result.succeeded, customer_result
    assert events.kinds == [TRYING, A, EventKind.BRIDGED, C]
    assert events.events[2].data["agent"].startswith("sip:far-end@127.0.0.1:")
    assert events.events[-1].data["hangup_by"] == "customer"


def test_play_bridges_to_the_announcement_and_hangs_up_when_it_ends(sipp):
    async def scenario():
        customer = await sipp("customer_announcement.xml").start()
        announcement = await sipp("announcement.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events, announcement_uri=announcement.uri)
        call_id = await provider.originate(call_request())
        await events.wait_for(A)
        await provider.play(call_id, "This is Acme calling about your order.")
        await events.wait_for(C)
        customer_result, announcement_result = await customer.finish(), await announcement.finish()
        await provider.close()
        return events, customer_result, announcement_result

    events, customer_result, announcement_result = asyncio.run(scenario())
    assert announcement_result.succeeded, announcement_result
    assert customer_result.succeeded, customer_result
    assert events.kinds == [TRYING, A, C]
    assert events.events[-1].data["hangup_by"] == "announcement"


def test_play_without_an_announcement_hangs_up(sipp):
    async def scenario():
        customer = await sipp("answer_we_hang_up.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events)
        call_id = await provider.originate(call_request())
        await events.wait_for(A)
        await provider.play(call_id, "This is Acme calling.")
        result = await customer.finish()
        with pytest.raises(ProviderError):
            await provider.bridge(call_id, AgentEndpoint(address="sip:agent@127.0.0.1:5999"))
        await provider.close()
        return events, result

    events, result = asyncio.run(scenario())
    assert result.succeeded, result
    assert events.kinds == [TRYING, R, A, C]


def test_silent_trunk_fails_the_call_after_timer_b():
    async def scenario():
        events = Recorder()
        provider = make_provider(("127.0.0.1", free_udp_port()), events, timers=SipTimers(t1=0.01))
        await provider.originate(call_request())
        await events.wait_for(EventKind.FAILED, timeout=5)  # Timer B: 64 × T1 = 0.64 s
        await provider.close()
        return events

    events = asyncio.run(scenario())
    assert events.kinds == [EventKind.FAILED]
    assert events.events[0].data["sip_code"] == 408


def test_commands_on_unknown_calls_and_unsafe_values_are_refused():
    async def scenario():
        provider = make_provider(("127.0.0.1", free_udp_port()), Recorder())
        await provider.start()
        try:
            for command in (provider.cancel, provider.hangup):
                with pytest.raises(ProviderError):
                    await command("no-such-call")
            for bad in ({"to": "+1555 0100"}, {"caller_id": "<sip:evil>"}, {"reference": "call\r\nVia: x"}):
                request = OriginateRequest(**{"to": "+15550100", "caller_id": "+15550199", "reference": "r"} | bad)
                with pytest.raises(ProviderError):
                    await provider.originate(request)
        finally:
            await provider.close()

    asyncio.run(scenario())


def test_close_cancels_a_ringing_call_and_hangs_up_an_answered_one(sipp):
    async def scenario():
        ringing, answered = await sipp("rings_until_cancelled.xml").start(), await sipp("answer_we_hang_up.xml").start()
        ringing_events, answered_events = Recorder(), Recorder()
        to_ringing = make_provider(ringing.address, ringing_events)
        to_answered = make_provider(answered.address, answered_events)
        await to_ringing.originate(call_request(ring_timeout_s=30))
        await to_answered.originate(call_request())
        await ringing_events.wait_for(R)
        await answered_events.wait_for(A)
        await to_ringing.close()
        await to_answered.close()
        return ringing_events, answered_events, await ringing.finish(), await answered.finish()

    ringing_events, answered_events, ringing_result, answered_result = asyncio.run(scenario())
    assert ringing_result.succeeded, ringing_result
    assert answered_result.succeeded, answered_result
    assert ringing_events.kinds == [TRYING, R, EventKind.CANCELED]
    assert answered_events.kinds == [TRYING, R, A, C]
