"""Connections to hosts that users type in (mail servers, webhook URLs) must not reach this server's own
network: a loopback, private, link-local, shared or otherwise non-global address is refused unless the
operator of the installation allows it (a setting per feature: host names, addresses or networks).

Every spelling of an address is what the system resolver makes of it (`0177.0.0.1`, `2130706433`,
`0x7f.1`, `127.1`, `[::ffff:127.0.0.1]` are all 127.0.0.1 to it), so names and numbers are resolved
first and the resulting addresses are judged; callers then connect to exactly the addresses judged,
so a DNS answer that changes between the check and the connection cannot slip past it.
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


def normalized(address: IPAddress) -> IPAddress:
    """IPv4-mapped and IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def is_internal(address: IPAddress) -> bool:
    """Anything but a global unicast address: loopback, private, link-local (cloud metadata), shared
    (100.64/10), multicast, reserved, unspecified, documentation ranges."""
    address = normalized(address)
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
