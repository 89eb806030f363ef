"""The adapter's REST requests against a local imitation of Twilio's Calls API: the exact form fields
and auth it sends for each command, and Twilio's error answers turned into ProviderError."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from insidesales.calls.providers.base import AgentEndpoint, EventKind, OriginateRequest, ProviderError
from insidesales.calls.providers.twilio import TwilioApiError, TwilioProvider
from insidesales.calls.providers.twilio_callbacks import MemoryReplayGuard, signature_for
from insidesales.calls.tests.twilio.fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "3" * 32
AUTH_TOKEN = "9c2b7e1f0d4a4c55b8e6f3a2d1c0b9a8"
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
PUBLIC = "https://sales.example.com"


@pytest.fixture
def twilio():
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def events():
    return []


def make_provider(api_base: str, events: list, *, auth_token: str = AUTH_TOKEN) -> TwilioProvider:
    async def sink(event):
        events.append(event)

    return TwilioProvider(
        account_sid=ACCOUNT_SID,
        auth_token=auth_token,
        public_base_url=PUBLIC,
        url_secret="callback-url-secret",
        sink=sink,
        api_base=api_base,
        agent_caller_id="+4930555000",
        clock=lambda: NOW,
    )


@pytest.fixture
def provider(twilio, events):
    return make_provider(twilio.url, events)


def conference_of(twiml: str) -> ET.Element:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    (dial,) = list(root)
    assert dial.tag == "Dial"
    (conference,) = list(dial)
    assert conference.tag == "Conference"
    return conference


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# -- originate -------------------------------------------------------------------------------------


def test_originate_posts_the_documented_call_fields_with_basic_auth(twilio, provider):
    request = OriginateRequest(to="+4930123456", caller_id="+4930999999", reference="call-42", ring_timeout_s=17.2)
    sid = asyncio.run(provider.originate(request))

    (sent,) = twilio.requests
    assert sid in twilio.calls and twilio.calls[sid]["status"] == "queued"
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [name for name, _ in sent.form] == [
        "To",
        "From",
        "Twiml",
        "StatusCallback",
        "StatusCallbackMethod",
        "StatusCallbackEvent",
        "StatusCallbackEvent",
        "StatusCallbackEvent",
        "StatusCallbackEvent",
        "Timeout",
        "TimeLimit",
    ]
    assert (sent.value("To"), sent.value("From")) == ("+4930123456", "+4930999999")
    assert sent.values("StatusCallbackEvent") == ["initiated", "ringing", "answered", "completed"]
    assert sent.value("StatusCallbackMethod") == "POST"
    assert sent.value("Timeout") == "18"  # Twilio's Timeout: whole seconds to let it ring
    assert sent.value("TimeLimit") == "14400"

    conference = conference_of(sent.value("Twiml"))
    assert conference.text == "insidesales-hold-call-42"
    assert conference.attrib["startConferenceOnEnter"] == "false"  # waits for the agent
    assert conference.attrib["endConferenceOnExit"] == "true"

    callback = sent.value("StatusCallback")
    assert callback.startswith(f"{PUBLIC}/telephony/twilio/status/?")
    query = query_of(callback)
    assert query["ref"] == "call-42"
    assert int(query["exp"]) == int((NOW + dt.timedelta(seconds=17.2 + 14400, hours=1)).timestamp())
    assert "leg" not in query


def test_originate_asks_for_machine_detection_only_when_requested(twilio, provider):
    asyncio.run(provider.originate(OriginateRequest("+4930123456", "+4930999999", "call-1", detect_machine=True)))
    asyncio.run(provider.originate(OriginateRequest("+4930123457", "+4930999999", "call-2")))
    detecting, plain = twilio.requests
    assert detecting.values("MachineDetection") == ["Enable"]
    assert detecting.values("AsyncAmd") == ["true"]
    assert detecting.value("AsyncAmdStatusCallback") == detecting.value("StatusCallback")
    assert detecting.value("AsyncAmdStatusCallbackMethod") == "POST"
    assert not {"MachineDetection", "AsyncAmd", "AsyncAmdStatusCallback"} & {name for name, _ in plain.form}


def test_twilios_callbacks_to_the_originate_url_reach_the_sink(twilio, provider, events):
    sid = asyncio.run(provider.originate(OriginateRequest("+4930123456", "+4930999999", "call-42")))
    url = twilio.requests[0].value("StatusCallback")
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": sid,
        "CallStatus": "in-progress",
        "AnsweredBy": "human",
        "SequenceNumber": "2",
        "Timestamp": "Sat, 01 Mar 2025 09:00:12 +0000",
        "CallbackSource": "call-progress-events",
    }
    headers = {"X-Twilio-Signature": signature_for(url, params, AUTH_TOKEN)}
    event = asyncio.run(
        provider.handle_callback(url=url, params=params, headers=headers, replay_guard=MemoryReplayGuard())
    )
    assert events == [event]
    assert (event.provider_call_id, event.kind, event.reference) == (sid, EventKind.ANSWERED, "call-42")
    assert event.data["reference"] == "call-42"


# -- commands on a placed call ---------------------------------------------------------------------


def placed(provider) -> str:
    return asyncio.run(provider.originate(OriginateRequest("+4930123456", "+4930999999", "call-42")))


def test_cancel_and_hangup_update_the_call_status(twilio, provider):
    first, second = placed(provider), placed(provider)
    asyncio.run(provider.cancel(first))
    asyncio.run(provider.hangup(second))
    cancel, hangup = twilio.requests[2:]
    assert cancel.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{first}.json"
    assert cancel.form == [("Status", "canceled")]
    assert hangup.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{second}.json"
    assert hangup.form == [("Status", "completed")]
    assert (twilio.calls[first]["status"], twilio.calls[second]["status"]) == ("canceled", "completed")
    assert hangup.headers["Authorization"].startswith("Basic ")


def test_bridge_moves_the_customer_into_the_calls_conference_and_dials_the_agent_into_it(twilio, provider, events):
    sid = placed(provider)
    asyncio.run(provider.bridge(sid, AgentEndpoint("client:alice", "Alice")))
    customer, agent = twilio.requests[1:]

    assert customer.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json"
    assert [name for name, _ in customer.form] == ["Twiml"]
    waiting = conference_of(customer.value("Twiml"))
    assert waiting.text == f"insidesales-{sid}"
    assert waiting.attrib["startConferenceOnEnter"] == "false"

    assert agent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert (agent.value("To"), agent.value("From")) == ("client:alice", "+4930555000")
    joining = conference_of(agent.value("Twiml"))
    assert joining.text == f"insidesales-{sid}"
    assert joining.attrib["startConferenceOnEnter"] == "true"
    assert joining.attrib["endConferenceOnExit"] == "true"
    assert agent.values("StatusCallbackEvent") == ["answered"]
    assert agent.value("Timeout") == "20"
    assert query_of(agent.value("StatusCallback"))["call"] == sid
    assert query_of(agent.value("StatusCallback"))["ref"] == "call-42"  # remembered from originate

    # Twilio reports the agent's answer on the agent's leg; it becomes BRIDGED for the customer's call.
    agent_sid = next(call for call in twilio.calls if call != sid)
    url = agent.value("StatusCallback")
    params = {"CallSid": agent_sid, "CallStatus": "in-progress", "SequenceNumber": "1"}
    headers = {"X-Twilio-Signature": signature_for(url, params, AUTH_TOKEN)}
    asyncio.run(provider.handle_callback(url=url, params=params, headers=headers, replay_guard=MemoryReplayGuard()))
    (bridged,) = events
    assert (bridged.provider_call_id, bridged.kind, bridged.data["agent_call_id"]) == (
        sid,
        EventKind.BRIDGED,
        agent_sid,
    )
    assert bridged.reference == "call-42"


def test_a_call_placed_by_another_process_is_bridged_with_the_reference_given(twilio, provider, events):
    sid = placed(provider)
    elsewhere = make_provider(twilio.url, events)
    asyncio.run(elsewhere.bridge(sid, AgentEndpoint("+4930777777"), reference="call-42"))
    asyncio.run(elsewhere.bridge(sid, AgentEndpoint("+4930777777")))
    with_reference, without = twilio.requests[2], twilio.requests[4]
    assert query_of(with_reference.value("StatusCallback"))["ref"] == "call-42"
    assert query_of(without.value("StatusCallback"))["ref"] == ""
    assert conference_of(with_reference.value("Twiml")).text == f"insidesales-{sid}"


def test_bridge_to_a_customer_call_twilio_does_not_know_dials_no_agent(twilio, provider):
    with pytest.raises(TwilioApiError) as error:
        asyncio.run(provider.bridge("CA" + "e" * 32, AgentEndpoint("+4930777777")))
    assert error.value.status == 404 and error.value.code == 20404
    assert len(twilio.requests) == 1


def test_play_says_the_message_in_its_language_then_hangs_up(twilio, provider):
    sid = placed(provider)
    asyncio.run(provider.play(sid, "Извините, все операторы заняты. <Мы перезвоним> & спасибо.", language="ru-RU"))
    asyncio.run(provider.play(sid, "Sorry, we will call you back."))
    russian, default = twilio.requests[1:]
    assert russian.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json"
    root = ET.fromstring(russian.value("Twiml"))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root[0].text == "Извините, все операторы заняты. <Мы перезвоним> & спасибо."
    assert root[0].attrib == {"language": "ru-RU"}
    assert ET.fromstring(default.value("Twiml"))[0].attrib == {"language": "en-US"}


# -- errors ----------------------------------------------------------------------------------------


def test_wrong_credentials_give_twilios_authentication_error(twilio, events):
    provider = make_provider(twilio.url, events, auth_token="not-the-token")
    with pytest.raises(ProviderError) as error:
        asyncio.run(provider.originate(OriginateRequest("+4930123456", "+4930999999", "call-42")))
    assert isinstance(error.value, TwilioApiError)
    assert (error.value.status, error.value.code) == (401, 20003)
    assert "Authenticate" in str(error.value)
    assert error.value.more_info == "https://www.twilio.com/docs/errors/20003"


def test_an_invalid_to_number_gives_twilios_message_and_code(twilio, provider):
    with pytest.raises(ProviderError) as error:
        asyncio.run(provider.originate(OriginateRequest("5551234567", "+4930999999", "call-42")))
    assert (error.value.status, error.value.code) == (400, 21211)
    assert "The 'To' number 5551234567 is not a valid phone number." in str(error.value)


def test_an_unreachable_api_is_a_provider_error(events):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = make_provider(f"http://127.0.0.1:{port}", events)
    with pytest.raises(ProviderError, match="could not be reached"):
        asyncio.run(provider.hangup("CA" + "1" * 32))


def test_an_id_that_is_not_a_call_sid_is_refused_before_any_request(twilio, provider):
    with pytest.raises(ProviderError, match="not a Twilio CallSid"):
        asyncio.run(provider.hangup("../../Accounts/other/Calls"))
    assert twilio.requests == []


def test_a_closed_provider_sends_nothing(twilio, provider):
    asyncio.run(provider.close())
    with pytest.raises(ProviderError, match="closed"):
        asyncio.run(provider.originate(OriginateRequest("+4930123456", "+4930999999", "call-42")))
    assert twilio.requests == []


def test_a_recorded_call_is_recorded_and_the_callee_hears_the_notice_first(twilio, provider):
    notice = "This call is recorded for quality."
    request = OriginateRequest("+4930123456", "+4930999999", "call-7", record=True, notice=notice)
    asyncio.run(provider.originate(request))
    asyncio.run(provider.originate(OriginateRequest("+4930123457", "+4930999999", "call-8")))
    recorded, plain = twilio.requests
    assert recorded.values("Record") == ["true"]
    assert recorded.value("RecordingStatusCallback") == recorded.value("StatusCallback")
    root = ET.fromstring(recorded.value("Twiml"))
    assert [child.tag for child in root] == ["Say", "Dial"]  # the notice before anyone is connected
    assert root.find("Say").text == notice
    assert "Record" not in {name for name, _ in plain.form}
    assert ET.fromstring(plain.value("Twiml")).find("Say") is None
