"""The trunk's password is for the trunk: a rep's phone (any SIP host a user typed) that challenges the
agent leg gets no credentials back."""

from __future__ import annotations

import asyncio

import pytest

from insidesales.calls.providers.base import AgentEndpoint, EventKind, OriginateRequest, ProviderError

from .conftest import Recorder, make_provider


def test_a_challenge_from_the_reps_phone_is_not_answered_with_the_trunks_credentials(sipp):
    async def scenario():
        customer = await sipp("answer_we_hang_up.xml").start()
        phone = await sipp("agent_challenges.xml").start()
        events = Recorder()
        provider = make_provider(customer.address, events, username="trunk-user", password="trunk-secret")
        call_id = await provider.originate(OriginateRequest("+14155552671", "+12125550143", "call-42"))
        await events.wait_for(EventKind.ANSWERED)
        with pytest.raises(ProviderError):
            await provider.bridge(call_id, AgentEndpoint(address=phone.uri))
        await provider.hangup(call_id)
        phone_result, customer_result = await phone.finish(), await customer.finish()
        await provider.close()
        return phone_result, customer_result

    phone_result, customer_result = asyncio.run(scenario())
    assert phone_result.succeeded, phone_result  # no second INVITE carrying an Authorization came
    assert customer_result.succeeded, customer_result
