"""Forms of the web form settings pages: the form's settings, and its field editor (one row per field the
organization has: on the form or not, label, required, position). They read what was typed; the rules are
checked by `insidesales.inbound.services.forms`, whose errors are put back on these forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from insidesales.core.errors import ValidationError
from insidesales.crm.models import LeadSource
from insidesales.inbound.models import WebForm
from insidesales.inbound.services.forms import (
    FIELD_LABEL_MAX,
    MIN_FILL_RANGE,
    PER_FORM_PER_MINUTE_RANGE,
    PER_IP_PER_HOUR_RANGE,
)

# What a new form asks for until the admin changes it.
NEW_FORM_FIELDS = [
    {"key": "first_name", "label": "", "required": False},
    {"key": "last_name", "label": "", "required": False},
    {"key": "email", "label": "", "required": True},
    {"key": "phone", "label": "", "required": False},
    {"key": "company_name", "label": "", "required": False},
]


def _bounded(bounds: tuple[int, int]) -> forms.NumberInput:
    # The bounds are the service's to check (so all problems show at once); the browser gets them as hints.
    return forms.NumberInput(attrs={"min": bounds[0], "max": bounds[1]})


class WebFormSettingsForm(forms.Form):
    """Everything about a web form except its fields (those are the rows of `FieldRowFormSet`)."""

    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("For you and your team; visitors do not see it.")
    )
    language = forms.ChoiceField(label=_("Language of the form"), choices=settings.LANGUAGES)
    source = forms.ChoiceField(
        label=_("Lead source"), choices=LeadSource.choices, help_text=_("Set on the leads this form creates.")
    )
    title = forms.CharField(label=_("Heading"), max_length=200, required=False)
    intro = forms.CharField(label=_("Text above the fields"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    submit_label = forms.CharField(
        label=_("Button label"), max_length=60, required=False, help_text=_("Empty: “Send”.")
    )
    consent_text = forms.CharField(
        label=_("Consent text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown next to a checkbox. Each submission keeps an exact copy of the words agreed to."),
    )
    consent_required = forms.BooleanField(label=_("The visitor must tick the consent box"), required=False)
    thank_you_message = forms.CharField(
        label=_("Thank-you message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown after sending, unless a redirect address is set."),
    )
    redirect_url = forms.CharField(
        label=_("Redirect after sending"),
        max_length=500,
        required=False,
        help_text=_("Optional: a page on one of your sites, like https://example.com/thanks."),
    )
    allowed_domains = forms.CharField(
        label=_("Your sites"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "none"}),
        help_text=_(
            "One host name per line, like example.com (its subdomains count too). The form may be embedded "
            "on these sites only, and redirect only to them."
        ),
    )
    min_fill_seconds = forms.IntegerField(
        label=_("Minimum fill time, seconds"),
        widget=_bounded(MIN_FILL_RANGE),
        help_text=_("Sent faster than this: a bot. 0 switches the check off."),
    )
    per_ip_per_hour = forms.IntegerField(
        label=_("Per visitor address, per hour"),
        widget=_bounded(PER_IP_PER_HOUR_RANGE),
    )
    per_form_per_minute = forms.IntegerField(
        label=_("Per form, per minute"),
        widget=_bounded(PER_FORM_PER_MINUTE_RANGE),
    )
    is_active = forms.BooleanField(label=_("Active: the form takes submissions"), required=False)

    def to_service_data(self, fields: list[dict[str, Any]]) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["allowed_domains"] = [line for line in data["allowed_domains"].split() if line]
        data["fields"] = fields
        return data


def settings_initial(form: WebForm) -> dict[str, Any]:
    names = [name for name in WebFormSettingsForm.base_fields if name != "allowed_domains"]
    initial = {name: getattr(form, name) for name in names}
    initial["allowed_domains"] = "\n".join(form.allowed_domains or [])
    return initial


def new_form_initial(language: str) -> dict[str, Any]:
    blank = WebForm()
    initial = settings_initial(blank)
    language = language if language in dict(settings.LANGUAGES) else "en"
    initial.update(language=language, is_active=True, consent_required=False)
    return initial


class FieldRowForm(forms.Form):
    """One field of the organization in the editor: whether it is on the form, its label, required, and its
    position (typed numbers order the fields without JavaScript; with it, rows are dragged or moved)."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=120)
    on = forms.BooleanField(label=_("On the form"), required=False)
    label = forms.CharField(label=_("Label"), max_length=FIELD_LABEL_MAX, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    position = forms.IntegerField(
        label=_("Position"), min_value=1, max_value=999, required=False, widget=forms.NumberInput(attrs={"size": 3})
    )


FieldRowFormSet = formset_factory(FieldRowForm, extra=0, max_num=200, absolute_max=200, validate_max=True)
ROWS_PREFIX = "f"


def field_rows_initial(fields: list[dict[str, Any]], catalog: dict[str, str]) -> list[dict[str, Any]]:
    """The editor's rows: the form's fields first, in order, then the rest of the catalog, switched off. A
    field the organization no longer has stays listed (so it can be taken off) until saved without it."""
    rows = []
    seen = set()
    for position, item in enumerate(fields, start=1):
        key = str(item.get("key") or "")
        if not key or key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "key": key,
                "on": True,
                "label": item.get("label") or catalog.get(key, ""),
                "required": bool(item.get("required")),
                "position": position,
            }
        )
    for key, label in catalog.items():
        if key not in seen:
            rows.append({"key": key, "on": False, "label": label, "required": False, "position": None})
    return rows


def label_rows(formset, catalog: dict[str, str]):
    """Give each row the name of its field (`row.field_name`) and whether the organization still has it."""
    for row in formset.forms:
        key = row["key"].value() or ""
        row.field_name = catalog.get(key, key)
        row.field_missing = key not in catalog
    return formset


def fields_from_rows(formset) -> list[dict[str, Any]]:
    """The ticked rows, ordered by their positions (rows without one keep their place after the numbered)."""
    ticked = [
        (row.cleaned_data.get("position") or 10_000, index, row.cleaned_data)
        for index, row in enumerate(formset.forms)
        if row.cleaned_data.get("on")
    ]
    ticked.sort(key=lambda item: (item[0], item[1]))
    return [
        {"key": data["key"], "label": data.get("label") or "", "required": bool(data.get("required"))}
        for *_, data in ticked
    ]


def add_service_errors(form: forms.Form, error: ValidationError) -> list[str]:
    """Put a service's field errors on the settings form; returns those about the fields (for the editor)."""
    leftover = []
    for field, messages in error.fields.items():
        for message in messages:
            if field in form.fields:
                form.add_error(field, message)
            else:
                leftover.append(message)
    return leftover
