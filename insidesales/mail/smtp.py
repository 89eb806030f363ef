"""SMTP sessions that hand messages over so that none is sent twice.

`send_round` speaks MAIL, RCPT and DATA itself (through smtplib's public low-level calls) so it can
call `before_end_of_data` after the message body has gone out but before the final "." that makes the
server take the message; it does so on several connections at once (one message each), so a round of
messages costs the round trips of one. The caller records "handed" there, in the database: a worker killed before that
point left the server a half message it throws away (sent again later, same Message-ID); killed after it,
the message is never sent again.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from insidesales.mail.hosts import smtp_client
from insidesales.mail.models import Security

_LEADING_DOT = re.compile(rb"(?m)^\.")
_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")
# A bare addr-spec with nothing to quote or parse (what stored addresses are): its reverse- or
# forward-path is just itself in angle brackets. Anything else goes through smtplib's parser.
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@\x00-\x1f\x7f]+@[^\s<>()\[\]\\,;:\"@\x00-\x1f\x7f]+")


def smtp_path(address: str) -> str:
    """`<address>` for MAIL FROM / RCPT TO (smtplib's `quoteaddr` parses every address with the full
    RFC 2822 parser: a fifth of the sending's CPU)."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


class SendFailure(Exception):
    """A message could not be handed over. `temporary`: try again later (4xx, lost connection before the
    end of data); otherwise the server refused it for good (5xx)."""

    def __init__(
        self, message: str, *, temporary: bool, code: int | None = None, handed: bool = False, withdrawn: bool = False
    ) -> None:
        super().__init__(message)
        self.withdrawn = withdrawn  # the caller withdrew it before the end of data: nothing was sent
        self.temporary = temporary
        self.code = code
        self.handed = handed  # the end of data went out: the server may have the message


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to connect: host, port, security (`Security`), optional login."""

    host: str
    port: int
    security: str = Security.STARTTLS
    username: str = ""
    password: str = ""
    timeout: float = 30.0


def dot_stuff(data: bytes) -> bytes:
    """Line ends as CRLF, leading dots doubled (RFC 5321 4.5.2), ending with CRLF."""
    body = _LEADING_DOT.sub(b"..", _BARE_LINE_END.sub(b"\r\n", data))
    return body if body.endswith(b"\r\n") else body + b"\r\n"


class SmtpSession:
    """One open connection to a mailbox's SMTP server, reused for many messages."""

    def __init__(self, endpoint: SmtpEndpoint, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.endpoint = endpoint
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.client: smtplib.SMTP | None = None

    def open(self) -> None:
        e = self.endpoint
        try:
            client = smtp_client(
                e.host, e.port, implicit_tls=e.security == Security.SSL, timeout=e.timeout, context=self.ssl_context
            )
            # The end of data goes out as its own small write after the "handed" commit: without
            # TCP_NODELAY, Nagle's algorithm holds it until the server's delayed ACK (~40 ms).
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.ehlo_or_helo_if_needed()
            if e.security == Security.STARTTLS:
                client.starttls(context=self.ssl_context)
                client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                client.ehlo()
            if e.username:
                from insidesales.mail.connection_check import smtp_login

                smtp_login(client, e.username, e.password)  # UTF-8 passwords, which smtplib.login cannot send
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailure(f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}", temporary=False) from exc
        except smtplib.SMTPResponseException as exc:
            raise SendFailure(
                f"{exc.smtp_code} {_text(exc.smtp_error)}", temporary=exc.smtp_code < 500, code=exc.smtp_code
            ) from exc
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise SendFailure(f"cannot connect to {e.host}:{e.port}: {exc}", temporary=True) from exc
        self.client = client

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            try:
                client.close()
            except OSError:
                pass

    def abort(self) -> None:
        """Drop the connection without QUIT: a half-sent message is thrown away by the server."""
        client, self.client = self.client, None
        if client is not None and client.sock is not None:
            try:
                client.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()

    def send(
        self,
        *,
        sender: str,
        recipients: list[str],
        data: bytes,
        before_end_of_data: Callable[[], bool] | None = None,
    ) -> None:
        """Hand one message over. `before_end_of_data` runs after the body went out; returning False
        withdraws it (the connection is dropped, so the server discards the message)."""
        item = Outgoing(self, sender, recipients, data)
        send_round([item], lambda ready: set(ready) if before_end_of_data is None or before_end_of_data() else set())
        if item.failure is not None:
            raise item.failure


@dataclass
class Outgoing:
    """One message to hand over on one connection, and how it went (`failure` None: the server took it)."""

    session: SmtpSession
    sender: str
    recipients: list[str]
    data: bytes
    failure: SendFailure | None = None
    handed: bool = False
    needs_reset: bool = False

    @property
    def live(self) -> bool:
        return self.failure is None


def send_round(items: list[Outgoing], before_end_of_data: Callable[[list[int]], set[int]]) -> None:
    """Hand over one message on each of several connections at once: every step (MAIL, RCPT, DATA, the
    body) goes out on all of them before their answers are read, so one round costs the round trips of
    one message. `before_end_of_data(indexes)` runs once all bodies are out and returns the indexes that
    may be finished (the caller records them "handed" in one commit); the others are withdrawn."""
    for item in items:
        if item.session.client is None:
            try:
                item.session.open()
            except SendFailure as exc:
                item.failure = exc
    _step(items, lambda c, it: c.putcmd("mail", f"FROM:{smtp_path(it.sender)}{_options(c, it.data)}"))
    _answer(items, (250,), "MAIL FROM")
    refused: dict[int, list[tuple[int, str]]] = {id(item): [] for item in items}
    for position in range(max((len(item.recipients) for item in items), default=0)):
        takers = [item for item in items if item.live and position < len(item.recipients)]
        _step(takers, lambda c, it, p=position: c.putcmd("rcpt", f"TO:{smtp_path(it.recipients[p])}"))
        for item in takers:
            reply = _reply(item)
            if reply is not None and reply[0] not in (250, 251):
                refused[id(item)].append((reply[0], f"{item.recipients[position]}: {reply[0]} {_text(reply[1])}"))
    for item in items:
        if item.live and len(refused[id(item)]) == len(item.recipients):
            codes = [code for code, _ in refused[id(item)]]
            text = "; ".join(t for _, t in refused[id(item)])
            item.failure = SendFailure(text, temporary=all(c < 500 for c in codes), code=codes[0] if codes else None)
            item.needs_reset = True
    _step(items, lambda c, it: c.putcmd("data"))
    _answer(items, (354,), "DATA")
    _step(items, lambda c, it: c.send(dot_stuff(it.data)))
    ready = [index for index, item in enumerate(items) if item.live]
    allowed = before_end_of_data(ready) if ready else set()
    for index in ready:
        if index not in allowed:
            items[index].session.abort()
            items[index].failure = SendFailure(
                "withdrawn before the end of data; not sent", temporary=True, withdrawn=True
            )
    for item in items:
        if item.live:
            item.handed = True
    _step(items, lambda c, it: c.send(b".\r\n"))
    for item in items:
        if item.live:
            reply = _reply(item)
            if reply is not None and reply[0] != 250:
                item.failure = SendFailure(
                    f"end of data: {reply[0]} {_text(reply[1])}", temporary=reply[0] < 500, code=reply[0], handed=True
                )
    for item in items:
        if item.needs_reset and item.session.client is not None:
            try:
                item.session.client.rset()
            except (OSError, smtplib.SMTPException):
                item.session.abort()


def _step(items: list[Outgoing], action: Callable[[smtplib.SMTP, Outgoing], None]) -> None:
    for item in items:
        if item.live:
            try:
                action(item.session.client, item)
            except (OSError, smtplib.SMTPException) as exc:
                _lost(item, exc)


def _reply(item: Outgoing) -> tuple[int, bytes] | None:
    """The next answer on the item's connection; None (and the item failed) when the connection is gone."""
    try:
        code, text = item.session.client.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        _lost(item, exc)
        return None
    if code == 421:  # the server is closing the connection
        item.session.abort()
        item.failure = SendFailure(f"{code} {_text(text)}", temporary=True, code=code, handed=item.handed)
        return None
    return code, text


def _answer(items: list[Outgoing], good: tuple[int, ...], what: str) -> None:
    for item in items:
        if item.live:
            reply = _reply(item)
            if reply is not None and reply[0] not in good:
                item.failure = SendFailure(
                    f"{what}: {reply[0]} {_text(reply[1])}", temporary=reply[0] < 500, code=reply[0]
                )
                item.needs_reset = True


def _lost(item: Outgoing, exc: BaseException) -> None:
    item.session.abort()
    item.failure = SendFailure(f"connection lost: {exc}", temporary=True, handed=item.handed)


def _options(client: smtplib.SMTP, data: bytes) -> str:
    # Messages are built 7-bit clean (quoted-printable or base64 bodies, RFC 2047 headers).
    return f" SIZE={len(data)}" if client.has_extn("size") else ""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
