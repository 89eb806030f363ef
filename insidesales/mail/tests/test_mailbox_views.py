"""The pages under settings/mailboxes/ and settings/mail/: a user's own mailboxes (passwords never shown,
empty keeps them, another's is a 404), the connection test against a real SMTP server, the sending rules
(admins only) and the suppression list (managers read and remove, everyone adds)."""

from __future__ import annotations

import datetime as dt

from insidesales.mail.models import Mailbox, MailSettings, Suppression
from insidesales.mail.selectors.mailboxes import mailboxes_for_sending
from insidesales.mail.services.mailboxes import mailbox_credentials
from insidesales.mail.services.suppression import suppression_add
from insidesales.mail.tests.mailbox_servers import PASSWORD, USER, smtp_server
from insidesales.mail.tests.mailbox_world import mbw, signed_in  # noqa: F401 - the world fixture
from insidesales.orgs.models import AuditLog

FORM = {
    "email": "rep@letters.test",
    "display_name": "Rita Rep",
    "smtp_host": "smtp.example.com",
    "smtp_port": "587",
    "smtp_security": "starttls",
    "smtp_username": "rep@letters.test",
    "smtp_password": "Very-Secret-1",
    "imap_host": "",
    "imap_port": "993",
    "imap_security": "ssl",
    "imap_username": "",
    "imap_folder": "INBOX",
    "is_active": "on",
}


def test_a_rep_adds_a_mailbox_and_the_password_never_comes_back(mbw):  # noqa: F811
    client = signed_in(mbw.rep)
    assert client.get("/settings/mailboxes/").status_code == 200
    form_page = client.get("/settings/mailboxes/add/")
    assert form_page.status_code == 200 and form_page["Cache-Control"] == "no-store"
    response = client.post("/settings/mailboxes/add/", FORM)
    mailbox = Mailbox.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/mailboxes/{mailbox.pk}/"
    assert mailbox.user_id == mbw.rep.user_id and mailbox_credentials(mailbox)["smtp_password"] == "Very-Secret-1"
    edit = client.get(f"/settings/mailboxes/{mailbox.pk}/").content.decode()
    assert "Very-Secret-1" not in edit and "Stored. Leave empty to keep it." in edit
    assert "rep@letters.test" in client.get("/settings/mailboxes/").content.decode()
    assert AuditLog.objects.filter(action="mailbox.create", object_id=mailbox.pk).exists()
    assert list(mailboxes_for_sending(mbw.rep)) == [mailbox]
    assert list(mailboxes_for_sending(mbw.rep.user, organization_id=mbw.stranger.organization_id)) == []


def test_editing_with_an_empty_password_keeps_it_and_the_clear_box_removes_it(mbw):  # noqa: F811
    mailbox = mbw.mailbox(mbw.rep)
    client = signed_in(mbw.rep)
    saved = client.post(f"/settings/mailboxes/{mailbox.pk}/", {**FORM, "smtp_password": "", "display_name": "R. Rep"})
    assert saved.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.display_name == "R. Rep" and mailbox_credentials(mailbox)["smtp_password"] == "smtp-secret-1"
    client.post(f"/settings/mailboxes/{mailbox.pk}/", {**FORM, "smtp_password": "", "clear_smtp_password": "on"})
    mailbox.refresh_from_db()
    assert mailbox_credentials(mailbox)["smtp_password"] == ""


def test_a_new_host_without_a_new_password_forgets_the_stored_one(mbw):  # noqa: F811
    from insidesales.calls.secrets import decrypt_credentials
    from insidesales.mail.services.mailboxes import mailbox_create, mailbox_update

    mailbox = mailbox_create(
        actor=mbw.rep,
        data={"email": "rep@example.org", "smtp_host": "smtp.example.org", "smtp_password": "s3cret"},
    )
    mailbox = mailbox_update(actor=mbw.rep, mailbox_id=mailbox.pk, data={"smtp_port": 465})
    assert decrypt_credentials(mailbox.credentials) == {"smtp_password": "s3cret"}  # same host: kept
    mailbox = mailbox_update(actor=mbw.rep, mailbox_id=mailbox.pk, data={"smtp_host": "smtp.attacker.example"})
    assert decrypt_credentials(mailbox.credentials) == {}


def test_bad_settings_are_shown_on_the_form_and_a_typed_password_must_be_typed_again(mbw):  # noqa: F811
    client = signed_in(mbw.rep)
    response = client.post("/settings/mailboxes/add/", {**FORM, "email": "rep at letters", "smtp_host": "bad host"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Enter a valid email address" in page and "is not a server name" in page
    assert "Not saved yet: type it again." in page and "Very-Secret-1" not in page
    assert not Mailbox.objects.exists()


def test_another_users_mailbox_is_a_404_on_every_page_even_for_an_admin(mbw):  # noqa: F811
    mailbox = mbw.mailbox(mbw.rep)
    for member in (mbw.other_rep, mbw.admin, mbw.stranger):
        client = signed_in(member)
        assert client.get(f"/settings/mailboxes/{mailbox.pk}/").status_code == 404
        assert client.post(f"/settings/mailboxes/{mailbox.pk}/", FORM).status_code == 404
        assert client.post(f"/settings/mailboxes/{mailbox.pk}/test/").status_code == 404
        assert client.get(f"/settings/mailboxes/{mailbox.pk}/delete/").status_code == 404
        assert client.post(f"/settings/mailboxes/{mailbox.pk}/delete/").status_code == 404
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_admins_see_every_mailbox_of_the_organization_without_passwords(mbw):  # noqa: F811
    mbw.mailbox(mbw.rep)
    mbw.mailbox(mbw.other_rep)
    page = signed_in(mbw.admin).get("/settings/mailboxes/").content.decode()
    assert "rep@letters.test" in page and "other_rep@letters.test" in page and "smtp-secret-1" not in page
    rep_page = signed_in(mbw.rep).get("/settings/mailboxes/").content.decode()
    assert "other_rep@letters.test" not in rep_page and 'id="all-mailboxes"' not in rep_page


def test_remove_asks_first_then_deletes(mbw):  # noqa: F811
    mailbox = mbw.mailbox(mbw.rep)
    client = signed_in(mbw.rep)
    confirm = client.get(f"/settings/mailboxes/{mailbox.pk}/delete/")
    assert confirm.status_code == 200 and "Remove the mailbox rep@letters.test?" in confirm.content.decode()
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert client.post(f"/settings/mailboxes/{mailbox.pk}/delete/").status_code == 302
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()


def test_the_test_button_shows_each_result_against_a_real_smtp_server(mbw):  # noqa: F811
    client = signed_in(mbw.rep)
    with smtp_server(auth=True) as server:
        mailbox = mbw.mailbox(
            mbw.rep,
            smtp_host=server.host,
            smtp_port=server.port,
            smtp_security="none",
            smtp_username=USER,
            smtp_password=PASSWORD,
            imap_host="imap.example.invalid",
        )
        page = client.post(f"/settings/mailboxes/{mailbox.pk}/test/").content.decode()
        partial = client.post(f"/settings/mailboxes/{mailbox.pk}/test/", headers={"HX-Request": "true"})
    assert 'data-protocol="smtp" data-code=""' in page and f"logged in as {USER}" in page
    assert 'data-protocol="imap" data-code="dns"' in page
    assert "imap.example.invalid could not be found (DNS). Check the spelling." in page
    fragment = partial.content.decode()
    assert partial.status_code == 200 and fragment.lstrip().startswith('<section class="card" id="connection-test">')
    assert "<html" not in fragment and PASSWORD not in fragment


# --- sending rules -------------------------------------------------------------------------------------


RULES = {
    "daily_cap_per_mailbox": "200",
    "min_spacing_seconds": "45",
    "sending_start": "09:00",
    "sending_end": "17:30",
    "sending_weekdays": ["0", "1", "2", "3"],
    "company_name": "Letters Ltd",
    "physical_address": "1 Post Road\nLondon",
    "attachment_max_kb": "2048",
}


def test_admins_set_the_sending_rules_and_others_get_a_404(mbw):  # noqa: F811
    client = signed_in(mbw.admin)
    first = client.get("/settings/mail/").content.decode()
    assert "No company name yet" in first and "No postal address yet" in first
    assert client.post("/settings/mail/", {**RULES, "allow_parallel_sequences": "on"}).status_code == 302
    rules = MailSettings.objects.get(organization=mbw.org)
    assert (rules.daily_cap_per_mailbox, rules.min_spacing_seconds) == (200, 45)
    assert (rules.sending_start, rules.sending_end) == (dt.time(9), dt.time(17, 30))
    assert rules.sending_weekdays == [0, 1, 2, 3] and rules.allow_parallel_sequences
    assert rules.physical_address == "1 Post Road\nLondon" and rules.attachment_max_bytes == 2048 * 1024
    assert "No company name yet" not in client.get("/settings/mail/").content.decode()
    for member in (mbw.manager, mbw.rep):
        assert signed_in(member).get("/settings/mail/").status_code == 404
        assert signed_in(member).post("/settings/mail/", RULES).status_code == 404


def test_sending_rules_that_make_no_sense_are_refused_with_the_reason(mbw):  # noqa: F811
    client = signed_in(mbw.admin)
    wrong = client.post("/settings/mail/", {**RULES, "sending_start": "18:00", "sending_end": "08:00"})
    assert wrong.status_code == 422 and "must be after their start" in wrong.content.decode()
    no_days = client.post("/settings/mail/", {**RULES, "sending_weekdays": []})
    assert no_days.status_code == 422 and "Choose at least one day." in no_days.content.decode()
    assert client.post("/settings/mail/", {**RULES, "daily_cap_per_mailbox": "0"}).status_code == 422
    assert MailSettings.objects.get(organization=mbw.org).sending_start == dt.time(8)


# --- suppression list ----------------------------------------------------------------------------------


def test_a_rep_adds_an_address_but_sees_no_list_and_cannot_remove(mbw):  # noqa: F811
    entry = suppression_add(organization_id=mbw.org.pk, email="old@example.org", reason="unsubscribed")
    client = signed_in(mbw.rep)
    page = client.get("/settings/mail/suppressions/").content.decode()
    assert "Add an address" in page and "old@example.org" not in page
    added = client.post("/settings/mail/suppressions/", {"email": "New@Example.org", "note": "asked"})
    assert added.status_code == 302
    assert Suppression.objects.get(email="new@example.org").created_by_id == mbw.rep.user_id
    assert client.post(f"/settings/mail/suppressions/{entry.pk}/remove/").status_code == 403
    assert Suppression.objects.filter(pk=entry.pk).exists()
    bad = client.post("/settings/mail/suppressions/", {"email": "new@example.org\r\nBcc: x@y.test"})
    assert bad.status_code == 422 and "Enter a valid email address" in bad.content.decode()


def test_a_manager_searches_and_removes_after_confirming(mbw):  # noqa: F811
    ann = suppression_add(organization_id=mbw.org.pk, email="ann@example.org", reason="hard_bounce")
    bob = suppression_add(organization_id=mbw.org.pk, email="bob@sample.test", reason="manual", note="<b>rude</b>")
    client = signed_in(mbw.manager)
    page = client.get("/settings/mail/suppressions/", {"q": "sample"}).content.decode()
    assert "bob@sample.test" in page and "ann@example.org" not in page
    assert "&lt;b&gt;rude&lt;/b&gt;" in page and "<b>rude</b>" not in page  # escaped
    assert "data-confirm=" in page
    removed = client.post(f"/settings/mail/suppressions/{bob.pk}/remove/", {"q": "sample"})
    assert removed.status_code == 302 and removed["Location"] == "/settings/mail/suppressions/?q=sample"
    assert not Suppression.objects.filter(pk=bob.pk).exists()
    assert signed_in(mbw.stranger).post(f"/settings/mail/suppressions/{ann.pk}/remove/").status_code == 404
    assert Suppression.objects.filter(pk=ann.pk).exists()
