"""`insidesales import FILE --map MAPPING`: import a list from the command line, with live progress.

The import runs in this process through the same services as the web page (same checks, duplicates,
rejected-row report, audit, undo); `--undo JOB` undoes an earlier one.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from insidesales.core.errors import ApplicationError
from insidesales.imports import services
from insidesales.imports.fields import SKIP, targets_for
from insidesales.imports.models import DuplicatePolicy, ImportJob, RecordType
from insidesales.orgs.models import Membership

CHUNK = 1024 * 1024


def parse_mapping(text: str, headers: list[str], suggested: list[str], valid: set[str]) -> list[str]:
    """`auto` (the suggestion or the saved mapping), a JSON file {"Header": "field"}, or
    "Header=field,Other header=field". Columns not named are skipped (unless `auto+...` keeps the
    suggestion for them)."""
    keep_suggested = text == "auto" or text.startswith("auto+")
    spec = text[5:] if text.startswith("auto+") else ("" if text == "auto" else text)
    pairs: dict[str, str] = {}
    if spec:
        path = Path(spec)
        if spec.endswith(".json") and path.exists():
            pairs = {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
        else:
            for item in spec.split(","):
                header, sep, field = item.partition("=")
                if not sep:
                    raise CommandError(f"--map: “{item}” is not Header=field")
                pairs[header.strip()] = field.strip()
    lowered = {h.strip().lower(): i for i, h in enumerate(headers)}
    mapping = list(suggested) if keep_suggested else [SKIP] * len(headers)
    for header, field in pairs.items():
        index = lowered.get(header.lower())
        if index is None:
            raise CommandError(f"--map: the file has no column “{header}” (columns: {', '.join(headers)})")
        if field not in valid and field not in ("", "skip"):
            raise CommandError(f"--map: unknown field “{field}” (fields: {', '.join(sorted(valid))})")
        mapping[index] = "" if field == "skip" else field
    return mapping


class Command(BaseCommand):
    help = "Import leads, contacts or companies from a CSV or XLSX file (or undo an import with --undo JOB)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV or XLSX file")
        parser.add_argument(
            "--map",
            default="auto",
            help='"auto" (suggested from the headers, or the mapping saved for such files), '
            '"Header=field,..." , "auto+Header=field,..." or a .json file {"Header": "field"}',
        )
        parser.add_argument(
            "--type", dest="record_type", choices=RecordType.values, default=RecordType.LEAD, help="what the rows are"
        )
        parser.add_argument("--organization", required=True, help="organization slug")
        parser.add_argument("--user", required=True, help="email of the member the import runs as")
        parser.add_argument(
            "--on-duplicate",
            choices=DuplicatePolicy.values,
            default=DuplicatePolicy.SKIP,
            help="a row with the email or phone (company: website, name or phone) of an existing record",
        )
        parser.add_argument(
            "--on-similar",
            choices=DuplicatePolicy.values,
            default=DuplicatePolicy.CREATE,
            help="a lead or contact row like an existing one (similar name at the same company); default: create "
            "and flag",
        )
        parser.add_argument("--owner", help="email of the user who gets rows without an owner column")
        parser.add_argument("--source", default="", help="lead source of the imported rows, e.g. cold_list")
        parser.add_argument("--undo", type=int, metavar="JOB", help="undo import JOB instead")

    def handle(self, *args, file, map, organization, user, owner, source, undo, record_type, **options):
        on_duplicate, on_similar = options["on_duplicate"], options["on_similar"]
        membership = (
            Membership.objects.select_related("organization", "user", "team", "agency")
            .filter(organization__slug=organization, user__email__iexact=user, is_active=True)
            .first()
        )
        if membership is None:
            raise CommandError(f"{user} is not an active member of {organization}")
        try:
            if undo is not None:
                job = services.import_undo(membership=membership, job_id=undo)
                self.stdout.write(self.style.SUCCESS(f"import {job.pk} ({job.file_name}) undone"))
                return
            if not file:
                raise CommandError("give a FILE to import (or --undo JOB)")
            self.run_import(membership, Path(file), map, (on_duplicate, on_similar), owner, source, record_type)
        except ApplicationError as exc:
            details = " ".join(str(m) for messages in getattr(exc, "fields", {}).values() for m in messages)
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def run_import(
        self,
        membership,
        path: Path,
        spec: str,
        policies: tuple[str, str],
        owner: str | None,
        source: str,
        record_type: str,
    ) -> None:
        if not path.is_file():
            raise CommandError(f"no such file: {path}")

        def chunks():
            with path.open("rb") as handle:
                while block := handle.read(CHUNK):
                    yield block

        job = services.import_upload(
            membership=membership, file_name=path.name, chunks=chunks(), record_type=record_type
        )
        valid = {key for key, _label in targets_for(job.record_type, list(services.custom_fields(job)))}
        mapping = parse_mapping(spec, job.headers, job.mapping, valid)
        shown = ", ".join(f"{h} → {m}" for h, m in zip(job.headers, mapping, strict=True) if m)
        self.stdout.write(f"import {job.pk}: {path.name} ({job.file_settings.get('encoding') or 'xlsx'}), {shown}")
        owner_id = None
        if owner:
            target = Membership.objects.filter(
                organization_id=membership.organization_id, user__email__iexact=owner, is_active=True
            ).first()
            if target is None:
                raise CommandError(f"--owner: {owner} is not a member of this organization")
            owner_id = target.user_id
        started = time.monotonic()
        total = path.stat().st_size

        def progress(current: ImportJob, position: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = current.rows_done / elapsed
            share = position / total if total else 1.0
            eta = elapsed * (1 - share) / share if share > 0 else 0.0
            sys.stdout.write(
                f"\r{current.rows_done:,} rows ({share:.0%}), {rate:,.0f} rows/s, about {eta:,.0f} s left   "
            )
            sys.stdout.flush()

        job = services.import_start(
            membership=membership,
            job_id=job.pk,
            mapping=mapping,
            duplicate_policy=policies[0],
            similar_policy=policies[1],
            assign_owner_id=owner_id,
            source=source,
            run_now=True,
            progress=progress,
        )
        elapsed = time.monotonic() - started
        self.stdout.write("")
        if job.error:
            raise CommandError(job.error)
        self.stdout.write(
            self.style.SUCCESS(
                f"import {job.pk} {job.status}: {job.rows_done:,} rows in {elapsed:.1f} s — "
                f"created {job.created_count:,}, updated {job.updated_count:,}, "
                f"skipped {job.skipped_count:,} duplicates, rejected {job.rejected_count:,}"
                + (f"; {job.linked_count:,} companies created for the contacts" if job.linked_count else "")
            )
        )
        if job.rejected_count:
            self.stdout.write(f"rejected rows and reasons: {services.report_path(job)}")
