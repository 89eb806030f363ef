"""`insidesales rotate_credentials`: re-encrypt every organization's telephony credentials and every
mailbox's passwords with the first key of CREDENTIALS_KEY (after adding a new key in front of the old ones)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Re-encrypt stored telephony credentials and mailbox passwords with the first key of CREDENTIALS_KEY."

    def handle(self, *args, **options):
        from insidesales.calls.models import TelephonySettings
        from insidesales.calls.secrets import reencrypt_credentials
        from insidesales.mail.models import Mailbox

        count = 0
        with transaction.atomic():
            for settings in TelephonySettings.objects.select_for_update().exclude(credentials_encrypted=""):
                settings.credentials_encrypted = reencrypt_credentials(settings.credentials_encrypted)
                settings.save(update_fields=["credentials_encrypted", "updated_at"])
                count += 1
            mailboxes = 0
            for mailbox in Mailbox.objects.select_for_update().exclude(credentials=""):
                mailbox.credentials = reencrypt_credentials(mailbox.credentials)
                mailbox.save(update_fields=["credentials", "updated_at"])
                mailboxes += 1
        self.stdout.write(f"{count} organization(s) and {mailboxes} mailbox(es) re-encrypted")
