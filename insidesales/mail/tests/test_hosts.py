"""Mailboxes cannot point the server at its own network (loopback, private, link-local addresses) unless
the operator allows those hosts: not when saved, not when sending, not when testing the connection."""

from __future__ import annotations

import pytest

from insidesales.core.errors import ValidationError
from insidesales.core.testing import factories as f
from insidesales.mail.connection_check import check_smtp
from insidesales.mail.hosts import HostNotAllowed, ensure_host_allowed
from insidesales.mail.models import Security
from insidesales.mail.services.mailboxes import mailbox_create
from insidesales.mail.smtp import SendFailure, SmtpEndpoint, SmtpSession

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "::1", "192.168.0.10"])
def test_internal_hosts_are_refused_by_default(settings, host):
    settings.MAIL_ALLOWED_HOSTS = []
    with pytest.raises(HostNotAllowed):
        ensure_host_allowed(host, 25)


def test_public_and_allowed_hosts_pass(settings):
    settings.MAIL_ALLOWED_HOSTS = ["10.0.0.0/8", "mail.internal.example"]
    ensure_host_allowed("93.184.216.34", 587)
    ensure_host_allowed("10.20.30.40", 25)
    ensure_host_allowed("mail.internal.example", 25)
    with pytest.raises(HostNotAllowed):
        ensure_host_allowed("192.168.1.1", 25)


def test_saving_sending_and_testing_all_refuse_an_internal_host(settings):
    settings.MAIL_ALLOWED_HOSTS = []
    org = f.OrganizationFactory()
    rep = f.InsideRepMembershipFactory(organization=org)
    with pytest.raises(ValidationError) as refused:
        mailbox_create(actor=rep, data={"email": "rep@example.org", "smtp_host": "127.0.0.1", "smtp_port": 25})
    assert "smtp_host" in refused.value.fields
    with pytest.raises(SendFailure) as sending:
        SmtpSession(SmtpEndpoint(host="127.0.0.1", port=25, security=Security.NONE)).open()
    assert "own network" in str(sending.value)
    result = check_smtp(host="127.0.0.1", port=25, security=Security.NONE)
    assert not result.ok and result.code == "not_allowed"


class _Rebinding:
    """A DNS answer that changes after the first question (as a TTL-0 rebinding attack makes it): the name
    first resolves to the loopback server the operator allows, then to the cloud metadata address."""

    NAME = "mail.rebind.test"

    def __init__(self, monkeypatch) -> None:
        import socket

        self.asked = 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != self.NAME:
                return real(host, port, *args, **kwargs)
            self.asked += 1
            address = "127.0.0.1" if self.asked == 1 else "169.254.169.254"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_smtp_connects_to_the_address_it_judged_not_to_a_second_dns_answer(settings, monkeypatch):
    from insidesales.mail.tests.mailbox_servers import smtp_server

    settings.MAIL_ALLOWED_HOSTS = ["127.0.0.1"]
    with smtp_server() as server:
        dns = _Rebinding(monkeypatch)
        session = SmtpSession(SmtpEndpoint(host=dns.NAME, port=server.port, security=Security.NONE))
        session.open()
        try:
            assert session.client.sock.getpeername()[0] == "127.0.0.1"
            assert session.client._host == dns.NAME  # TLS would check the certificate against the name
        finally:
            session.close()
    assert dns.asked == 1


def test_imap_connects_to_the_address_it_judged_not_to_a_second_dns_answer(settings, monkeypatch):
    import socket
    import threading

    from insidesales.mail.hosts import imap_client

    settings.MAIL_ALLOWED_HOSTS = ["127.0.0.1"]
    listener = socket.create_server(("127.0.0.1", 0))

    def speak_enough_imap():
        connection, _ = listener.accept()
        with connection:
            connection.sendall(b"* OK ready\r\n")
            tag = connection.recv(1024).split(b" ", 1)[0]
            connection.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
            connection.recv(1024)

    threading.Thread(target=speak_enough_imap, daemon=True).start()
    dns = _Rebinding(monkeypatch)
    with listener:
        client = imap_client(dns.NAME, listener.getsockname()[1], implicit_tls=False, timeout=5)
        try:
            assert client.sock.getpeername()[0] == "127.0.0.1" and client.host == dns.NAME
        finally:
            client.shutdown()
    assert dns.asked == 1
