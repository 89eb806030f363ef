"""An organization's telephony settings and dispositions, created with sensible defaults on first use."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy, pgettext_lazy

from insidesales.calls.models import Disposition, TelephonySettings

# The dispositions a new organization starts with (admins rename, reorder, add and switch them off).
DEFAULT_DISPOSITIONS = [
    ("interested", "Connected – interested", "1", True, {"lead_status": "working"}),
    ("not_interested", "Not interested", "2", True, {}),
    ("callback", "Call back", "3", True, {"callback": True}),
    ("voicemail", "Left voicemail", "4", False, {"retry": True}),
    ("no_answer", "No answer", "5", False, {"retry": True}),
    ("wrong_number", "Wrong number", "6", False, {}),
    ("do_not_call", "Do not call", "7", True, {"add_to_dnc": True}),
]
# The default labels in the reader's language until an admin renames them.
BUILT_IN_LABELS = {
    "Connected – interested": pgettext_lazy("disposition", "Connected – interested"),
    "Not interested": pgettext_lazy("disposition", "Not interested"),
    "Call back": pgettext_lazy("disposition", "Call back"),
    "Left voicemail": pgettext_lazy("disposition", "Left voicemail"),
    "No answer": pgettext_lazy("disposition", "No answer"),
    "Wrong number": pgettext_lazy("disposition", "Wrong number"),
    "Do not call": pgettext_lazy("disposition", "Do not call"),
}
DEFAULT_ABANDON_MESSAGE = gettext_lazy(
    "Hello, this is %(organization)s calling. We are sorry we could not connect you to a person. "
    "We will not call you again in the next three days. To reach us, call %(number)s."
)


def disposition_label(disposition: Disposition) -> str:
    return str(BUILT_IN_LABELS.get(disposition.label, disposition.label))


def telephony_settings(organization_id: int) -> TelephonySettings:
    found = TelephonySettings.objects.filter(organization_id=organization_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return TelephonySettings.objects.create(organization_id=organization_id)
    except IntegrityError:
        return TelephonySettings.objects.get(organization_id=organization_id)


def dispositions_ensure(organization_id: int) -> list[Disposition]:
    existing = list(Disposition.objects.filter(organization_id=organization_id))
    if existing:
        return [d for d in existing if d.is_active]
    for position, (key, label, hotkey, is_contact, actions) in enumerate(DEFAULT_DISPOSITIONS):
        Disposition.objects.get_or_create(
            organization_id=organization_id,
            key=key,
            defaults={
                "label": label,
                "hotkey": hotkey,
                "is_contact": is_contact,
                "actions": actions,
                "position": position,
            },
        )
    return list(Disposition.objects.filter(organization_id=organization_id, is_active=True))


def abandon_message(call) -> str:
    """The identifying message played to a person the dialer could not connect: the organization's own,
    else the default with the organization's name and the number it called from."""
    settings = telephony_settings(call.organization_id)
    if settings.abandon_message.strip():
        return settings.abandon_message.strip()
    from django.utils import translation

    with translation.override("ru" if (call.to_number or "").startswith("+7") else "en"):
        return str(DEFAULT_ABANDON_MESSAGE) % {
            "organization": call.organization.name,
            "number": call.from_number or "",
        }


def recording_notice(settings: TelephonySettings, number: str) -> str:
    """The recording notice for a callee (by the country of their number, else the "*" one); "" when
    calls are not recorded."""
    if not settings.recording_enabled:
        return ""
    import phonenumbers

    try:
        country = phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        country = ""
    notices = settings.recording_notices or {}
    return str(notices.get(country) or notices.get("*") or "")
