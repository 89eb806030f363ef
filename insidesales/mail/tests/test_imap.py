"""Reading replies from a real IMAP server (dovecot on loopback): a reply, an out-of-office, a DSN bounce, the
same message twice; nothing new on the next poll; a UIDVALIDITY change; TLS; a wrong password. And the same
messages piped through `insidesales ingest-email`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from insidesales.calls.secrets import encrypt_credentials
from insidesales.core.testing.databases import url_of_test_database
from insidesales.crm.models import Lead
from insidesales.mail.imap import mailbox_poll
from insidesales.mail.models import EmailMessage, Mailbox, Security, Suppression

from .imap_server import imap_server_fixture  # noqa: F401 - the `imap_server` fixture

MESSAGES = Path(__file__).parent / "messages"
pytestmark = pytest.mark.django_db(transaction=False)


def load(name: str) -> bytes:
    return (MESSAGES / name).read_bytes()


def make_mailbox(world, server, **extra) -> Mailbox:
    fields = {
        "organization": world.org,
        "user": world.rep1.user,
        "email": "anna.rep@acme.test",
        "smtp_host": "127.0.0.1",
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_security": Security.NONE,
        "imap_username": server.user,
        "credentials": encrypt_credentials({"imap_password": server.password}),
    }
    fields.update(extra)
    return Mailbox.objects.create(**fields)


def test_poll_reads_reply_out_of_office_and_bounce_and_stores_a_duplicate_once(world, imap_server):
    Lead.objects.filter(pk=world.lead_rep1.pk).update(email="maria@prospect.test")
    EmailMessage.objects.create(  # the email the bounce reports on
        organization=world.org,
        direction="out",
        status="sent",
        message_id="seq-1-step-1.8f3a2c@acme.test",
        thread_root="seq-1-step-1.8f3a2c@acme.test",
        from_address="anna.rep@acme.test",
        to_addresses=["nobody.here@prospect-gone.test"],
    )
    for name in ("plain_reply.eml", "outlook_auto_reply.eml", "postfix_dsn.eml", "plain_reply.eml"):
        imap_server.append(load(name))
    mailbox = make_mailbox(world, imap_server)
    assert mailbox_poll(mailbox) == 3
    mailbox.refresh_from_db()
    assert (mailbox.imap_last_uid, mailbox.last_error) == (4, "")
    assert mailbox.imap_uidvalidity == imap_server.uidvalidity()
    assert mailbox.last_polled_at is not None
    kinds = dict(EmailMessage.objects.filter(direction="in").values_list("message_id", "kind"))
    assert kinds == {
        "reply-maria-42@prospect.test": "message",
        "8a3f0c2e1b7d4e9f@DB9PR02MB7001.eurprd02.prod.outlook.com": "auto_reply",
        "20251014072231.4F1B21C0A3D@mail.acme.test": "bounce",
    }
    reply = EmailMessage.objects.get(message_id="reply-maria-42@prospect.test")
    assert (reply.lead_id, reply.mailbox_id, reply.imap_uid) == (world.lead_rep1.pk, mailbox.pk, 1)
    assert Suppression.objects.filter(email="nobody.here@prospect-gone.test", reason="hard_bounce").exists()
    # Read with BODY.PEEK from a read-only folder: nothing was marked as read for the mailbox's owner.
    assert not any(b"\\Seen" in flags for flags in imap_server.flags())
    # Nothing new: the next poll fetches nothing and stores nothing.
    assert mailbox_poll(mailbox) == 0
    assert EmailMessage.objects.filter(direction="in").count() == 3
    imap_server.append(load("yandex_reply_koi8r.eml"))
    assert mailbox_poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert mailbox.imap_last_uid == 5


def test_uidvalidity_change_restarts_from_the_beginning_without_storing_twice(world, imap_server):
    imap_server.create_folder("Replies")
    imap_server.append(load("plain_reply.eml"), folder="Replies")
    mailbox = make_mailbox(world, imap_server, imap_folder="Replies")
    assert mailbox_poll(mailbox) == 1
    old = Mailbox.objects.get(pk=mailbox.pk).imap_uidvalidity
    imap_server.recreate_folder("Replies")
    imap_server.append(load("plain_reply.eml"), folder="Replies")
    imap_server.append(load("outlook_auto_reply.eml"), folder="Replies")
    mailbox.refresh_from_db()
    assert mailbox_poll(mailbox) == 1  # the reply was already stored; only the auto-reply is new
    mailbox.refresh_from_db()
    assert mailbox.imap_uidvalidity != old
    assert (mailbox.imap_last_uid, mailbox.last_error) == (2, "")
    assert EmailMessage.objects.count() == 2


def test_ssl_and_starttls_verify_the_server_certificate(world, imap_server, monkeypatch):
    imap_server.append(load("plain_reply.eml"))
    mailbox = make_mailbox(world, imap_server, imap_security=Security.SSL, imap_port=imap_server.ssl_port)
    assert mailbox_poll(mailbox) == 0
    mailbox.refresh_from_db()
    assert "certificate" in mailbox.last_error.lower()  # self-signed and not trusted: refused
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.cert_file))
    assert mailbox_poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    starttls = make_mailbox(world, imap_server, email="other@acme.test", imap_security=Security.STARTTLS)
    imap_server.append(load("outlook_auto_reply.eml"))
    assert mailbox_poll(starttls) == 1  # the reply is stored already (same content); the auto-reply is new
    starttls.refresh_from_db()
    assert (starttls.last_error, starttls.imap_last_uid) == ("", 2)


def test_wrong_password_and_unreachable_server_are_recorded_not_raised(world, imap_server):
    mailbox = make_mailbox(world, imap_server, credentials=encrypt_credentials({"imap_password": "wrong"}))
    assert mailbox_poll(mailbox) == 0
    mailbox.refresh_from_db()
    assert "authentication failed" in mailbox.last_error.lower()
    assert mailbox.imap_last_uid == 0
    closed = make_mailbox(world, imap_server, email="closed@acme.test", imap_port=1)
    assert mailbox_poll(closed) == 0
    closed.refresh_from_db()
    assert "refused" in closed.last_error
    # Fixed password: the next poll clears the error.
    mailbox.credentials = encrypt_credentials({"imap_password": imap_server.password})
    mailbox.save()
    mailbox_poll(mailbox)
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


# --- the same messages piped in -------------------------------------------------------------------------


def pipe(raw: bytes, *args: str) -> None:
    call_command("ingest_email", *args, stdin=io.BytesIO(raw))


def test_ingest_email_finds_the_organization_by_the_recipient_mailbox(world, imap_server):
    mailbox = make_mailbox(world, imap_server, email="Anna.Rep@acme.test")
    Lead.objects.filter(pk=world.lead_rep1.pk).update(email="maria@prospect.test")
    for name in ("plain_reply.eml", "outlook_auto_reply.eml", "postfix_dsn.eml", "plain_reply.eml"):
        pipe(load(name), "--recipient", "anna.rep@acme.test")
    assert EmailMessage.objects.filter(organization=world.org, mailbox=mailbox).count() == 3
    assert EmailMessage.objects.get(kind="message").lead_id == world.lead_rep1.pk


def test_ingest_email_never_routes_by_the_messages_own_headers(world, imap_server):
    """To, Cc and Delivered-To are written by the sender: naming another organization's mailbox there
    must not steer the message into that organization."""
    make_mailbox(world, imap_server, email="Anna.Rep@acme.test")
    steering = load("plain_reply.eml").replace(b"\nSubject:", b"\nCc: anna.rep@acme.test\nSubject:", 1)
    with pytest.raises(CommandError) as refused:
        pipe(steering)
    assert refused.value.returncode == 67
    with pytest.raises(CommandError):
        pipe(steering, "--recipient", "catch-all@elsewhere.test")
    assert not EmailMessage.objects.exists()


def test_ingest_email_refuses_an_address_that_is_a_mailbox_in_two_organizations(world, imap_server):
    from insidesales.core.testing import factories as f

    mine = make_mailbox(world, imap_server, email="shared@corp.test")
    other_org = f.OrganizationFactory(slug="other")
    other_user = f.UserFactory(email="other@corp.test")
    f.InsideRepMembershipFactory(organization=other_org, user=other_user)
    Mailbox.objects.create(organization=other_org, user=other_user, email="SHARED@corp.test", smtp_host="smtp.x.test")
    with pytest.raises(CommandError) as ambiguous:
        pipe(load("plain_reply.eml"), "--recipient", "shared@corp.test")
    assert ambiguous.value.returncode == 67 and "several organizations" in str(ambiguous.value)
    pipe(load("plain_reply.eml"), "--mailbox", str(mine.pk))
    assert EmailMessage.objects.get().organization_id == world.org.pk


def test_ingest_email_exit_codes(world):
    with pytest.raises(CommandError) as nobody:
        pipe(load("plain_reply.eml"))
    assert nobody.value.returncode == 67
    with pytest.raises(CommandError) as empty:
        pipe(b"\r\n\r\n", "--organization", "acme")
    assert empty.value.returncode == 65
    with pytest.raises(CommandError) as unknown:
        pipe(load("plain_reply.eml"), "--organization", "no-such-org")
    assert unknown.value.returncode == 67
    pipe(load("plain_reply.eml"), "--organization", "acme")
    pipe(load("plain_reply.eml"), "--organization", "acme")  # a duplicate is fine: exit 0
    assert EmailMessage.objects.filter(organization=world.org).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ingest_email_as_a_real_process_like_an_mta_runs_it(world):
    """`python -m insidesales.cli ingest_email` on the test database (SQLite file or PostgreSQL)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "insidesales.settings", "DATABASE_URL": url_of_test_database()}
    command = [sys.executable, "-m", "insidesales.cli", "ingest_email", "--organization", "acme"]
    done = subprocess.run(command, input=load("yandex_reply_koi8r.eml"), env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert EmailMessage.objects.get(organization=world.org).subject == "Re: Предложение по складской логистике"
    again = subprocess.run(command, input=load("yandex_reply_koi8r.eml"), env=env, capture_output=True, timeout=120)
    assert again.returncode == 0 and EmailMessage.objects.count() == 1
    nobody = subprocess.run(command[:-2], input=load("plain_reply.eml"), env=env, capture_output=True, timeout=120)
    assert nobody.returncode == 67
    assert b"no mailbox for the recipients" in nobody.stderr


def test_a_message_over_the_size_limit_is_skipped_and_said_so(world, imap_server, monkeypatch):
    import insidesales.mail.imap as imap

    monkeypatch.setattr(imap, "MAX_MESSAGE_BYTES", 4000)
    big = load("plain_reply.eml").replace(b"\r\n\r\n", b"\r\n\r\n" + b"x" * 5000 + b"\r\n", 1)
    imap_server.append(big)
    imap_server.append(load("yandex_reply_koi8r.eml"))
    mailbox = make_mailbox(world, imap_server)
    assert mailbox_poll(mailbox) == 1
    mailbox.refresh_from_db()
    assert mailbox.imap_last_uid == 2 and "larger than" in mailbox.last_error
    assert EmailMessage.objects.get().subject == "Re: Предложение по складской логистике"
