"""An incoming call end to end over SIP: the dialer worker listening on the organization's SIP settings,
SIPp as the caller the trunk sends (whose number is on a lead, typed another way) and as the rep's desk
phone; the call is matched to the lead, rings its owner, pops on their screen and is recorded."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from insidesales.calls.dialer import Dialer
from insidesales.calls.models import AgentSession, AgentState, Call, CallDirection, CallStatus, ProviderKind
from insidesales.calls.secrets import encrypt_credentials
from insidesales.calls.services import agents, campaigns
from insidesales.calls.services.config import telephony_settings
from insidesales.core.models import LiveEvent
from insidesales.crm.models import Lead


@pytest.mark.django_db(transaction=True)
def test_incoming_sip_call_is_matched_to_the_lead_and_answered_by_its_owner(cw, sipp):
    loop = asyncio.new_event_loop()
    desk_phone = sipp("agent_answers.xml", fill={"digits": "14155552671"})
    caller = sipp("caller.xml", fill={"from": "+14155552671", "to": "+12125550143", "talk_ms": "1000"})
    settings = telephony_settings(cw.org.pk)
    settings.provider = ProviderKind.SIP
    settings.provider_config = {
        "trunk_host": "127.0.0.1",
        "trunk_port": caller.port,
        "from_domain": "sales.example.org",
        "bind_host": "127.0.0.1",
        "bind_port": 0,
        "sip_username": "",
    }
    settings.credentials_encrypted = encrypt_credentials({"sip_password": "unused"})
    settings.save()
    lead = cw.lead(by=cw.rep, phone="(415) 555-2671", owner_id=cw.rep.user_id)
    desk = campaigns.campaign_create(membership=cw.admin, data={"name": "Desk"})
    campaigns.campaign_set_status(membership=cw.admin, campaign_id=desk.pk, status="active")
    agents.agent_state_set(membership=cw.rep, state=AgentState.READY, campaign_id=desk.pk)
    AgentSession.objects.filter(user=cw.rep.user).update(endpoint=desk_phone.uri)
    leads_before = Lead.objects.count()

    dialer = Dialer()
    thread = threading.Thread(target=lambda: loop.run_until_complete(dialer.run()), daemon=True)
    thread.start()
    states = []
    try:
        # The worker starts the organization's SIP adapter on its own, before any outbound call.
        deadline = time.monotonic() + 10
        while f"{ProviderKind.SIP}:{cw.org.pk}" not in dialer.providers:
            assert time.monotonic() < deadline, "the SIP adapter was not started"
            time.sleep(0.02)
        provider = dialer.providers[f"{ProviderKind.SIP}:{cw.org.pk}"]
        _host, port = asyncio.run_coroutine_threadsafe(provider.start(), loop).result(5)
        caller.remote = f"127.0.0.1:{port}"
        asyncio.run_coroutine_threadsafe(desk_phone.start(), loop).result(5)
        asyncio.run_coroutine_threadsafe(caller.start(), loop).result(5)
        deadline = time.monotonic() + 20
        while True:
            call = Call.objects.filter(organization=cw.org, direction=CallDirection.INBOUND).first()
            states.append(AgentSession.objects.get(user=cw.rep.user).state)
            if call is not None and call.status in (CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.NO_ANSWER):
                break
            assert time.monotonic() < deadline, call and call.status
            time.sleep(0.02)
    finally:
        loop.call_soon_threadsafe(dialer.stopping.set)
        thread.join(15)
    caller_result = loop.run_until_complete(caller.finish())
    desk_result = loop.run_until_complete(desk_phone.finish())
    loop.close()
    assert caller_result.succeeded, caller_result
    assert desk_result.succeeded, desk_result  # it got the caller's media and number, answered, was hung up
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED, call.failure_reason
    assert call.provider == ProviderKind.SIP and call.provider_call_id
    assert call.lead == lead and call.agent_id == cw.rep.user_id and call.from_number == "+14155552671"
    assert call.answered_at and call.bridged_at and call.ended_at
    assert list(call.events.order_by("occurred_at", "id").values_list("kind", flat=True)) == [
        "ringing",
        "answered",
        "bridged",
        "completed",
    ]
    assert Lead.objects.count() == leads_before  # a known caller: no new lead
    # The lead popped on the rep's screen; the rep was on the call, then wraps it up.
    assert LiveEvent.objects.filter(topic=f"agent:{cw.rep.user_id}", payload__call=call.pk).exists()
    assert AgentState.ON_CALL in states
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.WRAP_UP
