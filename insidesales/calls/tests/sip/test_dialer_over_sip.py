"""Click-to-call end to end over SIP: the organization's SIP trunk settings, the dialer worker placing
the call, SIPp as the customer (who answers, is connected to the rep, then hangs up) and as the rep's
desk phone; the call record and the timeline come out right."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from insidesales.calls.dialer import Dialer
from insidesales.calls.models import AgentSession, Call, CallerId, CallStatus, ProviderKind
from insidesales.calls.secrets import encrypt_credentials
from insidesales.calls.services import dialing
from insidesales.calls.services.agents import agent_session
from insidesales.calls.services.config import telephony_settings
from insidesales.crm.models import Activity, ActivityKind


@pytest.mark.django_db(transaction=True)
def test_click_to_call_over_a_sip_trunk_reaches_the_customer_and_connects_the_rep(cw, sipp):
    loop = asyncio.new_event_loop()
    customer = loop.run_until_complete(sipp("customer_bridged.xml").start())
    # The rep's phone checks the call carries our reference (the call's id, not known yet: any number).
    desk_phone = loop.run_until_complete(sipp("agent.xml", fill={"reference": "[0-9]+"}).start())
    settings = telephony_settings(cw.org.pk)
    settings.provider = ProviderKind.SIP
    settings.provider_config = {
        "trunk_host": "127.0.0.1",
        "trunk_port": customer.port,
        "from_domain": "sales.example.org",
        "bind_host": "127.0.0.1",
        "bind_port": 0,
        "sip_username": "",
    }
    settings.credentials_encrypted = encrypt_credentials({"sip_password": "unused"})
    settings.save()
    CallerId.objects.create(organization=cw.org, number="+12125550143", is_default=True)
    session = agent_session(cw.rep)
    AgentSession.objects.filter(pk=session.pk).update(endpoint=desk_phone.uri)
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)

    dialer = Dialer()
    thread = threading.Thread(target=lambda: loop.run_until_complete(dialer.run()), daemon=True)
    thread.start()
    try:
        call = dialing.call_start(membership=cw.rep, record_type="lead", record_id=lead.pk)
        deadline = time.monotonic() + 20
        while Call.objects.get(pk=call.pk).status not in (CallStatus.COMPLETED, CallStatus.FAILED):
            assert time.monotonic() < deadline, Call.objects.get(pk=call.pk).status
            time.sleep(0.05)
    finally:
        loop.call_soon_threadsafe(dialer.stopping.set)
        thread.join(15)
    customer_result = loop.run_until_complete(customer.finish())
    desk_result = loop.run_until_complete(desk_phone.finish())
    loop.close()
    call.refresh_from_db()
    assert customer_result.succeeded, customer_result
    assert desk_result.succeeded, desk_result
    assert call.status == CallStatus.COMPLETED, call.failure_reason
    assert call.provider == "sip" and call.provider_call_id
    assert call.answered_at and call.bridged_at and call.ended_at
    assert list(call.events.order_by("occurred_at", "id").values_list("kind", flat=True))[:1] == ["initiated"]
    entry = Activity.objects.get(lead=lead, kind=ActivityKind.CALL)
    assert entry.data["status"] == "completed" and entry.data["provider"] == "sip"
