"""The form of the webhook settings pages: URL, description, events. The URL's destination is checked by the
service (`endpoint_create` / `endpoint_update`), whose errors land on the form's fields."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from insidesales.core.errors import ValidationError
from insidesales.inbound.services.webhooks import EVENT_TYPES


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=1000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/insidesales", "autocomplete": "off"}),
        help_text=_("Events are POSTed here as JSON, signed (see the verification guide)."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(key, format_lazy("{} — {}", key, label)) for key, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.fields.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
