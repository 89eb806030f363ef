"""`insidesales seed`: bulk-generate realistic records for benchmarks."""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError

from insidesales.core.seed_people import SEED_PASSWORD, seed_people
from insidesales.core.seeding import Seeder


class Command(BaseCommand):
    help = (
        "Bulk-generate realistic companies, contacts, deals, leads and activities for benchmarks. "
        f"Creates the organization and its users (password {SEED_PASSWORD}, benchmark data only) if missing. "
        "Run it while nothing else writes to the database: it numbers rows itself."
    )

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, required=True, help="how many leads to add")
        parser.add_argument("--companies", type=int, help="how many companies (default: a tenth of --leads)")
        parser.add_argument("--contacts", type=int, help="how many contacts (default: as many as companies)")
        parser.add_argument("--deals", type=int, help="how many deals (default: a quarter of the companies)")
        parser.add_argument("--activities-per-lead", type=int, default=3, help="average timeline entries per lead")
        parser.add_argument("--organization", default="bench", help="organization slug (created if missing)")
        parser.add_argument("--reps", type=int, default=50, help="inside reps to create with a new organization")
        parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same data")
        parser.add_argument(
            "--fast-load",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="load with secondary indexes and foreign-key checks off, rebuild them after (default: large loads)",
        )
        parser.add_argument("--chunk", type=int, default=10_000, help="rows per transaction")

    def handle(self, *args, leads, companies, contacts, deals, activities_per_lead, organization, **options):
        if leads < 0 or activities_per_lead < 0:
            raise CommandError("Counts must not be negative.")
        companies = leads // 10 if companies is None else companies
        contacts = companies if contacts is None else contacts
        deals = companies // 4 if deals is None else deals
        people = seed_people(slug=organization, reps=options["reps"], seed=options["seed"])
        seeder = Seeder(people, seed=options["seed"], chunk=max(100, options["chunk"]), out=self.stdout.write)
        summary = seeder.run(
            leads=leads,
            companies=companies,
            contacts=contacts,
            deals=deals,
            activities_per_lead=activities_per_lead,
            fast_load=options["fast_load"],
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {people.organization.name} ({people.organization.slug}): {summary['leads']:,} leads, "
                f"{summary['companies']:,} companies, {summary['contacts']:,} contacts, {summary['deals']:,} deals, "
                f"{summary['activities']:,} activities — {summary['rows']:,} rows in {summary['seconds']} s "
                f"({summary['rows_per_second']:,} rows/s; writing {summary['write_seconds']} s, "
                f"indexes {summary['index_seconds']} s, statistics {summary['analyze_seconds']} s)."
            )
        )
        if people.admin_email:
            self.stdout.write(f"Sign in as {people.admin_email} / {SEED_PASSWORD} (benchmark data only).")
