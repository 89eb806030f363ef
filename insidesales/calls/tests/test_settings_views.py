"""The telephony settings pages: provider and secrets, calling windows and the number check, caller IDs,
dispositions; admins only."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from insidesales.calls.models import CallerId, Disposition, DncEntry, TelephonySettings
from insidesales.calls.secrets import decrypt_credentials
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.windows import WindowRules
from insidesales.core.testing import factories as f
from insidesales.orgs.models import AuditLog

PASSWORD = "Tr0mb0ne-Secret!x9"
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "f" * 30 + "k9"
PROVIDER_URL = "/settings/telephony/"
WINDOWS_URL = "/settings/telephony/windows/"
CHECK_URL = "/settings/telephony/windows/check/"
CALLER_IDS_URL = "/settings/telephony/caller-ids/"
DISPOSITIONS_URL = "/settings/telephony/dispositions/"


def signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


class FormFields(HTMLParser):
    """What a browser would submit from the page's form whose action is `action`: inputs with their values,
    ticked boxes and chosen radio buttons, selected options and textareas."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.data = action, False, []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action and attrs.get("method") == "post"
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind != "submit":
                self.data.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.append((name, ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.append((self._select, attrs.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            name, value = self.data[-1]
            self.data[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
            if self.data and self.data[-1][1].startswith("\n"):  # the newline after <textarea> is not content
                self.data[-1] = (self.data[-1][0], self.data[-1][1][1:])
        elif tag == "select":
            self._select = None


def form_data(html: str, action: str) -> dict[str, list[str]]:
    parser = FormFields(action)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    return data


def provider_post(client: Client, **changes) -> object:
    """Submit the provider page as shown, with `changes` (a value of None unticks a box)."""
    data = form_data(client.get(PROVIDER_URL).content.decode(), PROVIDER_URL)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [value]
    return client.post(PROVIDER_URL, data)


SIP = {"provider": "sip", "trunk_host": "sip.carrier.example", "trunk_port": "5080", "from_domain": "sales.example.org"}


# ---- provider and secrets ----------------------------------------------------------------------


def test_sip_password_is_stored_encrypted_never_shown_and_kept_until_cleared(cw):
    client = signed_in(cw.admin)
    response = provider_post(client, **SIP, sip_username="dialer", sip_password=PASSWORD)
    assert response.status_code == 302, response.content.decode()[:2000]

    config = TelephonySettings.objects.get(organization=cw.org)
    assert config.provider == "sip"
    assert (
        config.provider_config["trunk_host"] == "sip.carrier.example" and config.provider_config["trunk_port"] == 5080
    )
    row = TelephonySettings.objects.filter(pk=config.pk).values().get()
    assert PASSWORD not in repr(row)  # not in any column, the JSON config included
    assert decrypt_credentials(config.credentials_encrypted) == {"sip_password": PASSWORD}
    audit = AuditLog.objects.get(organization=cw.org, action="telephony.update")
    assert "sip_password" in audit.changes["changed"] and "trunk_host" in audit.changes["changed"]
    assert PASSWORD not in repr(AuditLog.objects.filter(organization=cw.org).values_list())
    assert PASSWORD[-2:] not in repr(audit.changes)

    page = client.get(PROVIDER_URL).content.decode()
    assert PASSWORD not in page
    assert "ends in …x9" in page and 'name="clear_sip_password"' in page

    # An empty password field keeps the stored one.
    assert provider_post(client, trunk_port="5060").status_code == 302
    config.refresh_from_db()
    assert config.provider_config["trunk_port"] == 5060
    assert decrypt_credentials(config.credentials_encrypted) == {"sip_password": PASSWORD}
    assert "sip_password" not in AuditLog.objects.filter(action="telephony.update").latest("id").changes["changed"]

    # "Remove" removes it.
    assert provider_post(client, clear_sip_password="on").status_code == 302
    config.refresh_from_db()
    assert decrypt_credentials(config.credentials_encrypted) == {}
    page = client.get(PROVIDER_URL).content.decode()
    assert "Not set." in page and 'name="clear_sip_password"' not in page  # nothing left to remove


def test_secrets_encrypted_with_a_lost_key_can_be_replaced_or_cleared(cw):
    config = telephony_settings(cw.org.pk)
    config.credentials_encrypted = "gAAAAAB-not-decryptable-with-this-key"
    config.save()
    client = signed_in(cw.admin)
    assert "cannot be decrypted with this server&#x27;s key" in client.get(PROVIDER_URL).content.decode()
    assert provider_post(client, **SIP, sip_username="dialer", sip_password=PASSWORD).status_code == 302
    config.refresh_from_db()
    assert decrypt_credentials(config.credentials_encrypted) == {"sip_password": PASSWORD}

    config.credentials_encrypted = "gAAAAAB-not-decryptable-with-this-key"
    config.save()
    assert provider_post(client, clear_auth_token="on").status_code == 302
    config.refresh_from_db()
    assert config.credentials_encrypted == ""


def test_a_password_typed_into_a_form_with_errors_is_not_sent_back(cw):
    client = signed_in(cw.admin)
    response = provider_post(client, **{**SIP, "trunk_host": "bad host!"}, sip_username="dialer", sip_password=PASSWORD)
    page = response.content.decode()
    assert response.status_code == 422
    assert "Enter a host name" in page and "type it again" in page
    assert PASSWORD not in page
    assert TelephonySettings.objects.get(organization=cw.org).credentials_encrypted == ""


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"trunk_port": "70000"}, "trunk_port", "from 1 to 65535"),
        ({"bind_host": "sip.example.com"}, "bind_host", "Enter an IP address"),
        ({"announcement_uri": "http://media"}, "announcement_uri", "Enter a SIP URI"),
        ({"trunk_host": ""}, "trunk_host", "Required for a SIP trunk"),
        ({"sip_password": PASSWORD}, "sip_username", "A password needs a user name"),
    ],
)
def test_sip_settings_are_validated(cw, changes, field, message):
    client = signed_in(cw.admin)
    response = provider_post(client, **{**SIP, **changes})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert TelephonySettings.objects.get(organization=cw.org).provider == "simulated"


def test_twilio_errors_show_on_the_page_with_422(cw, settings):
    settings.DEBUG = False
    client = signed_in(cw.admin)
    response = provider_post(client, provider="twilio", account_sid="AC123", public_url="http://sales.example.com")
    page = response.content.decode()
    assert response.status_code == 422
    assert "An Account SID is “AC” followed by 32 hexadecimal digits." in page.replace("&quot;", '"')
    assert "public https address" in page
    assert 'value="AC123"' in page and 'value="http://sales.example.com"' in page  # nothing typed is lost
    assert "auth_token" in page and "Required for Twilio." in page
    config = TelephonySettings.objects.get(organization=cw.org)
    assert config.provider == "simulated" and "account_sid" not in config.provider_config


def test_twilio_settings_are_saved_with_the_token_encrypted(cw, settings):
    settings.DEBUG = False
    client = signed_in(cw.admin)
    response = provider_post(
        client, provider="twilio", account_sid=SID, auth_token=TOKEN, public_url="https://sales.example.com/"
    )
    assert response.status_code == 302
    config = TelephonySettings.objects.get(organization=cw.org)
    assert config.provider == "twilio"
    assert config.provider_config["account_sid"] == SID
    assert config.provider_config["public_url"] == "https://sales.example.com"  # what the callback view signs on
    assert decrypt_credentials(config.credentials_encrypted) == {"auth_token": TOKEN}
    assert TOKEN not in client.get(PROVIDER_URL).content.decode()
    # The token is kept when the page is saved again, and switching providers keeps both configurations.
    assert provider_post(client, provider="simulated").status_code == 302
    config.refresh_from_db()
    assert config.provider == "simulated" and config.provider_config["account_sid"] == SID
    assert decrypt_credentials(config.credentials_encrypted) == {"auth_token": TOKEN}


def test_notices_abandon_message_and_callback_release_are_saved(cw):
    client = signed_in(cw.admin)
    page = client.get(PROVIDER_URL).content.decode()
    assert "Hello, this is Dialers Inc calling." in page  # the default message, shown while none is set
    response = provider_post(
        client,
        abandon_message="Dialers Inc here; call us back on 555-0100.",
        recording_enabled="on",
        **{"notice-0-country": "us", "notice-0-text": "This call is recorded.", "notice-1-country": "*"},
        **{"notice-1-text": "Recorded for quality."},
        callback_release_minutes="90",
    )
    assert response.status_code == 302
    config = telephony_settings(cw.org.pk)
    assert config.abandon_message == "Dialers Inc here; call us back on 555-0100."
    assert config.recording_enabled and config.callback_release_minutes == 90
    assert config.recording_notices == {"US": "This call is recorded.", "*": "Recorded for quality."}
    # The rows come back, and a ticked "Remove" drops one.
    data = form_data(client.get(PROVIDER_URL).content.decode(), PROVIDER_URL)
    assert data["notice-TOTAL_FORMS"] == ["4"] and data["notice-INITIAL_FORMS"] == ["2"]
    data["notice-0-DELETE"] = ["on"]  # sorted: "*" first
    assert client.post(PROVIDER_URL, data).status_code == 302
    assert telephony_settings(cw.org.pk).recording_notices == {"US": "This call is recorded."}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"notice-0-country": "XX", "notice-0-text": "Recorded."}, "“XX” is not a country code"),
        ({"notice-0-country": "DE", "notice-0-text": ""}, "Write the notice for DE."),
        (
            {"notice-0-country": "DE", "notice-0-text": "a", "notice-1-country": "de", "notice-1-text": "b"},
            "There are two notices for DE.",
        ),
        ({"recording_enabled": "on"}, "write the notice callees hear"),
        ({"callback_release_minutes": "0"}, "from 1 to 10080"),
    ],
)
def test_bad_notices_are_refused_with_a_message(cw, changes, message):
    client = signed_in(cw.admin)
    response = provider_post(client, **changes)
    assert response.status_code == 422
    assert message in response.content.decode().replace("&quot;", '"')
    assert telephony_settings(cw.org.pk).recording_notices == {}


# ---- calling windows ------------------------------------------------------------------------------


def window_rows(*rows: tuple[str, str, str, list[int]], blocked: str = "", holidays: bool = False) -> dict:
    data: dict = {"w-TOTAL_FORMS": str(len(rows)), "w-INITIAL_FORMS": "0", "blocked_dates": blocked}
    for index, (where, start, end, days) in enumerate(rows):
        data[f"w-{index}-where"] = where
        data[f"w-{index}-start"] = start
        data[f"w-{index}-end"] = end
        data[f"w-{index}-weekdays"] = [str(d) for d in days]
    if holidays:
        data["public_holidays"] = "on"
    return data


def test_calling_windows_are_saved_as_window_rules_and_come_back_unchanged(cw):
    client = signed_in(cw.admin)
    data = window_rows(
        ("", "09:00", "20:00", [0, 1, 2, 3, 4]),
        ("", "12:00", "18:00", [6]),
        ("de", "10:00", "19:00", [0, 1, 2, 3, 4, 5]),
        ("America/Chicago", "22:00", "02:00", [4]),
        ("FR", "", "", []),  # no calls there at all
        blocked="2030-12-31\n\n2030-01-01\n",
        holidays=True,
    )
    response = client.post(WINDOWS_URL, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = telephony_settings(cw.org.pk).window_rules
    rules = WindowRules.from_json(stored)
    assert stored == rules.to_json()
    assert [w.to_json() for w in rules.default] == [
        {"start": "09:00", "end": "20:00", "weekdays": ["mon", "tue", "wed", "thu", "fri"]},
        {"start": "12:00", "end": "18:00", "weekdays": ["sun"]},
    ]
    assert rules.countries["DE"][0].to_json()["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat"]
    assert rules.countries["FR"] == ()
    assert rules.zones["America/Chicago"][0].to_json() == {"start": "22:00", "end": "02:00", "weekdays": ["fri"]}
    assert [d.isoformat() for d in sorted(rules.blocked_dates)] == ["2030-01-01", "2030-12-31"]
    assert rules.public_holidays
    audits = AuditLog.objects.filter(organization=cw.org, action="telephony.windows_update").count()

    # The page shows exactly these rules: submitting it untouched changes nothing.
    shown = form_data(client.get(WINDOWS_URL).content.decode(), WINDOWS_URL)
    assert client.post(WINDOWS_URL, shown).status_code == 302
    assert telephony_settings(cw.org.pk).window_rules == stored
    assert AuditLog.objects.filter(organization=cw.org, action="telephony.windows_update").count() == audits


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (window_rows(("", "09:00", "", [0])), "Enter both times."),
        (window_rows(("", "09:00", "17:00", [0]), ("Mars/Base", "09:00", "17:00", [0])), "Enter a country code (US)"),
        (window_rows(("", "09:00", "17:00", [0]), ("QQ", "09:00", "17:00", [0])), "“QQ” is not a country code."),
        (window_rows(("", "9 o'clock", "17:00", [0])), "Enter a valid time."),
        (window_rows(("US", "09:00", "17:00", [0])), "Add at least one window with an empty"),
        (window_rows(("", "09:00", "17:00", [0]), blocked="2030-02-30\nsoon"), "Not a date (write YYYY-MM-DD)"),
    ],
)
def test_bad_calling_windows_are_refused_with_a_message_and_nothing_is_saved(cw, data, message):
    client = signed_in(cw.admin)
    before = telephony_settings(cw.org.pk).window_rules
    response = client.post(WINDOWS_URL, data)
    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 422
    assert message in page
    if "blocked_dates" in data and "soon" in data["blocked_dates"]:
        assert "2030-02-30, soon" in page
    assert telephony_settings(cw.org.pk).window_rules == before


def test_more_rows_keeps_what_was_typed(cw):
    client = signed_in(cw.admin)
    data = window_rows(("", "09:00", "17:00", [0]), ("GB", "10:00", "", []))
    data["more_rows"] = "1"
    response = client.post(WINDOWS_URL, data)
    assert response.status_code == 200
    shown = form_data(response.content.decode(), WINDOWS_URL)
    assert shown["w-TOTAL_FORMS"] == ["5"] and shown["w-1-where"] == ["GB"] and shown["w-1-start"] == ["10:00"]
    assert telephony_settings(cw.org.pk).window_rules == {"default": [{"start": "00:00", "end": "00:00"}]}


def test_the_number_check_tells_why_a_number_may_not_be_called_and_when_it_may(cw):
    client = signed_in(cw.admin)
    today = timezone.now().date()
    blocked = [today + dt.timedelta(days=n) for n in (-1, 0, 1)]
    config = telephony_settings(cw.org.pk)
    config.window_rules = {"default": [{"start": "09:00", "end": "17:00"}], "blocked_dates": [str(d) for d in blocked]}
    config.save()

    response = client.get(CHECK_URL, {"phone": "(415) 555-2671", "time_zone": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Not now." in page and "is a blocked date in America/Los_Angeles" in page
    assert "+14155552671" in page and f"({cw.org.time_zone})" in page  # the next opening, in the org's zone
    opening = (today + dt.timedelta(days=2)).strftime("%-d %b %Y")
    assert opening in page

    DncEntry.objects.create(organization=cw.org, number="+14155552671")
    htmx = client.get(CHECK_URL, {"phone": "+1 415 555 2671"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "<html" not in htmx.content.decode()  # the tool's part of the page only
    assert "The number is on a do-not-call list." in htmx.content.decode()
    assert "none: waiting will not help" in htmx.content.decode()

    bad = client.get(CHECK_URL, {"phone": "12"})
    assert bad.status_code == 422 and "This does not look like a phone number." in bad.content.decode()
    bad = client.get(CHECK_URL, {"phone": "+14155552671", "time_zone": "Nowhere/Land"})
    assert bad.status_code == 422 and "Not a time zone" in bad.content.decode()


def test_the_number_check_says_when_a_number_may_be_called(cw):
    response = signed_in(cw.admin).get(CHECK_URL, {"phone": "+44 20 7946 0018", "time_zone": "Europe/London"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "May be called now." in page and "Europe/London" in page and "Next opening" not in page


# ---- caller IDs -----------------------------------------------------------------------------------


def test_admin_adds_edits_and_removes_caller_ids_with_one_default(cw):
    client = signed_in(cw.admin)
    response = client.post(CALLER_IDS_URL, {"number": "(415) 555-0100", "label": "SF", "region": "us-415"})
    assert response.status_code == 302
    first = CallerId.objects.get(organization=cw.org)
    assert (first.number, first.region, first.is_default) == ("+14155550100", "US-415", False)

    response = client.post(
        CALLER_IDS_URL, {"number": "+1 212 555 0199", "label": "NYC", "team": cw.team.pk, "is_default": "on"}
    )
    assert response.status_code == 302
    second = CallerId.objects.get(number="+12125550199")
    assert second.team_id == cw.team.pk and second.is_default

    edit = f"{CALLER_IDS_URL}{first.pk}/edit/"
    assert 'value="+14155550100"' in client.get(edit).content.decode()
    assert (
        client.post(edit, {"number": "+14155550100", "label": "San Francisco", "is_default": "on"}).status_code == 302
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_default and not second.is_default and first.label == "San Francisco"
    assert CallerId.objects.filter(organization=cw.org, is_default=True).count() == 1

    page = client.get(CALLER_IDS_URL).content.decode()
    assert "San Francisco" in page and "(415) 555-0100" in page

    assert client.post(f"{CALLER_IDS_URL}{second.pk}/delete/").status_code == 302
    assert list(CallerId.objects.filter(organization=cw.org)) == [first]
    actions = list(
        AuditLog.objects.filter(organization=cw.org, object_type="callerid").values_list("action", flat=True)
    )
    assert sorted(actions) == ["caller_id.create", "caller_id.create", "caller_id.delete", "caller_id.update"]


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"number": "12"}, "This does not look like a phone number."),
        ({"number": "+14155550100"}, "+14155550100 is in the list already."),
        ({"number": "+14155550111", "region": "USA-415"}, "Enter a country code"),
        ({"number": "+14155550111", "region": "ZZ"}, "Enter a country code"),
    ],
)
def test_bad_caller_ids_are_refused_and_what_was_typed_stays(cw, data, field_message):
    CallerId.objects.create(organization=cw.org, number="+14155550100")
    client = signed_in(cw.admin)
    response = client.post(CALLER_IDS_URL, {"label": "Typed label", **data})
    page = response.content.decode()
    assert response.status_code == 422
    assert field_message in page and 'value="Typed label"' in page
    assert CallerId.objects.filter(organization=cw.org).count() == 1


def test_a_caller_id_cannot_go_to_another_organizations_team(cw):
    foreign = f.TeamFactory(name="Elsewhere")
    response = signed_in(cw.admin).post(CALLER_IDS_URL, {"number": "+14155550100", "team": foreign.pk})
    assert response.status_code == 422
    assert not CallerId.objects.filter(organization=cw.org).exists()


# ---- dispositions ---------------------------------------------------------------------------------


def test_admin_adds_edits_and_switches_off_dispositions(cw):
    client = signed_in(cw.admin)
    page = client.get(DISPOSITIONS_URL).content.decode()
    assert "Connected – interested" in page and "Do not call" in page  # the built-in ones

    data = {"key": "demo_booked", "label": "Demo booked", "hotkey": "D", "position": "0", "is_contact": "on"}
    response = client.post(DISPOSITIONS_URL, {**data, "callback": "on", "lead_status": "qualified"})
    assert response.status_code == 302
    demo = Disposition.objects.get(organization=cw.org, key="demo_booked")
    assert demo.hotkey == "d" and demo.is_contact and demo.is_active
    assert demo.actions == {"callback": True, "add_to_dnc": False, "retry": False, "lead_status": "qualified"}

    # A hotkey belongs to one active disposition.
    taken = client.post(DISPOSITIONS_URL, {"key": "demo_two", "label": "Another", "hotkey": "1"})
    assert taken.status_code == 422
    assert "“1” is the hotkey of “Connected – interested”." in taken.content.decode()
    assert not Disposition.objects.filter(key="demo_two").exists()
    again = client.post(DISPOSITIONS_URL, {"key": "demo_booked", "label": "Twice"})
    assert again.status_code == 422 and "Another disposition has the key" in again.content.decode()

    edit = f"{DISPOSITIONS_URL}{demo.pk}/edit/"
    response = client.post(edit, {"label": "Demo scheduled", "hotkey": "d", "position": "9", "retry": "on"})
    assert response.status_code == 302
    demo.refresh_from_db()
    assert (demo.label, demo.position, demo.key) == ("Demo scheduled", 9, "demo_booked")
    assert demo.actions == {"callback": False, "add_to_dnc": False, "retry": True, "lead_status": ""}

    # Switched off, its hotkey is free; switching it back on while another has it is refused.
    assert client.post(f"{DISPOSITIONS_URL}{demo.pk}/active/", {"is_active": "0"}).status_code == 302
    assert not Disposition.objects.get(pk=demo.pk).is_active
    assert client.post(DISPOSITIONS_URL, {"key": "demo_new", "label": "New demo", "hotkey": "d"}).status_code == 302
    assert Disposition.objects.get(key="demo_new").position == 10  # after the others (the last was at 9)
    response = client.post(f"{DISPOSITIONS_URL}{demo.pk}/active/", {"is_active": "1"}, follow=True)
    assert "is the hotkey of" in response.content.decode() and not Disposition.objects.get(pk=demo.pk).is_active
    assert AuditLog.objects.filter(organization=cw.org, action="disposition.deactivate", object_id=demo.pk).exists()


def test_a_built_in_label_stays_translated_until_it_is_renamed(cw, monkeypatch):
    from insidesales.calls.services import config

    # The reader's language, whatever the catalog holds today.
    monkeypatch.setitem(config.BUILT_IN_LABELS, "Call back", "Перезвонить")
    client = signed_in(cw.admin)
    assert "Перезвонить" in client.get(DISPOSITIONS_URL).content.decode()
    callback = Disposition.objects.get(organization=cw.org, key="callback")
    edit = f"{DISPOSITIONS_URL}{callback.pk}/edit/"
    data = form_data(client.get(edit).content.decode(), edit)
    assert data["label"] == ["Перезвонить"]
    data["position"] = ["5"]
    assert client.post(edit, data).status_code == 302
    callback.refresh_from_db()
    assert callback.label == "Call back" and callback.position == 5  # still built in: translated for everyone
    data["label"] = ["Перезвонить позже"]
    assert client.post(edit, data).status_code == 302
    callback.refresh_from_db()
    assert callback.label == "Перезвонить позже"


def test_the_last_active_disposition_cannot_be_switched_off(cw):
    client = signed_in(cw.admin)
    client.get(DISPOSITIONS_URL)
    *others, last = Disposition.objects.filter(organization=cw.org)
    Disposition.objects.filter(pk__in=[d.pk for d in others]).update(is_active=False)
    response = client.post(f"{DISPOSITIONS_URL}{last.pk}/active/", {"is_active": "0"}, follow=True)
    assert "at least one disposition" in response.content.decode()
    assert Disposition.objects.get(pk=last.pk).is_active


# ---- who may see the pages, and what they show -------------------------------------------------------


def test_only_admins_reach_the_telephony_settings(cw):
    caller_id = CallerId.objects.create(organization=cw.org, number="+14155550100")
    disposition = Disposition.objects.create(organization=cw.org, key="mine", label="Mine")
    pages = [PROVIDER_URL, WINDOWS_URL, CALLER_IDS_URL, DISPOSITIONS_URL, f"{CALLER_IDS_URL}{caller_id.pk}/edit/"]
    pages += [f"{DISPOSITIONS_URL}{disposition.pk}/edit/"]
    posts = pages + [f"{CALLER_IDS_URL}{caller_id.pk}/delete/", f"{DISPOSITIONS_URL}{disposition.pk}/active/"]
    before = (
        list(TelephonySettings.objects.values()),
        list(CallerId.objects.values()),
        list(Disposition.objects.values()),
        AuditLog.objects.count(),
    )
    for member in (cw.manager, cw.rep, cw.agency_rep, cw.field_rep):
        client = signed_in(member)
        for url in pages + [f"{CHECK_URL}?phone=%2B14155550100"]:
            assert client.get(url).status_code == 404, (member, url)
        for url in posts:
            data = {**SIP, "provider": "sip", "number": "+14155550111", "label": "x", "is_active": "0"}
            assert client.post(url, data).status_code == 404, (member, url)
        assert "/settings/telephony/" not in client.get("/").content.decode()
    after = (
        list(TelephonySettings.objects.values()),
        list(CallerId.objects.values()),
        list(Disposition.objects.values()),
        AuditLog.objects.count(),
    )
    assert after == before
    assert Client().get(PROVIDER_URL).status_code == 302  # signed out: to the sign-in page
    home = signed_in(cw.admin).get("/").content.decode()
    assert 'href="/settings/telephony/"' in home


def test_another_organizations_admin_gets_404_for_this_ones_objects(cw):
    caller_id = CallerId.objects.create(organization=cw.org, number="+14155550100")
    disposition = Disposition.objects.create(organization=cw.org, key="mine", label="Mine", hotkey="m")
    stranger = f.AdminMembershipFactory()
    client = signed_in(stranger)
    assert client.get(f"{CALLER_IDS_URL}{caller_id.pk}/edit/").status_code == 404
    assert client.post(f"{CALLER_IDS_URL}{caller_id.pk}/delete/").status_code == 404
    assert client.post(f"{DISPOSITIONS_URL}{disposition.pk}/edit/", {"label": "Taken"}).status_code == 404
    assert client.post(f"{DISPOSITIONS_URL}{disposition.pk}/active/", {"is_active": "0"}).status_code == 404
    assert CallerId.objects.filter(pk=caller_id.pk).exists()
    disposition.refresh_from_db()
    assert disposition.label == "Mine" and disposition.is_active
    assert "+14155550100" not in client.get(CALLER_IDS_URL).content.decode()


def test_user_text_is_escaped_on_every_settings_page(cw):
    script = "<script>alert(1)</script>"
    CallerId.objects.create(organization=cw.org, number="+14155550100", label=script, region="US")
    client = signed_in(cw.admin)
    client.get(DISPOSITIONS_URL)
    disposition = Disposition.objects.filter(organization=cw.org).first()
    disposition.label = script
    disposition.save()
    config = telephony_settings(cw.org.pk)
    config.abandon_message = script
    config.recording_notices = {"US": script}
    config.provider_config = {"trunk_host": '"><img src=x onerror=alert(1)>'}
    config.save()
    cw.team.name = script
    cw.team.save()
    urls = [PROVIDER_URL, WINDOWS_URL, CALLER_IDS_URL, DISPOSITIONS_URL, f"{DISPOSITIONS_URL}{disposition.pk}/edit/"]
    urls += [f"{CHECK_URL}?phone={script}&time_zone={script}"]
    for url in urls:
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "<img src=x" not in page, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(CALLER_IDS_URL).content.decode()
