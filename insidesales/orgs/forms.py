"""Forms for sign-in, personal settings, API keys and the audit-log filter."""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from insidesales.orgs.models import TIMEZONE_CHOICES, User
from insidesales.orgs.services import login_is_throttled, login_record_failure, login_record_success


def client_ip(request) -> str:
    """The address throttling counts against. The ASGI server already applied trusted proxy headers."""
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


class EmailLoginForm(forms.Form):
    """Email + password. A throttled (email, address) pair is refused before the password is checked."""

    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    error_messages = {
        "invalid_login": _("Please enter a correct email and password. Both may be case-sensitive."),
    }

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        password = self.cleaned_data.get("password")
        if not email or password is None:
            return self.cleaned_data
        ip = client_ip(self.request)
        if login_is_throttled(email=email, ip=ip):
            minutes = max(1, math.ceil(settings.LOGIN_THROTTLE_WINDOW / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many failed attempts, try again in %(minutes)d minute.",
                    "Too many failed attempts, try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        self.user_cache = authenticate(self.request, email=email, password=password)
        if self.user_cache is None:
            login_record_failure(email=email, ip=ip)
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        login_record_success(email=email, ip=ip)
        return self.cleaned_data

    def get_user(self) -> User | None:
        return self.user_cache


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=TIMEZONE_CHOICES,
        help_text=_("Dates and times are shown in this time zone."),
    )


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("name of a thing", "Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": _("e.g. website form")}),
    )


class AuditFilterForm(forms.Form):
    # "lead." matches every lead action: the selector compares the action as a prefix.
    action = forms.CharField(
        label=_("Action"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. lead.assign or lead.")}),
    )
    object_type = forms.CharField(
        label=_("Object type"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. lead")}),
    )
