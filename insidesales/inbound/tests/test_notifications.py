"""Alerts: the live stream carries only the person's own, marks them online for routing; the list, the bell,
opening and marking read; the email copy is sent once."""

from __future__ import annotations

import asyncio

import pytest
from django.core import mail
from django.test import AsyncClient, Client
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.inbound.models import Notification, NotificationKind, RepAvailability
from insidesales.inbound.services.notification_email import notification_emails_send
from insidesales.inbound.services.notifications import notify


@pytest.fixture
def people(db):
    org = f.OrganizationFactory()
    rep = f.InsideRepMembershipFactory(organization=org)
    other = f.InsideRepMembershipFactory(organization=org)
    lead = f.LeadFactory(organization=org, owner=rep.user)
    return {"org": org, "rep": rep, "other": other, "lead": lead}


def alert(people, who: str = "rep", title: str = "New inbound lead: Anna") -> Notification:
    return notify(
        organization_id=people["org"].pk,
        user_ids=[people[who].user_id],
        kind=NotificationKind.NEW_LEAD,
        title=title,
        lead_id=people["lead"].pk,
    )[0]


@pytest.mark.django_db(transaction=True)
def test_the_stream_carries_only_my_alerts_and_marks_me_online(people):
    async def first_alert():
        client = AsyncClient()
        await client.aforce_login(people["rep"].user)
        response = await client.get("/notifications/stream/")
        assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk)
            if b"event: notify" in chunk:
                break
        return b"".join(chunks).decode()

    async def scenario():
        from asgiref.sync import sync_to_async

        task = asyncio.create_task(first_alert())
        await asyncio.sleep(0.4)
        await sync_to_async(lambda: alert(people, "other", "theirs"))()
        await sync_to_async(lambda: alert(people, "rep", "mine <b>"))()
        return await asyncio.wait_for(task, 5)

    text = asyncio.run(scenario())
    assert "mine <b>" in text and "theirs" not in text
    assert f'"url":"/leads/{people["lead"].pk}/"' in text
    seen = RepAvailability.objects.get(user=people["rep"].user).seen_at
    assert seen is not None and timezone.now() - seen < timezone.timedelta(minutes=1)


@pytest.mark.django_db(transaction=True)
def test_stream_needs_a_signed_in_member(people):
    async def anonymous():
        return (await AsyncClient().get("/notifications/stream/")).status_code

    assert asyncio.run(anonymous()) == 404


def test_a_wsgi_server_answers_no_stream_instead_of_holding_a_thread(people):
    """Django's own (WSGI) servers cannot stream events for long: 204 tells EventSource not to retry."""
    client = Client()
    client.force_login(people["rep"].user)
    assert client.get("/notifications/stream/").status_code == 204


def test_bell_counts_unread_and_the_list_escapes_and_marks_read(people):
    alert(people, title="<script>x</script>")
    client = Client()
    client.force_login(people["rep"].user)
    page = client.get("/notifications/").content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    assert 'data-count="1"' in page
    note = Notification.objects.get()
    response = client.post(f"/notifications/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == f"/leads/{people['lead'].pk}/"
    assert Notification.objects.get().read_at is not None
    assert 'data-count="0"' in client.get("/notifications/").content.decode()


def test_someone_elses_alert_is_404(people):
    note = alert(people, "other")
    client = Client()
    client.force_login(people["rep"].user)
    assert client.post(f"/notifications/{note.pk}/open/").status_code == 404
    assert Notification.objects.get().read_at is None


def test_read_all_marks_only_mine(people):
    alert(people)
    alert(people, "other")
    client = Client()
    client.force_login(people["rep"].user)
    client.post("/notifications/read-all/", {"next": "https://evil.example/"})
    assert Notification.objects.filter(read_at__isnull=True).get().user_id == people["other"].user_id


def test_alerts_are_emailed_once_in_the_readers_language(people):
    people["rep"].user.language = "ru"
    people["rep"].user.save()
    alert(people)
    assert notification_emails_send() == 1
    assert notification_emails_send() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [people["rep"].user.email]
    assert "Открыть" in mail.outbox[0].body or "Open" in mail.outbox[0].body
    assert Notification.objects.get().emailed_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_stream_outlives_quiet_spells(people, monkeypatch):
    """Keep-alives while nothing happens, and an alert after them still arrives (a timed-out wait must not
    end the stream)."""
    from insidesales.core import live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.3)

    async def read():
        client = AsyncClient()
        await client.aforce_login(people["rep"].user)
        response = await client.get("/notifications/stream/")
        chunks = []
        async for chunk in response.streaming_content:
            chunks.append(chunk)
            if b"event: notify" in chunk:
                break
        return b"".join(chunks).decode()

    async def scenario():
        from asgiref.sync import sync_to_async

        task = asyncio.create_task(read())
        await asyncio.sleep(1.2)
        await sync_to_async(lambda: alert(people, "rep", "after the quiet"))()
        return await asyncio.wait_for(task, 5)

    text = asyncio.run(scenario())
    assert text.count(": keep-alive") >= 2
    assert "after the quiet" in text


@pytest.mark.django_db(transaction=True)
def test_the_stream_ends_once_its_person_signs_out(people, monkeypatch):
    from django.contrib.sessions.models import Session

    from insidesales.core import live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.3)

    async def read_to_the_end():
        client = AsyncClient()
        await client.aforce_login(people["rep"].user)
        response = await client.get("/notifications/stream/")
        chunks = 0
        async for _chunk in response.streaming_content:
            chunks += 1
        return chunks

    async def scenario():
        from asgiref.sync import sync_to_async

        task = asyncio.create_task(read_to_the_end())
        await asyncio.sleep(0.5)
        assert not task.done()
        await sync_to_async(lambda: Session.objects.all().delete())()  # signed out (everywhere)
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(scenario()) >= 1
