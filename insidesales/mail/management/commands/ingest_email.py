"""`insidesales ingest-email`: store one RFC 5322 message read from standard input, for mail servers that pipe
mail to a program (Postfix `pipe`, Exim `pipe` transport, a `.forward` / `|command` alias).

The mailbox is found by the ENVELOPE recipient the mail server passes (`--recipient ${recipient}` in
Postfix), or given with `--mailbox` / `--organization`; never by the message's own headers (To, Cc,
Delivered-To), which the sender writes: routing by them would let anyone steer mail into another
organization. An address that is an active mailbox in two organizations is refused.

Exit codes are the sysexits an MTA understands: 0 stored (or already stored), 65 EX_DATAERR the input is
not a message, 67 EX_NOUSER no organization for the recipient, 75 EX_TEMPFAIL the database is unavailable
(the MTA keeps the message and tries again later).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, IntegrityError
from django.db.models.functions import Lower

from insidesales.mail.models import Mailbox
from insidesales.mail.parsing import parse
from insidesales.mail.services.ingest import message_ingest
from insidesales.orgs.models import Organization

EX_OK, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 0, 65, 67, 75
MAX_BYTES = 64 * 1024 * 1024


class Command(BaseCommand):
    help = "Read one email (RFC 5322) on standard input and store it like a message fetched over IMAP."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organization", metavar="SLUG", help="the organization (default: by the recipient)")
        parser.add_argument("--mailbox", metavar="ID", type=int, help="the mailbox it was delivered to")
        parser.add_argument(
            "--recipient",
            metavar="ADDRESS",
            action="append",
            default=[],
            help="the envelope recipient, as the mail server gives it (may be repeated)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stream = options.get("stdin") or sys.stdin.buffer
        raw = stream.read(MAX_BYTES + 1)
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > MAX_BYTES:
            raise CommandError(f"message larger than {MAX_BYTES} bytes", returncode=EX_DATAERR)
        parsed = parse(raw)
        if not raw.strip() or not (parsed.from_address or parsed.subject or parsed.to or parsed.envelope_to):
            raise CommandError("standard input is not an email message (no From, To or Subject)", returncode=EX_DATAERR)
        try:
            recipients = [r.strip().lower() for r in options.get("recipient") or [] if r.strip()]
            organization, mailbox = self._destination(options, recipients)
            message = message_ingest(organization=organization, raw=raw, mailbox=mailbox)
        except IntegrityError as exc:  # only a bug would get here; the MTA should not keep retrying
            raise CommandError(f"could not store the message: {exc}", returncode=EX_DATAERR) from exc
        except DatabaseError as exc:
            raise CommandError(f"database unavailable, try again later: {exc}", returncode=EX_TEMPFAIL) from exc
        if options["verbosity"] >= 2:
            if message is None:
                self.stdout.write("our own message: not stored")
            else:
                state = "stored" if getattr(message, "was_created", False) else "already stored"
                self.stdout.write(f"{state}: email {message.pk} ({message.kind})")

    def _destination(self, options: dict, recipients: list[str]) -> tuple[Organization, Mailbox | None]:
        if options.get("mailbox"):
            mailbox = Mailbox.objects.select_related("organization").filter(pk=options["mailbox"]).first()
            if mailbox is None:
                raise CommandError(f"no mailbox {options['mailbox']}", returncode=EX_NOUSER)
            if options.get("organization") and mailbox.organization.slug != options["organization"]:
                raise CommandError("the mailbox belongs to another organization", returncode=EX_NOUSER)
            return mailbox.organization, mailbox
        mailboxes = (
            Mailbox.objects.select_related("organization").annotate(address=Lower("email")).filter(is_active=True)
        )
        if options.get("organization"):
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"no organization {options['organization']!r}", returncode=EX_NOUSER)
            return organization, _first_for(mailboxes.filter(organization=organization), recipients)
        if not recipients:
            raise CommandError(
                "no mailbox for the recipients (none given: pass the envelope recipient with --recipient,"
                " or --organization / --mailbox)",
                returncode=EX_NOUSER,
            )
        for recipient in recipients:
            matches = list(mailboxes.filter(address=recipient).order_by("id")[:20])
            if len({m.organization_id for m in matches}) > 1:
                raise CommandError(
                    f"{recipient} is a mailbox in several organizations: deliver with --mailbox", returncode=EX_NOUSER
                )
            if matches:
                return matches[0].organization, matches[0]
        shown = ", ".join(recipients[:5])
        raise CommandError(f"no mailbox for the recipients ({shown})", returncode=EX_NOUSER)


def _first_for(mailboxes: Any, recipients: list[str]) -> Mailbox | None:
    """The (active) mailbox of the first envelope recipient that has one, oldest first."""
    for recipient in recipients[:100]:
        found = mailboxes.filter(address=recipient).order_by("id").first()
        if found is not None:
            return found
    return None
