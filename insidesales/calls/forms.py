"""Forms of the calls pages: the disposition after a call, adding and importing do-not-call numbers."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MAX_DNC_FILE_BYTES = 20 * 1024 * 1024


class DispositionForm(forms.Form):
    """How the call went. A callback time is entered in the callee's own time zone (`zone`)."""

    disposition = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    callback_at = forms.DateTimeField(
        label=_("Call back at (callee's local time)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    callback_for_team = forms.BooleanField(label=_("Anyone on my team may take it"), required=False)

    def __init__(self, *args, dispositions=(), zone: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["disposition"].choices = [(d.key, getattr(d, "shown_label", d.label)) for d in dispositions]
        self.zone = zone

    def clean_callback_at(self):
        value = self.cleaned_data.get("callback_at")
        if value is None:
            return None
        try:
            zone = zoneinfo.ZoneInfo(self.zone) if self.zone else dt.UTC
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        naive = value.replace(tzinfo=None)
        return naive.replace(tzinfo=zone).astimezone(dt.UTC)

    def to_service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "disposition_key": data["disposition"],
            "note": data.get("note", ""),
            "callback_at": data.get("callback_at"),
            "callback_personal": not data.get("callback_for_team"),
        }


class DncAddForm(forms.Form):
    number = forms.CharField(label=_("Phone number"), max_length=64)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class DncImportForm(forms.Form):
    file = forms.FileField(label=_("File (CSV or text, one number per line)"))
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_DNC_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload

    def lines(self):
        raw = self.cleaned_data["file"].read()
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        text = str(best) if best is not None else raw.decode("utf-8", errors="replace")
        return io.StringIO(text.lstrip("\ufeff"))


class CampaignForm(forms.Form):
    """A call campaign's settings; choices come from the organization (views, teams, agencies, numbers)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    saved_view = forms.TypedChoiceField(
        label=_("Leads from the saved view"), coerce=int, required=False, empty_value=None
    )
    mode = forms.ChoiceField(label=_("Dialing mode"))
    lines_per_agent = forms.DecimalField(
        label=_("Lines per ready agent (power)"), min_value=1, max_value=5, decimal_places=1, initial=1
    )
    max_attempts = forms.IntegerField(label=_("Attempts per lead"), min_value=1, max_value=20, initial=3)
    order = forms.ChoiceField(label=_("Call first"))
    retry_busy = forms.IntegerField(label=_("Retry a busy line after (minutes)"), min_value=1, initial=30)
    retry_no_answer = forms.IntegerField(label=_("Retry no answer after (minutes)"), min_value=1, initial=120)
    retry_machine = forms.IntegerField(label=_("Retry an answering machine after (minutes)"), min_value=1, initial=240)
    team = forms.TypedChoiceField(label=_("Team"), coerce=int, required=False, empty_value=None)
    agency = forms.TypedChoiceField(label=_("Agency"), coerce=int, required=False, empty_value=None)
    caller_id = forms.TypedChoiceField(label=_("Caller ID"), coerce=int, required=False, empty_value=None)
    check_24h_window = forms.BooleanField(
        # xgettext:no-python-format
        label=_("Also keep abandonment at or below 3% over every 24 hours (UK Ofcom)"),
        required=False,
    )
    talk_track = forms.CharField(
        label=_("Talk track"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Guidance for the reps; {{ lead.first_name }}, {{ lead.company_name }} and other lead fields are filled in."
        ),
    )

    def __init__(self, *args, membership, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from insidesales.calls.models import CallerId, CampaignMode, CampaignOrder
        from insidesales.crm.models import SavedView
        from insidesales.orgs.models import Agency, Team
        from insidesales.orgs.visibility import managed_team_ids

        org = membership.organization_id
        views = SavedView.objects.filter(organization_id=org, record_type="lead").filter(
            Q(owner_id=membership.user_id) | Q(team__isnull=False)
        )
        self.fields["saved_view"].choices = [("", "—")] + [(v.pk, v.name) for v in views.order_by("name")]
        self.fields["mode"].choices = CampaignMode.choices
        self.fields["order"].choices = CampaignOrder.choices
        teams = Team.objects.filter(organization_id=org).order_by("name")
        if membership.role == "manager":
            teams = teams.filter(pk__in=managed_team_ids(membership))
        self.fields["team"].choices = [("", "—")] + [(t.pk, t.name) for t in teams]
        if membership.role == "admin":
            agencies = Agency.objects.filter(organization_id=org, is_active=True).order_by("name")
            self.fields["agency"].choices = [("", "—")] + [(a.pk, a.name) for a in agencies]
        else:
            del self.fields["agency"]
        numbers = CallerId.objects.filter(organization_id=org).order_by("number")
        self.fields["caller_id"].choices = [("", _("Automatic (local presence, team, default)"))] + [
            (n.pk, f"{n.number} {n.label}".strip()) for n in numbers
        ]

    @classmethod
    def initial_for(cls, campaign) -> dict:
        retry = campaign.retry_minutes or {}
        return {
            "name": campaign.name,
            "saved_view": campaign.saved_view_id,
            "mode": campaign.mode,
            "lines_per_agent": campaign.lines_per_agent,
            "max_attempts": campaign.max_attempts,
            "order": campaign.order,
            "retry_busy": retry.get("busy", 30),
            "retry_no_answer": retry.get("no_answer", 120),
            "retry_machine": retry.get("machine", 240),
            "team": campaign.team_id,
            "agency": campaign.agency_id,
            "caller_id": campaign.caller_id_id,
            "check_24h_window": campaign.check_24h_window,
            "talk_track": campaign.talk_track,
        }

    def to_service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "saved_view_id": data.get("saved_view"),
            "mode": data["mode"],
            "lines_per_agent": data["lines_per_agent"],
            "max_attempts": data["max_attempts"],
            "order": data["order"],
            "retry_minutes": {
                "busy": data["retry_busy"],
                "no_answer": data["retry_no_answer"],
                "machine": data["retry_machine"],
            },
            "team_id": data.get("team"),
            "agency_id": data.get("agency"),
            "caller_id_id": data.get("caller_id"),
            "check_24h_window": data.get("check_24h_window", False),
            "talk_track": data.get("talk_track", ""),
        }
