"""Email: mailboxes, organization sending rules, suppression, templates, messages, sequences and enrollments."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from insidesales.core.models import OrganizationScopedModel

USER = settings.AUTH_USER_MODEL
LANGUAGES = [("en", "English"), ("ru", "Русский")]


class Security(models.TextChoices):
    NONE = "none", _("None (plain text, only for a server on this machine)")
    STARTTLS = "starttls", "STARTTLS"
    SSL = "ssl", _("SSL/TLS from the start")


class MailSettings(models.Model):
    """One organization's sending rules: caps, spacing, sending hours (in the recipient's time zone) and the
    sender's identity printed in the footer of every sequence email (CAN-SPAM, 38-FZ)."""

    organization = models.OneToOneField("orgs.Organization", on_delete=models.CASCADE, related_name="mail_settings")
    daily_cap_per_mailbox = models.PositiveIntegerField(_("daily cap per mailbox"), default=300)
    min_spacing_seconds = models.PositiveIntegerField(_("minimum seconds between two emails of a mailbox"), default=30)
    sending_start = models.TimeField(_("send from"), default=dt.time(8, 0))
    sending_end = models.TimeField(_("send until"), default=dt.time(18, 0))
    sending_weekdays = models.JSONField(_("sending days"), default=list, blank=True)  # 0 = Monday; [] = Mon–Fri
    company_name = models.CharField(_("company name for the footer"), max_length=200, blank=True)
    physical_address = models.TextField(_("postal address for the footer"), blank=True)
    allow_parallel_sequences = models.BooleanField(_("a lead may be in several active sequences"), default=False)
    attachment_max_bytes = models.PositiveIntegerField(_("largest attachment kept, bytes"), default=10 * 1024 * 1024)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("mail settings")
        verbose_name_plural = _("mail settings")

    def __str__(self) -> str:
        return f"mail settings of {self.organization_id}"

    def weekdays(self) -> list[int]:
        return list(self.sending_weekdays) or [0, 1, 2, 3, 4]


class Mailbox(OrganizationScopedModel):
    """A user's mailbox: SMTP to send, IMAP to read replies and bounces. Passwords are stored encrypted."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("user"))
    email = models.CharField(_("email address"), max_length=254)
    display_name = models.CharField(_("name shown to recipients"), max_length=150, blank=True)
    smtp_host = models.CharField(_("SMTP server"), max_length=255)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(_("SMTP user name"), max_length=254, blank=True)
    imap_host = models.CharField(_("IMAP server"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(_("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(_("IMAP user name"), max_length=254, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    credentials = models.TextField(blank=True, editable=False)  # Fernet: {"smtp_password", "imap_password"}
    is_active = models.BooleanField(_("active"), default=True)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Today's sends (UTC day), reserved before they are claimed: the daily cap without counting rows.
    sent_day = models.DateField(null=True, blank=True, editable=False)
    sent_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        constraints = [models.UniqueConstraint(fields=["organization", "user", "email"], name="mailbox_unique_email")]

    def __str__(self) -> str:
        return self.email


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Complaint")
    MANUAL = "manual", _("Added by hand")


class Suppression(OrganizationScopedModel):
    """An address the organization never emails again (every send path checks it). `email` is lower-case."""

    email = models.CharField(_("email address"), max_length=254)
    reason = models.CharField(_("reason"), max_length=20, choices=SuppressionReason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        constraints = [models.UniqueConstraint(fields=["organization", "email"], name="suppression_unique_email")]

    def __str__(self) -> str:
        return self.email


class EmailTemplate(OrganizationScopedModel):
    """A reusable email with merge fields, in one or more languages (`EmailTemplateVariant`).
    Personal unless shared with the organization."""

    name = models.CharField(_("name"), max_length=150)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    is_shared = models.BooleanField(_("shared with the organization"), default=False)
    default_language = models.CharField(_("default language"), max_length=5, choices=LANGUAGES, default="en")

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class EmailTemplateVariant(models.Model):
    """A template's subject and body in one language."""

    template = models.ForeignKey(EmailTemplate, on_delete=models.CASCADE, related_name="variants")
    language = models.CharField(_("language"), max_length=5, choices=LANGUAGES)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("template language")
        verbose_name_plural = _("template languages")
        constraints = [models.UniqueConstraint(fields=["template", "language"], name="template_variant_unique")]

    def __str__(self) -> str:
        return f"{self.template_id}/{self.language}"


class Direction(models.TextChoices):
    OUT = "out", pgettext_lazy("email direction", "Sent")
    IN = "in", pgettext_lazy("email direction", "Received")


class MessageStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")  # claimed by a worker; the end of DATA not sent yet
    HANDED = "handed", _("Handed to the server")  # the end of DATA was sent; never sent again
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    RECEIVED = "received", _("Received")


class InboundKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    AUTO_REPLY = "auto_reply", _("Automatic reply")
    BOUNCE = "bounce", _("Bounce")


class EmailMessage(OrganizationScopedModel):
    """One email, sent or received, shown on the timelines of the records it belongs to.

    Sent messages get their Message-ID when queued, before anything reaches SMTP. Owner, team and agency
    are copied from the record so lists are scoped like the records."""

    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    kind = models.CharField(max_length=12, choices=InboundKind.choices, default=InboundKind.MESSAGE)
    message_id = models.CharField(max_length=255)  # without angle brackets
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)  # space-separated ids, oldest first
    thread_root = models.CharField(max_length=255)  # indexed by `email_thread_root` (equality only)
    from_address = models.CharField(_("from"), max_length=254)
    from_name = models.CharField(max_length=200, blank=True)
    to_addresses = models.JSONField(default=list)
    cc_addresses = models.JSONField(default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)  # received HTML as is; shown only as text or sandboxed
    content_hash = models.CharField(max_length=64, blank=True)
    # Lead and contact are indexed by `email_lead_time` and `email_contact_time` (each write of an email
    # updates every index of the table: no index twice).
    lead = models.ForeignKey(
        "crm.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    enrollment = models.ForeignKey(
        "Enrollment", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    step = models.ForeignKey("SequenceStep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    bounce = models.JSONField(default=dict, blank=True)  # {"recipient", "action", "status", "diagnostic"}

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "message_id"],
                condition=Q(direction="out"),
                name="email_out_unique_message_id",
            ),
            models.UniqueConstraint(
                fields=["organization", "message_id", "content_hash"],
                condition=Q(direction="in"),
                name="email_in_unique_content",
            ),
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                condition=Q(imap_uid__isnull=False),
                name="email_unique_imap_uid",
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="email_lead_time"),
            models.Index(fields=["contact", "-created_at"], name="email_contact_time"),
            # The outbox's queue: one partial index per waiting status (SQLite uses a partial index only
            # when the query repeats its condition: `status = 'queued'` does not prove `status IN (...)`).
            # No index leads with the status: on PostgreSQL the planner, believing "sending" rows rare,
            # walked such an index's dead entries for every "handed" update instead of the primary key.
            models.Index(fields=["scheduled_at", "id"], name="email_queued", condition=Q(status="queued")),
            models.Index(fields=["scheduled_at", "id"], name="email_scheduled", condition=Q(status="scheduled")),
            # Claims in flight (sending, handed), for taking back those of a worker that died.
            models.Index(fields=["claimed_until"], name="email_claimed", condition=Q(claimed_until__isnull=False)),
            models.Index(fields=["organization", "message_id"], name="email_message_id"),
            models.Index(fields=["thread_root"], name="email_thread_root"),
            models.Index(fields=["organization", "-created_at", "-id"], name="email_org_time"),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id


class EmailAttachment(models.Model):
    """A file that came with a received email, stored on disk by content hash, served only as a download."""

    message = models.ForeignKey(EmailMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored = models.BooleanField(default=True)  # False: over the size cap, only its name and size are kept

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class Sequence(OrganizationScopedModel):
    """A series of steps (emails, calls, tasks, waits) a lead goes through until it answers or finishes."""

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    team = models.ForeignKey(
        "orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("team")
    )
    agency = models.ForeignKey(
        "orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("agency")
    )
    status = models.CharField(_("status"), max_length=10, choices=SequenceStatus.choices, default=SequenceStatus.ACTIVE)
    allow_parallel = models.BooleanField(_("leads in it may be in other sequences too"), default=False)

    class Meta:
        verbose_name = _("sequence")
        verbose_name_plural = _("sequences")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    AUTO_EMAIL = "auto_email", _("Automatic email")
    MANUAL_EMAIL = "manual_email", _("Manual email (task with a draft)")
    CALL = "call", _("Call task")
    TASK = "task", _("Task")
    WAIT = "wait", _("Wait")


class SequenceStep(models.Model):
    """One step of a sequence. Email steps use a template (or their own subject and body); a wait step
    delays the next one by days or business days; `window_*` narrow the organization's sending hours."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(_("kind"), max_length=12, choices=StepKind.choices)
    template = models.ForeignKey(
        EmailTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("template")
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"), blank=True)
    reply_in_thread = models.BooleanField(_("send as a reply to the previous email"), default=True)
    title = models.CharField(_("task title"), max_length=255, blank=True)
    wait_days = models.PositiveSmallIntegerField(_("days"), default=0)
    business_days = models.BooleanField(_("business days only"), default=False)
    window_start = models.TimeField(_("not before"), null=True, blank=True)
    window_end = models.TimeField(_("not after"), null=True, blank=True)

    class Meta:
        verbose_name = _("sequence step")
        verbose_name_plural = _("sequence steps")
        ordering = ["sequence", "position"]
        constraints = [models.UniqueConstraint(fields=["sequence", "position"], name="sequence_step_unique_position")]

    def __str__(self) -> str:
        return f"{self.sequence_id}#{self.position} {self.kind}"


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    FINISHED = "finished", _("Finished")
    STOPPED = "stopped", _("Stopped")


class StopReason(models.TextChoices):
    REPLIED = "replied", _("Replied")
    MEETING = "meeting", _("Meeting booked")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Hard bounce")
    CONVERTED = "converted", _("Lead converted")
    DISQUALIFIED = "disqualified", _("Lead disqualified")
    MANUAL = "manual", _("Stopped by hand")
    NO_ADDRESS = "no_address", _("No email address")
    SUPPRESSED = "suppressed", _("Address suppressed")
    OUT_OF_OFFICE = "out_of_office", _("Out of office (paused)")
    NO_MAILBOX = "no_mailbox", _("No mailbox to send from (paused)")
    SEND_FAILED = "send_failed", _("The server refused the email")


class Enrollment(OrganizationScopedModel):
    """A lead (or contact) going through a sequence. `position` is the next step to run, due at
    `next_run_at`; a worker claims it until `claimed_until`. Owner, team and agency are the record's."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254, blank=True)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    enrolled_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=EnrollmentState.choices, default=EnrollmentState.ACTIVE)
    stop_reason = models.CharField(max_length=20, choices=StopReason.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    waiting_for_task = models.BooleanField(default=False)  # a manual step's task or call is not done yet
    thread_root = models.CharField(max_length=255, blank=True)  # Message-ID of its first email
    last_message_id = models.CharField(max_length=255, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        indexes = [
            models.Index(fields=["next_run_at"], name="enrollment_due", condition=Q(state="active")),
            models.Index(fields=["next_run_at"], name="enrollment_resume", condition=Q(state="paused")),
            models.Index(fields=["sequence", "state"], name="enrollment_sequence_state"),
            models.Index(fields=["organization", "email", "state"], name="enrollment_email_state"),
            models.Index(fields=["lead"], name="enrollment_lead"),
            models.Index(fields=["contact"], name="enrollment_contact"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "lead"],
                condition=Q(state__in=["active", "paused"], lead__isnull=False),
                name="enrollment_one_open_per_lead",
            ),
            models.UniqueConstraint(
                fields=["sequence", "contact"],
                condition=Q(state__in=["active", "paused"], contact__isnull=False),
                name="enrollment_one_open_per_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}: {self.email}"

    @property
    def is_open(self) -> bool:
        return self.state in (EnrollmentState.ACTIVE, EnrollmentState.PAUSED)


class StepRun(models.Model):
    """The one run of a step for an enrollment: the unique pair is what makes each step happen once even
    when two workers pick it or one dies mid-send."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="runs")
    step = models.ForeignKey(SequenceStep, on_delete=models.CASCADE, related_name="runs")
    created_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20)  # sent, queued, task, callback, skipped, failed
    message = models.ForeignKey(EmailMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task = models.ForeignKey("crm.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    callback = models.ForeignKey("calls.Callback", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("step run")
        verbose_name_plural = _("step runs")
        constraints = [models.UniqueConstraint(fields=["enrollment", "step"], name="step_run_once")]

    def __str__(self) -> str:
        return f"{self.enrollment_id}/{self.step_id}: {self.outcome}"
