"""Import benchmark: a generated list of leads imported end to end, against the database's raw bulk rate.

    python -m bench.imports [--quick] [--rows N] [--database-url URL] [--data-dir DIR]

1. Generates a leads CSV (names in English and Russian, 80% at one of rows/200 companies with a work
   email, phones typed in mixed national and international formats, ~3% duplicates of earlier rows by
   email or phone, ~1% bad rows), kept in the data directory for the next run.
2. Raw limit: the same rows (cells as they are, no validation) inserted into an empty lead table with
   the database's fastest bulk path (COPY on PostgreSQL, one prepared executemany on SQLite) — the
   number the import is compared with. The rows are then deleted.
3. End to end: the file goes through `imports.services` exactly as an upload from the page does
   (store, detect, map, clean, match duplicates, write leads + their "imported" timeline entries, report
   rejected rows, commit in batches).
4. Duplicate scan over the imported leads (read, block, compare, store pairs), in its own process:
   seconds, leads, pairs compared and found, peak memory (MB, the process's maximum resident set).
5. Export of every imported lead to CSV (the list export's code), in its own process: rows/s, peak MB.
6. Duplicate detection quality on the Febrl data sets (`bench.febrl`): F1, precision, recall each.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench import febrl

BENCH_ORG = "bench-imports"
HEADERS = ["First name", "Last name", "Company", "Title", "Email", "Phone", "Country", "Notes"]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, help="rows in the generated file (overrides --quick)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL; database bench_imports is recreated")
    parser.add_argument("--data-dir", help="keep the generated file (and SQLite database) here")
    parser.add_argument("--febrl-dir", default=str(febrl.DEFAULT_DIR), help="where the Febrl data sets are")
    return parser.parse_args(argv)


def generate(path: Path, rows: int, seed: int = 11) -> dict:
    """The benchmark's list; returns what it holds (duplicates and bad rows planted)."""
    from insidesales.core.synthetic import Synthetic

    synthetic = Synthetic(seed, region="US")
    rng = random.Random(seed)
    companies = [synthetic.company() for _ in range(max(50, rows // 200))]
    planted = {"duplicates": 0, "bad": 0}
    earlier: list[tuple[str, str]] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for index in range(rows):
            roll = rng.random()
            company = companies[int(rng.random() * len(companies))] if rng.random() < 0.8 else None
            person = synthetic.person(company.country, domain=company.domain) if company else synthetic.person()
            local, _at, domain = person.email.partition("@")
            email = f"{local}{index}@{domain}"  # unique, so only planted duplicates are duplicates
            phone = person.phone.raw
            notes = ""
            if roll < 0.03 and earlier:  # a duplicate of an earlier row, by email or by phone
                other_email, other_phone = earlier[int(rng.random() * len(earlier))]
                if rng.random() < 0.5:
                    email = other_email.upper() if rng.random() < 0.3 else other_email
                else:
                    phone, email = other_phone, ""
                planted["duplicates"] += 1
            elif roll < 0.04:  # a bad row
                kind = rng.random()
                if kind < 0.4:
                    email = email.replace("@", "@@")
                elif kind < 0.8:
                    phone = "12-34"
                else:
                    person.first_name = person.last_name = ""
                    email = phone = ""
                planted["bad"] += 1
            elif len(earlier) < 50_000 and rng.random() < 0.2:
                earlier.append((email, phone))
            if rng.random() < 0.1:
                notes = "Met at the trade show; call back after the quarter"
            writer.writerow(
                [
                    person.first_name,
                    person.last_name,
                    company.name if company else "",
                    person.title,
                    email,
                    phone,
                    person.country,
                    notes,
                ]
            )
    return planted


def configure(args, data_dir: Path) -> str:
    if args.database_url:
        from bench.records import postgres_url

        database_url = postgres_url(args.database_url, recreate=True).replace("bench_records", "bench_imports")
        _recreate_postgres(args.database_url)
    else:
        database = data_dir / "bench-imports.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{database}"
    os.environ.update(
        {
            "INSIDESALES_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "INSIDESALES_ENV": "development",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "insidesales.settings",
        }
    )
    return database_url


def _recreate_postgres(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_imports WITH (FORCE)")
        conn.execute("CREATE DATABASE bench_imports")


def raw_insert(path: Path) -> tuple[int, float]:
    """The rows inserted as they are, no validation, with the bulk path; returns (rows, seconds)."""
    from django.db import transaction

    from insidesales.core.bulk_insert import BulkWriter
    from insidesales.crm.models import Lead
    from insidesales.orgs.models import Organization

    org = Organization.objects.get(slug=BENCH_ORG)
    writer = BulkWriter(
        Lead, ("organization", "first_name", "last_name", "company_name", "title", "email", "phone", "country", "notes")
    )
    count = 0
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch = []
        for row in reader:
            batch.append((org.pk, *row))
            if len(batch) >= 5000:
                with transaction.atomic():
                    count += writer.write(batch)
                batch = []
        if batch:
            with transaction.atomic():
                count += writer.write(batch)
    elapsed = time.perf_counter() - started
    _delete_leads(org.pk)  # the import then starts from the same empty table
    return count, elapsed


def _delete_leads(org_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM crm_lead WHERE organization_id = %s", [org_id])
    if connection.vendor == "postgresql":
        # The import starts from an empty table, as the raw insert did: without this its lookups would
        # walk a million dead index entries (autovacuum comes too late in a benchmark).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE crm_lead")


def run_import(path: Path) -> tuple[object, float]:
    from insidesales.imports import services
    from insidesales.orgs.models import Membership

    membership = Membership.objects.select_related("organization", "user").get(organization__slug=BENCH_ORG)
    started = time.perf_counter()

    def chunks():
        with path.open("rb") as handle:
            while block := handle.read(1024 * 1024):
                yield block

    job = services.import_upload(membership=membership, file_name=path.name, chunks=chunks())
    last = [time.perf_counter()]

    def progress(current, position):
        now = time.perf_counter()
        if now - last[0] > 5:
            last[0] = now
            print(f"  {current.rows_done:,} rows, {current.rows_done / (now - started):,.0f} rows/s", flush=True)

    job = services.import_start(
        membership=membership, job_id=job.pk, mapping=job.mapping, run_now=True, progress=progress
    )
    return job, time.perf_counter() - started


def in_child(step: str) -> dict:
    """Run a step in a fresh process (same settings, inherited through the environment), so its peak
    memory is its own: the import before it leaves a large heap behind."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_child_step, (step,))


def _child_step(step: str) -> dict:
    import resource

    import django

    django.setup()
    from insidesales.orgs.models import Membership

    membership = Membership.objects.select_related("organization", "user").get(organization__slug=BENCH_ORG)
    started = time.perf_counter()
    if step == "scan":
        from insidesales.imports import duplicates

        queued = duplicates.scan_request(organization_id=membership.organization_id)
        scan = duplicates.scan_run(scan_id=queued.pk)
        out = {"leads": scan.leads_count, "compared": scan.compared_count, "pairs": scan.pairs_count}
    else:
        from insidesales.crm.models import Lead
        from insidesales.imports import exports

        headers, rows = exports.export_rows(membership=membership, model=Lead, filters={}, sort="")
        count, size = 0, 0

        def counted(rows):
            nonlocal count
            for row in rows:
                count += 1
                yield row

        for piece in exports.csv_stream(headers, counted(rows)):
            size += len(piece)
        out = {"rows": count, "bytes": size}
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    temporary = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="insidesales-bench-imports-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    configure(args, data_dir)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from insidesales.orgs.models import Role
    from insidesales.orgs.services import member_add, organization_create

    result: dict = {"rows": rows, "database": connection.vendor}
    try:
        source = data_dir / f"leads-{rows}.csv"
        if not source.exists():
            print(f"generating {rows:,} rows…", flush=True)
            planted = generate(source, rows)
            (data_dir / f"leads-{rows}.json").write_text(json.dumps(planted))
        planted = json.loads((data_dir / f"leads-{rows}.json").read_text())
        call_command("migrate", verbosity=0)
        org = organization_create(name="Bench imports", slug=BENCH_ORG, default_region="US")
        member_add(
            actor=None,
            organization=org,
            email="admin@bench-imports.example",
            full_name="Admin",
            role=Role.ADMIN,
            password="bench-imports-password",
        )
        print("raw bulk insert…", flush=True)
        raw_rows, raw_seconds = raw_insert(source)
        result["raw_rows_per_s"] = round(raw_rows / raw_seconds)
        print(f"  {raw_rows:,} rows in {raw_seconds:.1f} s", flush=True)
        print("import end to end…", flush=True)
        job, seconds = run_import(source)
        result["import_rows_per_s"] = round(job.rows_done / seconds)
        result["import_to_raw_ratio"] = round(result["import_rows_per_s"] / result["raw_rows_per_s"], 3)
        result["import_seconds"] = round(seconds, 1)
        result["import_created"] = job.created_count
        result["import_skipped_duplicates"] = job.skipped_count
        result["import_rejected"] = job.rejected_count
        result["planted_duplicates"] = planted["duplicates"]
        result["planted_bad_rows"] = planted["bad"]
        print(
            f"  {job.rows_done:,} rows in {seconds:.1f} s: created {job.created_count:,}, "
            f"skipped {job.skipped_count:,} duplicates, rejected {job.rejected_count:,}",
            flush=True,
        )
        connection.close()
        print("duplicate scan over the imported leads…", flush=True)
        scan = in_child("scan")
        result["dedupe_scan_s"] = scan["seconds"]
        result["dedupe_scan_leads"] = scan["leads"]
        result["dedupe_scan_compared_pairs"] = scan["compared"]
        result["dedupe_scan_pairs"] = scan["pairs"]
        result["dedupe_scan_peak_mb"] = scan["peak_mb"]
        print(f"  {scan}", flush=True)
        print("export of every lead to CSV…", flush=True)
        export = in_child("export")
        result["export_rows"] = export["rows"]
        result["export_rows_per_s"] = round(export["rows"] / export["seconds"])
        result["export_peak_mb"] = export["peak_mb"]
        print(f"  {export}", flush=True)
    finally:
        connection.close()
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("duplicate detection on the Febrl data sets…", flush=True)
    result.update(febrl.run(Path(args.febrl_dir)))
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


if __name__ == "__main__":
    main()
