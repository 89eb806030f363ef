"""SIP messages (RFC 3261 §7, §20, §25): parsing datagrams into requests and responses and back.

Strict where a mistake would confuse our transactions or let a value smuggle a header in (start
line, header names, control characters, Content-Length, the headers every message must carry);
lenient where RFC 3261 asks for it (CRLFs before the start line, bare LF line ends, header
folding, any case and whitespace around the colon, compact header names, comma-joined values of
list headers). Anything we cannot read raises `SipParseError` and nothing else: a datagram from the
network is untrusted input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SIP_VERSION = "SIP/2.0"


class SipParseError(ValueError):
    """The bytes are not a SIP message we can use."""


# RFC 3261 §7.3.3 and the later RFCs' single-letter names.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
}
# Names whose usual spelling is not plain title case.
_SPELLINGS = {
    name.lower(): name
    for name in (
        "Call-ID",
        "CSeq",
        "WWW-Authenticate",
        "MIME-Version",
        "RAck",
        "RSeq",
        "P-Asserted-Identity",
        "P-Preferred-Identity",
    )
}
# Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1). Authentication
# headers are not among them: their commas separate parameters.
_LIST_HEADERS = frozenset({"via", "route", "record-route", "contact"})
_REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")

_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~\-]+\Z")
_REQUEST_LINE = re.compile(r"([A-Za-z0-9.!%*_+`'~\-]+) (\S+) SIP/2\.0\Z")
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9]) ?([^\x00-\x08\x0a-\x1f\x7f]*)\Z")
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CSEQ = re.compile(r"([0-9]{1,10})\s+([A-Za-z0-9.!%*_+`'~\-]+)\Z")


def canonical_name(name: str) -> str:
    """The long, conventionally spelled form of a header name (`i` and `call-id` → `Call-ID`)."""
    lower = name.lower()
    if lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _SPELLINGS.get(lower) or "-".join(part.capitalize() for part in lower.split("-"))


@dataclass
class Headers:
    """Header fields in order, looked up by name in any case or compact form."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        if _CTL.search(value) or not _TOKEN.match(name):
            raise ValueError(f"invalid header {name!r}: {value!r}")
        self.items.append((canonical_name(name), value))

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = canonical_name(name)
        return next((value for key, value in self.items if key == wanted), default)

    def get_all(self, name: str) -> list[str]:
        wanted = canonical_name(name)
        return [value for key, value in self.items if key == wanted]

    def remove(self, name: str) -> None:
        wanted = canonical_name(name)
        self.items = [(key, value) for key, value in self.items if key != wanted]

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.add(name, value)


@dataclass
class _Message:
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = (self.headers.get("CSeq") or "").split()
        return int(number), method.upper()

    @property
    def branch(self) -> str:
        return header_params(self.headers.get("Via") or "").get("branch", "")

    @property
    def from_tag(self) -> str:
        return header_params(self.headers.get("From") or "").get("tag", "")

    @property
    def to_tag(self) -> str:
        return header_params(self.headers.get("To") or "").get("tag", "")


@dataclass
class SipRequest(_Message):
    method: str = "OPTIONS"
    uri: str = ""

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"


@dataclass
class SipResponse(_Message):
    status: int = 200
    reason: str = "OK"

    def start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"


SipMessage = SipRequest | SipResponse


def serialize(message: SipMessage) -> bytes:
    """The message as it goes on the wire, with a Content-Length that matches its body."""
    lines = [message.start_line()]
    lines += [f"{name}: {value}" for name, value in message.headers.items if name != "Content-Length"]
    lines.append(f"Content-Length: {len(message.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + message.body


def parse(data: bytes) -> SipMessage:
    """Read one datagram. Raises SipParseError for anything that is not a usable SIP message."""
    data = data.lstrip(b"\r\n")
    head, separator, rest = _split_head(data)
    if not separator:
        raise SipParseError("no blank line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SipParseError("headers are not UTF-8") from error
    lines = text.replace("\r\n", "\n").split("\n")
    start, header_lines = lines[0], _unfold(lines[1:])
    headers = Headers()
    for line in header_lines:
        name, colon, value = line.partition(":")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not colon or not _TOKEN.match(name):
            raise SipParseError(f"malformed header line {line[:40]!r}")
        if _CTL.search(value):
            raise SipParseError(f"control character in header {name}")
        values = split_list(value) if name.lower() in _LIST_HEADERS or name.lower() in ("v", "m") else [value]
        for item in values:
            headers.items.append((canonical_name(name), item))
    body = _body(headers, rest)
    headers.remove("Content-Length")
    message = _start(start, headers, body)
    for name in _REQUIRED:
        if not headers.get(name):
            raise SipParseError(f"missing {name} header")
    cseq = _CSEQ.match(headers.get("CSeq") or "")
    if not cseq or int(cseq.group(1)) >= 2**31:
        raise SipParseError("malformed CSeq")
    if isinstance(message, SipRequest) and cseq.group(2).upper() != message.method.upper():
        raise SipParseError("CSeq method does not match the request method")
    return message


def _split_head(data: bytes) -> tuple[bytes, bytes, bytes]:
    # The first blank line ends the headers, whether the sender used CRLF or bare LF.
    match = re.search(rb"\r?\n\r?\n", data)
    if not match:
        return data, b"", b""
    return data[: match.start()], match.group(), data[match.end() :]


def _unfold(lines: list[str]) -> list[str]:
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not unfolded:
                raise SipParseError("continuation line before any header")
            unfolded[-1] += " " + line.strip(" \t")
        else:
            unfolded.append(line)
    return unfolded


def _body(headers: Headers, rest: bytes) -> bytes:
    declared = headers.get("Content-Length")
    if declared is None:
        return rest  # over UDP the body runs to the end of the datagram (RFC 3261 §18.3)
    if not declared.isascii() or not declared.isdigit() or len(declared) > 9:
        raise SipParseError("malformed Content-Length")
    if int(declared) > len(rest):
        raise SipParseError("body shorter than Content-Length")
    return rest[: int(declared)]  # bytes past Content-Length are discarded (§18.3)


def _start(line: str, headers: Headers, body: bytes) -> SipMessage:
    if line.startswith("SIP/"):
        status = _STATUS_LINE.match(line)
        if not status:
            raise SipParseError(f"malformed status line {line[:40]!r}")
        return SipResponse(headers, body, status=int(status.group(1)), reason=status.group(2))
    request = _REQUEST_LINE.match(line)
    if not request or ":" not in request.group(2):
        raise SipParseError(f"malformed request line {line[:40]!r}")
    return SipRequest(headers, body, method=request.group(1), uri=request.group(2))


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, leaving commas inside quotes and <...> alone."""
    items, current, quoted, angle, escaped = [], [], False, False, False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "<>":
            angle = char == "<"
        elif char == "," and not quoted and not angle:
            items.append("".join(current).strip(" \t"))
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip(" \t"))
    if any(not item for item in items):
        raise SipParseError(f"empty item in list header value {value[:40]!r}")
    return items


def header_params(value: str) -> dict[str, str]:
    """The `;name=value` parameters of a header value (a Via, or a From/To/Contact/Route whose
    URI parameters inside <...> are not the header's). Names are lower-cased."""
    if ">" in value:
        value = value.rsplit(">", 1)[1]
    params: dict[str, str] = {}
    for part in value.split(";")[1:]:
        name, _, param = part.partition("=")
        params[name.strip().lower()] = param.strip().strip('"')
    return params


def header_uri(value: str) -> str:
    """The URI of a name-addr or addr-spec header value (`"Bob" <sip:b@h>;tag=1` → `sip:b@h`)."""
    if "<" in value:
        return value.split("<", 1)[1].split(">", 1)[0].strip()
    return value.split(";", 1)[0].strip()


@dataclass(frozen=True)
class SipUri:
    user: str
    host: str
    port: int | None
    params: dict[str, str]


def parse_uri(uri: str) -> SipUri:
    """`sip:user@host:port;params` (host may be [IPv6]); raises SipParseError."""
    match = re.fullmatch(
        r"sips?:(?:([^@;]*)@)?(\[[0-9A-Fa-f:.]+\]|[^:;?]+)(?::([0-9]{1,5}))?((?:;[^?]*)?)(?:\?.*)?", uri
    )
    if not match:
        raise SipParseError(f"not a SIP URI: {uri[:60]!r}")
    user, host, port, param_text = match.groups()
    params = {}
    for part in param_text.split(";")[1:]:
        name, _, value = part.partition("=")
        params[name.lower()] = value
    return SipUri(user or "", host.strip("[]"), int(port) if port else None, params)
