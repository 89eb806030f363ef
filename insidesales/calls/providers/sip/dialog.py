"""One call leg we place: its dialog state and the requests we build for it (RFC 3261 §12, §13).

A leg starts as an INVITE and becomes a dialog when a 2xx arrives: we learn the remote tag, the
remote target (the 2xx's Contact) and the route set (its Record-Route, reversed). Requests inside
the dialog (ACK for 2xx, BYE, re-INVITE) go to the remote target through that route set. A CANCEL
copies the INVITE it cancels (§9.1).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from . import sdp
from .endpoint import Address, new_branch, new_tag
from .message import Headers, SipRequest, SipResponse, header_uri, parse_uri

USER_AGENT = "insidesales"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"


@dataclass
class Leg:
    """A call we place (customer, agent or announcement) and, once answered, its dialog."""

    local: Address  # our SIP address, for Via and Contact
    request_uri: str
    local_uri: str  # From without the tag
    remote_uri: str  # To without the tag
    first_hop: Address  # where the INVITE goes (the trunk, or the agent's host)
    extra_headers: tuple[tuple[str, str], ...] = ()
    call_id: str = field(default_factory=lambda: secrets.token_hex(12))
    local_tag: str = field(default_factory=new_tag)
    cseq: int = 0
    remote_tag: str = ""
    remote_target: str = ""
    route_set: list[str] = field(default_factory=list)
    remote_sdp: bytes = b""
    sdp_session: int = field(default_factory=lambda: secrets.randbelow(2**31))
    sdp_version: int = 0
    invite: SipRequest | None = None  # the last INVITE sent, for CANCEL
    ack: bytes = b""  # the ACK of the last INVITE's 2xx, sent again for each retransmission of that 2xx
    ack_to: Address | None = None
    answered_at: float | None = None  # time.monotonic()
    ended: bool = False

    @property
    def confirmed(self) -> bool:
        return bool(self.remote_tag) and self.answered_at is not None

    def _headers(self, method: str, cseq: int, branch: str) -> Headers:
        headers = Headers()
        headers.add("Via", f"SIP/2.0/UDP {_hostport(self.local)};branch={branch};rport")
        for route in self.route_set:
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{self.local_uri};tag={self.local_tag}")
        headers.add("To", f"{self.remote_uri};tag={self.remote_tag}" if self.remote_tag else self.remote_uri)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        return headers

    def request(self, method: str, body: bytes = b"", *, authorization: tuple[str, str] | None = None) -> SipRequest:
        """A new request on this leg: the initial INVITE, or any in-dialog request but ACK."""
        self.cseq += 1
        headers = self._headers(method, self.cseq, new_branch())
        if authorization:
            headers.add(*authorization)
        if method == "INVITE":
            headers.add("Contact", f"<sip:{USER_AGENT}@{_hostport(self.local)}>")
            headers.add("Allow", ALLOW)
        for name, value in self.extra_headers if not self.remote_tag else ():
            headers.add(name, value)
        headers.add("User-Agent", USER_AGENT)
        if body:
            headers.add("Content-Type", "application/sdp")
        uri = self.remote_target if self.remote_tag else self.request_uri
        request = SipRequest(headers, body, method=method, uri=uri)
        if method == "INVITE":
            self.invite = request
        return request

    def sdp_offer(self) -> bytes:
        self.sdp_version += 1
        return sdp.offer(self.local[0], self.sdp_session, self.sdp_version)

    def sdp_passed_on(self, description: bytes) -> bytes:
        """Another party's description, offered on this leg under our origin."""
        self.sdp_version += 1
        return sdp.with_origin(description, self.local[0], self.sdp_session, self.sdp_version)

    def cancel(self) -> SipRequest:
        """CANCEL for the pending INVITE: same Request-URI, Call-ID, From, To, CSeq number and top Via."""
        assert self.invite is not None
        invite = self.invite
        headers = Headers()
        headers.add("Via", invite.headers.get("Via") or "")
        for route in invite.headers.get_all("Route"):
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            headers.add(name, invite.headers.get(name) or "")
        headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
        headers.add("User-Agent", USER_AGENT)
        return SipRequest(headers, b"", method="CANCEL", uri=invite.uri)

    def confirm(self, response: SipResponse) -> None:
        """Take the dialog state from a 2xx to our initial INVITE."""
        if not self.remote_tag:
            self.remote_tag = response.to_tag
            contact = response.headers.get("Contact")
            self.remote_target = header_uri(contact) if contact else self.request_uri
            self.route_set = list(reversed(response.headers.get_all("Record-Route")))
        if response.body:
            self.remote_sdp = response.body
        if self.answered_at is None:
            self.answered_at = time.monotonic()

    def ack_for(self, response: SipResponse) -> SipRequest:
        """The ACK for a 2xx: a new transaction inside the dialog, CSeq number of the INVITE (§13.2.2.4)."""
        headers = self._headers("ACK", response.cseq[0], new_branch())
        headers.add("User-Agent", USER_AGENT)
        return SipRequest(headers, b"", method="ACK", uri=self.remote_target)

    def next_hop(self) -> Address:
        """Where in-dialog requests go: the first route (loose routing), else the remote target."""
        if not self.remote_tag:
            return self.first_hop
        uri = parse_uri(header_uri(self.route_set[0]) if self.route_set else self.remote_target)
        return (uri.host, uri.port or 5060)

    def matches(self, response: SipResponse) -> bool:
        """Whether a response belongs to this leg (our Call-ID and From tag)."""
        return response.call_id == self.call_id and response.from_tag == self.local_tag


def _hostport(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def authorization_header(response: SipResponse) -> tuple[str, str] | None:
    """Which challenge header a 401/407 carries and which header answers it."""
    if response.status == 401 and response.headers.get("WWW-Authenticate"):
        return ("WWW-Authenticate", "Authorization")
    if response.status == 407 and response.headers.get("Proxy-Authenticate"):
        return ("Proxy-Authenticate", "Proxy-Authorization")
    return None
