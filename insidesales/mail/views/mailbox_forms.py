"""Forms of the mailbox, sending-settings and suppression pages. They read what was typed; the rules are the
services' (their errors are put back on these forms with `add_service_errors`)."""

from __future__ import annotations

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from insidesales.core.errors import ValidationError
from insidesales.mail.models import Security

WEEKDAY_CHOICES = [(str(day), WEEKDAYS[day]) for day in range(7)]


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's field errors on the form's fields (the rest as errors of the whole form)."""
    for field, messages in error.fields.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
    if not error.fields:
        form.add_error(None, error.message)


def _password(label, hint_set: bool):
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        max_length=500,
        help_text=_("Stored. Leave empty to keep it.") if hint_set else _("Not set."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class MailboxForm(forms.Form):
    """A mailbox: the address recipients see, the SMTP server it sends through, the IMAP server replies are
    read from (optional). Passwords are never shown back; empty keeps the stored one."""

    email = forms.CharField(label=_("Email address"), max_length=254)
    display_name = forms.CharField(label=_("Name shown to recipients"), max_length=150, required=False)
    smtp_host = forms.CharField(label=_("SMTP server"), max_length=255, help_text=_("e.g. smtp.example.com"))
    smtp_port = forms.IntegerField(label=_("SMTP port"), min_value=1, max_value=65535, initial=587)
    smtp_security = forms.ChoiceField(label=_("SMTP security"), choices=Security.choices, initial=Security.STARTTLS)
    smtp_username = forms.CharField(
        label=_("SMTP user name"),
        max_length=254,
        required=False,
        help_text=_("Usually the email address. Empty: no login (a relay on this machine)."),
    )
    imap_host = forms.CharField(
        label=_("IMAP server"),
        max_length=255,
        required=False,
        help_text=_("For replies and bounces; empty if this mailbox only sends."),
    )
    imap_port = forms.IntegerField(label=_("IMAP port"), min_value=1, max_value=65535, initial=993)
    imap_security = forms.ChoiceField(label=_("IMAP security"), choices=Security.choices, initial=Security.SSL)
    imap_username = forms.CharField(
        label=_("IMAP user name"), max_length=254, required=False, help_text=_("Empty: the email address.")
    )
    imap_folder = forms.CharField(label=_("IMAP folder"), max_length=200, initial="INBOX")
    is_active = forms.BooleanField(label=_("Active (may send and is read)"), required=False, initial=True)

    def __init__(self, *args, has_smtp_password: bool = False, has_imap_password: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["smtp_password"] = _password(_("SMTP password"), has_smtp_password)
        self.fields["imap_password"] = _password(_("IMAP password"), has_imap_password)
        if has_smtp_password:
            self.fields["clear_smtp_password"] = forms.BooleanField(
                label=_("Remove the stored SMTP password"), required=False
            )
        if has_imap_password:
            self.fields["clear_imap_password"] = forms.BooleanField(
                label=_("Remove the stored IMAP password"), required=False
            )

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("clear_")}
        for name in ("smtp_password", "imap_password"):
            if not data.get(name):
                data.pop(name, None)  # empty: keep what is stored
        return data

    def cleared(self) -> tuple[str, ...]:
        return tuple(
            name
            for name in ("smtp_password", "imap_password")
            if self.cleaned_data.get(f"clear_{name}") and not self.cleaned_data.get(name)
        )


class MailSettingsForm(forms.Form):
    """The organization's sending rules."""

    daily_cap_per_mailbox = forms.IntegerField(
        label=_("Daily cap per mailbox"),
        min_value=1,
        help_text=_("Most emails one mailbox sends in a day; providers block mailboxes that send too many."),
    )
    min_spacing_seconds = forms.IntegerField(
        label=_("Minimum seconds between two emails"),
        min_value=0,
        help_text=_("Per mailbox: sending in bursts looks like spam."),
    )
    sending_start = forms.TimeField(
        label=_("Send from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    sending_end = forms.TimeField(label=_("Send until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    sending_weekdays = forms.MultipleChoiceField(
        label=_("Sending days"), choices=WEEKDAY_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    physical_address = forms.CharField(
        label=_("Postal address"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    allow_parallel_sequences = forms.BooleanField(
        label=_("A lead may be in several active sequences at once"), required=False
    )
    attachment_max_kb = forms.IntegerField(
        label=_("Largest attachment kept (KB)"),
        min_value=0,
        help_text=_("Bigger attachments of received emails are listed by name and size only."),
    )

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["attachment_max_bytes"] = data.pop("attachment_max_kb") * 1024
        data["sending_weekdays"] = [int(day) for day in data["sending_weekdays"]]
        return data


class SuppressionAddForm(forms.Form):
    """Adding an address to the suppression list by hand."""

    email = forms.CharField(label=_("Email address"), max_length=254)
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, help_text=_("Why, for whoever reads the list later.")
    )


class SuppressionSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=254, required=False)
