"""Webhook signatures follow the Standard Webhooks specification (its published test vector included)."""

from __future__ import annotations

import time

import pytest

from insidesales.inbound import signing

# From the Standard Webhooks specification's reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_test_vector():
    assert signing.signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    assert signing.verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 10)


def test_signed_headers_verify_and_any_change_breaks_them():
    secret = signing.new_secret()
    body = '{"type": "lead.created", "data": {"name": "Анна"}}'.encode()
    headers = signing.headers(secret, "dlv_1", body)
    assert signing.verify(secret, headers, body)
    assert not signing.verify(secret, headers, body + b" ")
    assert not signing.verify(signing.new_secret(), headers, body)
    assert not signing.verify(secret, {**headers, "webhook-id": "dlv_2"}, body)
    later = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}
    assert not signing.verify(secret, later, body)


def test_old_or_future_timestamps_are_refused_as_replays():
    secret = signing.new_secret()
    body = b"{}"
    stale = signing.headers(secret, "dlv_1", body, timestamp=int(time.time()) - signing.TOLERANCE_SECONDS - 5)
    future = signing.headers(secret, "dlv_1", body, timestamp=int(time.time()) + signing.TOLERANCE_SECONDS + 5)
    assert not signing.verify(secret, stale, body)
    assert not signing.verify(secret, future, body)
    assert not signing.verify(secret, {**stale, "webhook-timestamp": "soon"}, body)


def test_one_of_several_signatures_is_enough_while_a_secret_rotates():
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"a": 1}'
    headers = signing.headers(new, "dlv_9", body)
    previous = signing.signature(old, "dlv_9", int(headers["webhook-timestamp"]), body)
    both = {**headers, "webhook-signature": f"{previous} {headers['webhook-signature']}"}
    assert signing.verify(new, both, body)
    assert signing.verify(old, both, body)


def test_secrets_are_random_and_well_formed():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second and first.startswith("whsec_")
    with pytest.raises(ValueError):
        signing.signature("not-a-secret", "x", 1, b"")
