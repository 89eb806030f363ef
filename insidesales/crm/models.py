"""Companies, contacts, leads, deals with pipelines, activities, tasks, tags, custom fields, saved views."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from insidesales.core.loading import FastLoading
from insidesales.core.models import OrganizationScopedModel

USER = settings.AUTH_USER_MODEL


def key_index(name: str, *fields: str, covering: bool = False) -> models.Index:
    """An index for the `prefix` lookup: pattern ops on PostgreSQL, a plain B-tree on SQLite.

    `covering` (name keys): on PostgreSQL the index also holds each row's id and last activity, so the
    global search reads its candidates from the index alone (index-only scans); SQLite indexes hold
    the row id anyway and ignore INCLUDE."""
    include = ["id", "last_activity_at"] if covering else None
    opclasses = ["", *["varchar_pattern_ops"] * (len(fields) - 1)]
    return models.Index(fields=list(fields), name=name, opclasses=opclasses, include=include)


class Tag(OrganizationScopedModel):
    """A free label put on records (e.g. "trade-show-2026")."""

    name = models.CharField(_("name"), max_length=64)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tag_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssignableRecord(OrganizationScopedModel):
    """Fields every visible record shares: who owns it, its team and agency, and its freshness."""

    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("owner")
    )
    team = models.ForeignKey(
        "orgs.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("team"),
    )
    agency = models.ForeignKey(
        "orgs.Agency",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agency"),
    )
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    class Meta:
        abstract = True


class Company(AssignableRecord):
    """An account: a company we sell to."""

    name = models.CharField(_("name"), max_length=255)
    domain = models.CharField(_("domain"), max_length=255, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phone_raw = models.CharField(_("phone as entered"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    name_key = models.CharField(max_length=255, editable=False, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        indexes = [
            models.Index(fields=["organization", "-last_activity_at", "-id"], name="company_org_activity"),
            models.Index(fields=["organization", "owner", "-last_activity_at", "-id"], name="company_owner_activity"),
            models.Index(fields=["organization", "agency", "-last_activity_at", "-id"], name="company_agency_activity"),
            models.Index(fields=["organization", "team", "-last_activity_at", "-id"], name="company_team_activity"),
            key_index("company_name_key", "organization", "name_key", covering=True),
            models.Index(fields=["organization", "domain"], name="company_domain"),
            models.Index(fields=["organization", "phone"], name="company_phone"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(AssignableRecord):
    """A person at a company we deal with (often a converted lead)."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    title = models.CharField(_("job title"), max_length=150, blank=True)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("company"),
    )
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phone_raw = models.CharField(_("phone as entered"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    name_key = models.CharField(max_length=255, editable=False, default="")
    name_rev_key = models.CharField(max_length=255, editable=False, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["organization", "-last_activity_at", "-id"], name="contact_org_activity"),
            models.Index(fields=["organization", "owner", "-last_activity_at", "-id"], name="contact_owner_activity"),
            models.Index(fields=["organization", "agency", "-last_activity_at", "-id"], name="contact_agency_activity"),
            models.Index(fields=["organization", "team", "-last_activity_at", "-id"], name="contact_team_activity"),
            key_index("contact_name_key", "organization", "name_key", covering=True),
            key_index("contact_name_rev_key", "organization", "name_rev_key", covering=True),
            key_index("contact_email", "organization", "email"),
            models.Index(fields=["organization", "phone"], name="contact_phone"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    QUALIFIED = "qualified", _("Qualified")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")


class DisqualifyReason(models.TextChoices):
    NO_BUDGET = "no_budget", _("No budget")
    NOT_INTERESTED = "not_interested", _("Not interested")
    NO_AUTHORITY = "no_authority", _("No authority")
    COMPETITOR = "competitor", _("Chose a competitor")
    BAD_DATA = "bad_data", _("Bad contact data")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


class LeadSource(models.TextChoices):
    COLD_LIST = "cold_list", _("Cold list")
    WEB_FORM = "web_form", _("Web form")
    INBOUND_CALL = "inbound_call", _("Inbound call")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class Lead(AssignableRecord):
    """A prospect not yet qualified. Status moves only through named services (qualify, convert...)."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=150, blank=True)
    company_name = models.CharField(_("company"), max_length=255, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164"))
    phone_raw = models.CharField(_("phone as entered"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.OTHER)
    status = models.CharField(_("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    disqualify_reason = models.CharField(
        _("disqualification reason"), max_length=20, choices=DisqualifyReason.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    converted_contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    converted_company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    converted_deal = models.ForeignKey("Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name_key = models.CharField(max_length=255, editable=False, default="")
    name_rev_key = models.CharField(max_length=255, editable=False, default="")
    company_key = models.CharField(max_length=255, editable=False, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads", verbose_name=_("tags"))

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["organization", "-last_activity_at", "-id"], name="lead_org_activity"),
            models.Index(fields=["organization", "status", "-last_activity_at", "-id"], name="lead_status_activity"),
            models.Index(
                fields=["organization", "owner", "status", "-last_activity_at", "-id"],
                name="lead_owner_activity",
            ),
            models.Index(fields=["organization", "agency", "-last_activity_at", "-id"], name="lead_agency_activity"),
            models.Index(fields=["organization", "team", "-last_activity_at", "-id"], name="lead_team_activity"),
            key_index("lead_name_key", "organization", "name_key", covering=True),
            key_index("lead_name_rev_key", "organization", "name_rev_key", covering=True),
            # The company key first (prefix search), then the surname: an import finds people with a
            # similar name at the same company (name_rev_key starts with the surname) in one range.
            key_index("lead_company_key", "organization", "company_key", "name_rev_key", covering=True),
            key_index("lead_email", "organization", "email"),
            models.Index(fields=["organization", "phone"], name="lead_phone"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.company_name or self.email or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


# The names the default pipeline is created with (crm.services.config.DEFAULT_STAGES). They are the
# product's words, so they are shown in the reader's language until an admin renames them.
BUILT_IN_NAMES = {
    "Sales": pgettext_lazy("default pipeline", "Sales"),
    "Discovery": pgettext_lazy("default stage", "Discovery"),
    "Demo": pgettext_lazy("default stage", "Demo"),
    "Proposal": pgettext_lazy("default stage", "Proposal"),
    "Negotiation": pgettext_lazy("default stage", "Negotiation"),
    "Won": pgettext_lazy("default stage", "Won"),
    "Lost": pgettext_lazy("default stage", "Lost"),
}


def built_in_name(name: str) -> str:
    """A pipeline or stage name for display: translated if it is a default one, else as the admin wrote it."""
    return str(BUILT_IN_NAMES.get(name, name))


class Pipeline(OrganizationScopedModel):
    """A sequence of deal stages; an organization may run several (new business, renewals...)."""

    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="pipeline_unique_name")]

    def __str__(self) -> str:
        return built_in_name(self.name)


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(OrganizationScopedModel):
    """A deal stage; `kind` fixes its meaning whatever its name."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(_("probability, %"), default=10)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="stage_probability_le_100"),
        ]

    def __str__(self) -> str:
        return built_in_name(self.name)


class Deal(AssignableRecord):
    """A sales opportunity moving through a pipeline's stages."""

    name = models.CharField(_("name"), max_length=255)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        verbose_name=_("company"),
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        verbose_name=_("contact"),
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", verbose_name=_("stage"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=255, blank=True)
    name_key = models.CharField(max_length=255, editable=False, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="deals", verbose_name=_("tags"))

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["organization", "-last_activity_at", "-id"], name="deal_org_activity"),
            models.Index(fields=["organization", "owner", "-last_activity_at", "-id"], name="deal_owner_activity"),
            models.Index(fields=["organization", "agency", "-last_activity_at", "-id"], name="deal_agency_activity"),
            models.Index(fields=["organization", "team", "-last_activity_at", "-id"], name="deal_team_activity"),
            models.Index(fields=["organization", "stage", "-last_activity_at", "-id"], name="deal_stage_activity"),
            key_index("deal_name_key", "organization", "name_key", covering=True),
        ]

    def __str__(self) -> str:
        return self.name


class ActivityKind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    EMAIL = "email", pgettext_lazy("activity kind", "Email")  # a message sent or received, not an address
    MEETING = "meeting", _("Meeting")
    TASK = "task", _("Task")
    STATUS_CHANGE = "status_change", _("Status change")
    ASSIGNMENT = "assignment", _("Assignment")
    CREATED = "created", _("Created")
    CONVERSION = "conversion", _("Conversion")
    STAGE_CHANGE = "stage_change", _("Stage change")
    MERGE = "merge", pgettext_lazy("activity kind", "Merge")
    INQUIRY = "inquiry", _("Inbound inquiry")
    DEADLINE = "deadline", _("Response deadline")


class Activity(FastLoading, models.Model):
    """One entry on a record's timeline. Written by services, never edited by views."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["lead", "-occurred_at", "-id"], name="activity_lead_time"),
            models.Index(fields=["contact", "-occurred_at", "-id"], name="activity_contact_time"),
            models.Index(fields=["company", "-occurred_at", "-id"], name="activity_company_time"),
            models.Index(fields=["deal", "-occurred_at", "-id"], name="activity_deal_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class Task(OrganizationScopedModel):
    """A to-do with a due time, an assignee and an optional reminder, usually tied to a record."""

    title = models.CharField(_("title"), max_length=255)
    notes = models.TextField(_("notes"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    assignee = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("assignee"))
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["organization", "assignee", "completed_at", "due_at"], name="task_assignee_due"),
            models.Index(fields=["remind_at"], name="task_remind", condition=models.Q(reminded_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes/no")


class RecordType(models.TextChoices):
    LEAD = "lead", _("Lead")
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")
    DEAL = "deal", _("Deal")


class CustomField(OrganizationScopedModel):
    """An organization-defined, typed field on one record type; values live in the record's `custom`."""

    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType.choices)
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["record_type", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "record_type", "key"], name="customfield_unique_key")
        ]

    def __str__(self) -> str:
        return self.label


class SavedView(OrganizationScopedModel):
    """Filters, columns and sort for a list page, personal or shared with a team."""

    record_type = models.CharField(_("record type"), max_length=10, choices=RecordType.choices)
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="saved_views")
    team = models.ForeignKey(
        "orgs.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("shared with team"),
    )
    filters = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    sort = models.CharField(max_length=50, blank=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
