"""Import jobs: upload, map, run (in batches, resumable), report rejected rows, undo.

Every write of an import happens here. `import_run` reads the file as a stream and commits one batch
at a time together with the job's progress (`rows_done`), so a worker that dies mid-file resumes at
the first row not yet committed and no row is imported twice.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insidesales.core.bulk_insert import BulkWriter, allocate_ids, db_datetime, id_ranges
from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.core.text import company_search_key
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, CustomField, Lead, LeadSource, Tag
from insidesales.crm.services.common import name_keys
from insidesales.imports import retention
from insidesales.imports.csvsafe import neutralize
from insidesales.imports.fields import SKIP, TARGETS, suggest_mapping
from insidesales.imports.models import (
    DuplicatePolicy,
    ImportFlag,
    ImportJob,
    ImportStatus,
    ImportUpdate,
    SavedMapping,
)
from insidesales.imports.reader import FileInfo, FileProblem, inspect_file, iter_rows
from insidesales.imports.rows import CLEANERS, Assignment, CleanRow
from insidesales.imports.similar import SimilarFinder, model_from_json, model_to_json
from insidesales.orgs.models import Membership, Organization, Role
from insidesales.orgs.services import audit_record
from insidesales.orgs.visibility import visible_records

BATCH_ROWS = 5000
SIMILAR_TYPES = ("lead", "contact")  # people: similar names at the same company are looked for
UNDO_SLICE = 2000  # records deleted at a time by an undo
MAX_UPLOAD_BYTES = 4 * 1024**3
# Lead fields an import writes, besides id, organization and the timestamps.
LEAD_COLUMNS = (
    "owner",
    "team",
    "agency",
    "first_name",
    "last_name",
    "title",
    "company_name",
    "email",
    "phone",
    "phone_raw",
    "country",
    "time_zone",
    "source",
    "notes",
    "custom",
    "name_key",
    "name_rev_key",
    "company_key",
)
TIMESTAMPS = ("last_activity_at", "created_at", "updated_at")
# What "update the existing record" may change: a non-empty cell replaces the stored value.
UPDATABLE = (
    "first_name",
    "last_name",
    "title",
    "company_name",
    "email",
    "phone",
    "phone_raw",
    "country",
    "time_zone",
    "source",
    "notes",
)


FOREIGN_KEYS = frozenset({"owner", "team", "agency", "company"})


@dataclass(frozen=True)
class ImportSpec:
    """How rows become records of one type."""

    model: type
    columns: tuple[str, ...]  # model fields an import writes, besides id, organization and timestamps
    updatable: tuple[str, ...]  # what "update the existing record" may change
    keys: tuple[tuple[str, str], ...]  # exact duplicate keys in order: (reason, value)
    record_field: str  # the activity's and the tag link's field naming the record
    # A key that does not count when both sides have this other value and it differs: two companies
    # named "Acme" with different websites are two companies.
    unless_differ: dict[str, str] = dataclasses.field(default_factory=dict)


SPECS = {
    "lead": ImportSpec(
        Lead,
        columns=LEAD_COLUMNS,
        updatable=UPDATABLE,
        keys=(("email", "email"), ("phone", "phone")),
        record_field="lead",
    ),
    "contact": ImportSpec(
        Contact,
        columns=(
            "owner",
            "team",
            "agency",
            "company",
            "first_name",
            "last_name",
            "title",
            "email",
            "phone",
            "phone_raw",
            "country",
            "time_zone",
            "custom",
            "name_key",
            "name_rev_key",
        ),
        updatable=(
            "first_name",
            "last_name",
            "title",
            "company",
            "email",
            "phone",
            "phone_raw",
            "country",
            "time_zone",
        ),
        keys=(("email", "email"), ("phone", "phone")),
        record_field="contact",
    ),
    "company": ImportSpec(
        Company,
        columns=(
            "owner",
            "team",
            "agency",
            "name",
            "domain",
            "industry",
            "employees",
            "phone",
            "phone_raw",
            "country",
            "city",
            "custom",
            "name_key",
        ),
        updatable=("name", "domain", "industry", "employees", "phone", "phone_raw", "country", "city"),
        keys=(("domain", "domain"), ("name", "name_key"), ("phone", "phone")),
        record_field="company",
        unless_differ={"name_key": "domain"},
    ),
}


def _attname(field: str) -> str:
    return f"{field}_id" if field in FOREIGN_KEYS else field


def rekey(record: Any) -> None:
    """Recompute a record's search keys from its names (after an update or an undo)."""
    if isinstance(record, Lead):
        record.name_key, record.name_rev_key = name_keys(record.first_name, record.last_name)
        record.company_key = company_search_key(record.company_name)
    elif isinstance(record, Contact):
        record.name_key, record.name_rev_key = name_keys(record.first_name, record.last_name)
    elif isinstance(record, Company):
        record.name_key = company_search_key(record.name)


REKEYED = {
    Lead: ("name_key", "name_rev_key", "company_key"),
    Contact: ("name_key", "name_rev_key"),
    Company: ("name_key",),
}


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stored_path(job: ImportJob) -> Path:
    return upload_dir() / job.stored_as


def report_path(job: ImportJob) -> Path:
    return upload_dir() / f"{job.stored_as}.rejected.csv"


def can_import(membership: Membership) -> bool:
    return membership.role in (Role.ADMIN, Role.MANAGER, Role.INSIDE_REP, Role.AGENCY_REP)


def _require(membership: Membership) -> None:
    if not can_import(membership):
        raise PermissionDenied(_("Your role cannot import records."))


def import_job_get(*, membership: Membership, job_id: Any) -> ImportJob:
    """An import of this organization that the member may see: admins every one, others their own."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    queryset = ImportJob.objects.filter(organization_id=membership.organization_id, pk=pk)
    if membership.role != Role.ADMIN:
        queryset = queryset.filter(created_by_id=membership.user_id)
    job = queryset.first()
    if job is None:
        raise NotFound()
    return job


def import_job_list(*, membership: Membership, limit: int = 50) -> list[ImportJob]:
    queryset = ImportJob.objects.filter(organization_id=membership.organization_id)
    if membership.role != Role.ADMIN:
        queryset = queryset.filter(created_by_id=membership.user_id)
    return list(queryset.select_related("created_by").order_by("-created_at", "-id")[:limit])


FLAG_REASONS = {
    "email": gettext_lazy("same email"),
    "phone": gettext_lazy("same phone"),
    "name": gettext_lazy("same company name"),
    "domain": gettext_lazy("same website"),
    "similar": gettext_lazy("similar name at the same company"),
}
SIMILAR_REASONS = {  # (same name, same company) → what a flag for a similar person says
    (True, True): gettext_lazy("same name at the same company"),
    (False, True): gettext_lazy("similar name at the same company"),
    (True, False): gettext_lazy("same name at a similar company"),
    (False, False): gettext_lazy("similar name at a similar company"),
}


@dataclass
class FlagRow:
    record: Any
    existing: Any
    reason: str
    in_file: bool
    percent: int | None


def import_flags(*, membership: Membership, job: ImportJob, limit: int = 200) -> list[FlagRow]:
    """The records an import created and flagged, with the record each resembles, both visible to the
    member (a flag whose record was deleted or is out of sight since is left out), first `limit`."""
    model = SPECS[job.record_type].model
    flags = list(ImportFlag.objects.filter(job=job).order_by("id")[:limit])
    ids = {pk for flag in flags for pk in (flag.record_id, flag.existing_id)}
    queryset = model.objects.select_related("company") if model is Contact else model.objects.all()
    records = visible_records(queryset, membership).in_bulk(list(ids))
    rows = []
    for flag in flags:
        record, existing = records.get(flag.record_id), records.get(flag.existing_id)
        if record is None or existing is None:
            continue
        in_file = flag.reason.startswith("file_")
        reason = FLAG_REASONS.get(flag.reason.removeprefix("file_"), flag.reason)
        if flag.reason.endswith("similar"):
            company = "company_key" if job.record_type == "lead" else "company_id"
            same = (record.name_key == existing.name_key, getattr(record, company) == getattr(existing, company))
            reason = SIMILAR_REASONS[same]
        # Rounded down: a probability of 99.6% is not a certainty.
        percent = int(flag.score * 100) if flag.score is not None else None
        rows.append(FlagRow(record, existing, str(reason), in_file, percent))
    return rows


def signature(headers: list[str]) -> str:
    normalized = "\x1f".join(" ".join(h.lower().split()) for h in headers)
    return hashlib.sha256(normalized.encode()).hexdigest()


def import_upload(
    *, membership: Membership, file_name: str, chunks: Iterable[bytes], record_type: str = "lead"
) -> ImportJob:
    """Store an uploaded file and read its header and first rows. FileProblem → ValidationError."""
    _require(membership)
    if record_type not in TARGETS:
        raise ValidationError(fields={"record_type": [_("Unknown record type.")]})
    stored_as = f"{membership.organization_id}-{uuid.uuid4().hex}"
    path = upload_dir() / stored_as
    size = 0
    used = retention.stored_bytes(membership.organization_id)
    retention.check_room(membership.organization_id, 0, used)
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ValidationError(fields={"file": [_("The file is larger than 4 GB.")]})
                retention.check_room(membership.organization_id, size, used)
                out.write(chunk)
        info = inspect_file(path)
    except FileProblem as exc:
        path.unlink(missing_ok=True)
        raise ValidationError(exc.message, fields={"file": [exc.message]}) from exc
    except BaseException:  # refused, or anything else (a full disk): nothing of the file stays
        path.unlink(missing_ok=True)
        raise
    custom = list(CustomField.objects.filter(organization_id=membership.organization_id, record_type=record_type))
    saved = SavedMapping.objects.filter(
        organization_id=membership.organization_id, record_type=record_type, signature=signature(info.headers)
    ).first()
    mapping = saved.mapping if saved is not None else suggest_mapping(record_type, info.headers, custom)
    try:
        with transaction.atomic():
            # Uploads streamed side by side were each checked against what was kept before they
            # began: checked again, one at a time (the organization's row is locked), as they are kept.
            Organization.objects.select_for_update().filter(pk=membership.organization_id).first()
            retention.check_room(membership.organization_id, size, retention.stored_bytes(membership.organization_id))
            job = ImportJob.objects.create(
                organization_id=membership.organization_id,
                created_by=membership.user,
                record_type=record_type,
                file_name=Path(file_name).name[:255] or "upload.csv",
                file_size=size,
                stored_as=stored_as,
                file_settings=info.settings(),
                headers=info.headers,
                mapping=mapping,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    audit_record(
        organization_id=job.organization_id,
        actor=membership.user,
        action="import.upload",
        instance=job,
        changes={"file_name": [None, job.file_name], "file_size": [None, size]},
    )
    return job


def import_preview(job: ImportJob) -> list[list[str]]:
    info = FileInfo(**job.file_settings)
    rows = iter_rows(_stored_path(job), info)
    preview: list[list[str]] = []
    try:
        seen_header = False
        for _number, cells in rows:
            if not seen_header:
                seen_header = any(c.strip() for c in cells)
                continue
            preview.append(cells)
            if len(preview) >= 10:
                break
    except FileProblem:
        pass
    finally:
        rows.close()
    return preview


def import_start(
    *,
    membership: Membership,
    job_id: Any,
    mapping: list[str],
    duplicate_policy: str = DuplicatePolicy.SKIP,
    similar_policy: str = DuplicatePolicy.CREATE,
    assign_owner_id: int | None = None,
    assign_agency_id: int | None = None,
    source: str = "",
    run_now: bool = False,
    progress: Callable[[ImportJob, int], None] | None = None,
) -> ImportJob:
    """Check the mapping and options, remember the mapping for the next such file, queue the run."""
    job = import_job_get(membership=membership, job_id=job_id)
    if retention.upload_expired(job):
        raise ValidationError(retention.expired_message())
    if job.status != ImportStatus.UPLOADED:
        raise ValidationError(_("This import has already been started."))
    errors: dict[str, list[str]] = {}
    valid = {key for key, _label in _target_choices(job)}
    if len(mapping) != len(job.headers):
        errors.setdefault("mapping", []).append(_("Choose a target for every column."))
    mapping = [m if m in valid else SKIP for m in mapping]
    chosen = [m for m in mapping if m]
    if not chosen:
        errors.setdefault("mapping", []).append(_("Map at least one column."))
    if len(chosen) != len(set(chosen)):
        errors.setdefault("mapping", []).append(_("Each field can take only one column."))
    if duplicate_policy not in DuplicatePolicy.values:
        errors.setdefault("duplicate_policy", []).append(_("Choose what to do with duplicates."))
    if similar_policy not in DuplicatePolicy.values:
        errors.setdefault("similar_policy", []).append(_("Choose what to do with similar records."))
    if source and source not in LeadSource.values:
        errors.setdefault("source", []).append(_("Unknown source."))
    _check_assignment(membership, assign_owner_id, assign_agency_id, errors)
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.UPLOADED, upload_removed_at__isnull=True).update(
        mapping=mapping,
        duplicate_policy=duplicate_policy,
        similar_policy=similar_policy,
        assign_owner_id=assign_owner_id,
        assign_agency_id=assign_agency_id,
        source=source,
        status=ImportStatus.QUEUED,
        updated_at=timezone.now(),
    )
    if not claimed:  # started meanwhile (a double click, a second tab): queued once only; or just expired
        job.refresh_from_db()
        if retention.upload_expired(job):
            raise ValidationError(retention.expired_message())
        raise ValidationError(_("This import has already been started."))
    job.refresh_from_db()
    SavedMapping.objects.update_or_create(
        organization_id=job.organization_id,
        record_type=job.record_type,
        signature=signature(job.headers),
        defaults={"headers": job.headers, "mapping": mapping},
    )
    audit_record(
        organization_id=job.organization_id,
        actor=membership.user,
        action="import.start",
        instance=job,
        changes={
            "mapping": [None, mapping],
            "duplicate_policy": [None, duplicate_policy],
            **({"similar_policy": [None, similar_policy]} if job.record_type in SIMILAR_TYPES else {}),
        },
    )
    if run_now:
        import_run(job_id=job.pk, progress=progress)
        job.refresh_from_db()
    else:
        from insidesales.imports.tasks import run_import

        transaction.on_commit(lambda: run_import.enqueue(job.pk))
    return job


def custom_fields(job: ImportJob) -> list[CustomField]:
    return list(CustomField.objects.filter(organization_id=job.organization_id, record_type=job.record_type))


def _target_choices(job: ImportJob) -> list[tuple[str, Any]]:
    from insidesales.imports.fields import targets_for

    return targets_for(job.record_type, custom_fields(job))


def _check_assignment(
    membership: Membership, owner_id: int | None, agency_id: int | None, errors: dict[str, list[str]]
) -> None:
    if membership.role == Role.AGENCY_REP:
        if owner_id not in (None, membership.user_id) or agency_id not in (None, membership.agency_id):
            errors.setdefault("assign", []).append(_("Agency users import into their own agency only."))
        return
    if owner_id is not None and agency_id is not None:
        errors.setdefault("assign", []).append(_("Assign to a user or to an agency, not both."))
    if membership.role == Role.INSIDE_REP and (agency_id is not None or owner_id not in (None, membership.user_id)):
        errors.setdefault("assign", []).append(_("You can only import records for yourself."))
    allowed = _assignable(membership)
    if owner_id is not None and owner_id not in {a.owner_id for a in allowed.values()} | {membership.user_id}:
        errors.setdefault("assign", []).append(_("You cannot assign records to this user."))
    if agency_id is not None:
        from insidesales.orgs.models import Agency

        if (
            membership.role not in (Role.ADMIN, Role.MANAGER)
            or not Agency.objects.filter(
                organization_id=membership.organization_id, pk=agency_id, is_active=True
            ).exists()
        ):
            errors.setdefault("assign", []).append(_("Unknown agency."))


def _assignable(membership: Membership) -> dict[str, Assignment]:
    """Users (by email) this member may give records to, with the team and agency that goes with them."""
    queryset = Membership.objects.select_related("user").filter(
        organization_id=membership.organization_id, is_active=True, user__is_active=True
    )
    if membership.role == Role.MANAGER:
        from insidesales.orgs.visibility import managed_team_ids

        queryset = queryset.filter(Q(team_id__in=managed_team_ids(membership)) | Q(user_id=membership.user_id))
    elif membership.role != Role.ADMIN:
        queryset = queryset.filter(user_id=membership.user_id)
    return {
        m.user.email.lower(): Assignment(owner_id=m.user_id, team_id=m.team_id, agency_id=m.agency_id) for m in queryset
    }


def _default_assignment(job: ImportJob, membership: Membership) -> Assignment:
    if membership.role == Role.AGENCY_REP:
        return Assignment(owner_id=membership.user_id, team_id=membership.team_id, agency_id=membership.agency_id)
    if membership.role == Role.INSIDE_REP:
        return Assignment(owner_id=membership.user_id, team_id=membership.team_id, agency_id=membership.agency_id)
    if job.assign_owner_id:
        target = Membership.objects.filter(organization_id=job.organization_id, user_id=job.assign_owner_id).first()
        return Assignment(
            owner_id=job.assign_owner_id,
            team_id=target.team_id if target else None,
            agency_id=target.agency_id if target else None,
        )
    if job.assign_agency_id:
        return Assignment(agency_id=job.assign_agency_id)
    return Assignment()


def _actor_membership(job: ImportJob) -> Membership | None:
    from insidesales.orgs.auth import _usable

    membership = (
        Membership.objects.select_related("organization", "user", "agency", "team")
        .filter(organization_id=job.organization_id, user_id=job.created_by_id, is_active=True, user__is_active=True)
        .first()
    )
    return _usable(membership) if membership is not None else None


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    flagged: int = 0


def import_run(*, job_id: int, progress: Callable[[ImportJob, int], None] | None = None) -> ImportJob | None:
    """Import a queued (or interrupted) job's rows; safe to call again: it resumes after the last
    committed batch and does nothing for a finished job."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    membership = _actor_membership(job)
    if membership is None:  # the user left or the agency was switched off: nothing is imported for them
        _fail(job, _("The user who started this import no longer has access."))
        retention.remove_upload(job)
        job.refresh_from_db()
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=job.started_at or timezone.now())
    job.refresh_from_db()
    try:
        runner = RecordImport(job, membership, progress=progress)
        runner.run()
    except ConcurrentRun:
        return ImportJob.objects.get(pk=job.pk)  # the other run carries on; this one changed nothing
    except FileProblem as exc:
        _fail(job, exc.message)
    except Exception as exc:  # the job says it failed; the worker logs the traceback
        # The upload stays (until the purge's keeping period): an operator can queue the run again.
        _fail(job, _("The import stopped because of an internal error: %(error)s") % {"error": type(exc).__name__})
        raise
    retention.remove_upload(job)  # done, or failed over the file itself: not needed any more
    job.refresh_from_db()
    return job


class ConcurrentRun(Exception):
    """The job's progress moved under this run: another worker runs the same import."""


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING)).update(
        status=ImportStatus.FAILED, error=message, finished_at=timezone.now()
    )


class RecordImport:
    """One run over a job's file. Reads rows, cleans them, matches duplicates, writes in batches."""

    def __init__(
        self, job: ImportJob, membership: Membership, progress: Callable[[ImportJob, int], None] | None = None
    ) -> None:
        self.progress = progress
        self.where: dict = {}
        self.job = job
        self.membership = membership
        self.organization = membership.organization
        self.spec = spec = SPECS[job.record_type]
        custom = {f.key: f for f in custom_fields(job)}
        tags = {t.name.lower(): t.pk for t in Tag.objects.filter(organization_id=job.organization_id)}
        owners = _assignable(membership) if membership.role in (Role.ADMIN, Role.MANAGER) else None
        self.cleaner = CLEANERS[job.record_type](
            mapping=job.mapping,
            region=self.organization.default_region,
            custom_fields=custom,
            owners=owners,
            default=_default_assignment(job, membership),
            tags=tags,
            source=job.source,
        )
        from django.utils import translation

        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                self.cleaner.source_labels([(value, str(label)) for value, label in LeadSource.choices])
        self.info = FileInfo(**job.file_settings)
        self.now = timezone.now()
        self.writer = BulkWriter(spec.model, ("id", "organization", *spec.columns, *TIMESTAMPS))
        self.values = [(_attname(c), c == "custom") for c in spec.columns]  # (value key, as JSON)
        self.activity_writer = BulkWriter(
            Activity, ("organization", "kind", "actor", "occurred_at", "subject", "body", "data", spec.record_field)
        )
        self.tag_writer = BulkWriter(spec.model.tags.through, (spec.record_field, "tag"))
        self.vendor = connection.vendor
        self.scope = visible_records(spec.model.objects.all(), membership)
        self.linker = CompanyLinker(self) if job.record_type == "contact" else None
        self.added, self.analyzed_at = 0, 0  # see keep_statistics
        self.similar = (
            SimilarFinder(
                self.scope,
                job.record_type,
                job.organization_id,
                sees_all=membership.role == Role.ADMIN,
                model=model_from_json(job.similar_model),
            )
            if job.record_type in SIMILAR_TYPES
            else None
        )

    def run(self) -> None:
        job = self.job
        skip = job.rows_done
        rows = iter_rows(_stored_path(job), self.info, self.where)
        batch: list[tuple[int, list[str]]] = []
        seen_header = False
        done = 0
        with report_writer(job) as report:
            try:
                for number, cells in rows:
                    if not seen_header:
                        seen_header = any(c.strip() for c in cells)
                        continue
                    if not any(c.strip() for c in cells):
                        continue  # blank lines are not rows
                    done += 1
                    if done <= skip:
                        continue  # committed by an earlier, interrupted run
                    batch.append((number, cells))
                    if len(batch) >= BATCH_ROWS:
                        self.write_batch(batch, report)
                        batch = []
                if batch:
                    self.write_batch(batch, report)
            finally:
                rows.close()
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.DONE, finished_at=timezone.now(), bytes_done=job.file_size
        )
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA optimize")  # refresh the planner's statistics after many new rows
        job.refresh_from_db()
        if job.created_count or job.updated_count:
            from insidesales.imports.duplicates import scan_request

            # New records, new pairs (of the imported kind, and contacts of new companies).
            scan_request(organization_id=job.organization_id, requested_by=self.membership.user)
        audit_record(
            organization_id=job.organization_id,
            actor=self.membership.user,
            action="import.finish",
            instance=job,
            changes={
                "created": [None, job.created_count],
                "updated": [None, job.updated_count],
                "skipped": [None, job.skipped_count],
                "rejected": [None, job.rejected_count],
            },
        )

    def write_batch(self, batch: list[tuple[int, list[str]]], report: ReportWriter) -> None:
        counts = Counts()
        good: list[tuple[int, list[str], CleanRow]] = []
        rejected: list[tuple[list[str], str]] = []
        for number, cells in batch:
            row, errors = self.cleaner.clean(cells)
            if row is None:
                rejected.append((cells, _("Row %(row)d:") % {"row": number} + " " + " ".join(errors)))
            else:
                good.append((number, cells, row))
        counts.rejected = len(rejected)
        with transaction.atomic():
            existing = self.existing_matches([row for _n, _c, row in good])
            creates: list[CleanRow] = []
            updates: dict[int, CleanRow] = {}
            fills: dict[int, CleanRow] = {}  # records a similar row fills in (empty fields only)
            update_rows: dict[int, int] = {}  # rows of this batch per updated record
            flags: list[tuple[int, tuple[str, int], str, float | None]] = []  # (index in creates, match, reason, score)
            in_batch: dict[tuple[str, str], int] = {}  # ("email", value) → index in creates
            similar = (
                self.similar.find([self.similar.row_person(row.values) for _n, _c, row in good])
                if (self.similar is not None)
                else [None] * len(good)
            )
            # Where each good row went: ("db", id) or ("batch", index in creates). A row like an
            # earlier one follows it there.
            went: list[tuple[str, int]] = []
            for position, (_number, _cells, row) in enumerate(good):
                match, reason = self.match(row, existing, in_batch, creates)
                policy = self.job.duplicate_policy
                score = None
                like = similar[position]
                if match is None and like is not None:
                    if like.record_id is not None:
                        match, reason = ("db", like.record_id), "similar"
                    else:
                        match = went[like.row]
                        reason = "file_similar" if match[0] == "batch" else "similar"
                    policy, score = self.job.similar_policy, like.probability
                if match is None:
                    self.remember(row, len(creates), in_batch)
                    went.append(("batch", len(creates)))
                    creates.append(row)
                elif policy == DuplicatePolicy.SKIP:
                    counts.skipped += 1
                    went.append(match)
                elif policy == DuplicatePolicy.UPDATE:
                    # A similar person's row only fills what the record lacks: its email and phone
                    # are by definition not the record's, and its name may be a namesake's.
                    similar_row = score is not None
                    if match[0] == "db":
                        into = fills if similar_row else updates
                        into[match[1]] = self.merged(into.get(match[1]), row)
                        update_rows[match[1]] = update_rows.get(match[1], 0) + 1
                    else:
                        earlier = creates[match[1]]
                        creates[match[1]] = self.merged(row, earlier) if similar_row else self.merged(earlier, row)
                        self.remember(creates[match[1]], match[1], in_batch)  # its email or phone may be new
                        counts.skipped += 1  # folded into the row created earlier in this batch
                    went.append(match)
                else:  # create and flag
                    index = len(creates)
                    self.remember(row, index, in_batch)
                    went.append(("batch", index))
                    creates.append(row)
                    flags.append((index, match, reason, score))
            linked: list[int] = []
            if self.linker is not None:
                linked = self.linker.link(creates, [*updates.values(), *fills.values()])
            ids = self.insert(creates)
            counts.created = len(ids)
            changed = self.apply_updates(updates, fills)
            for pk, rows_for_record in update_rows.items():
                if pk in changed:
                    counts.updated += rows_for_record
                else:
                    counts.skipped += rows_for_record  # the record already holds these values
            if flags:
                ImportFlag.objects.bulk_create(
                    [
                        ImportFlag(
                            job=self.job,
                            record_id=ids[index],
                            existing_id=ref if where == "db" else ids[ref],
                            reason=reason,
                            score=score,
                        )
                        for index, (where, ref), reason, score in flags
                    ]
                )
                counts.flagged = len(flags)
                self.pairs_for_review(flags, ids, creates)
            ranges = self.job.created_ranges + id_ranges(ids)
            report.write(rejected)
            position = self.position()
            moved = ImportJob.objects.filter(
                pk=self.job.pk, status=ImportStatus.RUNNING, rows_done=self.job.rows_done
            ).update(
                bytes_done=position,
                report_bytes=report.size(),
                rows_done=self.job.rows_done + len(batch),
                created_count=self.job.created_count + counts.created,
                updated_count=self.job.updated_count + counts.updated,
                skipped_count=self.job.skipped_count + counts.skipped,
                rejected_count=self.job.rejected_count + counts.rejected,
                flagged_count=self.job.flagged_count + counts.flagged,
                created_ranges=_merge_ranges(ranges),
                linked_count=self.job.linked_count + len(linked),
                linked_ranges=_merge_ranges(self.job.linked_ranges + id_ranges(linked)),
                **self.model_to_keep(),
            )
            if not moved:  # another run of this job got here first, or it was stopped: keep nothing
                raise ConcurrentRun()
        self.job.refresh_from_db()
        self.keep_statistics(counts.created)
        if self.progress is not None:
            self.progress(self.job, position)

    def pairs_for_review(self, flags: list, ids: list[int], creates: list[CleanRow]) -> None:
        """Flagged records go on the duplicates page at once, each with the record it resembles (open
        pairs the scans keep; "not duplicates" said of the two before is not asked again)."""
        from insidesales.imports.duplicates import KINDS

        pair_model = KINDS[self.job.record_type].pair_model

        existing = [ref for _i, (where, ref), _r, _s in flags if where == "db"]
        names = dict(self.scope.filter(pk__in=existing).values_list("id", "name_key")) if existing else {}
        now = timezone.now()
        pairs = []
        for index, (where, ref), reason, score in flags:
            other = ref if where == "db" else ids[ref]
            left, right = sorted((ids[index], other))
            kind = reason.removeprefix("file_")
            if kind == "similar":
                other_name = names.get(ref) if where == "db" else creates[ref].values["name_key"]
                same = creates[index].values["name_key"] == other_name
                reasons = ["same_name" if same else "similar_name", "same_company", "import"]
            else:
                reasons = [f"same_{kind}", "import"]
            pairs.append(
                pair_model(
                    organization_id=self.job.organization_id,
                    left_id=left,
                    right_id=right,
                    score=round(score, 4) if score is not None else 1.0,
                    reasons=reasons,
                    group=left,
                    from_import=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        pair_model.objects.bulk_create(pairs, ignore_conflicts=True)

    def model_to_keep(self) -> dict:
        """The similar-people model, stored with the first batch that made it (a resumed run reuses it)."""
        if self.similar is None or self.similar.model is None or self.job.similar_model:
            return {}
        return {"similar_model": model_to_json(self.similar.model)}

    def keep_statistics(self, created: int) -> None:
        """On PostgreSQL, ANALYZE the table each time the rows this import added reach the number of
        rows it had at the last ANALYZE (and after the first batch): the planner's row counts then
        stay within a factor of two of the truth while a large import grows a table faster than
        autovacuum looks at it, and the import's own lookups keep their index plans."""
        if self.vendor != "postgresql" or not created:
            return
        self.added += created
        if self.added < self.analyzed_at:
            return
        table = self.spec.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            rows = cursor.fetchone()[0]
        self.added, self.analyzed_at = 0, max(int(rows), BATCH_ROWS)

    def position(self) -> int:
        handle = self.where.get("file")
        try:
            return handle.tell() if handle is not None and not handle.closed else self.job.file_size
        except (OSError, ValueError):
            return self.job.file_size

    # --- duplicates ---------------------------------------------------------------------------

    def existing_matches(self, rows: list[CleanRow]) -> dict[tuple[str, str], list[tuple[int, Any]]]:
        """Visible records with a key of any of these rows: {("email", value): [(id, other), ...]} by id,
        where `other` is the value that must not differ for the key to count (a company's domain for a
        match by name), else None."""
        found: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        for _reason, field in self.spec.keys:
            other = self.spec.unless_differ.get(field)
            columns = ("id", field, other) if other else ("id", field)
            values = sorted({row.values[field] for row in rows if row.values[field]})
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                # No ORDER BY: with it, SQLite may walk the organization's rows in id order instead of
                # using the (organization, email/phone) index; the lowest id is picked in `match`.
                for pk, value, *rest in self.scope.filter(**{f"{field}__in": chunk}).values_list(*columns).order_by():
                    found.setdefault((field, value), []).append((pk, rest[0] if rest else None))
        for matches in found.values():
            matches.sort()
        return found

    def match(
        self, row: CleanRow, existing: dict, in_batch: dict, creates: list[CleanRow] | None = None
    ) -> tuple[tuple[str, int] | None, str]:
        for reason, field in self.spec.keys:
            value = row.values[field]
            if not value:
                continue
            other = self.spec.unless_differ.get(field)
            mine = row.values[other] if other else ""
            for pk, theirs in existing.get((field, value), ()):
                if not (mine and theirs and mine != theirs):
                    return ("db", pk), reason
            index = in_batch.get((field, value))
            if index is not None:
                theirs = creates[index].values[other] if other and creates is not None else ""
                if not (mine and theirs and mine != theirs):
                    return ("batch", index), f"file_{reason}"
        return None, ""

    def remember(self, row: CleanRow, index: int, in_batch: dict) -> None:
        for _reason, field in self.spec.keys:
            if row.values[field]:
                in_batch.setdefault((field, row.values[field]), index)

    @staticmethod
    def merged(earlier: CleanRow | None, later: CleanRow) -> CleanRow:
        """Two rows for one record: the later row's non-empty cells win."""
        if earlier is None:
            return later
        values = dict(earlier.values)
        for key, value in later.values.items():
            if key == "custom":
                values["custom"] = {**earlier.values["custom"], **{k: v for k, v in value.items() if v is not None}}
            elif value not in ("", None):
                values[key] = value
        derived = (earlier.derived - {k for k, v in later.values.items() if v not in ("", None)}) | later.derived
        return CleanRow(values=values, tag_ids=list(dict.fromkeys(earlier.tag_ids + later.tag_ids)), derived=derived)

    # --- writes -----------------------------------------------------------------------------------

    def insert(self, rows: list[CleanRow]) -> list[int]:
        if not rows:
            return []
        model = self.spec.model
        ids = allocate_ids(model, len(rows))
        now = db_datetime(self.now, self.vendor)
        org = self.job.organization_id
        keys = self.values
        self.writer.write(
            (pk, org, *[json.dumps(v[key]) if as_json else v[key] for key, as_json in keys], now, now, now)
            for pk, v in zip(ids, (row.values for row in rows), strict=True)
        )
        data = json.dumps({"import": self.job.pk, "file": self.job.file_name})
        self.activity_writer.write(
            (org, ActivityKind.CREATED, self.job.created_by_id, now, "Imported", "", data, pk) for pk in ids
        )
        tag_rows = [(pk, tag_id) for pk, row in zip(ids, rows, strict=True) for tag_id in row.tag_ids]
        if tag_rows:
            self.tag_writer.write(tag_rows)
        return ids

    def apply_updates(self, updates: dict[int, CleanRow], fills: dict[int, CleanRow] | None = None) -> set[int]:
        """Update matched records with the rows' non-empty values (`updates`: rows with the record's
        email, phone...) or fill the record's empty fields only (`fills`: rows of a similar person,
        which never replace what the record says); returns the ids of those changed."""
        fills = fills or {}
        if not updates and not fills:
            return set()
        spec = self.spec
        names = [_attname(name) for name in spec.updatable]
        changed: set[int] = set()
        records = self.scope.select_for_update().in_bulk(list({*updates, *fills}))
        already = set(
            ImportUpdate.objects.filter(job=self.job, record_id__in=list(records)).values_list("record_id", flat=True)
        )
        through = spec.model.tags.through
        source = f"{spec.record_field}_id"
        current_tags: dict[int, set[int]] = {pk: set() for pk in records}
        for record_id, tag_id in through.objects.filter(**{f"{source}__in": list(records)}).values_list(
            source, "tag_id"
        ):
            current_tags[record_id].add(tag_id)
        befores = []
        to_save = []
        tag_rows = []
        for pk, record in records.items():
            before = {name: getattr(record, name) for name in (*names, "custom")}
            tag_ids: list[int] = []
            for row, fill in ((updates.get(pk), False), (fills.get(pk), True)):
                if row is None:
                    continue
                self.apply_row(record, row, names, fill=fill)
                tag_ids += row.tag_ids
            after = {name: getattr(record, name) for name in (*names, "custom")}
            tags_added = set(tag_ids) - current_tags[pk]
            if after == before and not tags_added:
                continue
            if pk not in already:
                befores.append(
                    ImportUpdate(
                        job=self.job,
                        record_id=pk,
                        before={
                            **before,
                            "updated_at": record.updated_at.isoformat(),
                            "tag_ids": sorted(current_tags[pk]),
                        },
                    )
                )
            rekey(record)
            record.updated_at = self.now
            to_save.append(record)
            tag_rows += [(pk, tag_id) for tag_id in sorted(tags_added)]
            changed.add(pk)
        if to_save:
            spec.model.objects.bulk_update(to_save, [*names, "custom", *REKEYED[spec.model], "updated_at"])
        if tag_rows:
            self.tag_writer.write(tag_rows)
        if befores:
            ImportUpdate.objects.bulk_create(befores)
        return changed

    @staticmethod
    def apply_row(record: Any, row: CleanRow, names: list[str], *, fill: bool) -> None:
        """Set the row's non-empty values on the record; with `fill`, only where the record has none
        (a phone and its typed spelling go together)."""
        empty = {name for name in names if getattr(record, name) in ("", None)}  # before this row
        phone = record.phone
        for name in names:
            value = row.values[name]
            if value in ("", None):
                continue
            if fill and ("phone" if name == "phone_raw" else name) not in empty:
                continue
            if name in row.derived and getattr(record, name):
                continue  # worked out from the phone: never replaces what the record says
            if name == "phone_raw" and row.values["phone"] == phone:
                continue  # the same number, written another way (e.g. our own export's E.164)
            setattr(record, name, value)
        custom = {k: v for k, v in row.values["custom"].items() if v is not None}
        if custom:
            record.custom = {**custom, **record.custom} if fill else {**record.custom, **custom}


class CompanyLinker:
    """Links imported contacts to companies the importing user can see: one with the website given in
    the row, else one with the company name given (legal forms aside: "Acme LLC" is "Acme"), else one
    with the domain of the contact's work email. Rows naming a company that does not exist yet get one,
    created once per name or website for the whole file, owned as the first row naming it is, and
    removed again by an undo unless used since."""

    def __init__(self, run: RecordImport) -> None:
        self.run = run
        self.scope = visible_records(Company.objects.all(), run.membership)
        self.writer = BulkWriter(
            Company,
            ("id", "organization", "owner", "team", "agency", "name", "domain", "name_key", *TIMESTAMPS),
        )
        self.activity_writer = BulkWriter(
            Activity, ("organization", "kind", "actor", "occurred_at", "subject", "body", "data", "company")
        )

    @staticmethod
    def keys(row: CleanRow) -> tuple[str, str, str]:
        """(domain given, domain of a work email, name key) of a row."""
        from insidesales.crm.services.leads import FREE_MAIL_DOMAINS

        values = row.values
        email_domain = values["email"].rsplit("@", 1)[1] if "@" in values["email"] else ""
        if email_domain in FREE_MAIL_DOMAINS:
            email_domain = ""
        return values["company_domain"], email_domain, company_search_key(values["company_name"])

    def link(self, creates: list[CleanRow], updates: list[CleanRow]) -> list[int]:
        """Set `company_id` on the rows; returns the ids of companies created. A row updating an existing
        contact moves it to another company only when the row names a company or a website (a work
        email alone never moves anyone)."""
        updates = [row for row in updates if row.values["company_domain"] or row.values["company_name"]]
        keyed = [(row, *self.keys(row)) for row in (*creates, *updates)]
        domains = sorted({d for _r, given, mail, _n in keyed for d in (given, mail) if d})
        names = sorted({name for _r, _g, _m, name in keyed if name})
        by_domain = self.lowest("domain", domains)
        by_name = self.lowest("name_key", names)
        wanted: list[tuple[CleanRow, str, str]] = []  # companies to create: (first row, domain, name key)
        new_by_domain: dict[str, int] = {}
        new_by_name: dict[str, int] = {}
        pending: list[tuple[CleanRow, int]] = []
        email_only: list[tuple[CleanRow, str]] = []
        for row, given, mail, name in keyed:
            found = by_domain.get(given) or by_name.get(name) or by_domain.get(mail)
            if found is not None:
                row.values["company_id"] = found
                continue
            if not (given or row.values["company_name"]):
                if mail:
                    email_only.append((row, mail))  # linked below if this batch creates its company
                continue  # a work email alone never creates a company
            index = new_by_domain.get(given) if given else None
            if index is None and name:
                index = new_by_name.get(name)
            if index is None:
                index = len(wanted)
                wanted.append((row, given, name))
            if given:
                new_by_domain.setdefault(given, index)
            if name:
                new_by_name.setdefault(name, index)
            pending.append((row, index))
        # Rows with only a work email, wherever they are in the batch, join a company created for
        # another row with that website (a later batch finds it in the database).
        for row, mail in email_only:
            index = new_by_domain.get(mail)
            if index is not None:
                pending.append((row, index))
        if not wanted:
            return []
        ids = allocate_ids(Company, len(wanted))
        run = self.run
        now = db_datetime(run.now, run.vendor)
        org = run.job.organization_id
        self.writer.write(
            (
                pk,
                org,
                row.values["owner_id"],
                row.values["team_id"],
                row.values["agency_id"],
                (row.values["company_name"] or domain)[:255],
                domain,
                company_search_key((row.values["company_name"] or domain)[:255]),
                now,
                now,
                now,
            )
            for pk, (row, domain, _name) in zip(ids, wanted, strict=True)
        )
        data = json.dumps({"import": run.job.pk, "file": run.job.file_name})
        self.activity_writer.write(
            (org, ActivityKind.CREATED, run.job.created_by_id, now, "Imported", "", data, pk) for pk in ids
        )
        for row, index in pending:
            row.values["company_id"] = ids[index]
        return ids

    def lowest(self, field: str, values: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            for pk, value in self.scope.filter(**{f"{field}__in": chunk}).values_list("id", field).order_by():
                if pk < found.get(value, pk + 1):
                    found[value] = pk
        return found


def _merge_ranges(ranges: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return merged


class ReportWriter:
    """Appends rejected rows, in the file's own columns plus the reason, to a UTF-8 CSV (with BOM for Excel)."""

    def __init__(self, job: ImportJob, handle: IO[str]) -> None:
        self.handle = handle
        self.writer = csv.writer(handle)
        self.width = len(job.headers)
        self.reason = _("Why it was not imported")

    def size(self) -> int:
        """Bytes written so far; kept with each committed batch, so a resumed run cuts what the
        interrupted one wrote after its last commit."""
        return self.handle.tell()

    def write(self, rows: list[tuple[list[str], str]]) -> None:
        for cells, reason in rows:
            padded = list(cells) + [""] * (self.width - len(cells))
            self.writer.writerow([neutralize(c) for c in padded] + [neutralize(reason)])
        self.handle.flush()
        if rows:
            # On disk before the batch's commit records the report's length: after a power cut the
            # committed rows' reasons are there (a resumed run cuts the file to that length).
            os.fsync(self.handle.fileno())


class report_writer:  # noqa: N801 - used as a context manager
    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.path = report_path(job)

    def __enter__(self) -> ReportWriter:
        new = not self.path.exists() or self.job.rows_done == 0
        if new:
            self.handle = self.path.open("w", encoding="utf-8-sig", newline="")
        else:
            with self.path.open("r+b") as raw:
                # Cut what the interrupted run wrote after its last commit (never lengthen the file).
                raw.truncate(min(self.job.report_bytes, raw.seek(0, os.SEEK_END)))
            self.handle = self.path.open("a", encoding="utf-8", newline="")
        writer = ReportWriter(self.job, self.handle)
        if new:
            writer.writer.writerow([neutralize(h) for h in self.job.headers] + [writer.reason])
            self.handle.flush()
            ImportJob.objects.filter(pk=self.job.pk).update(report_bytes=writer.size())
        return writer

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def import_undo_request(*, membership: Membership, job_id: Any) -> ImportJob:
    """The Undo button: check, mark the import as being undone and leave the work to the worker (an
    import of a million rows takes minutes to take back, longer than a page may wait)."""
    job = import_job_get(membership=membership, job_id=job_id)
    undoable = (ImportStatus.DONE, ImportStatus.FAILED)
    claimed = ImportJob.objects.filter(pk=job.pk, status__in=undoable).update(
        status=ImportStatus.UNDOING,
        undo_requested_by=membership.user,
        undo_from_status=job.status,
        error="",
        updated_at=timezone.now(),
    )
    if not claimed:
        raise ValidationError(_("Only a finished import can be undone."))
    from insidesales.imports.tasks import run_import_undo

    transaction.on_commit(lambda: run_import_undo.enqueue(job.pk))
    job.refresh_from_db()
    return job


def import_undo_run(*, job_id: int) -> ImportJob | None:
    """The worker's half of an undo: as the member who asked; safe to run twice (an undone import is
    left alone). If it fails, the import goes back to what it was, with the reason."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status != ImportStatus.UNDOING:
        return job
    membership = (
        Membership.objects.select_related("organization", "user", "agency", "team")
        .filter(
            organization_id=job.organization_id,
            user_id=job.undo_requested_by_id,
            is_active=True,
            user__is_active=True,
        )
        .first()
    )
    if membership is None:
        _undo_failed(job, _("The user who asked for the undo no longer has access."))
        return ImportJob.objects.get(pk=job.pk)
    try:
        return import_undo(membership=membership, job_id=job.pk)
    except (ValidationError, NotFound, PermissionDenied) as exc:
        _undo_failed(job, str(getattr(exc, "message", "") or exc))
    except Exception as exc:
        _undo_failed(job, _("The undo stopped because of an internal error: %(error)s") % {"error": type(exc).__name__})
        raise
    return ImportJob.objects.get(pk=job.pk)


def _undo_failed(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.UNDOING).update(
        status=job.undo_from_status or ImportStatus.DONE, error=message
    )


def import_undo(*, membership: Membership, job_id: Any) -> ImportJob:
    """Remove the records an import created (and the companies it created for imported contacts, unless
    something else now uses them) and restore the ones it updated, as they were before."""
    job = import_job_get(membership=membership, job_id=job_id)
    # A failed import may have committed many rows; "undoing" is one the worker takes back now.
    undoable = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.UNDOING)
    if job.status not in undoable:
        raise ValidationError(_("Only a finished import can be undone."))
    spec = SPECS[job.record_type]
    model = spec.model
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in undoable:
            raise ValidationError(_("Only a finished import can be undone."))
        from insidesales.imports.merge import MERGE_KINDS

        removed = 0
        label = model._meta.label
        merges = MERGE_KINDS[job.record_type].merge_model.objects.filter(
            organization_id=job.organization_id, undone_at__isnull=True
        )
        kept: set[int] = set()
        for first, last in job.created_ranges:
            # A record others were merged into holds what they brought (their timeline, tasks, deals and
            # the copy an undo of the merge needs): it stays, and the page says so.
            survivors = merges.filter(survivor_id__gte=first, survivor_id__lte=last)
            kept.update(survivors.values_list("survivor_id", flat=True))
            # In slices of ids: Django's delete holds every row it cascades to in memory (a whole
            # 100,000-row range took 500 MB).
            for start in range(first, last + 1, UNDO_SLICE):
                end = min(start + UNDO_SLICE - 1, last)
                removed += (
                    model.objects.filter(organization_id=job.organization_id, pk__gte=start, pk__lte=end)
                    .exclude(pk__in=[pk for pk in kept if start <= pk <= end])
                    .delete()[1]
                    .get(label, 0)
                )
        restored = 0
        names = [_attname(name) for name in spec.updatable]
        for update in ImportUpdate.objects.filter(job=job).iterator():
            record = model.objects.filter(organization_id=job.organization_id, pk=update.record_id).first()
            if record is None:
                continue  # deleted since: nothing to restore
            before = dict(update.before)
            tag_ids = before.pop("tag_ids", None)
            updated_at = before.pop("updated_at", None)
            for name in (*names, "custom"):
                if name in before:
                    setattr(record, name, before[name])
            if getattr(record, "company_id", None) and not Company.objects.filter(pk=record.company_id).exists():
                record.company_id = None  # the company was deleted since
            rekey(record)
            values = {name: getattr(record, name) for name in (*names, "custom", *REKEYED[model])}
            if updated_at:
                values["updated_at"] = dt.datetime.fromisoformat(updated_at)
            model.objects.filter(pk=record.pk).update(**values)  # update(): keeps the restored updated_at
            if tag_ids is not None:
                record.tags.set(tag_ids)
            restored += 1
        companies_removed = companies_kept = 0
        for first, last in job.linked_ranges:
            created = Company.objects.filter(organization_id=job.organization_id, pk__gte=first, pk__lte=last)
            unused = _untouched_companies(created, first, last)
            gone = unused.delete()[1].get(Company._meta.label, 0)
            companies_removed += gone
            companies_kept += created.count()
        job.status = ImportStatus.UNDONE
        job.undone_at = timezone.now()
        job.undo_kept = len(kept)
        job.save(update_fields=["status", "undone_at", "undo_kept", "updated_at"])
        changes = {"removed": [None, removed], "restored": [None, restored]}
        if kept:
            changes["kept_merged_into"] = [None, sorted(kept)]
        if job.linked_ranges:
            changes["companies_removed"] = [None, companies_removed]
            changes["companies_kept"] = [None, companies_kept]
        audit_record(
            organization_id=job.organization_id,
            actor=membership.user,
            action="import.undo",
            instance=job,
            changes=changes,
        )
    return job


def _untouched_companies(created: Any, first: int, last: int) -> Any:
    """The companies among `created` nobody has used or changed since the import made them: still as
    created (not edited, not reassigned), with no contacts or deals left, no tags, no tasks, no
    timeline entry but the import's own, and no lead converted into them. Anything else is kept."""
    in_range = {"gte": first, "lte": last}
    worked_on = Activity.objects.filter(company_id__gte=first, company_id__lte=last).exclude(
        kind=ActivityKind.CREATED, subject="Imported"
    )
    converted = Lead.objects.filter(**{f"converted_company_id__{op}": v for op, v in in_range.items()})
    return (
        created.filter(updated_at=F("created_at"))
        .exclude(contacts__isnull=False)
        .exclude(deals__isnull=False)
        .exclude(tasks__isnull=False)
        .exclude(tags__isnull=False)
        .exclude(pk__in=worked_on.values("company_id"))
        .exclude(pk__in=converted.values("converted_company_id"))
    )
