"""Forms of the calls pages: the disposition after a call, adding and importing do-not-call numbers."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

from django import forms
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
