"""The mailbox and suppression API end to end with API keys: passwords go in and never come out, another
user's mailbox is a 404 (for admins too), the connection test against a real SMTP server, and who may read,
add, check and remove suppressed addresses."""

from __future__ import annotations

import json

import pytest

from insidesales.api.tests.conftest import api_as, assert_problem  # noqa: F401 - the API client fixture
from insidesales.mail.models import Mailbox, Suppression
from insidesales.mail.services.mailboxes import mailbox_credentials
from insidesales.mail.services.suppression import suppression_add
from insidesales.mail.tests.mailbox_servers import PASSWORD, USER, smtp_server
from insidesales.mail.tests.mailbox_world import mbw  # noqa: F401 - the world fixture

NEW = {
    "email": "rep@letters.test",
    "display_name": "Rita Rep",
    "smtp_host": "smtp.Example.com",
    "smtp_port": 465,
    "smtp_security": "ssl",
    "smtp_username": "rep@letters.test",
    "smtp_password": "smtp-Пароль-1",
    "imap_host": "imap.example.com",
    "imap_password": "imap-secret-2",
}


def _no_secrets(response, *secrets: str) -> None:
    text = response.content.decode()
    for secret in secrets:
        assert secret not in text
    assert 'password":' not in text.replace("has_smtp_password", "").replace("has_imap_password", "")


# --- mailboxes -----------------------------------------------------------------------------------------


def test_a_rep_connects_a_mailbox_and_its_passwords_are_stored_encrypted_and_never_returned(mbw, api_as):  # noqa: F811
    api = api_as(mbw.rep)
    created = api.post("/mailboxes", NEW)
    assert created.status_code == 201, created.content
    body = created.json()
    _no_secrets(created, "smtp-Пароль-1", "imap-secret-2")
    assert body["has_smtp_password"] is True and body["has_imap_password"] is True
    assert body["smtp_host"] == "smtp.example.com" and body["smtp_security"] == "ssl" and body["imap_folder"] == "INBOX"
    mailbox = Mailbox.objects.get(pk=body["id"])
    assert mailbox.user_id == mbw.rep.user_id and mailbox.organization_id == mbw.org.pk
    assert "smtp-" not in mailbox.credentials and "imap-secret" not in mailbox.credentials  # encrypted at rest
    assert mailbox_credentials(mailbox) == {"smtp_password": "smtp-Пароль-1", "imap_password": "imap-secret-2"}

    got = api.get(f"/mailboxes/{mailbox.pk}")
    assert got.status_code == 200 and got.json() == body
    listed = api.get("/mailboxes")
    assert [item["id"] for item in listed.json()["items"]] == [mailbox.pk]
    _no_secrets(listed, "smtp-Пароль-1", "imap-secret-2")


def test_patch_keeps_an_omitted_or_empty_password_changes_a_new_one_and_null_removes_it(mbw, api_as):  # noqa: F811
    api = api_as(mbw.rep)
    mailbox = mbw.mailbox(mbw.rep, imap_host="imap.example.com", imap_password="imap-1")
    changed = api.patch(f"/mailboxes/{mailbox.pk}", {"display_name": "Rita", "smtp_password": ""})
    assert changed.status_code == 200, changed.content
    assert changed.json()["display_name"] == "Rita" and changed.json()["has_smtp_password"] is True
    mailbox.refresh_from_db()
    assert mailbox_credentials(mailbox) == {"smtp_password": "smtp-secret-1", "imap_password": "imap-1"}

    api.patch(f"/mailboxes/{mailbox.pk}", {"smtp_password": "smtp-secret-2", "imap_password": None})
    mailbox.refresh_from_db()
    assert mailbox_credentials(mailbox) == {"smtp_password": "smtp-secret-2", "imap_password": ""}
    assert api.get(f"/mailboxes/{mailbox.pk}").json()["has_imap_password"] is False


def test_another_users_mailbox_answers_404_for_every_verb_even_to_an_admin(mbw, api_as):  # noqa: F811
    mailbox = mbw.mailbox(mbw.rep)
    for member in (mbw.other_rep, mbw.admin, mbw.manager, mbw.stranger):
        api = api_as(member)
        assert_problem(api.get(f"/mailboxes/{mailbox.pk}"), 404)
        assert_problem(api.patch(f"/mailboxes/{mailbox.pk}", {"display_name": "Mine now"}), 404)
        assert_problem(api.post(f"/mailboxes/{mailbox.pk}/test"), 404)
        assert_problem(api.delete(f"/mailboxes/{mailbox.pk}"), 404)
        assert api.get("/mailboxes").json()["items"] == []
    mailbox.refresh_from_db()
    assert mailbox.display_name == ""


def test_bad_input_is_a_422_naming_each_field(mbw, api_as):  # noqa: F811
    api = api_as(mbw.rep)
    bad = api.post(
        "/mailboxes", {**NEW, "email": "not an address", "smtp_host": "smtp .example.com", "imap_host": "-x-"}
    )
    problem = assert_problem(bad, 422)
    assert {"email", "smtp_host", "imap_host"} <= set(problem["errors"])
    assert_problem(api.post("/mailboxes", {**NEW, "smtp_port": 70000}), 422)
    assert_problem(api.post("/mailboxes", {**NEW, "smtp_security": "tls1.0"}), 422)
    assert_problem(api.post("/mailboxes", {**NEW, "smtp_password": "a\r\nb"}), 422)
    assert api.post("/mailboxes", NEW).status_code == 201
    duplicate = assert_problem(api.post("/mailboxes", NEW), 422)
    assert "email" in duplicate["errors"]
    mailbox_id = Mailbox.objects.get().pk
    assert "smtp_host" in assert_problem(api.patch(f"/mailboxes/{mailbox_id}", {"smtp_host": ""}), 422)["errors"]


def test_delete_removes_the_mailbox(mbw, api_as):  # noqa: F811
    mailbox = mbw.mailbox(mbw.rep)
    api = api_as(mbw.rep)
    assert api.delete(f"/mailboxes/{mailbox.pk}").status_code == 204
    assert not Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert_problem(api.get(f"/mailboxes/{mailbox.pk}"), 404)


def test_the_connection_test_reports_each_server_against_a_real_smtp_server(mbw, api_as):  # noqa: F811
    api = api_as(mbw.rep)
    with smtp_server(auth=True) as server:
        common = {"smtp_host": server.host, "smtp_port": server.port, "smtp_security": "none", "smtp_username": USER}
        good = mbw.mailbox(mbw.rep, email="good@letters.test", smtp_password=PASSWORD, **common)
        wrong = mbw.mailbox(mbw.rep, email="wrong@letters.test", smtp_password="nope", **common)
        passed = api.post(f"/mailboxes/{good.pk}/test")
        failed = api.post(f"/mailboxes/{wrong.pk}/test")
    assert passed.status_code == 200, passed.content
    assert passed.json()["ok"] is True
    (check,) = passed.json()["checks"]
    assert check["protocol"] == "smtp" and check["ok"] and check["code"] is None
    body = failed.json()
    assert body["ok"] is False and body["checks"][0]["code"] == "auth"
    assert "user name or password" in body["checks"][0]["message"]
    _no_secrets(failed, PASSWORD, "nope")


def test_the_connection_test_checks_imap_too_when_it_is_set(mbw, api_as):  # noqa: F811
    mailbox = mbw.mailbox(mbw.rep, smtp_host="smtp.example.invalid", imap_host="imap.example.invalid")
    body = api_as(mbw.rep).post(f"/mailboxes/{mailbox.pk}/test").json()
    assert [(c["protocol"], c["code"]) for c in body["checks"]] == [("smtp", "dns"), ("imap", "dns")]
    assert "imap.example.invalid could not be found (DNS)" in body["checks"][1]["message"]


# --- suppressions --------------------------------------------------------------------------------------


def test_anyone_adds_an_address_managers_read_it_and_reps_cannot_remove_it(mbw, api_as):  # noqa: F811
    rep, manager = api_as(mbw.rep), api_as(mbw.manager)
    added = rep.post("/suppressions", {"email": "  Ann@Example.ORG ", "note": "asked by phone"})
    assert added.status_code == 201, added.content
    entry = added.json()
    assert entry["email"] == "ann@example.org" and entry["reason"] == "manual" and entry["note"] == "asked by phone"
    assert entry["created_by"] == {"id": mbw.rep.user_id, "name": "Rep"}
    assert rep.post("/suppressions", {"email": "ann@example.org"}).json()["id"] == entry["id"]  # idempotent

    assert rep.get("/suppressions").json()["items"] == []  # reps may not read the list
    assert [i["email"] for i in manager.get("/suppressions").json()["items"]] == ["ann@example.org"]
    checked = rep.get("/suppressions/check", {"email": "ANN@example.org"}).json()
    assert checked == {"email": "ann@example.org", "suppressed": True, "reason": "manual"}
    assert rep.get("/suppressions/check", {"email": "bob@example.org"}).json()["suppressed"] is False

    assert_problem(rep.delete(f"/suppressions/{entry['id']}"), 403)
    assert manager.delete(f"/suppressions/{entry['id']}").status_code == 204
    assert not Suppression.objects.filter(pk=entry["id"]).exists()


def test_suppression_list_search_pages_and_bad_addresses(mbw, api_as):  # noqa: F811
    for n in range(5):
        suppression_add(organization_id=mbw.org.pk, email=f"person{n}@example.org", reason="unsubscribed")
    suppression_add(organization_id=mbw.org.pk, email="other@sample.test", reason="hard_bounce")
    admin = api_as(mbw.admin)
    first = admin.get("/suppressions", {"limit": 4}).json()
    second = admin.get("/suppressions", {"limit": 4, "cursor": first["next_cursor"]}).json()
    emails = [i["email"] for i in first["items"] + second["items"]]
    assert emails[0] == "other@sample.test" and len(emails) == 6 and second["next_cursor"] is None
    assert [i["email"] for i in admin.get("/suppressions", {"q": "SAMPLE"}).json()["items"]] == ["other@sample.test"]
    assert_problem(admin.post("/suppressions", {"email": "nobody at example"}), 422)
    assert_problem(admin.post("/suppressions", {"email": "a@b.test\r\nBcc: c@d.test"}), 422)


def test_another_organizations_entry_is_a_404(mbw, api_as):  # noqa: F811
    entry = suppression_add(organization_id=mbw.org.pk, email="ann@example.org", reason="manual")
    stranger = api_as(mbw.stranger)
    assert_problem(stranger.delete(f"/suppressions/{entry.pk}"), 404)
    assert stranger.get("/suppressions").json()["items"] == []
    assert stranger.get("/suppressions/check", {"email": "ann@example.org"}).json()["suppressed"] is False


@pytest.mark.parametrize("path", ["/mailboxes", "/suppressions"])
def test_the_lists_need_a_key(db, path, client):
    response = client.get(f"/api/v1{path}")
    assert response.status_code == 401
    assert json.loads(response.content)["status"] == 401
