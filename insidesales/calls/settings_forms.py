"""Forms of the telephony settings pages. They read what was typed; the rules (host names, SIDs, hotkeys,
calling windows) are checked by the services, whose errors are put back on these forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from insidesales.calls.models import ProviderKind
from insidesales.calls.services.config import DEFAULT_ABANDON_MESSAGE
from insidesales.calls.services.dispositions import LEAD_STATUSES
from insidesales.calls.services.settings import SIP_DEFAULTS
from insidesales.calls.windows import WEEKDAY_NAMES, WindowRules, country_zones, is_known_zone
from insidesales.core.errors import ValidationError
from insidesales.crm.models import LeadStatus

WEEKDAY_CHOICES = [(str(day), WEEKDAYS_ABBR[day]) for day in range(7)]


def add_service_errors(form: forms.Form, error: ValidationError, aliases: dict[str, str] | None = None) -> list[str]:
    """Put a service's field errors on the form; returns the messages for fields the form does not have."""
    leftover = []
    for field, messages in error.fields.items():
        name = (aliases or {}).get(field, field)
        for message in messages:
            if name in form.fields:
                form.add_error(name, message)
            else:
                leftover.append(message)
    return leftover


def _secret_help(hint: str | None) -> str:
    if hint is None:
        return str(_("Not set."))
    if hint:
        return str(_("Set (ends in …%(end)s). Leave empty to keep it.") % {"end": hint})
    return str(_("Set. Leave empty to keep it."))


class ProviderForm(forms.Form):
    """The provider page: which provider, its settings and secrets, and the notices callers hear."""

    provider = forms.ChoiceField(label=_("Provider"), choices=ProviderKind.choices, widget=forms.RadioSelect)
    # SIP trunk or PBX
    trunk_host = forms.CharField(label=_("Trunk host"), required=False, max_length=253)
    trunk_port = forms.IntegerField(label=_("Trunk port"), required=False)
    transport = forms.ChoiceField(label=_("Transport"), choices=[("udp", "UDP")], required=False)
    sip_username = forms.CharField(label=_("User name"), required=False, max_length=100)
    sip_password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    clear_sip_password = forms.BooleanField(label=_("Remove the stored password"), required=False)
    from_domain = forms.CharField(
        label=_("From domain"),
        required=False,
        max_length=253,
        help_text=_("The host part of the caller's address: sip:<caller ID>@<from domain>."),
    )
    bind_host = forms.CharField(label=_("Local address"), required=False, max_length=45)
    bind_port = forms.IntegerField(label=_("Local port"), required=False)
    announcement_uri = forms.CharField(
        label=_("Announcement URI"),
        required=False,
        max_length=500,
        help_text=_("A media server that plays a message and hangs up, e.g. sip:notice@media.example.com."),
    )
    # Twilio
    account_sid = forms.CharField(label=_("Account SID"), required=False, max_length=34)
    auth_token = forms.CharField(
        label=_("Auth token"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    clear_auth_token = forms.BooleanField(label=_("Remove the stored auth token"), required=False)
    public_url = forms.CharField(
        label=_("Public address of this server"),
        required=False,
        max_length=500,
        help_text=_("Where Twilio sends call status callbacks, e.g. https://sales.example.com."),
    )
    # What callees hear, and callbacks
    abandon_message = forms.CharField(
        label=_("Message played when no agent is free"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    recording_enabled = forms.BooleanField(label=_("Record calls"), required=False)
    callback_release_minutes = forms.IntegerField(
        label=_("Release overdue personal callbacks to the team after (minutes)"), required=False
    )

    def __init__(
        self, *args, secret_hints: dict[str, str | None] | None = None, organization_name: str = "", **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        hints = secret_hints or {}
        self.secret_is_set = {name: hint is not None for name, hint in hints.items()}  # offer "Remove" only then
        self.fields["sip_password"].help_text = _secret_help(hints.get("sip_password"))
        self.fields["auth_token"].help_text = _secret_help(hints.get("auth_token"))
        self.fields["account_sid"].widget.attrs["placeholder"] = "AC…"
        self.fields["bind_host"].widget.attrs["placeholder"] = SIP_DEFAULTS["bind_host"]
        self.fields["abandon_message"].help_text = _(
            "Played as written. Leave empty for the default message, which names the organization and the "
            "number it called from."
        )
        self.fields["abandon_message"].widget.attrs["placeholder"] = str(DEFAULT_ABANDON_MESSAGE) % {
            "organization": organization_name or "…",
            "number": "…",
        }


class NoticeRowForm(forms.Form):
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, widget=forms.TextInput(attrs={"size": 3})
    )
    text = forms.CharField(label=_("Notice"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if (data.get("country") or data.get("text")) and not self.cleaned_data.get("DELETE"):
            if not (data.get("country") or "").strip():
                self.add_error("country", _("Enter a country code, or * for every country."))
        return data


class BaseNoticeFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen: set[str] = set()
        for row in self.forms:
            code = (row.cleaned_data.get("country") or "").strip().upper()
            if not code or row.cleaned_data.get("DELETE"):
                continue
            if code in seen:
                raise forms.ValidationError(_("There are two notices for %(code)s.") % {"code": code})
            seen.add(code)

    def notices(self) -> dict[str, str]:
        return {
            (row.cleaned_data.get("country") or "").strip().upper(): (row.cleaned_data.get("text") or "").strip()
            for row in self.forms
            if (row.cleaned_data.get("country") or "").strip() and not row.cleaned_data.get("DELETE")
        }


NoticeFormSet = formset_factory(NoticeRowForm, formset=BaseNoticeFormSet, extra=2, can_delete=True)


def notice_initial(notices: dict[str, str]) -> list[dict[str, str]]:
    return [{"country": code, "text": text} for code, text in sorted(notices.items())]


# ---- calling windows ---------------------------------------------------------------------------


class WindowRowForm(forms.Form):
    """One window: where it applies (empty: everywhere without a rule of its own; a country code; a time
    zone), from, until, on which days."""

    where = forms.CharField(
        label=pgettext_lazy("calling window applies to", "Where"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("everywhere"), "size": 16}),
    )
    start = forms.TimeField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    weekdays = forms.MultipleChoiceField(
        label=_("Days"), required=False, choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    def clean_where(self) -> tuple[str, str]:
        """("", "") for the default, ("country", "US"), or ("zone", "America/Chicago")."""
        value = (self.cleaned_data.get("where") or "").strip()
        if not value:
            return "", ""
        if len(value) == 2 and value.isalpha():
            if not country_zones(value):
                raise forms.ValidationError(_("“%(code)s” is not a country code.") % {"code": value.upper()})
            return "country", value.upper()
        if is_known_zone(value):
            return "zone", value
        raise forms.ValidationError(_("Enter a country code (US) or a time zone (America/Chicago)."))

    def clean(self):
        data = super().clean()
        if self.cleaned_data.get("DELETE") or "where" not in data:
            return data
        start, end = data.get("start"), data.get("end")
        kind = data["where"][0]
        if (start is None) != (end is None):
            self.add_error("end" if start else "start", _("Enter both times."))
        elif start is None and not kind and data.get("weekdays"):
            self.add_error("start", _("Enter both times."))
        return data

    def window(self) -> tuple[str, str, dict[str, Any] | None] | None:
        """(kind, name, window JSON) for a filled row; a window of None: no calls there at all; None: skip."""
        data = self.cleaned_data
        if not data or data.get("DELETE") or "where" not in data:
            return None
        kind, name = data["where"]
        if data.get("start") is None:
            return (kind, name, None) if kind else None
        window = {
            "start": data["start"].strftime("%H:%M"),
            "end": data["end"].strftime("%H:%M"),
            "weekdays": [WEEKDAY_NAMES[int(day)] for day in sorted(data.get("weekdays") or [], key=int)],
        }
        return kind, name, window


class BaseWindowFormSet(forms.BaseFormSet):
    def schedules(self) -> tuple[list[dict], dict[str, list[dict]], dict[str, list[dict]]]:
        default: list[dict] = []
        countries: dict[str, list[dict]] = {}
        zones: dict[str, list[dict]] = {}
        has_default = False
        for row in self.forms:
            found = row.window()
            if found is None:
                continue
            kind, name, window = found
            target = default if not kind else (countries if kind == "country" else zones).setdefault(name, [])
            has_default |= not kind
            if window is not None:
                target.append(window)
        if not has_default:
            raise forms.ValidationError(
                _("Add at least one window with an empty “Where”: it applies everywhere without a rule of its own.")
            )
        return default, countries, zones

    def clean(self):
        if any(self.errors):
            return
        self.schedules()


WindowFormSet = formset_factory(WindowRowForm, formset=BaseWindowFormSet, extra=3, can_delete=True)


def window_initial(rules: WindowRules) -> list[dict[str, Any]]:
    """The rows of the form for the saved rules: the default windows, then each country's and zone's."""
    rows: list[dict[str, Any]] = []

    def add(where: str, schedule) -> None:
        if not schedule and where:
            rows.append({"where": where})  # an empty schedule: no calls there
        for window in schedule:
            rows.append(
                {
                    "where": where,
                    "start": window.start,
                    "end": window.end,
                    "weekdays": [str(day) for day in sorted(window.weekdays)],
                }
            )

    add("", rules.default)
    for code, schedule in sorted(rules.countries.items()):
        add(code, schedule)
    for zone, schedule in sorted(rules.zones.items()):
        add(zone, schedule)
    return rows


class WindowOptionsForm(forms.Form):
    blocked_dates = forms.CharField(
        label=_("Blocked dates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("No calls on these days anywhere (the callee's local date). One date per line: YYYY-MM-DD."),
    )
    public_holidays = forms.BooleanField(
        label=_("No calls on the public holidays of the callee's country"), required=False
    )
    trust_stored_zones = forms.BooleanField(
        label=_("Trust the time zone stored on a lead"),
        required=False,
        help_text=_(
            "Off (the safe default): when a lead's zone is only what the number's country suggests, a mobile "
            "number counts as possibly in any zone of its country and is called only when the window is open "
            "in all of them. On: the stored zone is taken as the lead's."
        ),
    )

    def clean_blocked_dates(self) -> list[str]:
        dates, bad = set(), []
        for line in (self.cleaned_data.get("blocked_dates") or "").splitlines():
            text = line.strip()
            if not text:
                continue
            try:
                dates.add(dt.date.fromisoformat(text))
            except ValueError:
                bad.append(text)
        if bad:
            raise forms.ValidationError(_("Not a date (write YYYY-MM-DD): %(dates)s") % {"dates": ", ".join(bad[:10])})
        return [day.isoformat() for day in sorted(dates)]


def window_rules_json(rows: BaseWindowFormSet, options: WindowOptionsForm) -> dict[str, Any]:
    default, countries, zones = rows.schedules()
    return {
        "default": default,
        "countries": countries,
        "zones": zones,
        "blocked_dates": options.cleaned_data["blocked_dates"],
        "public_holidays": options.cleaned_data["public_holidays"],
        "trust_stored_zones": options.cleaned_data["trust_stored_zones"],
    }


class WindowCheckForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=64)
    time_zone = forms.CharField(
        label=_("Time zone (optional)"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "America/Chicago"}),
    )

    def clean_time_zone(self) -> str:
        value = (self.cleaned_data.get("time_zone") or "").strip()
        if value and not is_known_zone(value):
            raise forms.ValidationError(_("Not a time zone. Use a name such as Europe/Berlin."))
        return value


# ---- caller IDs and dispositions -----------------------------------------------------------------


class CallerIdForm(forms.Form):
    number = forms.CharField(label=pgettext_lazy("phone number", "Number"), max_length=64)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False, empty_label=_("Every team"))
    region = forms.CharField(
        label=_("Local presence region"),
        max_length=20,
        required=False,
        help_text=_("Shown to callees in this region: a country (US) or a country and area code (US-415)."),
    )
    is_default = forms.BooleanField(label=_("Default number"), required=False)

    def __init__(self, *args, teams=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams

    def to_service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        team = data.pop("team", None)
        data["team_id"] = team.pk if team else None
        return data


class DispositionSettingsForm(forms.Form):
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        required=False,
        help_text=_("A fixed name for reports and the API: lowercase letters, digits, - and _."),
    )
    label = forms.CharField(label=_("Label"), max_length=100)
    hotkey = forms.CharField(label=_("Hotkey"), max_length=1, required=False, widget=forms.TextInput(attrs={"size": 2}))
    position = forms.IntegerField(
        label=_("Position"), required=False, help_text=_("Lower numbers come first; empty: after the others.")
    )
    is_contact = forms.BooleanField(label=_("Counts as a conversation"), required=False)
    callback = forms.BooleanField(label=_("Schedule a callback"), required=False)
    add_to_dnc = forms.BooleanField(label=_("Add the number to the do-not-call list"), required=False)
    retry = forms.BooleanField(label=_("Try the lead again later (campaigns)"), required=False)
    lead_status = forms.ChoiceField(label=_("Set the lead's status to"), required=False)
    enroll_sequence = forms.ChoiceField(
        label=_("Enroll the lead or contact in the sequence"),
        required=False,
        help_text=_("Those who cannot be enrolled (no address, suppressed...) are noted on their timeline."),
    )

    def __init__(self, *args, creating: bool = True, membership=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(LeadStatus.choices)
        self.fields["lead_status"].choices = [("", _("(leave as it is)"))] + [(s, labels[s]) for s in LEAD_STATUSES]
        if membership is None:  # no organization to list sequences from: the action is not offered
            del self.fields["enroll_sequence"]
        else:
            from insidesales.mail.models import Sequence, SequenceStatus

            sequences = (
                Sequence.objects.filter(organization_id=membership.organization_id)
                .exclude(status=SequenceStatus.ARCHIVED)
                .order_by("name", "id")
            )
            self.fields["enroll_sequence"].choices = [("", _("(none)"))] + [(str(q.pk), q.name) for q in sequences]
        if creating:
            self.fields["key"].required = True
        else:
            del self.fields["key"]


def disposition_initial(disposition, shown_label: str) -> dict[str, Any]:
    actions = disposition.actions or {}
    return {
        "label": shown_label,
        "hotkey": disposition.hotkey,
        "position": disposition.position,
        "is_contact": disposition.is_contact,
        "callback": bool(actions.get("callback")),
        "add_to_dnc": bool(actions.get("add_to_dnc")),
        "retry": bool(actions.get("retry")),
        "lead_status": actions.get("lead_status") or "",
        "enroll_sequence": str(actions.get("enroll_sequence") or ""),
    }
