"""SMTP sessions that hand messages over so that none is sent twice.

`SmtpSession.send` speaks MAIL, RCPT and DATA itself (through smtplib's public low-level calls) so it can
call `before_end_of_data` after the message body has gone out but before the final "." that makes the
server take the message. The caller records "handed" there, in the database: a worker killed before that
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

from insidesales.mail.models import Security

_LEADING_DOT = re.compile(rb"(?m)^\.")
_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")


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
            if e.security == Security.SSL:
                client: smtplib.SMTP = smtplib.SMTP_SSL(e.host, e.port, timeout=e.timeout, context=self.ssl_context)
            else:
                client = smtplib.SMTP(e.host, e.port, timeout=e.timeout)
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
        aborts (the connection is dropped, so the server discards the message)."""
        if self.client is None:
            self.open()
        client = self.client
        assert client is not None
        handed = False
        try:
            code, reply = client.mail(sender, _mail_options(client, data))
            if code != 250:
                client.rset()
                raise SendFailure(f"MAIL FROM: {code} {_text(reply)}", temporary=code < 500, code=code)
            refused: list[tuple[int, str]] = []
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code not in (250, 251):
                    refused.append((code, f"{recipient}: {code} {_text(reply)}"))
            if len(refused) == len(recipients):
                client.rset()
                codes = [c for c, _ in refused]
                raise SendFailure(
                    "; ".join(t for _, t in refused), temporary=all(c < 500 for c in codes), code=codes[0]
                )
            client.putcmd("data")
            code, reply = client.getreply()
            if code != 354:
                client.rset()
                raise SendFailure(f"DATA: {code} {_text(reply)}", temporary=code < 500, code=code)
            client.send(dot_stuff(data))
            if before_end_of_data is not None and before_end_of_data() is False:
                self.abort()
                raise SendFailure("withdrawn before the end of data; not sent", temporary=True, withdrawn=True)
            handed = True
            client.send(b".\r\n")
            code, reply = client.getreply()
            if code != 250:
                raise SendFailure(f"end of data: {code} {_text(reply)}", temporary=code < 500, code=code, handed=True)
        except SendFailure:
            raise
        except smtplib.SMTPResponseException as exc:
            self.abort()
            raise SendFailure(
                f"{exc.smtp_code} {_text(exc.smtp_error)}", temporary=exc.smtp_code < 500, handed=handed
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.abort()
            raise SendFailure(f"connection lost: {exc}", temporary=True, handed=handed) from exc


def _mail_options(client: smtplib.SMTP, data: bytes) -> list[str]:
    # Messages are built 7-bit clean (quoted-printable or base64 bodies, RFC 2047 headers).
    return [f"SIZE={len(data)}"] if client.has_extn("size") else []


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
