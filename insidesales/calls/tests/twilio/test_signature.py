"""X-Twilio-Signature: Twilio's documented example reproduces exactly; any change to it fails."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from insidesales.calls.providers.twilio_callbacks import (
    CallbackRejected,
    MemoryReplayGuard,
    RejectReason,
    check_callback,
    signature_for,
    verify_signature,
)

# Twilio's worked example of request validation: auth token 12345, this URL and these POST
# parameters give this signature. Sources: https://www.twilio.com/docs/usage/webhooks/webhooks-security
# and the helper libraries' tests built on it, e.g.
# https://github.com/twilio/twilio-python/blob/main/tests/unit/test_request_validator.py
AUTH_TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
# The same URL with a parameter sent more than once (twilio-python's test_request_validator.py).
REPEATED = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
REPEATED_SIGNATURE = "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_twilios_documented_example_signature_is_reproduced_exactly():
    assert signature_for(URL, PARAMS, AUTH_TOKEN) == SIGNATURE
    assert verify_signature(URL, PARAMS, SIGNATURE, AUTH_TOKEN)


def test_parameter_order_does_not_matter_only_names_do():
    shuffled = list(reversed(list(PARAMS.items())))
    assert verify_signature(URL, shuffled, SIGNATURE, AUTH_TOKEN)


def test_a_repeated_parameter_signs_all_its_values_like_twilios_libraries():
    assert signature_for(URL, REPEATED, AUTH_TOKEN) == REPEATED_SIGNATURE
    assert signature_for(URL, {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["1234", "5678"]}, AUTH_TOKEN) == (
        REPEATED_SIGNATURE
    )


def test_a_django_querydict_keeps_its_repeated_values():
    form = QueryDict("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234")
    assert verify_signature(URL, form, REPEATED_SIGNATURE, AUTH_TOKEN)


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        # twilio-python's vectors: the signature may be over the URL with or without its port.
        (URL.replace(".com", ".com:1234"), SIGNATURE),
        (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed as https://mycompany.com:443/...
        (URL.replace(".com", ".com:1234").replace("https", "http"), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # signed with :80
    ],
)
def test_the_port_may_be_present_or_not_as_in_twilios_libraries(url, signature):
    assert verify_signature(url, PARAMS, signature, AUTH_TOKEN)


@pytest.mark.parametrize(
    ("url", "params", "token"),
    [
        (URL, {**PARAMS, "Digits": "1235"}, AUTH_TOKEN),
        (URL, {**PARAMS, "Extra": ""}, AUTH_TOKEN),
        (URL, {k: v for k, v in PARAMS.items() if k != "To"}, AUTH_TOKEN),
        (URL + "&baz=3", PARAMS, AUTH_TOKEN),
        (URL.replace("foo=1", "foo=2"), PARAMS, AUTH_TOKEN),
        (URL.replace("https://", "https://evil."), PARAMS, AUTH_TOKEN),
        (URL, PARAMS, "12346"),
    ],
    ids=["changed-value", "added-param", "removed-param", "added-query", "changed-query", "other-host", "other-token"],
)
def test_any_change_to_url_params_or_token_fails(url, params, token):
    assert not verify_signature(url, params, SIGNATURE, token)


@pytest.mark.parametrize("signature", [None, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8", SIGNATURE.lower(), "invalid 王"])
def test_a_missing_or_mangled_signature_fails(signature):
    assert not verify_signature(URL, PARAMS, signature, AUTH_TOKEN)


def test_a_callback_without_the_signature_header_is_rejected_as_unsigned():
    with pytest.raises(CallbackRejected) as rejected:
        check_callback(
            URL,
            PARAMS,
            {"Content-Type": "application/x-www-form-urlencoded"},
            auth_token=AUTH_TOKEN,
            url_secret="ours",
            now=dt.datetime.now(dt.UTC),
            replay_guard=MemoryReplayGuard(),
        )
    assert rejected.value.reason is RejectReason.UNSIGNED


def test_a_callback_with_a_wrong_signature_is_rejected_before_anything_else():
    with pytest.raises(CallbackRejected) as rejected:
        check_callback(
            URL,
            {**PARAMS, "Digits": "9999"},
            {"x-twilio-signature": SIGNATURE},
            auth_token=AUTH_TOKEN,
            url_secret="ours",
            now=dt.datetime.now(dt.UTC),
            replay_guard=MemoryReplayGuard(),
        )
    assert rejected.value.reason is RejectReason.BAD_SIGNATURE
