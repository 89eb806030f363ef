"""Which mail servers a mailbox may point at: not this server's own network unless an operator says so.

Any member can connect a mailbox, and the server then connects wherever its settings say — to send,
to read, to test the connection. Without a limit that is a way to reach services inside the server's
network (a database, a metadata endpoint, an unauthenticated relay) and read their greetings back.
So a host that resolves to a loopback, private, link-local, shared, multicast or reserved address is
refused unless it is listed in `MAIL_ALLOWED_HOSTS` (host names, addresses or networks,
comma-separated; e.g. the company's own mail server at 10.0.0.25). Checked when a mailbox is saved and
before every connection (the rule itself: `insidesales.core.netguard`), and every connection goes to the
address that was judged (`smtp_client`, `imap_client`: the name is still used for TLS), so a DNS answer
that changes between the check and the connection cannot slip past it.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl

from django.conf import settings
from django.utils.translation import gettext as _

from insidesales.core.netguard import AddressNotAllowed, Allowance, bare_host, resolve_checked


class HostNotAllowed(OSError):
    """The host is inside this server's network and not allowed by the operator."""


def ensure_host_allowed(host: str, port: int) -> None:
    """Raise HostNotAllowed when `host` resolves to an internal address the operator did not allow.
    A name that does not resolve passes: connecting to it fails with its own clear message."""
    judged_address(host, port)


def judged_address(host: str, port: int) -> str:
    """The address to connect to for `host` (judged), or the host itself when it does not resolve (the
    connection then fails with the resolver's own message); HostNotAllowed for an internal one."""
    name = bare_host(host)
    if not name:
        return host
    try:
        return str(resolve_checked(name, port, Allowance.parse(getattr(settings, "MAIL_ALLOWED_HOSTS", [])))[0])
    except AddressNotAllowed as exc:
        raise HostNotAllowed(
            _(
                "%(host)s is an address inside this server's own network (%(address)s); mail servers there "
                "can be used only when the administrator of this installation allows them (MAIL_ALLOWED_HOSTS)."
            )
            % {"host": host, "address": exc.address}
        ) from None
    except (OSError, UnicodeError):
        return host


class _PinnedSMTP(smtplib.SMTP):
    def __init__(self, host: str, port: int, *, address: str, **kwargs) -> None:
        self._address = address
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host, port, timeout):
        return socket.create_connection((self._address, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, host: str, port: int, *, address: str, **kwargs) -> None:
        self._address = address
        super().__init__(host, port, **kwargs)

    def _get_socket(self, host, port, timeout):
        sock = socket.create_connection((self._address, port), timeout, self.source_address)
        return self.context.wrap_socket(sock, server_hostname=host)


class _PinnedIMAP4(imaplib.IMAP4):
    def __init__(self, host: str, port: int, *, address: str, **kwargs) -> None:
        self._address = address
        super().__init__(host, port, **kwargs)

    def _create_socket(self, timeout):
        return socket.create_connection((self._address, self.port), timeout)


class _PinnedIMAP4SSL(imaplib.IMAP4_SSL):
    def __init__(self, host: str, port: int, *, address: str, **kwargs) -> None:
        self._address = address
        super().__init__(host, port, **kwargs)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self._address, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def smtp_client(
    host: str, port: int, *, implicit_tls: bool, timeout: float, context: ssl.SSLContext | None = None
) -> smtplib.SMTP:
    """An SMTP connection to the judged address of `host` (HostNotAllowed for an internal one); TLS,
    STARTTLS included, checks the certificate against the name."""
    address = judged_address(host, port)
    if implicit_tls:
        return _PinnedSMTPSSL(host, port, address=address, timeout=timeout, context=context)
    return _PinnedSMTP(host, port, address=address, timeout=timeout)


def imap_client(
    host: str, port: int, *, implicit_tls: bool, timeout: float, context: ssl.SSLContext | None = None
) -> imaplib.IMAP4:
    """An IMAP connection to the judged address of `host`, as `smtp_client`."""
    address = judged_address(host, port)
    if implicit_tls:
        return _PinnedIMAP4SSL(host, port, address=address, ssl_context=context, timeout=timeout)
    return _PinnedIMAP4(host, port, address=address, timeout=timeout)
