"""Inbound: web forms and their submissions, routing rules, reps' availability for inbound leads,
new-lead notifications, response deadlines (speed to lead) and outgoing webhooks."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insidesales.core.models import OrganizationScopedModel

USER = settings.AUTH_USER_MODEL


def new_public_key() -> str:
    return secrets.token_urlsafe(12)


class WebForm(OrganizationScopedModel):
    """A lead capture form: its fields (each mapped to a lead field or custom field), consent text, what the
    visitor sees after sending, and where it may be embedded. `public_key` names it in public URLs."""

    name = models.CharField(_("name"), max_length=100)
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key, editable=False)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    title = models.CharField(_("heading"), max_length=200, blank=True)
    intro = models.TextField(_("text above the fields"), blank=True)
    # [{"key": "email", "label": "Work email", "required": true}, {"key": "custom:budget", ...}, ...]
    fields = models.JSONField(_("fields"), default=list)
    consent_text = models.TextField(_("consent text"), blank=True)
    consent_required = models.BooleanField(_("consent required"), default=True)
    submit_label = models.CharField(_("button label"), max_length=60, blank=True)
    thank_you_message = models.TextField(_("thank-you message"), blank=True)
    redirect_url = models.URLField(_("redirect after sending"), max_length=500, blank=True)
    # The organization's own sites: where the form may be embedded and posted from, and redirected to.
    allowed_domains = models.JSONField(_("your sites"), default=list, blank=True)
    source = models.CharField(_("lead source"), max_length=20, default="web_form")
    min_fill_seconds = models.PositiveSmallIntegerField(_("minimum fill time, seconds"), default=3)
    per_ip_per_hour = models.PositiveIntegerField(_("submissions per visitor address per hour"), default=20)
    per_form_per_minute = models.PositiveIntegerField(_("submissions per minute"), default=600)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        indexes = [models.Index(fields=["organization", "name"], name="webform_org_name")]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    FORM = "form", _("Web form")
    API = "api", _("API")


class Outcome(models.TextChoices):
    CREATED = "created", _("New lead")
    ATTACHED_LEAD = "attached_lead", _("Added to an existing lead")
    ATTACHED_CONTACT = "attached_contact", _("Added to an existing contact")


class Submission(OrganizationScopedModel):
    """One accepted inbound inquiry (a form sent or an API call): what was sent, where from, which lead or
    contact it became or joined, how it was routed, and how fast someone answered (speed to lead)."""

    form = models.ForeignKey(WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.FORM)
    received_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict)
    consent_text = models.TextField(blank=True)
    consent_given = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    landing_page = models.CharField(max_length=1000, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.CREATED)
    lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Who it went to (a copy of the record's owner/team/agency at routing time) and by which rule.
    rule = models.ForeignKey("RoutingRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    route_reason = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(null=True, blank=True)
    # Speed to lead: the first call or email by a person after the inquiry, and the deadline for it.
    first_touch_at = models.DateTimeField(null=True, blank=True)
    first_touch_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_touch_kind = models.CharField(max_length=10, blank=True)
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_steps = models.PositiveSmallIntegerField(default=0)
    sla_missed = models.BooleanField(default=False)
    # Reps who had it and let the deadline pass (a reassignment skips them).
    tried_user_ids = models.JSONField(default=list, blank=True)
    # The API's Idempotency-Key or the form's one-time token: a retried send is stored once.
    # NULL when there is none (a unique index ignores NULLs, and a plain index serves the lookup by key).
    dedupe_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        verbose_name = _("inbound inquiry")
        verbose_name_plural = _("inbound inquiries")
        indexes = [
            models.Index(fields=["organization", "-received_at"], name="submission_org_received"),
            models.Index(fields=["sla_due_at"], name="submission_sla_due", condition=Q(sla_due_at__isnull=False)),
            models.Index(
                fields=["lead", "received_at"],
                name="submission_untouched_lead",
                condition=Q(first_touch_at__isnull=True),
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["organization", "dedupe_key"], name="submission_dedupe_key")]

    def __str__(self) -> str:
        return f"#{self.pk}"


class RejectReason(models.TextChoices):
    HONEYPOT = "honeypot", _("Hidden field filled in (a bot)")
    TOO_FAST = "too_fast", _("Sent faster than a person can type")
    IP_RATE = "ip_rate", _("Too many from one address")
    FORM_RATE = "form_rate", _("Too many for this form")
    INVALID = "invalid", _("Missing or invalid fields")
    ORIGIN = "origin", _("Posted from a site not on the form's list")


class RejectionCount(models.Model):
    """How many submissions of a form were turned away, per reason and hour (every one is counted)."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10, choices=RejectReason.choices)
    hour = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["form", "hour", "reason"], name="rejectioncount_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.reason} {self.hour}: {self.count}"


class RejectedSample(models.Model):
    """A sample of turned-away submissions kept for review (a few per form, reason and hour), so a
    person can check that the spam filters are not refusing real inquiries."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10, choices=RejectReason.choices)
    received_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["form", "-received_at"], name="rejectedsample_form")]

    def __str__(self) -> str:
        return f"{self.form_id} {self.reason}"


class AssignTo(models.TextChoices):
    ACCOUNT_OWNER = "account_owner", _("Owner of the matching account")
    USER = "user", _("A person (territory)")
    ROUND_ROBIN = "round_robin", _("Round robin in a team")
    LEAST_OPEN = "least_open", _("Team member with the fewest open leads")
    AGENCY = "agency", _("An agency")
    POOL = "pool", _("Unassigned pool")


class SlaAction(models.TextChoices):
    NONE = "none", _("Nothing")
    REASSIGN = "reassign", _("Reassign to the next rep")
    ESCALATE = "escalate", _("Tell the managers")
    BOTH = "both", _("Reassign and tell the managers")


class RoutingRule(OrganizationScopedModel):
    """One routing rule: when every condition matches a new inbound lead, assign it as `assign_to` says.
    Rules are tried by `position`; the default rule (no conditions) catches the rest."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default rule"), default=False)
    # [{"field": "country", "op": "in", "value": ["DE", "AT"]}, {"field": "custom:employees", "op": "gte", ...}]
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    assign_to = models.CharField(_("assign to"), max_length=20, choices=AssignTo.choices, default=AssignTo.ROUND_ROBIN)
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Round robin: {"<user id>": weight}; members not listed weigh 1. The running tallies live in `rr_state`.
    weights = models.JSONField(_("weights"), default=dict, blank=True)
    rr_state = models.JSONField(default=dict, blank=True, editable=False)
    # A matching account's owner wins over the rule's own assignment when set.
    prefer_account_owner = models.BooleanField(_("existing accounts go to their owner"), default=True)
    skip_offline = models.BooleanField(_("only reps who are online"), default=True)
    sla_minutes = models.PositiveIntegerField(_("first touch within, minutes"), null=True, blank=True)
    sla_working_hours = models.BooleanField(_("count working hours only"), default=True)
    sla_action = models.CharField(_("when missed"), max_length=10, choices=SlaAction.choices, default=SlaAction.BOTH)
    sla_max_reassignments = models.PositiveSmallIntegerField(_("reassign at most"), default=2)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "position"], name="routingrule_org_position")]

    def __str__(self) -> str:
        return self.name


class InboundSettings(models.Model):
    """An organization's working hours for response deadlines ("first touch within 5 working minutes"):
    calling-window rules (`calls.windows.WindowRules` JSON) read in the organization's time zone, and
    whether its country's public holidays are closed."""

    organization = models.OneToOneField("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    working_hours = models.JSONField(default=dict, blank=True)
    public_holidays = models.BooleanField(_("public holidays are closed"), default=True)

    class Meta:
        verbose_name = _("inbound settings")
        verbose_name_plural = _("inbound settings")

    def __str__(self) -> str:
        return f"{self.organization_id}"


class RepAvailability(OrganizationScopedModel):
    """A rep's availability for inbound leads: out of office, how many open new leads they can hold, and
    whether they take inbound leads at all. Being online is seen from their open app (`seen_at`)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    accepts_inbound = models.BooleanField(_("takes inbound leads"), default=True)
    away_from = models.DateTimeField(_("out of office from"), null=True, blank=True)
    away_until = models.DateTimeField(_("out of office until"), null=True, blank=True)
    max_open_leads = models.PositiveIntegerField(_("at most this many new leads at a time"), null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("availability")
        verbose_name_plural = _("availability")
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="repavailability_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}"


class NotificationKind(models.TextChoices):
    NEW_LEAD = "new_lead", _("New inbound lead")
    REASSIGNED = "reassigned", _("Inbound lead reassigned to you")
    ESCALATED = "escalated", _("Inbound lead not answered in time")


class Notification(models.Model):
    """An alert for one person (a new inbound lead for them, a missed deadline for their manager). Written in
    the same transaction as what it announces, once per (submission, person, kind, step)."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=255)
    body = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_user"),
            models.Index(fields=["id"], name="notification_unemailed", condition=Q(emailed_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["submission", "user", "kind", "step"], name="notification_once"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def link(self) -> str:
        """The page of what the alert is about."""
        if self.lead_id:
            return f"/leads/{self.lead_id}/"
        if self.contact_id:
            return f"/contacts/{self.contact_id}/"
        return ""


class WebhookEndpoint(OrganizationScopedModel):
    """An outgoing webhook subscription: a URL, the events it wants, its signing secret (encrypted at rest).
    Disabled automatically after failing for `FAILING_DAYS` days in a row."""

    url = models.URLField(_("URL"), max_length=1000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        indexes = [models.Index(fields=["organization", "is_active"], name="webhookendpoint_org_active")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DELIVERED = "delivered", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Gave up")


class WebhookDelivery(models.Model):
    """One event for one endpoint: its fixed payload and id (the same on every attempt and redelivery, so
    receivers can drop repeats), its state and the next attempt's time."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="webhookdelivery_endpoint"),
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due",
                condition=Q(status__in=["pending", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One try at delivering: when, what the receiver answered (status, the start of its body) or why it
    could not be reached, and how long it took — the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    manual = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
