"""The "Test connection" button: connect to a mailbox's SMTP or IMAP server, set up TLS, log in, and say
plainly what to fix when a step fails.

Every failure has a code (`dns`, `refused`, `timeout`, `tls`, `auth`, `protocol`, `other`) for programs and
a translated sentence for people. Certificates are checked against the system's trust store unless a
caller (a test) passes its own `ssl.SSLContext`.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from insidesales.mail.hosts import HostNotAllowed, ensure_host_allowed, imap_client, smtp_client

CODES = ("dns", "refused", "timeout", "tls", "auth", "protocol", "not_allowed", "other")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one connection test: `ok`, or a problem `code` and a `message` saying what to fix.
    `detail` is the server's or the library's own words, for whoever debugs it."""

    ok: bool
    protocol: str
    message: str
    code: str = ""
    detail: str = ""

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "protocol": self.protocol,
            "code": self.code or None,
            "message": self.message,
            "detail": self.detail,
        }


class _Problem(Exception):
    """Raised inside a check to stop it with a code and a message."""

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.detail = code, message, detail


def _context(ssl_context: ssl.SSLContext | None) -> ssl.SSLContext:
    return ssl_context or ssl.create_default_context()


def _resolve(host: str, port: int) -> None:
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:
            message = _("The server name %(host)s could not be looked up right now (DNS). Try again in a minute.")
        else:
            message = _("The server name %(host)s could not be found (DNS). Check the spelling.")
        raise _Problem("dns", message % {"host": host}, str(exc)) from exc
    except UnicodeError as exc:
        raise _Problem("dns", _("%(host)s is not a valid server name.") % {"host": host}, str(exc)) from exc


def _tls_problem(exc: ssl.SSLError, host: str, port: int, security: str) -> _Problem:
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return _Problem(
            "tls",
            _(
                "The certificate of %(host)s is not trusted (%(reason)s). The server must present a certificate "
                "for this name from a recognised authority; check the server name, or ask the mail provider."
            )
            % {"host": host, "reason": reason},
            str(exc),
        )
    if security == "ssl":
        message = _(
            "No TLS connection could be set up with %(host)s on port %(port)s (%(reason)s). The port may not use "
            "SSL/TLS from the start: try STARTTLS (usually port 587 for SMTP, 143 for IMAP) or check the port."
        )
    else:
        message = _("Switching to TLS with %(host)s on port %(port)s failed (%(reason)s). Check the security setting.")
    return _Problem("tls", message % {"host": host, "port": port, "reason": exc.reason or str(exc)}, str(exc))


def _network_problem(exc: OSError, host: str, port: int, timeout: float, security: str) -> _Problem:
    if isinstance(exc, ssl.SSLError):
        return _tls_problem(exc, host, port, security)
    if isinstance(exc, ConnectionRefusedError):
        return _Problem(
            "refused",
            _(
                "%(host)s refused the connection on port %(port)s: no mail server is listening there. "
                "Check the port number."
            )
            % {"host": host, "port": port},
            str(exc),
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        hint = (
            _("A port that expects SSL/TLS from the start stays silent to a plain connection: check the security.")
            if security != "ssl"
            else _("Check the port and that a firewall lets the connection through.")
        )
        message = _("%(host)s did not answer on port %(port)s within %(seconds)s seconds.") % {
            "host": host,
            "port": port,
            "seconds": int(timeout),
        }
        return _Problem("timeout", f"{message} {hint}", str(exc))
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return _Problem(
            "protocol",
            _("%(host)s closed the connection on port %(port)s. Check the port and the security setting.")
            % {"host": host, "port": port},
            str(exc),
        )
    return _Problem(
        "other",
        _("Could not connect to %(host)s on port %(port)s: %(reason)s.")
        % {"host": host, "port": port, "reason": exc.strerror or str(exc)},
        str(exc),
    )


def _run(protocol: str, host: str, port: int, timeout: float, security: str, body: Callable[[], str]) -> CheckResult:
    host = (host or "").strip()
    if not host:
        return CheckResult(False, protocol, str(_("Enter the server name.")), "dns")
    try:
        _resolve(host, port)
        try:
            ensure_host_allowed(host, port)
        except HostNotAllowed as exc:
            return CheckResult(False, protocol, str(exc), "not_allowed")
        return CheckResult(True, protocol, body())
    except _Problem as problem:
        return CheckResult(False, protocol, str(problem.message), problem.code, problem.detail)
    except (OSError, EOFError) as exc:
        problem = _network_problem(exc, host, port, timeout, security)  # type: ignore[arg-type]
        return CheckResult(False, protocol, str(problem.message), problem.code, problem.detail)


# --- SMTP ----------------------------------------------------------------------------------------------


def smtp_login(client: smtplib.SMTP, username: str, password: str) -> None:
    """Log in on an SMTP connection that has said EHLO. smtplib's own login encodes the user name and
    password as ASCII (a non-ASCII password raises UnicodeEncodeError); RFC 4616 PLAIN carries UTF-8, so
    those go as AUTH PLAIN by hand (or LOGIN when PLAIN is not offered)."""
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    offered = client.esmtp_features.get("auth", "").upper().split()
    user, secret = username.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in offered:
        token = base64.b64encode(b"\0" + user + b"\0" + secret).decode("ascii")
        code, reply = client.docmd("AUTH", f"PLAIN {token}")
    elif "LOGIN" in offered:
        code, reply = client.docmd("AUTH", "LOGIN " + base64.b64encode(user).decode("ascii"))
        if code == 334:
            code, reply = client.docmd(base64.b64encode(secret).decode("ascii"))
    else:
        raise smtplib.SMTPNotSupportedError("No suitable authentication method found.")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}".strip()


def check_smtp(
    *,
    host: str,
    port: int,
    security: str,
    username: str = "",
    password: str = "",
    timeout: float = 10,
    ssl_context: ssl.SSLContext | None = None,
) -> CheckResult:
    """Connect, say EHLO, switch to TLS as configured, log in when a user name is given, and quit."""

    def body() -> str:
        try:
            client = smtp_client(
                host, port, implicit_tls=security == "ssl", timeout=timeout, context=_context(ssl_context)
            )
        except smtplib.SMTPConnectError as exc:
            if not 400 <= exc.smtp_code < 600:  # a greeting that is no SMTP reply at all
                raise _not_smtp(host, port, exc) from exc
            raise _Problem(
                "protocol",
                _("%(host)s does not accept mail right now: %(reply)s") % {"host": host, "reply": _smtp_reply(exc)},
                str(exc),
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise _not_smtp(host, port, exc, timeout, security) from exc
        try:
            return _smtp_session(client, host, port, security, username, password, ssl_context)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    return _run("smtp", host, port, timeout, security, body)


def _not_smtp(host: str, port: int, exc: Exception, timeout: float = 10, security: str = "none") -> _Problem:
    if isinstance(exc.__context__, TimeoutError):  # smtplib reports a silent server as a disconnection
        return _network_problem(exc.__context__, host, port, timeout, security)
    return _Problem(
        "protocol",
        _("%(host)s on port %(port)s did not answer like an SMTP server. Check the port and the security setting.")
        % {"host": host, "port": port},
        str(exc),
    )


def _smtp_session(client, host, port, security, username, password, ssl_context) -> str:
    try:
        client.ehlo()
        if security == "starttls":
            if not client.has_extn("starttls"):
                raise _Problem(
                    "tls",
                    _(
                        "%(host)s does not offer STARTTLS on port %(port)s. Choose SSL/TLS (usually port 465) "
                        "or the port your provider gives for STARTTLS (usually 587)."
                    )
                    % {"host": host, "port": port},
                )
            client.starttls(context=_context(ssl_context))
            client.ehlo()
        if not username:
            return str(_("Connected to %(host)s; no user name given, so no login was tried.") % {"host": host})
        if not client.has_extn("auth"):
            hint = (
                _("Choose STARTTLS or SSL/TLS: servers usually allow a login only on an encrypted connection.")
                if security == "none"
                else _("Check the port: it may be meant for servers, not for people sending mail.")
            )
            raise _Problem("auth", _("%(host)s does not offer a login here.") % {"host": host} + " " + hint)
        smtp_login(client, username, password)
    except smtplib.SMTPAuthenticationError as exc:
        raise _Problem(
            "auth",
            _(
                "The server refused the user name or password (%(reply)s). Check them; some providers need an "
                "app password instead of the account's password."
            )
            % {"reply": _smtp_reply(exc)},
            str(exc),
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise _Problem("auth", _("The server offers no login method this application knows."), str(exc)) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise _not_smtp(host, port, exc, client.timeout, security) from exc
    except smtplib.SMTPResponseException as exc:
        raise _Problem(
            "protocol",
            _("%(host)s answered with an error: %(reply)s") % {"host": host, "reply": _smtp_reply(exc)},
            str(exc),
        ) from exc
    except smtplib.SMTPException as exc:
        raise _Problem("protocol", _("The SMTP conversation failed: %(reason)s") % {"reason": exc}, str(exc)) from exc
    return str(_("Connected to %(host)s and logged in as %(user)s.") % {"host": host, "user": username})


# --- IMAP ----------------------------------------------------------------------------------------------


def check_imap(
    *,
    host: str,
    port: int,
    security: str,
    username: str = "",
    password: str = "",
    folder: str = "",
    timeout: float = 10,
    ssl_context: ssl.SSLContext | None = None,
) -> CheckResult:
    """Connect, switch to TLS as configured, log in, and (when given) open `folder` read-only."""

    def body() -> str:
        try:
            client = imap_client(
                host, port, implicit_tls=security == "ssl", timeout=timeout, context=_context(ssl_context)
            )
        except imaplib.IMAP4.error as exc:  # the greeting was not IMAP (or it said BYE)
            raise _Problem(
                "protocol",
                _("%(host)s on port %(port)s did not answer like an IMAP server. Check the port and the security.")
                % {"host": host, "port": port},
                str(exc),
            ) from exc
        try:
            return _imap_session(client, host, port, security, username, password, folder, ssl_context)
        finally:
            try:
                client.logout()
            except (imaplib.IMAP4.error, OSError, EOFError):  # already broken: the check's own error says why
                with contextlib.suppress(OSError):
                    client.shutdown()

    return _run("imap", host, port, timeout, security, body)


def _imap_session(client, host, port, security, username, password, folder, ssl_context) -> str:
    try:
        if security == "starttls":
            if "STARTTLS" not in client.capabilities:
                raise _Problem(
                    "tls",
                    _("%(host)s does not offer STARTTLS on port %(port)s. Choose SSL/TLS (usually port 993).")
                    % {"host": host, "port": port},
                )
            client.starttls(ssl_context=_context(ssl_context))
        if not username:
            return str(_("Connected to %(host)s; no user name given, so no login was tried.") % {"host": host})
        try:
            client.login(username, password)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            if "LOGINDISABLED" in client.capabilities:
                hint = _("The server allows no login on an unencrypted connection: choose STARTTLS or SSL/TLS.")
            else:
                hint = _("Check them; some providers need an app password instead of the account's password.")
            raise _Problem(
                "auth", _("The server refused the user name or password (%(reply)s).") % {"reply": exc} + " " + hint
            ) from exc
        if folder and folder.isascii():  # other names need modified UTF-7; the reader checks those
            status, data = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                reply = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
                raise _Problem(
                    "other",
                    _("Logged in, but the folder “%(folder)s” could not be opened (%(reply)s). Check its name.")
                    % {"folder": folder, "reply": reply},
                )
    except imaplib.IMAP4.abort as exc:
        raise _Problem(
            "protocol",
            _("%(host)s broke off the IMAP conversation (%(reason)s).") % {"host": host, "reason": exc},
            str(exc),
        ) from exc
    except imaplib.IMAP4.error as exc:
        raise _Problem("protocol", _("The IMAP conversation failed: %(reason)s") % {"reason": exc}, str(exc)) from exc
    return str(_("Connected to %(host)s and logged in as %(user)s.") % {"host": host, "user": username})


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string (imaplib sends it as given)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
