"""Emails in the web UI and the API: who sees which email (404 outside scope), received HTML never rendered
as part of a page, attachments only as downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from insidesales.api.tests.conftest import ApiClient, key_for
from insidesales.crm.models import Lead
from insidesales.mail.models import EmailMessage, Mailbox
from insidesales.mail.services.ingest import message_ingest

MESSAGES = Path(__file__).parent / "messages"
pytestmark = pytest.mark.django_db


def load(name: str) -> bytes:
    return (MESSAGES / name).read_bytes()


def api_for(membership) -> ApiClient:
    return ApiClient({"Authorization": f"Bearer {key_for(membership)}"})


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def emails(world, settings, tmp_path):
    """A reply on rep1's lead (HTML and attachments), and an unmatched email in rep1's mailbox."""
    settings.DATA_DIR = tmp_path
    Lead.objects.filter(pk=world.lead_rep1.pk).update(email="pavel@fabrikam.test")
    mailbox = Mailbox.objects.create(
        organization=world.org, user=world.rep1.user, email="anna.rep@acme.test", smtp_host="127.0.0.1"
    )
    matched = message_ingest(organization=world.org, raw=load("html_reply_with_attachment.eml"), mailbox=mailbox)
    unmatched = message_ingest(organization=world.org, raw=load("yandex_reply_koi8r.eml"), mailbox=mailbox)
    assert matched.lead_id == world.lead_rep1.pk and unmatched.lead_id is None
    return matched, unmatched


WHO_SEES = {
    # member: (sees the email on rep1's lead, sees the unmatched email in rep1's mailbox)
    "admin": (True, True),
    "rep1": (True, True),
    "manager": (True, False),
    "rep2": (False, False),
    "agency_x_rep": (False, False),
    "field_rep": (False, False),
    "admin_b": (False, False),
}


@pytest.mark.parametrize("member", WHO_SEES)
def test_emails_are_scoped_like_their_records_and_unmatched_ones_by_mailbox(world, emails, member):
    matched, unmatched = emails
    membership = getattr(world, member)
    client = client_for(membership)
    api = api_for(membership)
    listed = client.get("/emails/").content.decode()
    api_ids = {item["id"] for item in api.get("/emails").json()["items"]}
    for message, visible in zip((matched, unmatched), WHO_SEES[member], strict=True):
        page = client.get(f"/emails/{message.pk}/")
        assert page.status_code == (200 if visible else 404)
        assert api.get(f"/emails/{message.pk}").status_code == (200 if visible else 404)
        assert (message.subject in listed) is visible
        assert (message.pk in api_ids) is visible
    attachment = matched.attachments.order_by("id").last()
    download = client.get(f"/emails/{matched.pk}/attachments/{attachment.pk}/")
    assert download.status_code == (200 if WHO_SEES[member][0] else 404)
    api_download = api.get(f"/emails/{matched.pk}/attachments/{attachment.pk}")
    assert api_download.status_code == (200 if WHO_SEES[member][0] else 404)


def test_detail_shows_text_escaped_and_html_only_in_a_sandboxed_frame(world, emails):
    matched, _ = emails
    client = client_for(world.rep1)
    page = client.get(f"/emails/{matched.pk}/").content.decode()
    assert "Please find our requirements attached &amp; let me know." in page
    assert "document.location" not in page and "onerror" not in page
    assert "<iframe" not in page
    framed = client.get(f"/emails/{matched.pk}/?view=html").content.decode()
    assert 'sandbox=""' in framed and f"/emails/{matched.pk}/html/" in framed
    html = client.get(f"/emails/{matched.pk}/html/")
    assert html.status_code == 200
    assert html["Content-Security-Policy"].startswith("sandbox;")
    assert "default-src 'none'" in html["Content-Security-Policy"]
    assert html["X-Frame-Options"] == "SAMEORIGIN"


def test_attachment_download_headers(world, emails):
    matched, _ = emails
    client = client_for(world.rep1)
    pdf, evil = matched.attachments.order_by("id")
    response = client.get(f"/emails/{matched.pk}/attachments/{evil.pk}/")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"<script>alert('x')</script>"
    russian = client.get(f"/emails/{matched.pk}/attachments/{pdf.pk}/")
    assert (
        "filename*=UTF-8''%D0%A2%D1%80%D0%B5%D0%B1%D0%BE%D0%B2%D0%B0%D0%BD%D0%B8%D1%8F.pdf"
        in russian["Content-Disposition"]
    )
    # An attachment of another email, through this email's URL: 404.
    other = EmailMessage.objects.exclude(pk=matched.pk).first()
    assert client.get(f"/emails/{other.pk}/attachments/{pdf.pk}/").status_code == 404


def test_list_filters_and_cursor_pages(world, emails):
    api = api_for(world.admin)
    body = api.get("/emails", {"direction": "in", "limit": 1}).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    second = api.get("/emails", {"direction": "in", "limit": 1, "cursor": body["next_cursor"]}).json()
    assert second["items"][0]["id"] != body["items"][0]["id"]
    assert api.get("/emails", {"kind": "bounce"}).json()["items"] == []
    assert api.get("/emails", {"kind": "nonsense"}).status_code == 422
    assert api.get("/emails", {"cursor": "bm90IGEgY3Vyc29y"}).status_code == 422
    detail = api.get(f"/emails/{emails[0].pk}").json()
    assert detail["lead_id"] == world.lead_rep1.pk
    assert [a["filename"] for a in detail["attachments"]] == ["Требования.pdf", "evil.html"]
    page = client_for(world.admin).get("/emails/", {"kind": "message"})
    assert page.status_code == 200


def test_received_html_cannot_navigate_its_frame():
    from insidesales.mail.views.messages import without_navigation

    html = (
        '<p>Hi</p><META HTTP-EQUIV="refresh" content="0;url=https://evil.example/">'
        '<me<meta x>ta http-equiv="refresh" content="0;url=https://evil.example/"><link rel=dns-prefetch '
        'href="//evil.example"><base href="https://evil.example/"><p>Bye</p>'
    )
    cleaned = without_navigation(html)
    assert "<meta" not in cleaned.lower() and "<link" not in cleaned.lower() and "<base" not in cleaned.lower()
    assert cleaned.startswith("<p>Hi</p>") and cleaned.endswith("<p>Bye</p>")
