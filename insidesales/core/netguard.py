"""Connections to hosts that users type in (mail servers, webhook URLs) must not reach this server's own
network: a loopback, private, link-local, shared or otherwise non-global address is refused unless the
operator of the installation allows it (a setting per feature: host names, addresses or networks).

Every spelling of an address is what the system resolver makes of it (`0177.0.0.1`, `2130706433`,
`0x7f.1`, `127.1`, `[::ffff:127.0.0.1]` are all 127.0.0.1 to it), so names and numbers are resolved
first and the resulting addresses are judged; callers then connect to exactly the addresses judged,
so a DNS answer that changes between the check and the connection cannot slip past it.

An allowed host *name* is trusted with whatever its DNS answers (the operator vouches for that zone);
allowing an address or a network is narrower and usually the better choice.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressNotAllowed(OSError):
    """The host resolves to an address inside this server's network that the operator did not allow."""

    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} resolves to {address}, an address inside this server's own network")
        self.host, self.address = host, address


@dataclass(frozen=True)
class Allowance:
    """What the operator allows despite being internal: host names and networks."""

    names: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | None) -> Allowance:
        names: set[str] = set()
        networks = []
        for entry in entries or ():
            entry = (entry or "").strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def covers(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


# IPv6 ranges that carry an IPv4 address in their low 32 bits: judged as that IPv4 address.
_CARRIERS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated
        "::/96",  # IPv4-compatible (deprecated)
        "64:ff9b::/96",  # NAT64, well-known prefix
    )
)
# Not global whatever the interpreter's tables say.
_NEVER_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "64:ff9b:1::/48",  # NAT64 for local use
        "2001::/32",  # Teredo
        "fec0::/10",  # site-local (deprecated)
        "100::/64",  # discard
    )
)


def normalized(address: IPAddress) -> IPAddress:
    """An IPv6 address that carries an IPv4 address (mapped, translated, compatible, NAT64, 6to4) is judged
    as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            return address.sixtofour
        if int(address) > 1 and any(address in network for network in _CARRIERS):  # not :: or ::1
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_internal(address: IPAddress) -> bool:
    """Anything but a global unicast address: loopback, private, link-local (cloud metadata), shared
    (100.64/10), multicast, reserved, unspecified, documentation ranges, Teredo, local NAT64."""
    address = normalized(address)
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _NEVER_GLOBAL):
        return True
    return not address.is_global or address.is_multicast


def bare_host(host: str) -> str:
    return (host or "").strip().strip("[]").rstrip(".").lower()


def resolve_checked(host: str, port: int, allowance: Allowance) -> list[IPAddress]:
    """The addresses to connect to for `host`, each one judged; raises AddressNotAllowed for an internal
    one the operator did not allow, OSError (socket.gaierror) when the name does not resolve."""
    host = bare_host(host)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if host in allowance.names:
        return addresses
    for address in addresses:
        if is_internal(address) and not allowance.covers(normalized(address)):
            raise AddressNotAllowed(host, normalized(address))
    return addresses
