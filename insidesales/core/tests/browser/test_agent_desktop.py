"""A rep works a power-dialing campaign at the agent desktop in Chromium: goes ready, an answered call
is connected and appears on the screen by itself (server-sent events), the rep hangs up, picks the
outcome with a hotkey, and the next call arrives.

Server-sent events need the ASGI server the product runs on (`insidesales serve`), so this test starts
one on the test database, beside the dialer worker (in a thread, the simulated carrier sped up)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from insidesales.calls.models import Call, CallStatus
from insidesales.calls.services import campaigns
from insidesales.calls.services.config import dispositions_ensure, telephony_settings
from insidesales.calls.simulated import CarrierProfile, TalkTime, Triangular
from insidesales.calls.tests.dialer_thread import running_dialer
from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in_at
from insidesales.crm import services

pytestmark = pytest.mark.browser

EVERYONE_ANSWERS = CarrierProfile(
    live_rate=1.0, machine_rate=0.0, busy_rate=0.0, live_ring=Triangular(2, 3, 4), talk=TalkTime(3600, minimum=3600)
)


def test_rep_takes_connected_calls_at_the_agent_desktop(
    asgi_server, page: Page, browser_world: BrowserWorld, screenshot
):
    world = browser_world
    rep, manager = world.inside_rep, world.manager
    config = telephony_settings(world.organization.pk)
    config.window_rules = {"default": [{"start": "00:00", "end": "00:00"}]}
    config.save()
    dispositions_ensure(world.organization.pk)
    leads = [
        services.lead_create(
            membership=rep,
            data={
                "first_name": name,
                "last_name": "Петрова",
                "phone": f"+7 916 555-00-{i:02d}",
                "company_name": "Ромашка",
            },
        )
        for i, name in enumerate(("Мария", "Ольга", "Елена"))
    ]
    campaign = campaigns.campaign_create(
        membership=manager,
        data={
            "name": "Весенний обзвон",
            "mode": "power",
            "team_id": world.team.pk,
            "lead_ids": [lead.pk for lead in leads],
            "talk_track": "Добрый день, {{ lead.first_name }}!",
        },
    )
    campaigns.campaign_set_status(membership=manager, campaign_id=campaign.pk, status="active")

    with running_dialer(EVERYONE_ANSWERS):
        sign_in_at(page, asgi_server, rep.user.email)
        page.goto(asgi_server + "/dialer/")
        page.get_by_role("combobox", name="Campaign").select_option(str(campaign.pk))
        page.get_by_role("button", name="Ready", exact=True).click()
        # Nobody reloads the page: the connected call arrives through the event stream.
        expect(page.locator("#desk-call-status")).to_have_text("Connected", timeout=15_000)
        first = Call.objects.get(campaign=campaign, agent=rep.user)
        expect(page.locator("#desk-lead h2")).to_contain_text(str(first.lead))
        expect(page.locator(".talk-track mark.merge")).to_have_text(first.lead.first_name)
        screenshot(page, "connected")

        page.get_by_role("button", name="Hang up").click()
        expect(page.locator("#disposition")).to_be_visible(timeout=10_000)
        page.locator("body").press("2")  # hotkey of "Not interested"
        expect(page.locator('#disposition input[value="not_interested"]')).to_be_checked()
        page.get_by_label("Note").fill("Уже работают с конкурентом")
        screenshot(page, "wrap-up")
        page.get_by_role("button", name="Save outcome").click()
        first.refresh_from_db()
        assert first.status == CallStatus.COMPLETED and first.disposition.key == "not_interested"
        assert first.note == "Уже работают с конкурентом"
        # Ready again: the next answered call is connected and shown.
        expect(page.locator("#desk-call-status")).to_have_text("Connected", timeout=15_000)
        second = Call.objects.exclude(pk=first.pk).get(campaign=campaign, agent=rep.user)
        expect(page.locator("#desk-lead h2")).to_contain_text(str(second.lead))
