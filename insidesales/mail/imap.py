"""Reading a mailbox's new mail over IMAP (replies, out-of-office answers, bounces) and handing each message to
`message_ingest`.

Polling, not IDLE: the mailer worker calls `mailbox_poll` for each active mailbox every few seconds (one short
session: LOGIN, EXAMINE, UID FETCH of what is new, LOGOUT), which works with every server and survives restarts
without a long-lived connection per mailbox. Messages are fetched with BODY.PEEK (and the folder opened
read-only), so nothing is marked read for the person who also reads this mailbox. Progress is the last UID
ingested (`imap_last_uid`) under the folder's UIDVALIDITY; when the server changes UIDVALIDITY the UIDs mean
something else, so reading starts again from the beginning (ingestion skips what is already stored).
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
import time

from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.mail.models import Mailbox, Security

logger = logging.getLogger(__name__)
TIMEOUT_S = 30
FETCH_CHUNK = 50
UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
FETCH_UID = re.compile(rb"UID (\d+)")
FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
# A message larger than this is not read (and said so); a poll stops taking new chunks after this long.
MAX_MESSAGE_BYTES = 50 * 1024 * 1024
POLL_DEADLINE_S = 120


class ImapError(Exception):
    """A readable reason the mailbox could not be read (stored in `Mailbox.last_error`)."""


def imap_connect(mailbox: Mailbox, *, timeout: float = TIMEOUT_S) -> imaplib.IMAP4:
    """An IMAP session logged in to `mailbox`, over SSL/TLS, STARTTLS or (local servers only) plain text."""
    from insidesales.calls.secrets import decrypt_credentials
    from insidesales.mail.hosts import imap_client

    password = decrypt_credentials(mailbox.credentials).get("imap_password", "")
    context = ssl.create_default_context()
    implicit_tls = mailbox.imap_security == Security.SSL
    client = imap_client(
        mailbox.imap_host, mailbox.imap_port, implicit_tls=implicit_tls, timeout=timeout, context=context
    )
    if not implicit_tls:
        if mailbox.imap_security == Security.STARTTLS:
            client.starttls(ssl_context=context)
    client.login(mailbox.imap_username or mailbox.email, password)
    return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(status: str, data: list, what: str) -> list:
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{what}: {detail}".strip())
    return data


def _uidvalidity(client: imaplib.IMAP4) -> int | None:
    for item in client.untagged_responses.get("UIDVALIDITY", []) or []:
        try:
            return int(item)
        except (TypeError, ValueError):
            continue
    return None


def _sizes(client: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    data = _check(*client.uid("FETCH", ",".join(str(u) for u in uids), "(UID RFC822.SIZE)"), "UID FETCH SIZE")
    sizes = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes):
            uid, size = FETCH_UID.search(line), FETCH_SIZE.search(line)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _fetch(client: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    """(uid, raw message) for `uids`, in order."""
    wanted = ",".join(str(u) for u in uids)
    data = _check(*client.uid("FETCH", wanted, "(UID BODY.PEEK[])"), "UID FETCH")
    out = []
    for item in data:
        if isinstance(item, tuple) and len(item) >= 2:
            found = FETCH_UID.search(item[0])
            if found:
                out.append((int(found.group(1)), item[1]))
    return sorted(out)


def _new_uids(client: imaplib.IMAP4, after: int) -> list[int]:
    # "N:*" always includes the highest UID, even when it is below N: filter what the server answers.
    data = _check(*client.uid("SEARCH", None, f"UID {after + 1}:*"), "UID SEARCH")
    uids = [int(u) for chunk in data if chunk for u in chunk.split()]
    return sorted(u for u in uids if u > after)


def mailbox_poll(mailbox: Mailbox) -> int:
    """Fetch and ingest what arrived since the last poll. Returns how many messages were stored new.

    Never raises for a server or network problem: the reason goes to `mailbox.last_error` (cleared by the
    next successful poll), and what was ingested before the problem stays ingested."""
    from insidesales.mail.services.ingest import message_ingest

    stored = 0
    error = ""
    client: imaplib.IMAP4 | None = None
    try:
        if not mailbox.imap_host:
            raise ImapError(_("No IMAP server is set for this mailbox."))
        client = imap_connect(mailbox)
        _check(*client.select(_quote(mailbox.imap_folder or "INBOX"), readonly=True), "SELECT")
        validity = _uidvalidity(client)
        if validity is not None and validity != mailbox.imap_uidvalidity:
            # A new UIDVALIDITY: old UIDs mean nothing now, read the folder again from the start.
            if mailbox.imap_uidvalidity is not None:
                logger.info("mailbox %s: UIDVALIDITY %s -> %s", mailbox.pk, mailbox.imap_uidvalidity, validity)
            mailbox.imap_uidvalidity = validity
            mailbox.imap_last_uid = 0
            Mailbox.objects.filter(pk=mailbox.pk).update(imap_uidvalidity=validity, imap_last_uid=0)
        uids = _new_uids(client, mailbox.imap_last_uid)
        organization = mailbox.organization
        deadline = time.monotonic() + POLL_DEADLINE_S
        for start in range(0, len(uids), FETCH_CHUNK):
            if time.monotonic() > deadline:  # a slow server: the rest waits for the next poll
                break
            chunk = uids[start : start + FETCH_CHUNK]
            sizes = _sizes(client, chunk)
            too_big = [uid for uid in chunk if sizes.get(uid, 0) > MAX_MESSAGE_BYTES]
            if too_big:
                logger.warning("mailbox %s: skipped messages over %s bytes: %s", mailbox.pk, MAX_MESSAGE_BYTES, too_big)
                error = _("Some messages were larger than %(size)s MB and were not read.") % {
                    "size": MAX_MESSAGE_BYTES // (1024 * 1024)
                }
            wanted = [uid for uid in chunk if uid not in too_big]
            fetched = _fetch(client, wanted) if wanted else []
            for uid, raw in fetched:
                message = message_ingest(
                    organization=organization, raw=raw, mailbox=mailbox, uidvalidity=validity, uid=uid
                )
                if message is not None and getattr(message, "was_created", False):
                    stored += 1
                mailbox.imap_last_uid = max(mailbox.imap_last_uid, uid)
                Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_uid=mailbox.imap_last_uid)
            if too_big:
                mailbox.imap_last_uid = max(mailbox.imap_last_uid, *too_big)
                Mailbox.objects.filter(pk=mailbox.pk).update(imap_last_uid=mailbox.imap_last_uid)
    except imaplib.IMAP4.error as exc:
        error = _("The IMAP server answered: %(reason)s") % {"reason": _text(exc)}
    except ssl.SSLError as exc:
        error = _("TLS failed: %(reason)s") % {"reason": _text(exc)}
    except socket.gaierror:
        error = _("The IMAP server name %(host)s could not be found.") % {"host": mailbox.imap_host}
    except TimeoutError:
        error = _("The IMAP server did not answer in time.")
    except ConnectionRefusedError:
        error = _("The IMAP server refused the connection (%(host)s:%(port)s).") % {
            "host": mailbox.imap_host,
            "port": mailbox.imap_port,
        }
    except (OSError, ImapError) as exc:
        error = _text(exc) or exc.__class__.__name__
    except Exception as exc:  # noqa: BLE001 - e.g. unreadable credentials: recorded, the worker goes on
        logger.exception("mailbox %s could not be polled", mailbox.pk)
        error = _("Reading the mailbox failed: %(reason)s") % {"reason": _text(exc) or exc.__class__.__name__}
    finally:
        if client is not None:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the session is over either way
                pass
    mailbox.last_polled_at = timezone.now()
    mailbox.last_error = error[:500]
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=mailbox.last_polled_at, last_error=mailbox.last_error)
    return stored


def _text(exc: BaseException) -> str:
    parts = []
    for arg in exc.args:
        parts.append(arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg))
    return " ".join(" ".join(parts).split())


def mailboxes_poll() -> int:
    """Poll every active mailbox that has an IMAP server (for the worker loop). Returns messages stored."""
    total = 0
    for mailbox in Mailbox.objects.filter(is_active=True).exclude(imap_host="").select_related("organization"):
        total += mailbox_poll(mailbox)
    return total
