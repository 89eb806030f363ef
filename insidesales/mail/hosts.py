"""Which mail servers a mailbox may point at: not this server's own network unless an operator says so.

Any member can connect a mailbox, and the server then connects wherever its settings say — to send,
to read, to test the connection. Without a limit that is a way to reach services inside the server's
network (a database, a metadata endpoint, an unauthenticated relay) and read their greetings back.
So a host that resolves to a loopback, private, link-local, multicast or reserved address is refused
unless it is listed in `MAIL_ALLOWED_HOSTS` (host names, addresses or networks, comma-separated; e.g.
the company's own mail server at 10.0.0.25). Checked when a mailbox is saved and before every
connection. (A name whose DNS answer changes between the check and the connection is not covered.)
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings
from django.utils.translation import gettext as _


class HostNotAllowed(OSError):
    """The host is inside this server's network and not allowed by the operator."""


def _allowed() -> tuple[set[str], list[ipaddress._BaseNetwork]]:
    names: set[str] = set()
    networks: list[ipaddress._BaseNetwork] = []
    for entry in getattr(settings, "MAIL_ALLOWED_HOSTS", []) or []:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def _internal(address: ipaddress._BaseAddress) -> bool:
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def ensure_host_allowed(host: str, port: int) -> None:
    """Raise HostNotAllowed when `host` resolves to an internal address the operator did not allow.
    A name that does not resolve passes: connecting to it fails with its own clear message."""
    host = (host or "").strip().strip("[]").rstrip(".").lower()
    if not host:
        return
    names, networks = _allowed()
    if host in names:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        if _internal(address) and not any(address in network for network in networks):
            raise HostNotAllowed(
                _(
                    "%(host)s is an address inside this server's own network (%(address)s); mail servers there "
                    "can be used only when the administrator of this installation allows them (MAIL_ALLOWED_HOSTS)."
                )
                % {"host": host, "address": address}
            )
