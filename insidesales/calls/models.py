"""Telephony settings, caller ids, calls and their provider events, dispositions, do-not-call lists,
callbacks, call campaigns and agents' dialer sessions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insidesales.core.models import OrganizationScopedModel

USER = settings.AUTH_USER_MODEL


class ProviderKind(models.TextChoices):
    SIMULATED = "simulated", _("Simulated carrier (demo, no real calls)")
    SIP = "sip", _("SIP trunk or PBX")
    TWILIO = "twilio", _("Twilio")


class TelephonySettings(OrganizationScopedModel):
    """An organization's telephony: its provider and credentials (encrypted), calling rules, and the
    compliance settings every call and campaign follows."""

    provider = models.CharField(
        _("provider"), max_length=20, choices=ProviderKind.choices, default=ProviderKind.SIMULATED
    )
    # Provider settings that are not secret (trunk host, account SID...) and the secret ones, encrypted
    # with `calls.secrets` (never shown back in full).
    provider_config = models.JSONField(default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, default="")
    # calls.compliance.WindowRules as JSON: default window, per country / zone overrides, blocked dates.
    window_rules = models.JSONField(default=dict, blank=True)
    abandon_message = models.TextField(
        _("message played when no agent is free"),
        blank=True,
        default="",
        help_text=_("Who is calling and a number to call back; played to a person the dialer could not connect."),
    )
    # Countries (ISO-2) whose callees hear a recording notice, and the notice per country ("*" = all).
    recording_enabled = models.BooleanField(_("record calls"), default=False)
    recording_notices = models.JSONField(default=dict, blank=True)
    callback_release_minutes = models.PositiveIntegerField(
        _("release overdue personal callbacks to the team after (minutes)"), default=60
    )

    class Meta:
        verbose_name = _("telephony settings")
        verbose_name_plural = _("telephony settings")
        constraints = [models.UniqueConstraint(fields=["organization"], name="telephony_one_per_org")]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} ({self.organization_id})"


class CallerId(OrganizationScopedModel):
    """A number the organization owns and may show as the caller. With `team` set it is that team's;
    `region` (ISO-2 country, optionally with a national prefix like "US-415") enables local presence."""

    number = models.CharField(_("number"), max_length=20, help_text=_("E.164"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    team = models.ForeignKey(
        "orgs.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("team")
    )
    region = models.CharField(_("local presence region"), max_length=20, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("caller ID")
        verbose_name_plural = _("caller IDs")
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="callerid_unique_number")]

    def __str__(self) -> str:
        return self.label or self.number


class Disposition(OrganizationScopedModel):
    """How a call ended, chosen by the rep after it; `actions` run when it is chosen:
    {"callback": bool, "lead_status": "", "add_to_dnc": bool, "retry": bool}."""

    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    hotkey = models.CharField(_("hotkey"), max_length=1, blank=True)
    is_contact = models.BooleanField(_("counts as a conversation"), default=False)
    actions = models.JSONField(default=dict, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="disposition_unique_key")]

    def __str__(self) -> str:
        return self.label


class CampaignMode(models.TextChoices):
    PREVIEW = "preview", _("Preview (the rep clicks to dial)")
    POWER = "power", _("Power (N lines per ready agent)")
    PREDICTIVE = "predictive", _("Predictive")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    FINISHED = "finished", _("Finished")


class CampaignOrder(models.TextChoices):
    VIEW = "view", _("In the saved view's order")
    NEWEST = "newest", _("Newest leads first")
    OLDEST = "oldest", _("Oldest leads first")
    STALEST = "stalest", _("Longest without activity first")


# An abandoned call's number is not called again for 72 hours (UK Ofcom; the message played says so).
DEFAULT_RETRY_MINUTES = {
    "busy": 30,
    "no_answer": 120,
    "machine": 240,
    "abandoned": 72 * 60,
    "failed": 240,
    "canceled": 60,
}


class Campaign(OrganizationScopedModel):
    """A call campaign over a saved view or a list of leads, dialled in one mode."""

    name = models.CharField(_("name"), max_length=200)
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    saved_view = models.ForeignKey("crm.SavedView", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(_("dialing mode"), max_length=20, choices=CampaignMode.choices, default="preview")
    lines_per_agent = models.DecimalField(_("lines per ready agent"), max_digits=3, decimal_places=1, default=1)
    order = models.CharField(_("call first"), max_length=20, choices=CampaignOrder.choices, default=CampaignOrder.VIEW)
    max_attempts = models.PositiveSmallIntegerField(_("attempts per lead"), default=3)
    # Minutes before another attempt, per outcome: {"busy": 30, "no_answer": 120, "machine": 240, ...}
    retry_minutes = models.JSONField(default=dict, blank=True)
    talk_track = models.TextField(_("talk track"), blank=True)
    caller_id = models.ForeignKey(CallerId, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    check_24h_window = models.BooleanField(
        # xgettext:no-python-format
        _("also keep abandonment at or below 3% over every 24 hours (UK Ofcom)"),
        default=False,
    )
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("call campaign")
        verbose_name_plural = _("call campaigns")

    def __str__(self) -> str:
        return self.name


class CampaignLeadState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DIALING = "dialing", _("Being called")
    DONE = "done", _("Done")
    EXHAUSTED = "exhausted", _("Out of attempts")
    BLOCKED = "blocked", _("Not callable")


class CampaignLead(models.Model):
    """One lead's place in a campaign: priority, attempts so far, when it may be called next, and why
    it was last skipped."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="entries")
    lead = models.ForeignKey("crm.Lead", on_delete=models.CASCADE, related_name="+")
    priority = models.IntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=CampaignLeadState.choices, default=CampaignLeadState.PENDING)
    last_outcome = models.CharField(max_length=20, blank=True)
    skip_reason = models.CharField(max_length=40, blank=True)
    skip_message = models.CharField(max_length=255, blank=True)
    # Preview: the rep the lead is shown to; power and predictive: set when an answered call is connected.
    agent = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    call = models.ForeignKey("Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("campaign lead")
        verbose_name_plural = _("campaign leads")
        constraints = [models.UniqueConstraint(fields=["campaign", "lead"], name="campaignlead_unique")]
        indexes = [
            models.Index(fields=["campaign", "state", "-priority", "next_attempt_at"], name="campaignlead_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.lead_id} ({self.state})"


class CallDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class CallStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RINGING = "ringing", _("Ringing")
    ANSWERED = "answered", _("Answered")
    BRIDGED = "bridged", _("Connected")
    COMPLETED = "completed", _("Completed")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    MACHINE = "machine", _("Answering machine")
    CANCELED = "canceled", _("Canceled")
    FAILED = "failed", _("Failed")
    ABANDONED = "abandoned", _("Abandoned (no agent free)")


FINAL_CALL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.MACHINE,
        CallStatus.CANCELED,
        CallStatus.FAILED,
        CallStatus.ABANDONED,
    }
)


class Call(OrganizationScopedModel):
    """One phone call, inbound or outbound, with what its provider reported about it.

    The status and times are recomputed from the call's `CallEvent`s whenever one arrives, so
    events delivered twice or out of order still give the right record. Visibility follows the
    record called (its owner, team and agency are copied here for scoped lists)."""

    direction = models.CharField(max_length=10, choices=CallDirection.choices, default=CallDirection.OUTBOUND)
    status = models.CharField(max_length=20, choices=CallStatus.choices, default=CallStatus.QUEUED)
    provider = models.CharField(max_length=20, choices=ProviderKind.choices)
    provider_call_id = models.CharField(max_length=128, blank=True)
    from_number = models.CharField(max_length=20, blank=True)
    to_number = models.CharField(max_length=20, blank=True)
    agent = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    # Copied from the record called, for scoped lists (the wallboard, reports).
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queued_at = models.DateTimeField(default=timezone.now)
    # Set by the dialer worker that claimed the call (one UPDATE ... WHERE dispatched_at IS NULL), and
    # by a rep or supervisor asking to end it; the worker carries the request to the provider.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    hangup_requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ringing_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    bridged_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    answered_by = models.CharField(max_length=20, blank=True)  # "human" / "machine"
    abandoned = models.BooleanField(default=False)
    recording_url = models.URLField(max_length=500, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    disposition = models.ForeignKey(Disposition, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    disposed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    activity = models.ForeignKey("crm.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_call_id"],
                condition=~models.Q(provider_call_id=""),
                name="call_unique_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-queued_at"], name="call_org_time"),
            models.Index(fields=["organization", "agent", "-queued_at"], name="call_agent_time"),
            models.Index(fields=["campaign", "-queued_at"], name="call_campaign_time"),
            models.Index(fields=["organization", "status"], name="call_org_status"),
            models.Index(fields=["dispatched_at", "queued_at"], name="call_undispatched"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.to_number or self.from_number} ({self.status})"


class CallEvent(models.Model):
    """One provider event of a call, stored once (`event_id` unique per call) and kept as evidence."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    occurred_at = models.DateTimeField()
    sequence = models.IntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        constraints = [models.UniqueConstraint(fields=["call", "event_id"], name="callevent_unique")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.event_id})"


class DncSource(models.TextChoices):
    MANUAL = "manual", _("Added by hand")
    IMPORT = "import", _("Imported")
    API = "api", _("API")
    DISPOSITION = "disposition", _("Call disposition")
    INBOUND = "inbound", _("Caller's request")


class DncEntry(OrganizationScopedModel):
    """A number nobody in the organization (or in one campaign) may call. Numbers are E.164."""

    number = models.CharField(_("number"), max_length=20)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="dnc_entries")
    source = models.CharField(max_length=20, choices=DncSource.choices, default=DncSource.MANUAL)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    added_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call list")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"],
                condition=models.Q(campaign__isnull=True),
                name="dnc_unique_org_number",
            ),
            models.UniqueConstraint(
                fields=["organization", "campaign", "number"],
                condition=models.Q(campaign__isnull=False),
                name="dnc_unique_campaign_number",
            ),
        ]
        indexes = [models.Index(fields=["organization", "number"], name="dnc_org_number")]

    def __str__(self) -> str:
        return self.number


class Callback(OrganizationScopedModel):
    """A promised call back: to one rep (personal) or anyone on the team, due at an instant chosen in the
    lead's own time zone. Overdue personal callbacks go to the team after the organization's delay."""

    lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField(_("due"))
    assignee = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("orgs.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agency = models.ForeignKey("orgs.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_personal = models.BooleanField(_("only for me"), default=True)
    released_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        indexes = [
            models.Index(fields=["organization", "assignee", "done_at", "due_at"], name="callback_assignee_due"),
            models.Index(fields=["organization", "team", "done_at", "due_at"], name="callback_team_due"),
        ]

    def __str__(self) -> str:
        return f"{self.due_at:%Y-%m-%d %H:%M} ({self.pk})"


class AgentState(models.TextChoices):
    OFFLINE = "offline", _("Offline")
    READY = "ready", _("Ready")
    ON_CALL = "on_call", _("On a call")
    WRAP_UP = "wrap_up", _("Wrap-up")
    PAUSED = "paused", _("Paused")


PAUSE_REASONS = {
    "break": _("Break"),
    "lunch": _("Lunch"),
    "meeting": _("Meeting"),
    "training": _("Training"),
    "admin": _("Paperwork"),
    "other": _("Other"),
}


class AgentSession(OrganizationScopedModel):
    """A rep at the agent desktop: which campaign they work, their state since when, their current call."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=20, choices=AgentState.choices, default=AgentState.OFFLINE)
    pause_reason = models.CharField(max_length=100, blank=True)
    state_since = models.DateTimeField(default=timezone.now)
    current_call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    current_lead = models.ForeignKey("crm.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Where the rep takes calls: a SIP URI of their softphone or desk phone, or a number (Twilio).
    endpoint = models.CharField(_("my phone"), max_length=200, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("agent session")
        verbose_name_plural = _("agent sessions")
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="agentsession_unique_user")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.state}"

    @property
    def pause_reason_label(self) -> str:
        return str(PAUSE_REASONS.get(self.pause_reason, self.pause_reason))


class CallbackReplay(models.Model):
    """Signed provider callbacks already accepted (hash of signature + body), to refuse replays."""

    key = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField(default=timezone.now)
    keep_until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.key


class AgentShift(OrganizationScopedModel):
    """A stretch of time an agent was signed in to the desktop (ready, on calls, in wrap-up or paused),
    on one campaign: the hours in "talk time per agent-hour"."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("agent shift")
        verbose_name_plural = _("agent shifts")
        indexes = [models.Index(fields=["organization", "started_at"], name="agentshift_org_started")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.started_at:%Y-%m-%d %H:%M}"
