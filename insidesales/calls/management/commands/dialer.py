"""`insidesales dialer`: the dialer worker (places calls, applies provider events, paces campaigns)."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the dialer worker: places calls through the telephony provider and paces call campaigns."

    def handle(self, *args, **options):
        from insidesales.calls.dialer import run_forever

        logging.basicConfig(level=logging.INFO, format="%(asctime)s dialer %(levelname)s %(message)s")
        self.stdout.write("dialer started")
        run_forever()
        self.stdout.write("dialer stopped")
