"""Parsing and serializing SIP messages: the RFC 3261 leniencies, the rejections, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insidesales.calls.providers.sip.message import (
    Headers,
    SipParseError,
    SipRequest,
    SipResponse,
    header_params,
    header_uri,
    parse,
    parse_uri,
    serialize,
)

INVITE = (
    b"INVITE sip:+15550100@carrier.example SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Sales" <sip:+15550199@sales.example>;tag=1928301774\r\n'
    b"To: <sip:+15550100@carrier.example>\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)


def test_parses_a_request():
    message = parse(INVITE)
    assert isinstance(message, SipRequest)
    assert (message.method, message.uri) == ("INVITE", "sip:+15550100@carrier.example")
    assert message.call_id == "a84b4c76e66710"
    assert message.cseq == (314159, "INVITE")
    assert message.branch == "z9hG4bK776asdhds"
    assert message.from_tag == "1928301774"
    assert message.to_tag == ""
    assert message.body == b"v=0\n"


def test_parses_a_response_with_compact_names_folding_and_list_values():
    data = (
        b"\r\n\r\n"  # CRLFs before the start line are ignored (RFC 3261 section 7.5)
        b"SIP/2.0 180 Ringing\n"  # bare LF line ends are accepted
        b"v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb\n"
        b"f: <sip:a@x>;tag=1\n"
        b"t: <sip:b@y>;tag=2\n"
        b"i: abc\n"
        b"cseq  :  1\n"
        b"   INVITE\n"  # a folded header value
        b'm: "Doe, John" <sip:b@10.0.0.9:5070>\n'
        b"Record-Route: <sip:p1@x;lr>, <sip:p2@y;lr>\n"
        b"l: 0\n"
        b"\n"
    )
    message = parse(data)
    assert isinstance(message, SipResponse)
    assert (message.status, message.reason) == (180, "Ringing")
    assert message.headers.get_all("Via") == [
        "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa",
        "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb",
    ]
    assert message.branch == "z9hG4bKa"
    assert message.cseq == (1, "INVITE")
    assert message.to_tag == "2"
    assert message.headers.get("contact") == '"Doe, John" <sip:b@10.0.0.9:5070>'
    assert message.headers.get_all("Record-Route") == ["<sip:p1@x;lr>", "<sip:p2@y;lr>"]


def test_body_follows_content_length_and_the_datagram():
    with_extra = INVITE + b"garbage after the body"
    assert parse(with_extra).body == b"v=0\n"  # bytes past Content-Length are discarded
    without_length = INVITE.replace(b"Content-Length: 4\r\n", b"")
    assert parse(without_length + b"more").body == b"v=0\nmore"  # over UDP the body ends with the datagram


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        INVITE.replace(b"\r\n\r\n", b"\r\n"),  # no end of headers
        INVITE[:-2],  # body shorter than Content-Length
        INVITE.replace(b"Content-Length: 4", b"Content-Length: -4"),
        INVITE.replace(b"Content-Length: 4", b"Content-Length: four"),
        INVITE.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1),
        INVITE.replace(b"INVITE sip:", b"INV ITE sip:"),
        INVITE.replace(b"Call-ID: a84b4c76e66710\r\n", b""),  # a required header missing
        INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"),  # CSeq method is not the request's
        INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: x INVITE"),
        INVITE.replace(b"Max-Forwards: 70", b"Max Forwards: 70"),  # not a token
        INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards 70"),  # no colon
        INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: 7\x000"),  # control character
        INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: \xff\xfe"),  # not UTF-8
        INVITE.replace(b"INVITE sip:+15550100@carrier.example SIP/2.0", b"SIP/2.0 999 Nope"),
        b"SIP/2.0 200 OK\r\nVia: a,,b\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
        b" Via: x\r\nSIP/2.0 200 OK\r\n\r\n",
    ],
)
def test_rejects_what_is_not_a_usable_message(data):
    with pytest.raises(SipParseError):
        parse(data)


def test_serialize_writes_content_length_from_the_body():
    message = parse(INVITE)
    message.body = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n"
    wire = serialize(message)
    assert b"Content-Length: 30\r\n\r\nv=0" in wire
    assert wire.count(b"Content-Length") == 1
    assert parse(wire) == message


def test_header_helpers():
    assert header_params('"A;b" <sip:x@y;transport=udp>;tag=9;lr') == {"tag": "9", "lr": ""}
    assert header_params("sip:x@y;tag=3") == {"tag": "3"}
    assert header_uri('"Bob" <sip:bob@h:5070;lr>;tag=1') == "sip:bob@h:5070;lr"
    assert header_uri("sip:bob@h;tag=1") == "sip:bob@h"
    uri = parse_uri("sip:+1555@[2001:db8::1]:5070;transport=udp")
    assert (uri.user, uri.host, uri.port, uri.params) == ("+1555", "2001:db8::1", 5070, {"transport": "udp"})
    assert parse_uri("sip:pbx.example").port is None
    with pytest.raises(SipParseError):
        parse_uri("mailto:someone@example")


def test_headers_refuse_values_that_would_inject_a_header():
    with pytest.raises(ValueError):
        Headers().add("Subject", "hi\r\nVia: evil")


# ---- fuzzing


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_raise_nothing_but_sip_parse_error(data):
    try:
        parse(data)
    except SipParseError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_messages_raise_nothing_but_sip_parse_error(data):
    wire = bytearray(INVITE)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(wire) - 1))
        action = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = data.draw(st.sampled_from(list(b'\r\n :;,<>"\\=\x00\xff') + [data.draw(st.integers(0, 255))]))
        if action == "replace":
            wire[position] = byte
        elif action == "insert":
            wire.insert(position, byte)
        elif len(wire) > 1:
            del wire[position]
    try:
        parse(bytes(wire))
    except SipParseError:
        pass


TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=12
)
VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=","), max_size=30).map(
    lambda text: text.strip(" \t")
)
METHOD = st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"]) | TOKEN.map(str.upper)


@st.composite
def messages(draw):
    headers = Headers()
    for _ in range(draw(st.integers(1, 3))):
        headers.add("Via", f"SIP/2.0/UDP {draw(TOKEN)};branch=z9hG4bK{draw(TOKEN)}")
    headers.add("From", f"<sip:{draw(TOKEN)}@example>;tag={draw(TOKEN)}")
    headers.add("To", f"<sip:{draw(TOKEN)}@example>")
    headers.add("Call-ID", draw(TOKEN))
    method = draw(METHOD)
    headers.add("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}")
    for _ in range(draw(st.integers(0, 4))):
        name = draw(TOKEN)
        if name.lower() not in ("content-length", "l", "via", "v", "route", "record-route", "contact", "m"):
            headers.add(name, draw(VALUE))
    body = draw(st.binary(max_size=80))
    if draw(st.booleans()):
        return SipRequest(headers, body, method=method, uri=f"sip:{draw(TOKEN)}@example.org")
    reason = draw(VALUE)
    return SipResponse(headers, body, status=draw(st.integers(100, 699)), reason=reason)


@settings(max_examples=300, deadline=None)
@given(messages())
def test_parse_of_serialize_gives_the_message_back(message):
    assert parse(serialize(message)) == message
