"""`insidesales mailer`: the mailer worker (sequence steps, sending, reading replies and bounces)."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the mailer worker: runs sequence steps, sends queued emails, reads replies and bounces."

    def handle(self, *args, **options):
        from insidesales.mail.worker import run_forever

        logging.basicConfig(level=logging.INFO, format="%(asctime)s mailer %(levelname)s %(message)s")
        self.stdout.write("mailer started")
        run_forever()
        self.stdout.write("mailer stopped")
