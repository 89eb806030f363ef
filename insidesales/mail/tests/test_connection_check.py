"""The "Test connection" checks against real servers on loopback: aiosmtpd (plain, AUTH, STARTTLS and SSL/TLS
with a certificate made here) and dovecot for IMAP; a closed port, a name under .invalid, TLS spoken to a
plain server, an untrusted certificate and a wrong password each give their own code and a useful message."""

from __future__ import annotations

import socket
import threading

import pytest

from insidesales.mail.connection_check import CODES, check_imap, check_smtp
from insidesales.mail.tests.imap_server import imap_server_fixture  # noqa: F401 - the dovecot fixture, "imap_server"
from insidesales.mail.tests.mailbox_servers import PASSWORD, USER, free_port, make_authority, smtp_server


@pytest.fixture
def authority(tmp_path):
    return make_authority(tmp_path)


def _assert_problem(result, code: str, *words: str) -> None:
    assert not result.ok, result
    assert result.code == code and code in CODES, result
    for word in words:
        assert word in result.message, result.message


# --- SMTP -------------------------------------------------------------------------------------------


def test_smtp_plain_server_with_login_passes():
    with smtp_server(auth=True) as server:
        result = check_smtp(host=server.host, port=server.port, security="none", username=USER, password=PASSWORD)
    assert result.ok and result.code == "" and result.protocol == "smtp"
    assert USER in result.message


def test_smtp_without_a_user_name_connects_without_logging_in():
    with smtp_server() as server:
        result = check_smtp(host=server.host, port=server.port, security="none", username="", password="")
    assert result.ok and "no login" in result.message


def test_smtp_wrong_password_is_an_auth_problem():
    with smtp_server(auth=True) as server:
        result = check_smtp(host=server.host, port=server.port, security="none", username=USER, password="wrong")
    _assert_problem(result, "auth", "user name or password")
    assert "535" in result.message  # the server's own answer is quoted


def test_smtp_login_on_a_server_without_auth_says_so():
    with smtp_server() as server:
        result = check_smtp(host=server.host, port=server.port, security="none", username=USER, password=PASSWORD)
    _assert_problem(result, "auth", "does not offer a login", "STARTTLS")


def test_smtp_closed_port_is_refused():
    port = free_port()  # bound and released: nothing listens there now
    result = check_smtp(host="127.0.0.1", port=port, security="starttls", username=USER, password=PASSWORD)
    _assert_problem(result, "refused", str(port), "Check the port")


def test_smtp_unknown_host_is_a_dns_problem():
    result = check_smtp(host="smtp.example.invalid", port=587, security="starttls", username=USER, password="x")
    _assert_problem(result, "dns", "smtp.example.invalid could not be found (DNS). Check the spelling.")


def test_smtp_starttls_with_an_untrusted_certificate_is_a_tls_problem(authority):
    with smtp_server(auth=True, starttls=authority) as server:
        result = check_smtp(host=server.host, port=server.port, security="starttls", username=USER, password=PASSWORD)
    _assert_problem(result, "tls", "certificate", "not trusted")


def test_smtp_starttls_passes_when_the_certificate_authority_is_trusted(authority):
    with smtp_server(auth=True, starttls=authority) as server:
        result = check_smtp(
            host=server.host,
            port=server.port,
            security="starttls",
            username=USER,
            password=PASSWORD,
            ssl_context=authority.trusting_context(),
        )
    assert result.ok, result


def test_smtp_starttls_asked_of_a_server_without_it_is_a_tls_problem():
    with smtp_server(auth=True) as server:
        result = check_smtp(host=server.host, port=server.port, security="starttls", username=USER, password=PASSWORD)
    _assert_problem(result, "tls", "does not offer STARTTLS")


def test_smtp_ssl_from_the_start_passes_against_an_ssl_server(authority):
    with smtp_server(auth=True, implicit_tls=authority) as server:
        trusted = check_smtp(
            host=server.host,
            port=server.port,
            security="ssl",
            username=USER,
            password=PASSWORD,
            ssl_context=authority.trusting_context(),
        )
        untrusted = check_smtp(host=server.host, port=server.port, security="ssl", username=USER, password=PASSWORD)
    assert trusted.ok, trusted
    _assert_problem(untrusted, "tls", "not trusted")


def test_smtp_ssl_spoken_to_a_plain_server_is_a_tls_problem_that_suggests_starttls():
    with smtp_server(auth=True) as server:
        result = check_smtp(host=server.host, port=server.port, security="ssl", username=USER, password=PASSWORD)
    _assert_problem(result, "tls", "STARTTLS", str(server.port))


def test_smtp_server_that_never_answers_is_a_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts connections (the kernel does) but never says a word
        port = silent.getsockname()[1]
        result = check_smtp(host="127.0.0.1", port=port, security="none", username="", password="", timeout=0.5)
    _assert_problem(result, "timeout", "did not answer", "SSL/TLS")


def test_smtp_something_else_on_the_port_is_a_protocol_problem():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]

        def greet_and_hang_up():
            connection, _ = other.accept()
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        thread = threading.Thread(target=greet_and_hang_up, daemon=True)
        thread.start()
        result = check_smtp(host="127.0.0.1", port=port, security="none", username="", password="", timeout=5)
        thread.join(5)
    _assert_problem(result, "protocol", "SMTP server")


# --- IMAP (dovecot) ------------------------------------------------------------------------------------


def test_imap_plain_login_passes_and_opens_the_folder(imap_server):
    result = check_imap(
        host=imap_server.host,
        port=imap_server.port,
        security="none",
        username=imap_server.user,
        password=imap_server.password,
        folder="INBOX",
    )
    assert result.ok and result.protocol == "imap", result


def test_imap_wrong_password_is_an_auth_problem(imap_server):
    result = check_imap(
        host=imap_server.host, port=imap_server.port, security="none", username=imap_server.user, password="nope"
    )
    _assert_problem(result, "auth", "user name or password")


def test_imap_missing_folder_says_which(imap_server):
    result = check_imap(
        host=imap_server.host,
        port=imap_server.port,
        security="none",
        username=imap_server.user,
        password=imap_server.password,
        folder="Replies",
    )
    _assert_problem(result, "other", "“Replies”")


def test_imap_ssl_and_starttls_are_refused_when_untrusted_and_pass_when_trusted(imap_server):
    import ssl

    trusting = ssl.create_default_context(cafile=str(imap_server.cert_file))
    common = {"host": imap_server.host, "username": imap_server.user, "password": imap_server.password}
    for port, security in ((imap_server.ssl_port, "ssl"), (imap_server.port, "starttls")):
        _assert_problem(check_imap(port=port, security=security, **common), "tls", "not trusted")
        trusted = check_imap(port=port, security=security, ssl_context=trusting, **common)
        assert trusted.ok, (security, trusted)


def test_imap_ssl_spoken_to_the_plain_port_is_a_tls_problem(imap_server):
    result = check_imap(host=imap_server.host, port=imap_server.port, security="ssl", username="u", password="p")
    _assert_problem(result, "tls", "STARTTLS")


def test_imap_spoken_to_an_smtp_server_is_a_protocol_problem():
    with smtp_server() as server:
        result = check_imap(host=server.host, port=server.port, security="none", username="u", password="p")
    _assert_problem(result, "protocol", "IMAP server")


def test_imap_closed_port_and_unknown_host():
    port = free_port()
    _assert_problem(check_imap(host="127.0.0.1", port=port, security="ssl", username="u", password="p"), "refused")
    unknown = check_imap(host="imap.example.invalid", port=993, security="ssl", username="u", password="p")
    _assert_problem(unknown, "dns", "imap.example.invalid")
