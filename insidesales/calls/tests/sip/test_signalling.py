"""The pieces under the provider: digest answers, SDP hand-over, dialog requests, outcome mapping."""

from __future__ import annotations

import pytest

from insidesales.calls.providers.base import EventKind
from insidesales.calls.providers.sip import digest, sdp
from insidesales.calls.providers.sip.dialog import Leg
from insidesales.calls.providers.sip.message import parse, serialize
from insidesales.calls.providers.sip.provider import final_kind


def test_digest_answer_matches_the_rfc_2617_example(monkeypatch):
    monkeypatch.setattr(digest.secrets, "token_hex", lambda _: "0a4f113b")
    challenge = digest.parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = digest.authorization(
        challenge, method="GET", uri="/dir/index.html", username="Mufasa", password="Circle Of Life"
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert "qop=auth, nc=00000001" in value
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in value


def test_digest_refuses_what_it_cannot_answer():
    with pytest.raises(digest.DigestError):
        digest.parse_challenge('Basic realm="x"')
    with pytest.raises(digest.DigestError):
        digest.authorization(
            {"nonce": "n", "algorithm": "MD5-sess"}, method="INVITE", uri="sip:x", username="u", password="p"
        )


def test_passing_on_a_description_keeps_its_media_under_our_origin():
    theirs = b"v=0\r\no=agent 99 7 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n"
    ours = sdp.with_origin(theirs, "10.0.0.1", 1234, 3)
    assert b"o=insidesales 1234 3 IN IP4 10.0.0.1\r\n" in ours
    assert b"c=IN IP4 10.1.1.1\r\n" in ours and b"m=audio 41000 RTP/AVP 0\r\n" in ours
    offer = sdp.offer("10.0.0.1", 1234, 1).decode()
    assert offer.startswith("v=0\r\no=insidesales 1234 1 IN IP4 10.0.0.1\r\n")
    assert "m=audio 9 RTP/AVP 0 8 101" in offer


def make_leg() -> Leg:
    return Leg(
        local=("10.0.0.1", 5060),
        request_uri="sip:+15550100@carrier.example:5060",
        local_uri="<sip:+15550199@sales.example>",
        remote_uri="<sip:+15550100@carrier.example:5060>",
        first_hop=("192.0.2.10", 5060),
        extra_headers=(("X-Insidesales-Call", "call-7"),),
    )


def test_cancel_copies_the_invite_it_cancels():
    leg = make_leg()
    invite = parse(serialize(leg.request("INVITE", leg.sdp_offer())))
    cancel = parse(serialize(leg.cancel()))
    assert invite.headers.get("X-Insidesales-Call") == "call-7"
    assert (cancel.method, cancel.uri) == ("CANCEL", invite.uri)
    assert cancel.cseq == (invite.cseq[0], "CANCEL")
    for name in ("Via", "From", "To", "Call-ID"):
        assert cancel.headers.get(name) == invite.headers.get(name)


def test_requests_in_the_dialog_follow_the_contact_and_the_route_set():
    leg = make_leg()
    leg.request("INVITE", leg.sdp_offer())
    ok = parse(
        b"SIP/2.0 200 OK\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx\r\n"
        b"Record-Route: <sip:edge.carrier.example;lr>, <sip:core.carrier.example:5080;lr>\r\n"
        b"From: <sip:+15550199@sales.example>;tag=" + leg.local_tag.encode() + b"\r\n"
        b"To: <sip:+15550100@carrier.example:5060>;tag=far\r\n"
        b"Call-ID: " + leg.call_id.encode() + b"\r\n"
        b"CSeq: 1 INVITE\r\n"
        b"Contact: <sip:phone@198.51.100.7:5062>\r\n"
        b"\r\n"
    )
    leg.confirm(ok)
    ack = leg.ack_for(ok)
    bye = leg.request("BYE")
    assert (ack.uri, ack.cseq, ack.branch != ok.branch) == ("sip:phone@198.51.100.7:5062", (1, "ACK"), True)
    assert bye.uri == "sip:phone@198.51.100.7:5062" and bye.cseq == (2, "BYE")
    assert bye.to_tag == "far" and bye.from_tag == leg.local_tag
    # The route set is the Record-Route reversed; the next hop is its first entry (loose routing).
    assert bye.headers.get_all("Route") == ["<sip:core.carrier.example:5080;lr>", "<sip:edge.carrier.example;lr>"]
    assert leg.next_hop() == ("core.carrier.example", 5080)
    assert bye.headers.get("X-Insidesales-Call") is None  # only on the initial INVITE


@pytest.mark.parametrize(
    ("status", "gave_up", "kind"),
    [
        (487, "no_answer", EventKind.NO_ANSWER),
        (487, "canceled", EventKind.CANCELED),
        (487, "", EventKind.FAILED),
        (486, "", EventKind.BUSY),
        (486, "no_answer", EventKind.BUSY),  # busy crossed our CANCEL: the truth is busy
        (600, "", EventKind.BUSY),
        (603, "", EventKind.BUSY),
        (408, "", EventKind.NO_ANSWER),
        (480, "", EventKind.NO_ANSWER),
        (404, "", EventKind.FAILED),
        (302, "", EventKind.FAILED),
    ],
)
def test_final_responses_map_to_outcomes(status, gave_up, kind):
    assert final_kind(status, gave_up) == kind
