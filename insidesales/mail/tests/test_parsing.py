"""Reading received mail: real-world bounces (Postfix, Office 365, Gmail, qmail), Russian replies in KOI8-R
and windows-1251, out-of-office answers, HTML-only mail with attachments — and arbitrary bytes never crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidesales.mail.parsing import content_hash_of, parse, safe_filename
from insidesales.mail.parsing.html_text import html_to_text

MESSAGES = Path(__file__).parent / "messages"


def load(name: str) -> bytes:
    return (MESSAGES / name).read_bytes()


def test_postfix_dsn_is_a_hard_bounce_with_the_original_message_id():
    parsed = parse(load("postfix_dsn.eml"))
    assert parsed.kind == "bounce"
    bounce = parsed.bounce.as_json()
    assert bounce["recipient"] == "nobody.here@prospect-gone.test"
    assert (bounce["action"], bounce["status"], bounce["hard"]) == ("failed", "5.1.1", True)
    assert "User unknown" in bounce["diagnostic"]
    assert bounce["original_message_id"] == "seq-1-step-1.8f3a2c@acme.test"
    assert parsed.recipients == ["anna.rep@acme.test"]


def test_postfix_delay_notice_is_a_soft_bounce():
    bounce = parse(load("postfix_delayed_dsn.eml")).bounce
    assert (bounce.main.action, bounce.main.status, bounce.hard) == ("delayed", "4.4.1", False)
    assert bounce.as_json()["recipients"] == []


def test_office365_ndr_reads_the_delivery_status_and_the_returned_message():
    parsed = parse(load("exchange_dsn.eml"))
    assert parsed.kind == "bounce"
    assert parsed.bounce.main.recipient == "ivan.petrov@fabrikam.test"
    assert parsed.bounce.main.status == "5.1.10"
    assert parsed.bounce.hard
    assert parsed.bounce.original_message_id == "seq-7-step-1.c0ffee@acme.test"
    assert "couldn't be delivered" in parsed.text


def test_gmail_dsn():
    parsed = parse(load("gmail_dsn.eml"))
    assert parsed.kind == "bounce"
    assert parsed.bounce.main.recipient == "olga.no.such.user@gmail.com"
    assert parsed.bounce.main.status == "5.1.1"
    assert parsed.bounce.original_message_id == "seq-9-step-1.bead00@acme.test"


def test_non_standard_mailer_daemon_text_gives_recipient_status_and_original_id():
    parsed = parse(load("qmail_bounce.eml"))
    assert parsed.kind == "bounce"
    assert not parsed.bounce.standard
    assert (parsed.bounce.main.recipient, parsed.bounce.main.status) == ("boris@oldhost.test", "5.1.1")
    assert parsed.bounce.hard
    assert parsed.bounce.original_message_id == "seq-3-step-2.0ld0ld@acme.test"
    # No Message-ID header: a stable one is made from the content.
    assert parsed.message_id.endswith("@no-message-id.invalid")
    assert parse(load("qmail_bounce.eml")).message_id == parsed.message_id


def test_yandex_reply_in_koi8r_is_decoded():
    parsed = parse(load("yandex_reply_koi8r.eml"))
    assert parsed.kind == "message"
    assert parsed.subject == "Re: Предложение по складской логистике"
    assert parsed.from_name == "Сергей Иванов"
    assert parsed.from_address == "sergey.ivanov@romashka-test.ru"  # addresses are compared lower-cased
    assert "Давайте созвонимся во вторник" in parsed.text
    assert "\r" not in parsed.text
    assert parsed.in_reply_to == "seq-2-step-1.a1b2c3@acme.test"
    assert parsed.message_id == "1234567890@mail.yandex.ru"


def test_mailru_reply_in_windows_1251_prefers_the_plain_text_part():
    parsed = parse(load("mailru_reply_cp1251.eml"))
    assert parsed.subject == "Re: Встреча на следующей неделе"
    assert parsed.text.startswith("Анна, добрый день!")
    assert "<script>" in parsed.html  # kept raw, shown only sandboxed
    assert parsed.references == ["seq-4-step-0.feed00@acme.test", "seq-4-step-1.feed01@acme.test"]
    assert parsed.cc == ["boss@mail-test.ru"]


def test_outlook_automatic_reply():
    parsed = parse(load("outlook_auto_reply.eml"))
    assert parsed.kind == "auto_reply"
    assert parsed.from_address == "ivan.petrov@fabrikam.test"


def test_russian_autoreply():
    parsed = parse(load("yandex_autoreply_ru.eml"))
    assert parsed.kind == "auto_reply"
    assert parsed.subject.startswith("Автоответ")


def test_out_of_office_subject_alone_is_enough_in_both_languages():
    for subject in ("Out of Office: proposal", "Нет на месте", "Отсутствую в офисе до понедельника"):
        raw = f"From: x@y.test\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
        assert parse(raw.encode()).kind == "auto_reply", subject
    assert parse(b"From: x@y.test\r\nSubject: Re: proposal\r\n\r\nYes!\r\n").kind == "message"


def test_html_only_reply_becomes_text_and_attachments_are_kept_with_safe_names():
    parsed = parse(load("html_reply_with_attachment.eml"))
    assert parsed.kind == "message"
    assert "Please find our requirements attached & let me know." in parsed.text
    assert "- Moscow → Kazan" in parsed.text
    assert "document.location" not in parsed.text and "color:red" not in parsed.text
    names = [(a.filename, a.content_type) for a in parsed.attachments]
    assert names == [("Требования.pdf", "application/pdf"), ("evil.html", "text/html")]
    assert parsed.attachments[0].data.startswith(b"%PDF-1.4")


def test_content_hash_ignores_transport_headers_only():
    raw = load("plain_reply.eml")
    redelivered = b"Received: from elsewhere by mx2.acme.test; Wed, 22 Oct 2025 01:00:00 +0000\r\n" + raw.replace(
        b"Delivered-To: anna.rep@acme.test", b"Delivered-To: other@acme.test"
    )
    assert content_hash_of(redelivered) == content_hash_of(raw)
    assert content_hash_of(raw.replace(b"\r\n", b"\n")) == content_hash_of(raw)
    assert content_hash_of(raw.replace(b"Call me on Thursday", b"Call me on Friday")) != content_hash_of(raw)


def test_header_injection_characters_never_reach_stored_fields():
    parsed = parse(b"From: a@b.test\r\nSubject: =?utf-8?q?Hi=0D=0ABcc:_victim@x.test?=\r\n\r\nbody")
    assert "\n" not in parsed.subject and "\r" not in parsed.subject


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\report.pdf") == "report.pdf"
    assert safe_filename("...hidden") == "hidden"
    assert safe_filename("", "message/rfc822") == "attachment.eml"
    assert safe_filename("a\x00b\nc.txt") == "abc.txt"
    long_name = "x" * 400 + ".pdf"
    assert len(safe_filename(long_name)) == 255 and safe_filename(long_name).endswith(".pdf")


def test_html_to_text_drops_scripts_styles_and_keeps_lines():
    text = html_to_text("<style>p{}</style><p>One</p><script>evil()</script><p>Two<br>Three</p>")
    assert text == "One\n\nTwo\nThree"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_parse_never_raises_on_arbitrary_bytes(raw):
    parsed = parse(raw)
    assert parsed.message_id
    assert len(parsed.content_hash) == 64


MIME_PIECES = st.sampled_from(
    [
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/delivery-status\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: text/plain; charset=x-unknown\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Disposition: attachment; filename*=bogus''%ZZ\r\n",
        b"From: =?koi8-r?B?broken?= <@>\r\n",
        b"Subject: =?utf-8?q?=FF=FE?=\r\n",
        b"Final-Recipient: rfc822;\r\n",
        b"Status: 5.\r\n",
        b"\r\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"Message-ID: <<>>\r\n",
        b"Date: Thu, 99 Foo 99999 99:99:99 +9999\r\n",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(MIME_PIECES, st.binary(max_size=40)), max_size=40))
def test_parse_never_raises_on_mime_shaped_garbage(pieces):
    parse(b"".join(pieces))
