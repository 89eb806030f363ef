"""Which mail servers a mailbox may point at: not this server's own network unless an operator says so.

Any member can connect a mailbox, and the server then connects wherever its settings say — to send,
to read, to test the connection. Without a limit that is a way to reach services inside the server's
network (a database, a metadata endpoint, an unauthenticated relay) and read their greetings back.
So a host that resolves to a loopback, private, link-local, shared, multicast or reserved address is
refused unless it is listed in `MAIL_ALLOWED_HOSTS` (host names, addresses or networks,
comma-separated; e.g. the company's own mail server at 10.0.0.25). Checked when a mailbox is saved and
before every connection (the rule itself: `insidesales.core.netguard`). (A name whose DNS answer changes
between the check and the connection is not covered.)
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from insidesales.core.netguard import AddressNotAllowed, Allowance, bare_host, resolve_checked


class HostNotAllowed(OSError):
    """The host is inside this server's network and not allowed by the operator."""


def ensure_host_allowed(host: str, port: int) -> None:
    """Raise HostNotAllowed when `host` resolves to an internal address the operator did not allow.
    A name that does not resolve passes: connecting to it fails with its own clear message."""
    host = bare_host(host)
    if not host:
        return
    try:
        resolve_checked(host, port, Allowance.parse(getattr(settings, "MAIL_ALLOWED_HOSTS", [])))
    except AddressNotAllowed as exc:
        raise HostNotAllowed(
            _(
                "%(host)s is an address inside this server's own network (%(address)s); mail servers there "
                "can be used only when the administrator of this installation allows them (MAIL_ALLOWED_HOSTS)."
            )
            % {"host": host, "address": exc.address}
        ) from None
    except (OSError, UnicodeError):
        return
