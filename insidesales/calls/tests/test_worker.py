"""The dialer worker's own rules: events relayed from a web process are acted on, adapters are rebuilt only
when what they are built from changes, and a call queued too long ago is not dialled."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from django.utils import timezone

from insidesales.calls.dialer import RELAY_TOPIC, Dialer, _still_to_place
from insidesales.calls.models import Call, CallStatus, ProviderKind
from insidesales.calls.providers.base import AgentEndpoint, EventKind, ProviderEvent
from insidesales.calls.providers.factory import provider_version
from insidesales.calls.secrets import encrypt_credentials, reencrypt_credentials
from insidesales.calls.services import campaigns
from insidesales.calls.services.agents import agent_session
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.services.events import call_event_apply
from insidesales.core.models import LiveEvent


class RecordingTwilio:
    """Stands in for Twilio's side only (a third party not reachable here): records what the worker asks."""

    name = "twilio"

    def __init__(self) -> None:
        self.bridged: list[tuple[str, str]] = []

    async def bridge(self, provider_call_id: str, agent: AgentEndpoint) -> None:
        self.bridged.append((provider_call_id, agent.address))

    async def close(self) -> None:
        pass


@pytest.mark.django_db(transaction=True)
def test_an_answer_that_reached_a_web_process_makes_the_worker_connect_the_rep(cw):
    from insidesales.calls.webhooks import relay

    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    session = agent_session(cw.rep)
    type(session).objects.filter(pk=session.pk).update(endpoint="+14155550111")
    call = Call.objects.create(
        organization=cw.org, provider="twilio", provider_call_id="CA" + "7" * 32, lead=lead, agent=cw.rep.user
    )
    twilio = RecordingTwilio()
    dialer = Dialer(providers={f"twilio:{cw.org.pk}": twilio})
    dialer.calls[call.pk] = ("twilio", call.provider_call_id)

    async def scenario():
        from asgiref.sync import sync_to_async

        dialer._relay_after = await sync_to_async(lambda: LiveEvent.objects.filter(topic=RELAY_TOPIC).count())()
        event = ProviderEvent("twilio", call.provider_call_id, EventKind.ANSWERED, timezone.now(), "ev-1")

        def web_process():  # what the status callback view does
            applied, new = call_event_apply(event)
            assert new
            relay(applied, event)

        await sync_to_async(web_process)()
        await dialer.relayed_events()

    asyncio.run(scenario())
    assert twilio.bridged == [(call.provider_call_id, "+14155550111")]


def test_adapters_are_rebuilt_when_the_provider_changes_not_when_other_settings_do(cw):
    settings = telephony_settings(cw.org.pk)
    settings.provider = ProviderKind.SIP
    settings.provider_config = {"trunk_host": "sip.carrier.example", "from_domain": "pbx.example.com"}
    settings.credentials_encrypted = encrypt_credentials({"sip_password": "one"})
    before = provider_version(settings)
    settings.window_rules = {"default": [{"start": "09:00", "end": "18:00"}]}
    settings.abandon_message = "Another message"
    assert provider_version(settings) == before
    settings.credentials_encrypted = reencrypt_credentials(settings.credentials_encrypted)  # a key rotation
    assert provider_version(settings) == before
    settings.credentials_encrypted = encrypt_credentials({"sip_password": "two"})
    assert provider_version(settings) != before
    changed = provider_version(settings)
    settings.provider_config = {**settings.provider_config, "trunk_port": 5080}
    assert provider_version(settings) != changed


def test_a_call_queued_more_than_two_minutes_ago_is_not_dialled(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    call = Call.objects.create(
        organization=cw.org,
        provider="simulated",
        lead=lead,
        agent=cw.rep.user,
        to_number=lead.phone,
        queued_at=timezone.now() - dt.timedelta(minutes=3),
    )
    assert _still_to_place(call) is False
    call.refresh_from_db()
    assert call.status == CallStatus.FAILED and "2 minutes" in call.failure_reason
    fresh = Call.objects.create(organization=cw.org, provider="simulated", lead=lead, to_number=lead.phone)
    assert _still_to_place(fresh) is True


def test_an_abandoned_lead_waits_at_least_three_days(cw):
    from insidesales.core.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        campaigns.campaign_create(membership=cw.manager, data={"name": "X", "retry_minutes": {"abandoned": 60}})
    assert "72 hours" in str(refused.value.fields["retry_minutes"])
    made = campaigns.campaign_create(membership=cw.manager, data={"name": "Y", "retry_minutes": {"abandoned": 4320}})
    assert made.retry_minutes["abandoned"] == 4320


def test_with_a_sip_trunk_the_reps_phone_is_a_sip_address(cw):
    from insidesales.calls.services.agents import agent_endpoint_set
    from insidesales.core.errors import ValidationError

    settings = telephony_settings(cw.org.pk)
    settings.provider = ProviderKind.SIP
    settings.provider_config = {"trunk_host": "sip.carrier.example", "from_domain": "pbx.example.com"}
    settings.save()
    with pytest.raises(ValidationError):
        agent_endpoint_set(membership=cw.rep, endpoint="(415) 555-0111")
    assert (
        agent_endpoint_set(membership=cw.rep, endpoint="sip:rep@pbx.example.com").endpoint == "sip:rep@pbx.example.com"
    )


class TwilioWhoseRepDoesNotPickUp(RecordingTwilio):
    """Twilio's side when the rep's phone never answers: the bridge is accepted, no answer ever comes."""

    def __init__(self, *, refuse: bool = False) -> None:
        super().__init__()
        self.refuse = refuse
        self.played: list[tuple[str, str]] = []
        self.hung_up: list[str] = []

    async def bridge(self, provider_call_id: str, agent: AgentEndpoint) -> None:
        await super().bridge(provider_call_id, agent)
        if self.refuse:
            from insidesales.calls.providers.base import ProviderError

            raise ProviderError("Twilio error 21217: the agent's number is not reachable")

    async def play(self, provider_call_id: str, message: str, **kwargs) -> None:
        self.played.append((provider_call_id, message))

    async def hangup(self, provider_call_id: str) -> None:
        self.hung_up.append(provider_call_id)


@pytest.mark.parametrize("refuse", [True, False], ids=["bridge refused", "rep never answers"])
@pytest.mark.django_db(transaction=True)
def test_a_callee_is_not_left_in_silence_when_the_reps_phone_does_not_join(cw, refuse, monkeypatch):
    import insidesales.calls.dialer as dialer_module
    from insidesales.calls.models import CallEvent

    monkeypatch.setattr(dialer_module, "BRIDGE_DEADLINE_S", 0.2)
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    session = agent_session(cw.rep)
    type(session).objects.filter(pk=session.pk).update(endpoint="+14155550111")
    call = Call.objects.create(
        organization=cw.org, provider="twilio", provider_call_id="CA" + "9" * 32, lead=lead, agent=cw.rep.user
    )
    twilio = TwilioWhoseRepDoesNotPickUp(refuse=refuse)
    dialer = Dialer(providers={f"twilio:{cw.org.pk}": twilio})
    dialer.calls[call.pk] = ("twilio", call.provider_call_id)

    async def scenario():
        await dialer.on_event(ProviderEvent("twilio", call.provider_call_id, EventKind.ANSWERED, timezone.now(), "a"))
        await asyncio.sleep(0.3)
        await dialer.check_bridges()
        await asyncio.gather(*dialer._background)

    asyncio.run(scenario())
    assert twilio.bridged == [(call.provider_call_id, "+14155550111")]
    assert [sid for sid, _ in twilio.played] == [call.provider_call_id]  # the identifying message, then the end
    assert CallEvent.objects.filter(call=call, kind="rep_not_connected").exists()
    call_event_apply(ProviderEvent("twilio", call.provider_call_id, EventKind.COMPLETED, timezone.now(), "c"))
    call.refresh_from_db()
    assert call.failure_reason == "the rep's phone did not answer"
