"""Status callbacks: every CallStatus and AnsweredBy becomes the right event; repeated deliveries keep
their id; out-of-order ones keep their sequence; forged, expired and replayed requests are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from insidesales.calls.providers.base import EventKind
from insidesales.calls.providers.twilio_callbacks import (
    CallbackRejected,
    MemoryReplayGuard,
    RejectReason,
    check_callback,
    parse_status_callback,
    signature_for,
    signed_callback_url,
)

AUTH_TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
URL_SECRET = "our-own-secret"
CALL_SID = "CA" + "5" * 32
NOW = dt.datetime(2025, 1, 14, 10, 0, 0, tzinfo=dt.UTC)
BASE = "https://sales.example.com/telephony/twilio/status/"


def twilio_params(status: str, sequence: int | None = 0, **extra: str) -> dict[str, str]:
    """A status callback as Twilio documents it (https://www.twilio.com/docs/voice/api/call-resource
    #statuscallback): the call's parameters, plus CallbackSource, SequenceNumber and Timestamp."""
    params = {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": CALL_SID,
        "CallStatus": status,
        "Called": "+4930123456",
        "Caller": "+4930999999",
        "Direction": "outbound-api",
        "From": "+4930999999",
        "To": "+4930123456",
        "CallbackSource": "call-progress-events",
        "Timestamp": "Tue, 14 Jan 2025 10:00:05 +0000",
    }
    if sequence is not None:
        params["SequenceNumber"] = str(sequence)
    params.update(extra)
    return params


def our_url(*, expires_at: dt.datetime = NOW + dt.timedelta(hours=5), reference: str = "call-42", **kw) -> str:
    return signed_callback_url(BASE, reference=reference, expires_at=expires_at, url_secret=URL_SECRET, **kw)


def deliver(url: str, params: dict[str, str], guard: MemoryReplayGuard, *, now: dt.datetime = NOW, token=AUTH_TOKEN):
    headers = {"X-Twilio-Signature": signature_for(url, params, token)}
    return check_callback(
        url, params, headers, auth_token=AUTH_TOKEN, url_secret=URL_SECRET, now=now, replay_guard=guard
    )


# -- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("queued", EventKind.INITIATED),
        ("initiated", EventKind.INITIATED),
        ("ringing", EventKind.RINGING),
        ("in-progress", EventKind.ANSWERED),
        ("completed", EventKind.COMPLETED),
        ("busy", EventKind.BUSY),
        ("failed", EventKind.FAILED),
        ("no-answer", EventKind.NO_ANSWER),
        ("canceled", EventKind.CANCELED),
    ],
)
def test_every_call_status_becomes_its_event(status, kind):
    event = parse_status_callback(twilio_params(status, sequence=2))
    assert (event.provider, event.provider_call_id, event.kind) == ("twilio", CALL_SID, kind)
    assert event.sequence == 2
    assert event.occurred_at == dt.datetime(2025, 1, 14, 10, 0, 5, tzinfo=dt.UTC)
    assert event.event_id == f"{CALL_SID}:{status}:2"


@pytest.mark.parametrize(
    "answered_by", ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"]
)
def test_an_answer_by_a_machine_or_fax_is_a_machine_event(answered_by):
    event = parse_status_callback(twilio_params("in-progress", AnsweredBy=answered_by))
    assert event.kind is EventKind.MACHINE
    assert event.data["answered_by"] == answered_by


@pytest.mark.parametrize("answered_by", ["human", "unknown", None])
def test_an_answer_by_a_person_or_undecided_is_answered(answered_by):
    extra = {"AnsweredBy": answered_by} if answered_by else {}
    event = parse_status_callback(twilio_params("in-progress", **extra))
    assert event.kind is EventKind.ANSWERED
    assert event.data.get("answered_by") == answered_by


@pytest.mark.parametrize(
    ("answered_by", "kind"),
    [
        ("machine_start", EventKind.MACHINE),
        ("fax", EventKind.MACHINE),
        ("human", EventKind.ANSWERED),
        ("unknown", EventKind.ANSWERED),
    ],
)
def test_the_asynchronous_machine_detection_verdict_is_its_own_event(answered_by, kind):
    # The AsyncAmdStatusCallback request: AccountSid, CallSid, AnsweredBy, MachineDetectionDuration.
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": CALL_SID,
        "AnsweredBy": answered_by,
        "MachineDetectionDuration": "2400",
    }
    event = parse_status_callback(params, received_at=NOW)
    assert (event.kind, event.data["answered_by"], event.data["detection_ms"]) == (kind, answered_by, 2400)
    assert event.event_id == f"{CALL_SID}:amd"
    assert event.occurred_at == NOW
    assert event.event_id != parse_status_callback(twilio_params("in-progress", sequence=2)).event_id


def test_a_completed_call_carries_its_duration_and_recording_and_stays_completed_after_a_machine():
    params = twilio_params(
        "completed",
        sequence=3,
        CallDuration="47",
        AnsweredBy="machine_start",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    )
    event = parse_status_callback(params)
    assert event.kind is EventKind.COMPLETED
    assert event.data["duration_s"] == 47
    assert event.data["recording_url"].endswith("/Recordings/RE1")


def test_a_failed_call_keeps_the_sip_response_code():
    event = parse_status_callback(twilio_params("failed", SipResponseCode="404"))
    assert event.kind is EventKind.FAILED and event.data["sip_code"] == 404


def test_a_recording_status_callback_is_a_recording_event():
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": CALL_SID,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1",
        "RecordingStatus": "completed",
        "RecordingDuration": "46",
    }
    event = parse_status_callback(params, received_at=NOW)
    assert event.kind is EventKind.RECORDING
    assert event.data["recording_url"].endswith("/Recordings/RE1")
    assert event.occurred_at == NOW


def test_a_repeated_delivery_has_the_same_event_id_and_other_statuses_do_not():
    first = parse_status_callback(twilio_params("ringing", sequence=1))
    again = parse_status_callback(twilio_params("ringing", sequence=1, Timestamp="Tue, 14 Jan 2025 10:00:09 +0000"))
    answered = parse_status_callback(twilio_params("in-progress", sequence=2))
    assert first.event_id == again.event_id
    assert answered.event_id != first.event_id


def test_out_of_order_deliveries_parse_with_their_sequence_numbers():
    arrived = [
        parse_status_callback(twilio_params("completed", sequence=3, CallDuration="12")),
        parse_status_callback(twilio_params("ringing", sequence=1)),
        parse_status_callback(twilio_params("initiated", sequence=0)),
        parse_status_callback(twilio_params("in-progress", sequence=2)),
    ]
    in_order = sorted(arrived, key=lambda event: event.sequence)
    assert [event.kind for event in in_order] == [
        EventKind.INITIATED,
        EventKind.RINGING,
        EventKind.ANSWERED,
        EventKind.COMPLETED,
    ]


def test_a_missing_sequence_number_gives_none_and_a_still_stable_id():
    event = parse_status_callback(twilio_params("busy", sequence=None))
    assert event.sequence is None
    assert event.event_id == f"{CALL_SID}:busy"


@pytest.mark.parametrize(
    "params",
    [
        {k: v for k, v in twilio_params("ringing").items() if k != "CallSid"},
        twilio_params("exploded"),
        twilio_params("ringing", Timestamp="yesterday"),
        twilio_params("ringing", SequenceNumber="two"),
        twilio_params("completed", CallDuration="long"),
        {k: v for k, v in twilio_params("ringing").items() if k != "Timestamp"},
    ],
    ids=["no-callsid", "unknown-status", "bad-timestamp", "bad-sequence", "bad-duration", "no-timestamp"],
)
def test_malformed_callbacks_are_refused(params):
    with pytest.raises(CallbackRejected) as rejected:
        parse_status_callback(params)
    assert rejected.value.reason is RejectReason.MALFORMED


# -- verification: URL token, expiry, replay -------------------------------------------------------


def test_a_signed_callback_on_our_url_is_accepted_with_our_reference():
    event = deliver(our_url(), twilio_params("ringing", sequence=1), MemoryReplayGuard())
    assert event.kind is EventKind.RINGING
    assert event.reference == event.data["reference"] == "call-42"


def test_the_same_request_delivered_again_is_rejected_as_replayed():
    guard = MemoryReplayGuard()
    url, params = our_url(), twilio_params("completed", sequence=3, CallDuration="30")
    deliver(url, params, guard)
    with pytest.raises(CallbackRejected) as rejected:
        deliver(url, params, guard, now=NOW + dt.timedelta(minutes=10))
    assert rejected.value.reason is RejectReason.REPLAYED
    # Other callbacks of the same call, on the same URL, still get through.
    assert deliver(url, twilio_params("ringing", sequence=1), guard).kind is EventKind.RINGING


def test_a_callback_after_the_urls_expiry_is_rejected():
    url = our_url(expires_at=NOW - dt.timedelta(seconds=1))
    with pytest.raises(CallbackRejected) as rejected:
        deliver(url, twilio_params("ringing"), MemoryReplayGuard())
    assert rejected.value.reason is RejectReason.EXPIRED


@pytest.mark.parametrize(
    "url",
    [
        BASE,  # no token of ours at all
        our_url().replace("ref=call-42", "ref=call-43"),  # another call's reference
        our_url().replace("exp=", "exp=9"),  # a later expiry
        signed_callback_url(BASE, reference="call-42", expires_at=NOW + dt.timedelta(hours=1), url_secret="guess"),
    ],
    ids=["no-token", "changed-reference", "extended-expiry", "other-secret"],
)
def test_a_twilio_signed_request_to_a_url_we_did_not_mint_is_rejected(url):
    with pytest.raises(CallbackRejected) as rejected:
        deliver(url, twilio_params("ringing"), MemoryReplayGuard())
    assert rejected.value.reason is RejectReason.BAD_SIGNATURE


def test_a_request_signed_with_another_token_is_rejected():
    with pytest.raises(CallbackRejected) as rejected:
        deliver(our_url(), twilio_params("ringing"), MemoryReplayGuard(), token="someone-elses-token")
    assert rejected.value.reason is RejectReason.BAD_SIGNATURE


class CountingGuard(MemoryReplayGuard):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def seen(self, key: str, *, until: dt.datetime) -> bool:
        self.asked.append(key)
        return super().seen(key, until=until)


def test_only_authentic_well_formed_callbacks_reach_the_replay_guard():
    guard = CountingGuard()
    for url, params in [
        (our_url(), twilio_params("exploded")),
        (our_url(expires_at=NOW - dt.timedelta(hours=1)), twilio_params("ringing")),
        (BASE, twilio_params("ringing")),
    ]:
        with pytest.raises(CallbackRejected):
            deliver(url, params, guard)
    assert guard.asked == []
    deliver(our_url(), twilio_params("ringing"), guard)
    assert len(guard.asked) == 1


def test_the_agents_leg_reports_its_answer_as_bridged_on_the_customers_call():
    agent_sid = "CA" + "a" * 32
    url = our_url(leg="agent", bridged_call=CALL_SID)
    guard = MemoryReplayGuard()
    ringing = {**twilio_params("ringing", sequence=1), "CallSid": agent_sid}
    answered = {**twilio_params("in-progress", sequence=2), "CallSid": agent_sid}
    assert deliver(url, ringing, guard) is None
    event = deliver(url, answered, guard)
    assert (event.provider_call_id, event.kind) == (CALL_SID, EventKind.BRIDGED)
    assert event.data["agent_call_id"] == agent_sid
    assert event.event_id == f"{agent_sid}:bridged"
    assert event.reference == "call-42"


def test_a_bridge_callback_naming_another_customer_call_fails_our_token():
    url = our_url(leg="agent", bridged_call=CALL_SID).replace(CALL_SID, "CA" + "6" * 32)
    agent_answered = {**twilio_params("in-progress", sequence=2), "CallSid": "CA" + "a" * 32}
    with pytest.raises(CallbackRejected) as rejected:
        deliver(url, agent_answered, MemoryReplayGuard())
    assert rejected.value.reason is RejectReason.BAD_SIGNATURE
