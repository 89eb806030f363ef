"""Import jobs, what they changed (for undo), and saved column mappings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from insidesales.core.models import OrganizationScopedModel


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    UPDATE = "update", _("Update the existing record")
    CREATE = "create", _("Create it and flag it for review")


class RecordType(models.TextChoices):
    LEAD = "lead", _("Leads")
    CONTACT = "contact", _("Contacts")
    COMPANY = "company", _("Companies")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting for a column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDOING = "undoing", _("Being undone")
    UNDONE = "undone", _("Undone")


class ImportJob(OrganizationScopedModel):
    """One uploaded file and its import into one record type."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType.choices, default="lead")
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.BigIntegerField(_("file size"), default=0)
    stored_as = models.CharField(max_length=255)  # file name under DATA_DIR/imports/
    file_settings = models.JSONField(default=dict)  # kind, encoding, delimiter, quotechar
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list)  # one target key per column ("" = skip)
    duplicate_policy = models.CharField(
        _("duplicates"), max_length=10, choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP
    )
    # Rows with no exact duplicate but like an existing person (similar name at the same company, see
    # imports.similar): leads and contacts only. "Create and flag" unless the user chose otherwise.
    similar_policy = models.CharField(
        _("similar records"), max_length=10, choices=DuplicatePolicy.choices, default=DuplicatePolicy.CREATE
    )
    # The similar-people model estimated at the start of the run (see imports.similar), kept so that a
    # resumed run decides as the first one did: {"m": [...], "u": [...], "prior": p}.
    similar_model = models.JSONField(default=dict, blank=True)
    # Assignment of imported rows without an owner column (or with an empty cell): a user or an agency.
    assign_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assign_agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(_("source"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    rows_done = models.BigIntegerField(default=0)  # data rows read and committed (resume point)
    bytes_done = models.BigIntegerField(default=0)  # how far into the file the committed rows reach
    created_count = models.BigIntegerField(default=0)
    updated_count = models.BigIntegerField(default=0)
    skipped_count = models.BigIntegerField(default=0)
    rejected_count = models.BigIntegerField(default=0)
    flagged_count = models.BigIntegerField(default=0)
    report_bytes = models.BigIntegerField(default=0)  # length of the rejected-rows report at the last commit
    created_ranges = models.JSONField(default=list)  # [[first_id, last_id], ...] of records created
    # Companies created to link imported contacts to (removed by an undo unless used since).
    linked_count = models.BigIntegerField(default=0)
    linked_ranges = models.JSONField(default=list)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    # Records the undo left in place because other records had been merged into them since (removing
    # them would lose what the merges brought in); undoing those merges first lets them go too.
    undo_kept = models.BigIntegerField(default=0)
    # Who asked for the undo (it runs in the worker, as them) and the status to go back to if it fails.
    undo_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_from_status = models.CharField(max_length=10, blank=True)
    # Files are not kept forever (see `import_files_purge`): the upload goes once the import has ended
    # (or was never started in time), the rejected-rows report after the keeping period.
    upload_removed_at = models.DateTimeField(null=True, blank=True)
    report_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["organization", "-created_at"], name="import_org_created")]

    def __str__(self) -> str:
        return self.file_name


class ImportUpdate(models.Model):
    """A record an import updated, with its values before, so the import can be undone."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="updates")
    record_id = models.BigIntegerField()
    before = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "record_id"], name="importupdate_once")]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.record_id}"


class ImportFlag(models.Model):
    """A record an import created although it looked like an existing one ("create and flag")."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="flags")
    record_id = models.BigIntegerField()
    existing_id = models.BigIntegerField()
    reason = models.CharField(max_length=20)  # email, phone, name, domain, similar, file_<any of these>
    score = models.FloatField(null=True, blank=True)  # the match probability of a similar record

    def __str__(self) -> str:
        return f"{self.record_id} ~ {self.existing_id} ({self.reason})"


class SavedMapping(OrganizationScopedModel):
    """The mapping used last for files with the same headers: offered again on the next such file."""

    record_type = models.CharField(max_length=10)
    signature = models.CharField(max_length=64)  # hash of the normalized headers
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "record_type", "signature"], name="savedmapping_unique_signature"
            )
        ]


class ScanStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


PENDING_SCAN = (ScanStatus.SCHEDULED, ScanStatus.QUEUED)


class DuplicateScan(OrganizationScopedModel):
    """One run of the duplicate matcher over an organization's leads, contacts and companies (scheduled or
    asked for)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.QUEUED)
    run_after = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    leads_count = models.BigIntegerField(default=0)
    contacts_count = models.BigIntegerField(default=0)
    companies_count = models.BigIntegerField(default=0)
    compared_count = models.BigIntegerField(default=0)
    pairs_count = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        indexes = [models.Index(fields=["organization", "-created_at"], name="dupscan_org_created")]
        constraints = [
            # At most one scan waiting per organization: asking twice, or a schedule meeting a click, is one scan.
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(status__in=["scheduled", "queued"]),
                name="dupscan_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.status}"


class PairStatus(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not duplicates")


class PairBase(OrganizationScopedModel):
    """Two records the matcher takes for one (left id < right id), with its score and reasons.

    Open pairs are replaced by each scan, except those an import flagged; dismissed ones stay, so "not
    duplicates" is said once. Concrete pairs (leads, contacts, companies) add `left` and `right`.
    No database constraint on them: a scan writing pairs must not fail, nor make a merge or delete
    committing at the same moment fail, over a record deleted in between. Pairs go with their records
    all the same (Django deletes them), and lists join the records, so a stray pair is never shown.
    """

    score = models.FloatField(_("score"))
    reasons = models.JSONField(default=list)  # codes: same_email, similar_name, ...
    group = models.BigIntegerField(default=0)  # the lowest record id of the connected group
    status = models.CharField(_("status"), max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN)
    # Flagged by an import ("create and flag for review"): kept by the scans, which replace only their
    # own open pairs, until it is merged or dismissed.
    from_import = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id} ({self.score:.2f})"


class DuplicatePair(PairBase):
    """Two leads that may be one person."""

    left = models.ForeignKey("crm.Lead", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    right = models.ForeignKey("crm.Lead", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = _("duplicate pair")
        verbose_name_plural = _("duplicate pairs")
        constraints = [models.UniqueConstraint(fields=["organization", "left", "right"], name="duppair_once")]
        indexes = [
            models.Index(fields=["organization", "status", "-score", "-id"], name="duppair_org_score"),
            models.Index(fields=["right"], name="duppair_right"),
        ]


class ContactPair(PairBase):
    """Two contacts that may be one person."""

    left = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    right = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = _("duplicate contact pair")
        verbose_name_plural = _("duplicate contact pairs")
        constraints = [models.UniqueConstraint(fields=["organization", "left", "right"], name="contactpair_once")]
        indexes = [
            models.Index(fields=["organization", "status", "-score", "-id"], name="contactpair_org_score"),
            models.Index(fields=["right"], name="contactpair_right"),
        ]


class CompanyPair(PairBase):
    """Two companies that may be one account."""

    left = models.ForeignKey("crm.Company", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    right = models.ForeignKey("crm.Company", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name = _("duplicate company pair")
        verbose_name_plural = _("duplicate company pairs")
        constraints = [models.UniqueConstraint(fields=["organization", "left", "right"], name="companypair_once")]
        indexes = [
            models.Index(fields=["organization", "status", "-score", "-id"], name="companypair_org_score"),
            models.Index(fields=["right"], name="companypair_right"),
        ]


class MergeBase(OrganizationScopedModel):
    """One merge of a record into another, with everything needed to undo it.

    The merged record is deleted; `merged` keeps it serialized (fields and tags), `changes` the
    survivor's fields the merge set ({field: [before, after]}), `relinked` the ids of the rows moved
    from the merged record to the survivor ({"app_label.model.field": [ids]}). Concrete merges add
    `survivor`; deleting the kept record deletes its merges too (their copies go with it).
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    merged_id = models.BigIntegerField()
    merged_name = models.CharField(max_length=255, blank=True)
    merged = models.JSONField()
    changes = models.JSONField(default=dict)
    added_tags = models.JSONField(default=list)
    relinked = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the copy of the merged record and the kept record's values from before were erased (after
    # MERGE_UNDO_KEEP_DAYS, or once undone): from then on the merge is history, not undoable.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class LeadMerge(MergeBase):
    survivor = models.ForeignKey("crm.Lead", null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [models.Index(fields=["organization", "-created_at"], name="leadmerge_org_created")]


class ContactMerge(MergeBase):
    survivor = models.ForeignKey("crm.Contact", null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("contact merge")
        verbose_name_plural = _("contact merges")
        indexes = [models.Index(fields=["organization", "-created_at"], name="contactmerge_org_created")]


class CompanyMerge(MergeBase):
    survivor = models.ForeignKey("crm.Company", null=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("company merge")
        verbose_name_plural = _("company merges")
        indexes = [models.Index(fields=["organization", "-created_at"], name="companymerge_org_created")]
