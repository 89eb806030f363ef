"""POSTing a webhook to a URL a user typed in, without letting it reach this server's own network.

The URL must be http(s) without credentials; its host is resolved and every address judged
(`insidesales.core.netguard`, allowances from `WEBHOOK_ALLOWED_HOSTS`); the connection then goes to the
judged address itself (the Host header and, for https, the certificate check and SNI use the name), so
a DNS answer that changes in between cannot redirect it. Redirects are followed only when they keep
the method and body (307, 308), at most three, each new URL judged the same way. At most 64 KB of the
answer is read, for the delivery log.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from insidesales.core.netguard import AddressNotAllowed, Allowance, resolve_checked

MAX_REDIRECTS = 3
MAX_ANSWER = 64 * 1024
MAX_ADDRESSES = 2  # of a name's addresses, tried in turn
_PATH_SAFE = "/%?=&:@!$'()*+,;~-._"
USER_AGENT = "InsideSales-Webhooks/1"


class DestinationRefused(ValueError):
    """The URL may not be used as a webhook destination; the message says why, for the person who typed it."""


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (refused, timed out, not allowed...)
    body: str = ""
    error: str = ""
    url: str = ""
    duration_ms: int = 0
    location: str = ""  # of a redirect

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def allowance() -> Allowance:
    return Allowance.parse(getattr(settings, "WEBHOOK_ALLOWED_HOSTS", []))


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable URL, or DestinationRefused."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise DestinationRefused(_("This is not a valid URL.")) from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused(_("Use an http:// or https:// URL."))
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(_("A URL with a user name or password in it is not accepted; use the signature."))
    host = parts.hostname or ""
    if not host:
        raise DestinationRefused(_("The URL has no host."))
    if parts.fragment:
        raise DestinationRefused(_("A URL with a #fragment is not accepted."))
    path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_PATH_SAFE)
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def check_destination(url: str) -> None:
    """For forms and the API: refuse a URL that is malformed or resolves inside this server's network
    (a name that does not resolve now is accepted: deliveries will say so)."""
    _, host, port, _ = check_url(url)
    try:
        resolve_checked(host, port, allowance())
    except AddressNotAllowed as exc:
        raise DestinationRefused(_refusal(exc)) from None
    except (OSError, UnicodeError):
        return


def _refusal(exc: AddressNotAllowed) -> str:
    # Without the address it resolved to: members must not map the internal network by trying names.
    return _(
        "%(host)s is an address inside this server's own network; webhooks may go there only "
        "when the administrator of this installation allows it (WEBHOOK_ALLOWED_HOSTS)."
    ) % {"host": exc.host}


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None
) -> Answer:
    """POST `body` to `url` (following method-keeping redirects) within `timeout` seconds in all, never
    raising for network trouble or a bad URL."""
    started = time.monotonic()
    deadline = started + timeout
    answer = Answer(status=None, url=url)
    for _hop in range(MAX_REDIRECTS + 1):
        answer = _post_once(url, body, headers, deadline, ssl_context)
        if answer.status in (307, 308) and answer.location:
            target = urljoin(url, answer.location)
            if url.lower().startswith("https:") and not target.lower().startswith("https:"):
                answer.error = _("redirected from https to %(location)s: not followed") % {"location": target}
                break
            url = target
            continue
        if answer.status in (301, 302, 303):
            answer.error = _("redirected (%(status)s) to %(location)s: only 307 and 308 keep a POST; not followed") % {
                "status": answer.status,
                "location": answer.location or "?",
            }
        break
    else:
        answer.error = _("more than %(count)s redirects") % {"count": MAX_REDIRECTS}
    answer.duration_ms = int((time.monotonic() - started) * 1000)
    return answer


def _post_once(url: str, body: bytes, headers: dict[str, str], deadline: float, context) -> Answer:
    try:
        scheme, host, port, path = check_url(url)
    except DestinationRefused as exc:
        return Answer(status=None, error=str(exc), url=url)
    if time.monotonic() >= deadline:
        return Answer(status=None, error=_("no answer in time"), url=url)
    try:
        addresses = resolve_checked(host, port, allowance())
    except AddressNotAllowed as exc:
        return Answer(status=None, error=_refusal(exc), url=url)
    except (OSError, UnicodeError) as exc:
        return Answer(status=None, error=_("the name does not resolve: %(error)s") % {"error": exc}, url=url)
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    error = ""
    for address in addresses[:MAX_ADDRESSES]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = _("no answer in time")
            break
        if scheme == "https":
            connection = _PinnedTLS(host, port, str(address), remaining, context or ssl.create_default_context())
        else:
            connection = _Pinned(host, port, str(address), remaining)
        # One deadline for the whole exchange: a server trickling its answer byte by byte is cut off.
        cut = threading.Event()
        cutoff = threading.Timer(remaining, _cut, args=(connection, cut))
        cutoff.daemon = True
        cutoff.start()
        try:
            connection.request("POST", path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read(MAX_ANSWER).decode("utf-8", "replace")
            if cut.is_set():  # what was read ended where the deadline cut the connection
                raise TimeoutError
            return Answer(status=response.status, body=text, url=url, location=response.getheader("Location") or "")
        except ssl.SSLError as exc:
            error = _("TLS failed: %(error)s") % {"error": exc}
        except TimeoutError:
            error = _("no answer in time")
        except (OSError, http.client.HTTPException) as exc:
            error = _("no answer in time") if cut.is_set() else _("connection failed: %(error)s") % {"error": exc}
        except ValueError as exc:  # a header value with a line break or outside Latin-1
            return Answer(status=None, error=_("the request could not be built: %(error)s") % {"error": exc}, url=url)
        finally:
            cutoff.cancel()
            connection.close()
    return Answer(status=None, error=error, url=url)


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
