"""The web form settings pages: who sees them, the field editor as plain form posts (no JavaScript), the
tabs (use it, submissions, spam review), switching off and deleting."""

from __future__ import annotations

import datetime as dt
import re
import sys
import types
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.inbound.models import RejectedSample, RejectionCount, RejectReason, Submission, WebForm
from insidesales.inbound.services.forms import web_form_create

pytestmark = pytest.mark.django_db

LIST_URL = "/settings/forms/"
NEW_URL = "/settings/forms/new/"


class FormFields(HTMLParser):
    """What a browser would submit from the page's post form whose action is `action` (no JavaScript)."""

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
                    self.data.append([name, attrs.get("value", "on")])
            elif kind != "submit":
                self.data.append([name, attrs.get("value") or ""])
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.append([name, ""])
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.append([self._select, attrs.get("value", "")])

    def handle_data(self, data):
        if self._textarea is not None:
            self.data[-1][1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
            if self.data[-1][1].startswith("\n"):
                self.data[-1][1] = self.data[-1][1][1:]
        elif tag == "select":
            self._select = None

    def as_dict(self) -> dict[str, str]:
        return dict(self.data)


def page_form(client: Client, url: str, action: str | None = None) -> dict[str, str]:
    parser = FormFields(action or url)
    parser.feed(client.get(url).content.decode())
    return parser.as_dict()


def row_index(data: dict[str, str], key: str) -> str:
    return next(name.split("-")[1] for name, value in data.items() if name.endswith("-key") and value == key)


@pytest.fixture
def people(db):
    admin = f.AdminMembershipFactory()
    org = admin.organization
    return {
        "admin": admin,
        "manager": f.ManagerMembershipFactory(organization=org),
        "rep": f.InsideRepMembershipFactory(organization=org),
        "agency": f.AgencyRepMembershipFactory(organization=org),
        "field": f.FieldRepMembershipFactory(organization=org),
        "admin_b": f.AdminMembershipFactory(),
    }


def signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def make(admin, **data) -> WebForm:
    values = {"name": "Contact us", "fields": [{"key": "email", "required": True}], **data}
    return web_form_create(membership=admin, data=values)


def test_only_admins_and_managers_see_the_pages(people):
    form = make(people["admin"])
    urls = [LIST_URL, f"/settings/forms/{form.pk}/", f"/settings/forms/{form.pk}/use/"]
    urls += [f"/settings/forms/{form.pk}/submissions/", f"/settings/forms/{form.pk}/spam/"]
    for member in ("admin", "manager"):
        for url in urls:
            assert signed_in(people[member]).get(url).status_code == 200, (member, url)
    for member in ("rep", "agency", "field", "admin_b"):
        client = signed_in(people[member])
        for url in urls[1:] if member == "admin_b" else [*urls, NEW_URL]:  # admin_b: another organization's admin
            assert client.get(url).status_code == 404, (member, url)
    assert signed_in(people["manager"]).get(NEW_URL).status_code == 404


def test_settings_page_links_to_forms_for_admins_and_managers(people):
    for member, shown in (("admin", True), ("manager", True), ("rep", False)):
        body = signed_in(people[member]).get("/settings/").content.decode()
        assert (f'href="{LIST_URL}"' in body) is shown, member


def test_the_list_counts_submissions_of_the_last_seven_days(people):
    admin = people["admin"]
    form = make(admin, name="Demo request")
    now = timezone.now()
    for days in (0, 1, 6, 8, 30):
        Submission.objects.create(
            organization_id=admin.organization_id, form=form, received_at=now - dt.timedelta(days=days)
        )
    body = signed_in(admin).get(LIST_URL).content.decode()
    assert "Demo request" in body
    assert re.search(rf'href="/settings/forms/{form.pk}/submissions/">\s*3\s*<', body)
    assert "New form" in body
    assert "New form" not in signed_in(people["manager"]).get(LIST_URL).content.decode()


def test_a_new_form_is_created_from_the_page_as_a_browser_without_javascript_sends_it(people):
    f.CustomFieldFactory(organization=people["admin"].organization, key="budget", label="Budget")
    client = signed_in(people["admin"])
    data = page_form(client, NEW_URL)
    data.update(
        name="Demo request",
        allowed_domains="Example.com\nshop.example.org",
        redirect_url="https://shop.example.org/thanks",
    )
    # Reorder by typing positions: phone first, then the custom field, then email; take the names off.
    for key in ("first_name", "last_name", "company_name"):
        data.pop(f"f-{row_index(data, key)}-on")
    budget = row_index(data, "custom:budget")
    data.update({f"f-{budget}-on": "on", f"f-{budget}-label": "Your budget", f"f-{budget}-position": "2"})
    data[f"f-{row_index(data, 'phone')}-position"] = "1"
    data[f"f-{row_index(data, 'email')}-position"] = "3"
    response = client.post(NEW_URL, data)
    form = WebForm.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/forms/{form.pk}/use/"
    assert form.fields == [
        {"key": "phone", "label": "Phone", "required": False},
        {"key": "custom:budget", "label": "Your budget", "required": False},
        {"key": "email", "label": "Email", "required": True},
    ]
    assert form.allowed_domains == ["example.com", "shop.example.org"]
    assert form.created_by == people["admin"].user


def test_the_editor_shows_what_is_wrong_and_keeps_what_was_typed(people):
    client = signed_in(people["admin"])
    data = page_form(client, NEW_URL)
    data.pop(f"f-{row_index(data, 'email')}-on")
    data.pop(f"f-{row_index(data, 'phone')}-on")
    data.update(name="Tried", allowed_domains="https://example.com/", min_fill_seconds="500")
    response = client.post(NEW_URL, data)
    body = response.content.decode()
    assert response.status_code == 422
    assert "Put the email or the phone field on the form" in body
    assert "Enter a number from 0 to 120" in body
    assert 'value="Tried"' in body
    assert not WebForm.objects.exists()
    data[f"f-{row_index(data, 'email')}-on"] = "on"
    data.update(min_fill_seconds="5")
    response = client.post(NEW_URL, data)
    assert response.status_code == 422
    assert "no https://" in response.content.decode()


def test_saving_the_settings_page_unchanged_changes_nothing_and_edits_apply(people):
    admin = people["admin"]
    consent = "I agree  to be contacted.\n<b>Really</b>"
    form = make(admin, consent_text=consent, consent_required=True, allowed_domains=["example.com"])
    url = f"/settings/forms/{form.pk}/"
    client = signed_in(admin)
    data = page_form(client, url)
    assert client.post(url, data).status_code == 302
    form.refresh_from_db()
    assert form.consent_text == consent
    assert form.fields == [{"key": "email", "label": "Email", "required": True}]
    data[f"f-{row_index(data, 'email')}-label"] = "Work email"
    data.update(title="Talk to sales", is_active="")
    del data["is_active"]
    assert client.post(url, data).status_code == 302
    form.refresh_from_db()
    assert (form.title, form.fields[0]["label"], form.is_active) == ("Talk to sales", "Work email", False)


def test_managers_read_the_settings_but_cannot_change_anything(people):
    form = make(people["admin"], title="<script>alert(1)</script>")
    client = signed_in(people["manager"])
    body = client.get(f"/settings/forms/{form.pk}/").content.decode()
    assert "Only administrators change web forms" in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert f'action="/settings/forms/{form.pk}/"' not in body
    for path in ("", "active/", "delete/"):
        assert client.post(f"/settings/forms/{form.pk}/{path}", {"name": "x", "is_active": "0"}).status_code == 404
    assert WebForm.objects.filter(pk=form.pk, is_active=True).exists()


def test_use_it_shows_each_snippet_escaped_with_a_copy_button(people, monkeypatch):
    form = make(people["admin"])
    fake = types.ModuleType("insidesales.inbound.embedding")
    fake.snippets = lambda web_form, request: {
        "hosted_url": f"http://testserver/f/{web_form.public_key}/",
        "iframe": '<iframe src="x"></iframe>',
        "script": '<script src="y"></script>',
        "html": "<form></form>",
    }
    monkeypatch.setitem(sys.modules, "insidesales.inbound.embedding", fake)
    body = signed_in(people["manager"]).get(f"/settings/forms/{form.pk}/use/").content.decode()
    for key in ("hosted_url", "iframe", "script", "html"):
        assert f'data-copy="snippet-{key}"' in body
    assert "&lt;iframe src=&quot;x&quot;&gt;&lt;/iframe&gt;" in body
    assert '<script src="y">' not in body


def test_submissions_are_shown_newest_first_in_pages_in_the_users_zone(people):
    admin = people["admin"]
    admin.user.time_zone = "Asia/Tokyo"
    admin.user.save()
    form = make(admin)
    lead = f.LeadFactory(organization=admin.organization, first_name="Ada", last_name="Inquirer")
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    for n in range(55):
        Submission.objects.create(
            organization_id=admin.organization_id,
            form=form,
            received_at=start + dt.timedelta(minutes=n),
            lead=lead if n == 54 else None,
            utm={"source": "newsletter", "campaign": "<spring>"},
            referrer="https://example.com/pricing",
        )
    client = signed_in(admin)
    url = f"/settings/forms/{form.pk}/submissions/"
    body = client.get(url).content.decode()
    assert body.count('<time datetime="') == 50
    assert f'href="/leads/{lead.pk}/">Ada Inquirer<' in body
    assert "2026-03-01T21:54:00+09:00" in body  # 12:54 UTC, in Tokyo
    assert "&lt;spring&gt;" in body and "newsletter" in body and "https://example.com/pricing" in body
    cursor = re.search(r'rel="next" href="[^"?]+\?cursor=([^"]+)"', body).group(1)
    second = client.get(url, {"cursor": cursor}).content.decode()
    assert second.count('<time datetime="') == 5
    assert "2026-03-01T21:00:00+09:00" in second
    assert client.get(url, {"cursor": "garbage!"}).status_code == 404


def test_a_submission_outside_the_managers_teams_is_not_listed(people):
    admin, manager = people["admin"], people["manager"]
    form = make(admin)
    lead = f.LeadFactory(organization=admin.organization, first_name="Hidden", owner=people["rep"].user)
    Submission.objects.create(
        organization_id=admin.organization_id, form=form, lead=lead, owner=people["rep"].user, data={"x": "Secret"}
    )
    body = signed_in(manager).get(f"/settings/forms/{form.pk}/submissions/").content.decode()
    assert "Hidden" not in body and "Secret" not in body
    assert "Hidden" in signed_in(admin).get(f"/settings/forms/{form.pk}/submissions/").content.decode()


def test_spam_review_counts_by_reason_and_shows_samples_escaped(people):
    admin = people["admin"]
    form = make(admin)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    org = admin.organization_id
    RejectionCount.objects.create(organization_id=org, form=form, reason=RejectReason.HONEYPOT, hour=hour, count=4)
    RejectionCount.objects.create(
        organization_id=org, form=form, reason=RejectReason.HONEYPOT, hour=hour - dt.timedelta(days=3), count=10
    )
    RejectionCount.objects.create(
        organization_id=org, form=form, reason=RejectReason.TOO_FAST, hour=hour - dt.timedelta(days=9), count=99
    )
    RejectedSample.objects.create(
        organization_id=org,
        form=form,
        reason=RejectReason.HONEYPOT,
        ip="203.0.113.9",
        data={"email": "bot@spam.test", "notes": "<img src=x onerror=alert(1)>"},
    )
    body = signed_in(people["manager"]).get(f"/settings/forms/{form.pk}/spam/").content.decode()
    honeypot = re.search(
        r"Hidden field filled in \(a bot\)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)<", body
    )
    assert honeypot.groups() == ("4", "14")
    assert "99" not in body
    assert "203.0.113.9" in body and "bot@spam.test" in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_switch_off_and_delete_from_the_page(people):
    admin = people["admin"]
    form = make(admin)
    submission = Submission.objects.create(organization_id=admin.organization_id, form=form)
    client = signed_in(admin)
    assert client.post(f"/settings/forms/{form.pk}/active/", {"is_active": "0"}).status_code == 302
    form.refresh_from_db()
    assert form.is_active is False
    response = client.post(f"/settings/forms/{form.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == LIST_URL
    assert not WebForm.objects.exists()
    submission.refresh_from_db()
    assert submission.form_id is None
    assert signed_in(people["admin_b"]).post(f"/settings/forms/{form.pk}/delete/").status_code == 404
