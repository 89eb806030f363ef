"""Mailboxes: each user connects their own (SMTP to send, IMAP to read replies and bounces).

Passwords are stored encrypted (`insidesales.calls.secrets`, the same keys as the telephony secrets) and
never shown again: on an update an empty password keeps the stored one. Only the mailbox's user changes
it; `mailbox_credentials` is for the code that sends and reads mail.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from insidesales.calls.secrets import decrypt_credentials, encrypt_credentials
from insidesales.core.errors import ValidationError
from insidesales.mail.compose import clean_address, clean_display_name
from insidesales.mail.connection_check import CheckResult, check_imap, check_smtp
from insidesales.mail.hosts import HostNotAllowed, ensure_host_allowed
from insidesales.mail.models import Mailbox, Security
from insidesales.mail.selectors.mailboxes import mailbox_get
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record

SETTINGS = (
    "email",
    "display_name",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_folder",
    "is_active",
)
SECRETS = ("smtp_password", "imap_password")
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _host(value: Any, *, required: bool) -> str:
    host = str(value or "").strip().rstrip(".").lower()
    if not host:
        if required:
            raise ValueError(_("Enter the server name, e.g. smtp.example.com."))
        return ""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host.strip("[]")
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    if not ascii_host or len(ascii_host) > 253 or not all(_HOST_LABEL.fullmatch(p) for p in ascii_host.split(".")):
        raise ValueError(
            _("“%(host)s” is not a server name (like smtp.example.com) or an IP address.") % {"host": host}
        )
    return ascii_host


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError(_("A port is a number from 1 to 65535."))
    return port


def _security(value: Any) -> str:
    if value not in Security.values:
        raise ValueError(_("Choose one of: none, STARTTLS, SSL/TLS."))
    return str(value)


def _plain_text(value: Any, max_length: int) -> str:
    text = str(value or "").strip()
    if _CONTROL.search(text):
        raise ValueError(_("Line breaks and control characters are not allowed here."))
    if len(text) > max_length:
        raise ValueError(_("At most %(count)d characters.") % {"count": max_length})
    return text


def _secret(value: Any) -> str:
    secret = str(value or "")
    if "\x00" in secret or "\r" in secret or "\n" in secret:
        raise ValueError(_("A password cannot contain line breaks."))
    if len(secret) > 500:
        raise ValueError(_("At most %(count)d characters.") % {"count": 500})
    return secret


def _email(value: Any) -> str:
    try:
        return clean_address(str(value or "").strip())
    except ValueError as exc:
        raise ValueError(_("Enter a valid email address, like name@example.com.")) from exc


CLEANERS = {
    "email": _email,
    "display_name": lambda v: clean_display_name(_plain_text(v, 150)),
    "smtp_host": lambda v: _host(v, required=True),
    "smtp_port": _port,
    "smtp_security": _security,
    "smtp_username": lambda v: _plain_text(v, 254),
    "imap_host": lambda v: _host(v, required=False),
    "imap_port": _port,
    "imap_security": _security,
    "imap_username": lambda v: _plain_text(v, 254),
    "imap_folder": lambda v: _plain_text(v, 200) or "INBOX",
    "is_active": bool,
    "smtp_password": _secret,
    "imap_password": _secret,
}


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """The known fields of `data`, checked; every problem at once as a ValidationError."""
    cleaned, errors = {}, {}
    for name, value in data.items():
        if name not in CLEANERS:
            continue
        try:
            cleaned[name] = CLEANERS[name](value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    for host_field, port_field, default_port in (("smtp_host", "smtp_port", 587), ("imap_host", "imap_port", 993)):
        if cleaned.get(host_field) and host_field not in errors:
            try:
                ensure_host_allowed(cleaned[host_field], cleaned.get(port_field) or default_port)
            except HostNotAllowed as exc:
                errors[host_field] = [str(exc)]
    if errors:
        raise ValidationError(_("Check the mailbox settings."), fields=errors)
    return cleaned


def _duplicate() -> ValidationError:
    return ValidationError(fields={"email": [_("You already have a mailbox for this address.")]})


def _store_secrets(mailbox: Mailbox, cleaned: Mapping[str, Any], clear: tuple[str, ...] = ()) -> list[str]:
    """Put new passwords (non-empty ones; `clear` removes) into the encrypted blob; returns what changed."""
    stored = decrypt_credentials(mailbox.credentials) if mailbox.credentials else {}
    changed = []
    for name in SECRETS:
        if name in clear and stored.get(name):
            stored.pop(name)
            changed.append(name)
        elif cleaned.get(name):
            if stored.get(name) != cleaned[name]:
                changed.append(name)
            stored[name] = cleaned[name]
    mailbox.credentials = encrypt_credentials({k: v for k, v in stored.items() if v})
    return changed


@transaction.atomic
def mailbox_create(*, actor: Membership, data: Mapping[str, Any]) -> Mailbox:
    """Connect a mailbox for the acting user. `data` holds the settings and the passwords."""
    cleaned = _clean({"smtp_host": "", "email": "", **data})  # both required: missing ones are reported
    mailbox = Mailbox(organization_id=actor.organization_id, user_id=actor.user_id)
    for name in SETTINGS:
        if name in cleaned:
            setattr(mailbox, name, cleaned[name])
    changed = _store_secrets(mailbox, cleaned)
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError as exc:
        raise _duplicate() from exc
    audit_record(
        organization_id=actor.organization_id,
        actor=actor.user,
        action="mailbox.create",
        instance=mailbox,
        changes={**{name: getattr(mailbox, name) for name in SETTINGS}, **dict.fromkeys(changed, "set")},
    )
    return mailbox


@transaction.atomic
def mailbox_update(
    *, actor: Membership, mailbox_id: int, data: Mapping[str, Any], clear: tuple[str, ...] = ()
) -> Mailbox:
    """Change one of the acting user's mailboxes. Fields missing from `data` and empty passwords keep what is
    stored; `clear` names passwords to remove ("smtp_password", "imap_password")."""
    mailbox = mailbox_get(membership=actor, mailbox_id=mailbox_id, for_update=True)
    cleaned = _clean(data)
    before = {name: getattr(mailbox, name) for name in SETTINGS}
    for name in SETTINGS:
        if name in cleaned:
            setattr(mailbox, name, cleaned[name])
    clearing = {c for c in clear if c in SECRETS}
    # A stored password goes only to the server it was typed for: a new host without a new password
    # forgets it (else whoever changed the host — a stolen session — would receive it at the next login).
    for host, secret in (("smtp_host", "smtp_password"), ("imap_host", "imap_password")):
        if before[host] and getattr(mailbox, host) != before[host] and not cleaned.get(secret):
            clearing.add(secret)
    changed_secrets = _store_secrets(mailbox, cleaned, tuple(clearing))
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError as exc:
        raise _duplicate() from exc
    changes = {
        name: [before[name], getattr(mailbox, name)] for name in SETTINGS if before[name] != getattr(mailbox, name)
    }
    changes.update(dict.fromkeys(changed_secrets, "changed"))
    if changes:
        audit_record(
            organization_id=actor.organization_id,
            actor=actor.user,
            action="mailbox.update",
            instance=mailbox,
            changes=changes,
        )
    return mailbox


@transaction.atomic
def mailbox_delete(*, actor: Membership, mailbox_id: int) -> None:
    """Remove one of the acting user's mailboxes. Messages sent from it stay (their mailbox becomes empty)."""
    mailbox = mailbox_get(membership=actor, mailbox_id=mailbox_id, for_update=True)
    audit_record(organization_id=actor.organization_id, actor=actor.user, action="mailbox.delete", instance=mailbox)
    mailbox.delete()


def mailbox_credentials(mailbox: Mailbox) -> dict[str, str]:
    """{"smtp_password", "imap_password"} decrypted ("" when not set), for the sender and the reader.
    Raises `insidesales.calls.secrets.CredentialsUnreadable` when this server's key cannot read them."""
    stored = decrypt_credentials(mailbox.credentials) if mailbox.credentials else {}
    return {name: str(stored.get(name) or "") for name in SECRETS}


def mailbox_secrets_set(mailbox: Mailbox) -> dict[str, bool]:
    """Which passwords are stored (for "has_smtp_password" flags); never the passwords themselves."""
    try:
        stored = mailbox_credentials(mailbox)
    except Exception:  # unreadable with this key: something is stored, it just needs typing again
        return dict.fromkeys(SECRETS, bool(mailbox.credentials))
    return {name: bool(stored[name]) for name in SECRETS}


def mailbox_test(
    *, actor: Membership, mailbox_id: int, ssl_context: ssl.SSLContext | None = None, timeout: float = 10
) -> list[CheckResult]:
    """Run the connection checks of one of the acting user's mailboxes: SMTP, and IMAP when it has a server."""
    from insidesales.calls.secrets import CredentialsUnreadable

    mailbox = mailbox_get(membership=actor, mailbox_id=mailbox_id)
    try:
        secrets = mailbox_credentials(mailbox)
    except CredentialsUnreadable:
        message = _("The stored passwords cannot be decrypted with this server's key: enter them again.")
        return [CheckResult(False, "smtp", message, "auth")]
    results = [
        check_smtp(
            host=mailbox.smtp_host,
            port=mailbox.smtp_port,
            security=mailbox.smtp_security,
            username=mailbox.smtp_username,
            password=secrets["smtp_password"],
            timeout=timeout,
            ssl_context=ssl_context,
        )
    ]
    if mailbox.imap_host:
        results.append(
            check_imap(
                host=mailbox.imap_host,
                port=mailbox.imap_port,
                security=mailbox.imap_security,
                username=mailbox.imap_username or mailbox.email,
                password=secrets["imap_password"],
                folder=mailbox.imap_folder,
                timeout=timeout,
                ssl_context=ssl_context,
            )
        )
    return results
