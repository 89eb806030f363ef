"""Building outgoing MIME: headers, Russian subject and body, footers, threading and one-click unsubscribe
headers, no header injection (also under hypothesis), and the bytes surviving a real SMTP server."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import time
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parseaddr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidesales.mail.compose import build_mime, clean_address, new_message_id
from insidesales.mail.models import Direction, EmailMessage, MessageStatus
from insidesales.mail.tests.mailbox_servers import smtp_server

BASE_HEADERS = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}


def _message(**fields) -> EmailMessage:
    """An unsaved outgoing row: build_mime reads only its fields."""
    values = {
        "direction": Direction.OUT,
        "status": MessageStatus.QUEUED,
        "message_id": "18f0c2a1b2c3.0a1b2c3d4e5f60718293@sales.example.com",
        "from_address": "ivan@sales.example.com",
        "from_name": "Иван Петров",
        "to_addresses": ["client@example.org"],
        "subject": "Встреча на следующей неделе",
        "body_text": "Здравствуйте, Мария!\n\nПредлагаю созвониться во вторник.\n",
        "body_html": "<html><body><p>Здравствуйте, Мария!</p><p>Предлагаю созвониться во вторник.</p></body></html>",
    }
    values.update(fields)
    return EmailMessage(**values)


def _parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def _header_names(parsed) -> set[str]:
    return {name.lower() for name in parsed.keys()}


def test_russian_subject_names_and_bodies_decode_back_with_footers_in_both_parts():
    raw = build_mime(
        message=_message(),
        footer_text="ООО «Ромашка», Москва, ул. Ленина, 1",
        footer_html="<p>ООО «Ромашка», Москва, ул. Ленина, 1</p>",
    )
    parsed = _parse(raw)
    assert _header_names(parsed) == BASE_HEADERS
    assert str(parsed["Subject"]) == "Встреча на следующей неделе"
    sender = parsed["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Иван Петров", "ivan@sales.example.com")
    assert [a.addr_spec for a in parsed["To"].addresses] == ["client@example.org"]
    assert parsed["Message-ID"] == "<18f0c2a1b2c3.0a1b2c3d4e5f60718293@sales.example.com>"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert text.startswith("Здравствуйте, Мария!\n\nПредлагаю") and text.rstrip().endswith("ул. Ленина, 1")
    assert "<p>ООО «Ромашка», Москва, ул. Ленина, 1</p>\n</body>" in html  # inside the body, before it closes
    assert parsed.get_body(("plain",)).get_content_charset() == "utf-8"
    assert parsed["Date"].datetime.tzinfo is not None
    # RFC 5322: CRLF line ends only, no line over 998 characters, and the header block is plain ASCII.
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()


def test_list_unsubscribe_headers_are_there_only_when_a_url_is_given():
    url = "https://crm.example.com/u/3f9aZ_x-2?lang=ru"
    parsed = _parse(build_mime(message=_message(), list_unsubscribe_url=url))
    assert parsed["List-Unsubscribe"] == f"<{url}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "list-unsubscribe" not in _header_names(_parse(build_mime(message=_message())))
    with pytest.raises(ValueError):
        build_mime(message=_message(), list_unsubscribe_url="https://x.test/u\r\nBcc: victim@example.org")
    with pytest.raises(ValueError):
        build_mime(message=_message(), list_unsubscribe_url="javascript:alert(1)")


def test_threading_headers_carry_the_parent_and_the_chain_in_angle_brackets():
    message = _message(in_reply_to="<first@a.example>", references="<root@a.example> <first@a.example> junk no-at")
    parsed = _parse(build_mime(message=message))
    assert parsed["In-Reply-To"] == "<first@a.example>"
    assert str(parsed["References"]).split() == ["<root@a.example>", "<first@a.example>"]
    # The parent is always in References, even when the row's chain missed it.
    parsed = _parse(build_mime(message=_message(in_reply_to="parent@b.example", references="")))
    assert str(parsed["References"]) == "<parent@b.example>"


def test_recipients_in_every_stored_form_with_cc_and_idn_domains_in_punycode():
    message = _message(
        to_addresses=[
            "a@example.org",
            "Анна Смирнова <anna@пример.рф>",
            {"email": "b@example.org", "name": 'Bob "B", Jr.'},
        ],
        cc_addresses=["boss@example.org"],
    )
    parsed = _parse(build_mime(message=message))
    people = [(a.display_name, a.addr_spec) for a in parsed["To"].addresses]
    assert people == [
        ("", "a@example.org"),
        ("Анна Смирнова", "anna@xn--e1afmkfd.xn--p1ai"),
        ('Bob "B", Jr.', "b@example.org"),
    ]
    assert [a.addr_spec for a in parsed["Cc"].addresses] == ["boss@example.org"]


@pytest.mark.parametrize(
    "address",
    [
        "victim@example.org\r\nBcc: x@evil.test",
        "a b@example.org",
        "no-at-sign",
        "@example.org",
        "a@",
        "a@exa_mple.org",
        "a..b@example.org",
        "a@-example.org",
        "\x00@example.org",
        "ivan@example.org\n",
    ],
)
def test_bad_addresses_raise_a_clear_value_error(address):
    with pytest.raises(ValueError):
        clean_address(address)
    with pytest.raises(ValueError):
        build_mime(message=_message(to_addresses=[address]))
    with pytest.raises(ValueError):
        build_mime(message=_message(from_address=address))


def test_a_subject_with_crlf_stays_one_header():
    message = _message(subject="Hello\r\nBcc: victim@example.org\r\n\r\nInjected body", from_name="Eve\r\nX-Evil: 1")
    parsed = _parse(build_mime(message=message))
    assert _header_names(parsed) == BASE_HEADERS
    assert str(parsed["Subject"]) == "Hello  Bcc: victim@example.org    Injected body"
    assert parsed["From"].addresses[0].display_name == "Eve X-Evil: 1"  # spaces in a name collapse


def test_text_that_looks_like_an_encoded_word_comes_back_as_typed():
    subject = "=?utf-8?b?0J/RgNC40LLQtdGC?= is not a greeting"
    assert str(_parse(build_mime(message=_message(subject=subject)))["Subject"]) == subject


def test_bodies_pick_an_encoding_that_keeps_them_intact():
    cases = {
        "Plain English only.\n": "7bit",
        "Mostly English with a café and a naïve résumé.\n" * 3: "quoted-printable",
        "Полностью по-русски, без латиницы.\n" * 3: "base64",
        "x" * 2000 + "\n": "quoted-printable",  # a line longer than 998 is never sent as is
    }
    for body, expected in cases.items():
        parsed = _parse(build_mime(message=_message(body_text=body, body_html="")))
        assert parsed.get_content_type() == "text/plain"  # no HTML: one part
        assert parsed["Content-Transfer-Encoding"] == expected
        assert parsed.get_content().replace("\r\n", "\n") == body


def test_new_message_ids_are_unique_bare_and_on_a_clean_domain():
    ids = {new_message_id(domain="sales.example.com") for _ in range(20000)}
    assert len(ids) == 20000
    one = next(iter(ids))
    assert "<" not in one and ">" not in one and one.endswith("@sales.example.com")
    assert re.fullmatch(r"[0-9a-f]+\.[0-9a-f]{20}@sales\.example\.com", one)
    assert new_message_id(domain="Пример.РФ").endswith("@xn--e1afmkfd.xn--p1ai")
    assert re.fullmatch(r"[a-z0-9.-]+", new_message_id(domain=" Sales.Example.COM.\r\nX: <y>").rpartition("@")[2])
    assert new_message_id(domain="ivan@mail.example.org").endswith("@mail.example.org")
    assert new_message_id(domain="").endswith("@localhost")


def test_an_invalid_message_id_on_the_row_is_refused():
    with pytest.raises(ValueError):
        build_mime(message=_message(message_id="no spaces allowed@example.com"))
    with pytest.raises(ValueError):
        build_mime(message=_message(to_addresses=[]))


def _expected(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text)


header_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=header_text, subject=header_text)
def test_no_text_in_a_name_or_subject_adds_a_header_and_the_subject_round_trips(name, subject):
    raw = build_mime(message=_message(from_name=name, subject=subject))
    parsed = _parse(raw)
    assert _header_names(parsed) == BASE_HEADERS
    assert len(parsed.get_all("Subject")) == 1 and len(parsed.get_all("From")) == 1
    assert str(parsed["Subject"]) == _expected(subject)
    sender = parsed["From"].addresses
    assert len(sender) == 1 and sender[0].addr_spec == "ivan@sales.example.com"
    # The name read as RFC 2047 says (the folding between encoded words dropped); Python's own address parser
    # keeps that folding inside names, so it is checked with the header module's decoder instead.
    raw_from = message_from_bytes(raw, policy=compat32)["From"]
    shown_name, address = parseaddr(raw_from)
    assert address == "ivan@sales.example.com"
    assert str(make_header(decode_header(shown_name))) == " ".join(_expected(name).split())


def test_sent_through_a_real_smtp_server_the_bytes_arrive_parseable_and_unchanged():
    message = _message(
        in_reply_to="parent@a.example",
        references="root@a.example parent@a.example",
        body_text=".a line starting with a dot\nЗдравствуйте!\n",
    )
    raw = build_mime(message=message, list_unsubscribe_url="https://crm.example.com/u/tok", footer_text="ACME")
    with smtp_server() as server, smtplib.SMTP(server.host, server.port, timeout=10) as client:
        refused = client.sendmail(message.from_address, message.to_addresses, raw)
    assert refused == {}
    (got,) = server.handler.received
    assert got.mail_from == "ivan@sales.example.com" and got.rcpt_tos == ["client@example.org"]
    sent, arrived = _parse(raw), _parse(got.data)
    assert arrived.items() == sent.items()
    assert arrived["Message-ID"] == f"<{message.message_id}>"
    assert arrived["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert str(arrived["Subject"]) == "Встреча на следующей неделе"
    assert arrived.get_body(("plain",)).get_content().startswith(".a line starting with a dot\nЗдравствуйте!")
    assert got.data.rstrip(b"\r\n") == raw.rstrip(b"\r\n")  # dot-stuffing undone, nothing rewritten


def test_building_is_cheap_enough_for_the_benchmark():
    message = _message(sent_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC), body_text="Текст письма.\n" * 20)
    build_mime(message=message, list_unsubscribe_url="https://crm.example.com/u/tok", footer_text="ACME")
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        build_mime(message=message, list_unsubscribe_url="https://crm.example.com/u/tok", footer_text="ACME")
    per_message = (time.perf_counter() - started) / rounds
    assert per_message < 0.001  # about 0.1 ms here; the bound leaves room for slow, shared machines


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=list("ab.@-+_%!#&'*/=?^`{|}~ \"<>()[],;:\\\r\nАя\x00\t"), max_size=14))
def test_envelope_paths_are_exactly_what_smtplib_would_send(address):
    """The fast path for bare addresses never changes what goes into MAIL FROM / RCPT TO (CR/LF included)."""
    from insidesales.mail.smtp import smtp_path

    assert smtp_path(address) == smtplib.quoteaddr(address)


def test_envelope_path_of_a_stored_address_is_the_address_in_angle_brackets():
    from insidesales.mail.smtp import smtp_path

    assert smtp_path("anna.petrova+promo@пример.рф") == "<anna.petrova+promo@пример.рф>"
    assert smtp_path("Anna <anna@example.org>") == "<anna@example.org>"
    assert smtp_path("") == "<>"
