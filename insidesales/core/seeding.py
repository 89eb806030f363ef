"""Bulk generation of realistic records for benchmarks (`insidesales seed`).

Rows are written in chunks, each chunk one transaction, through `BulkWriter` (COPY on PostgreSQL).
Search keys and phone numbers are computed exactly as the services compute them, so search
benchmarks measure what real data would cost. The seeder numbers rows itself, so run it while
nothing else writes to the same organization's tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from insidesales.core import demo_data as data
from insidesales.core.bulk_insert import BulkWriter, bulk_load, next_id, reset_sequences
from insidesales.core.seed_people import SeedPeople
from insidesales.core.synthetic import Synthetic
from insidesales.core.text import search_key
from insidesales.crm.models import (
    Activity,
    Company,
    Contact,
    Deal,
    DisqualifyReason,
    Lead,
    LeadSource,
    Pipeline,
    Stage,
    StageKind,
    Tag,
)

STATUS_WEIGHTS = (("new", 20), ("working", 40), ("qualified", 12), ("disqualified", 20), ("converted", 8))
SOURCES = [s for s, w in zip(LeadSource.values, (40, 25, 10, 10, 8, 5, 2), strict=True) for _ in range(w)]
STATUSES = [s for s, w in STATUS_WEIGHTS for _ in range(w)]
REASONS = list(DisqualifyReason.values)
DAY = 86400.0
CLOSING_STATUS = frozenset({"working", "qualified", "disqualified", "converted"})

LEAD_FIELDS = (
    "id organization owner team agency last_activity_at custom created_at updated_at first_name last_name title"
    " company_name email phone phone_raw country time_zone source status disqualify_reason converted_at"
    " converted_company name_key name_rev_key company_key"
).split()
ACTIVITY_FIELDS = "organization kind actor occurred_at subject body data lead".split()
COMPANY_FIELDS = (
    "id organization owner team agency last_activity_at custom created_at updated_at name domain industry"
    " employees phone phone_raw country city name_key"
).split()
CONTACT_FIELDS = (
    "organization owner team agency last_activity_at custom created_at updated_at first_name last_name title"
    " company email phone phone_raw country time_zone name_key name_rev_key"
).split()
DEAL_FIELDS = (
    "organization owner team agency last_activity_at custom created_at updated_at name company pipeline stage"
    " amount currency expected_close closed_at lost_reason name_key"
).split()


def _same(value: dt.datetime) -> dt.datetime:
    return value


class Seeder:
    """Generates companies, contacts, deals, leads and their activities for one organization."""

    def __init__(self, people: SeedPeople, *, seed: int = 1, chunk: int = 10_000, out: Callable[[str], None]):
        self.people = people
        self.org_id = people.organization.pk
        self.synthetic = Synthetic(seed, people.organization.default_region)
        self.rng = self.synthetic.rng
        self.chunk = chunk
        self.out = out
        self.vendor = connection.vendor
        # Work in naive UTC on SQLite so a timestamp's text form is just str() (what Django stores there).
        self.now = timezone.now().replace(tzinfo=None) if self.vendor == "sqlite" else timezone.now()
        self.stamp = str if self.vendor == "sqlite" else _same
        self.rows = 0
        self.timings = {"write": 0.0, "indexes": 0.0, "analyze": 0.0}
        self.started = time.monotonic()
        self.companies: dict[str, list[tuple[int, str, str, str]]] = {}  # market → (id, name, domain, key)
        self.call_payloads = [
            json.dumps({"direction": "outbound", "duration": self._call_duration(outcome), "outcome": outcome})
            for outcome in data.CALL_OUTCOMES * 40
        ]
        self.tag_ids = list(Tag.objects.filter(organization_id=self.org_id).values_list("id", flat=True))

    # --- helpers ----------------------------------------------------------------------------------
    def report(self, what: str, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.out(
            f"{what} {done:,}/{total:,} — {self.rows:,} rows in {elapsed:.1f} s ({self.rows / elapsed:,.0f} rows/s)"
        )

    def save(self, *batches: tuple[BulkWriter, list[tuple]]) -> None:
        """Write one chunk in one transaction."""
        started = time.monotonic()
        with transaction.atomic():
            for writer, rows in batches:
                self.rows += writer.write(rows)
        self.timings["write"] += time.monotonic() - started

    def owner(self, market: str) -> tuple[int | None, int | None, int | None]:
        """(owner, team, agency): mostly a rep of the market, some in the agency, some unassigned."""
        roll = self.rng.random()
        if roll < 0.06:
            return None, None, None
        if roll < 0.14 and self.people.agency_id:
            rep = self.rng.choice(self.people.agency_rep_ids) if self.rng.random() < 0.7 else None
            return rep, None, self.people.agency_id
        user_id, team_id = self.rng.choice(self.people.owners[market])
        return user_id, team_id, None

    def _call_duration(self, outcome: str) -> int:
        return self.rng.randint(30, 900) if outcome == "connected" else self.rng.randint(0, 40)

    def pick_company(self, market: str) -> tuple[int, str, str, str]:
        return self.rng.choice(self.companies.get(market) or next(iter(self.companies.values())))

    def moment(self, max_days: float = 365.0) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.rng.random() * max_days * DAY)

    def _prepare_session(self) -> None:
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Index rebuilds sort in memory instead of spilling to disk.
                cursor.execute("SET maintenance_work_mem = '512MB'")
        elif self.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA threads = 2")  # index builds may sort in a helper thread
                # A big page cache keeps the lead indexes in memory while a million rows go in.
                cursor.execute("PRAGMA cache_size=-1000000")
                if not connection.in_atomic_block:  # SQLite refuses to change this inside a transaction
                    # Losing the last chunks on a power cut is fine for generated data; waiting for fsync is not.
                    cursor.execute("PRAGMA synchronous=OFF")

    # --- the run ----------------------------------------------------------------------------------
    def run(
        self,
        *,
        leads: int,
        companies: int,
        contacts: int,
        deals: int,
        activities_per_lead: int,
        fast_load: bool | None = None,
    ) -> dict:
        self._prepare_session()
        if fast_load is None:
            # Rebuilding indexes and checks pays off once the load is large next to what the tables hold.
            fast_load = leads >= 50_000 and leads >= next_id(Lead)
        models_ = (Company, Contact, Deal, Lead, Lead.tags.through, Activity)
        with bulk_load(*models_) if fast_load else contextlib.nullcontext():
            self.seed_companies(companies)
            self.seed_contacts(contacts)
            self.seed_deals(deals)
            activities = self.seed_leads(leads, activities_per_lead)
            if fast_load:
                self.out("rebuilding indexes, checking foreign keys…")
            started = time.monotonic()
        self.timings["indexes"] = time.monotonic() - started
        reset_sequences(Company, Contact, Deal, Lead, Activity)
        started = time.monotonic()
        self.analyze(models_)
        self.timings["analyze"] = time.monotonic() - started
        elapsed = time.monotonic() - self.started
        return {
            "leads": leads,
            "companies": companies,
            "contacts": contacts,
            "deals": deals,
            "activities": activities,
            "rows": self.rows,
            "seconds": round(elapsed, 1),
            "rows_per_second": round(self.rows / max(elapsed, 1e-6)),
            "write_seconds": round(self.timings["write"], 1),
            "index_seconds": round(self.timings["indexes"], 1),
            "analyze_seconds": round(self.timings["analyze"], 1),
        }

    def analyze(self, models_) -> None:
        """Fresh planner statistics, so the first benchmark queries get the plans real data would. On
        PostgreSQL also the visibility map autovacuum would build in the following minutes (index-only
        scans need it), so the benchmark does not start in the state of a half-finished load."""
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # VACUUM cannot run inside a transaction (a caller's atomic block, a test): ANALYZE there.
                command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
                for model in models_:
                    cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
            elif self.vendor == "sqlite":
                # A sampled ANALYZE: statistics as good for planning, without reading every index in full.
                cursor.execute("PRAGMA analysis_limit=2000")
                cursor.execute("ANALYZE")

    def seed_companies(self, total: int) -> None:
        writer = BulkWriter(Company, COMPANY_FIELDS)
        stamp = self.stamp
        next_pk = next_id(Company)
        for start in range(0, total, self.chunk):
            rows = []
            for _ in range(min(self.chunk, total - start)):
                company = self.synthetic.company()
                owner, team, agency = self.owner(company.country)
                created = self.moment()
                last = created + (self.now - created) * self.rng.random()
                rows.append(
                    (next_pk, self.org_id, owner, team, agency, stamp(last), "{}", stamp(created), stamp(last),
                     company.name, company.domain, company.industry, company.employees, company.phone.e164,
                     company.phone.raw, company.country, company.city, company.name_key)
                )  # fmt: skip
                self.companies.setdefault(company.country, []).append(
                    (next_pk, company.name, company.domain, company.name_key)
                )
                next_pk += 1
            self.save((writer, rows))
            self.report("companies", start + len(rows), total)

    def seed_contacts(self, total: int) -> None:
        if not total or not self.companies:
            return
        writer = BulkWriter(Contact, CONTACT_FIELDS)
        stamp = self.stamp
        for start in range(0, total, self.chunk):
            rows = []
            for _ in range(min(self.chunk, total - start)):
                market = self.synthetic.market()
                company_id, _, domain, _ = self.pick_company(market)
                person = self.synthetic.person(market, domain=domain)
                owner, team, agency = self.owner(market)
                created = self.moment()
                last = created + (self.now - created) * self.rng.random()
                rows.append(
                    (self.org_id, owner, team, agency, stamp(last), "{}", stamp(created), stamp(last),
                     person.first_name, person.last_name, person.title, company_id, person.email, person.phone.e164,
                     person.phone.raw, person.country, person.phone.time_zone, person.name_key, person.name_rev_key)
                )  # fmt: skip
            self.save((writer, rows))
            self.report("contacts", start + len(rows), total)

    def seed_deals(self, total: int) -> None:
        pipeline = Pipeline.objects.filter(organization_id=self.org_id).order_by("-is_default", "id").first()
        if not total or pipeline is None or not self.companies:
            return
        stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
        writer = BulkWriter(Deal, DEAL_FIELDS)
        stamp = self.stamp
        amount_field = Deal._meta.get_field("amount")
        currency = self.people.organization.default_currency
        for start in range(0, total, self.chunk):
            rows = []
            for _ in range(min(self.chunk, total - start)):
                market = self.synthetic.market()
                company_id, company_name, _, _ = self.pick_company(market)
                stage = self.rng.choice(stages)
                owner, team, agency = self.owner(market)
                created = self.moment()
                last = created + (self.now - created) * self.rng.random()
                closed = stamp(last) if stage.kind != StageKind.OPEN else None
                name = f"{company_name} — {self.rng.choice(('annual plan', 'pilot', 'expansion', 'renewal'))}"
                amount = writer.prepare(amount_field, Decimal(self.rng.randrange(1_000, 250_000, 50)))
                rows.append(
                    (self.org_id, owner, team, agency, stamp(last), "{}", stamp(created), stamp(last), name,
                     company_id, pipeline.pk, stage.pk, amount, currency,
                     (created + dt.timedelta(days=self.rng.randint(20, 120))).date(), closed,
                     "No budget this year" if stage.kind == StageKind.LOST else "", search_key(name))
                )  # fmt: skip
            self.save((writer, rows))
            self.report("deals", start + len(rows), total)

    def seed_leads(self, total: int, per_lead: int) -> int:
        leads_out = BulkWriter(Lead, LEAD_FIELDS)
        activities_out = BulkWriter(Activity, ACTIVITY_FIELDS)
        tags_out = BulkWriter(Lead.tags.through, ["lead", "tag"])
        stamp = self.stamp
        rng, synthetic, org_id, now = self.rng, self.synthetic, self.org_id, self.now
        pick = synthetic.pick
        next_pk = next_id(Lead)
        activity_count = 0
        budget_values = [json.dumps({"budget": b}) for b in (5_000, 10_000, 25_000, 50_000, 100_000, 250_000)]
        created_data = {s: json.dumps({"source": s}) for s in LeadSource.values}
        for start in range(0, total, self.chunk):
            lead_rows, activity_rows, tag_rows = [], [], []
            for _ in range(min(self.chunk, total - start)):
                market = synthetic.market()
                companies = self.companies.get(market)
                if companies and rng.random() < 0.75:
                    company_id, company_name, domain, company_key = pick(companies)
                else:
                    company_id, company_name, domain, company_key = None, "", "", ""
                person = synthetic.person(market, domain=domain)
                owner, team, agency = self.owner(market)
                status, source = pick(STATUSES), pick(SOURCES)
                created = now - dt.timedelta(seconds=rng.random() * 365 * DAY)
                # About `per_lead` entries; a lead whose only entry is "created" was last touched then.
                count = 1 + synthetic.below(2 * per_lead - 1) if per_lead else 0
                last = created + (now - created) * rng.random() ** 0.5 if count != 1 else created
                converted = status == "converted"
                lead_rows.append(
                    (next_pk, org_id, owner, team, agency, stamp(last),
                     pick(budget_values) if rng.random() < 0.3 else "{}", stamp(created), stamp(last),
                     person.first_name, person.last_name, person.title, company_name, person.email, person.phone.e164,
                     person.phone.raw, person.country, person.phone.time_zone, source, status,
                     pick(REASONS) if status == "disqualified" else "", stamp(last) if converted else None,
                     company_id if converted else None, person.name_key, person.name_rev_key, company_key)
                )  # fmt: skip
                activity_rows += self._lead_history(
                    next_pk, owner, created, last, status, person.language, person.email, created_data[source], count
                )
                if self.tag_ids and rng.random() < 0.15:
                    tag_rows.append((next_pk, pick(self.tag_ids)))
                next_pk += 1
            self.save((leads_out, lead_rows), (activities_out, activity_rows), (tags_out, tag_rows))
            activity_count += len(activity_rows)
            self.report("leads", start + len(lead_rows), total)
        return activity_count

    def _lead_history(self, lead_id, actor, created, last, status, language, email, created_data, count) -> list[tuple]:
        """`count` activities: created, calls/emails/notes, and a last one (the status change) at `last`."""
        rng, stamp, org_id, pick = self.rng, self.stamp, self.org_id, self.synthetic.pick
        if not count:
            return []
        rows = [(org_id, "created", actor, stamp(created), "Lead created", "", created_data, lead_id)]
        if count == 1:
            return rows
        span = (last - created).total_seconds()
        moments = sorted(rng.random() for _ in range(count - 2))
        for when in [stamp(created + dt.timedelta(seconds=span * f)) for f in moments] + [None]:
            if when is None:  # the last entry: it is what last_activity_at points at
                when = stamp(last)
                if status in CLOSING_STATUS:
                    previous = "new" if status == "working" else "working"
                    kind = "conversion" if status == "converted" else "status_change"
                    subject = "Lead converted" if status == "converted" else f"{previous} → {status}"
                    payload = json.dumps({"from": previous, "to": status, "reason": ""})
                    rows.append((org_id, kind, actor, when, subject, "", payload, lead_id))
                    continue
            roll = rng.random()
            if roll < 0.55:
                rows.append((org_id, "call", actor, when, "Outbound call", "", pick(self.call_payloads), lead_id))
            elif roll < 0.85:
                # Emails here are plain ASCII without quotes, so no JSON escaping is needed.
                payload = f'{{"direction": "outbound", "to": "{email}"}}'
                subject = pick(data.EMAIL_SUBJECTS[language])
                rows.append((org_id, "email", actor, when, subject, "", payload, lead_id))
            else:
                rows.append((org_id, "note", actor, when, "", pick(data.NOTES[language]), "{}", lead_id))
        return rows
