"""An inbound lead end to end in Chromium: a rep has the app open; a visitor fills in the hosted web form
(honeypot untouched, consent ticked) and is thanked; the rep's page pops up the alert by itself (server-sent
events), the bell counts it, and "Open" leads to the new lead — routed to the rep, with the inquiry (its
consent text and UTM campaign) on the timeline.

Live alerts need the ASGI server the product runs on, so this runs against `insidesales serve`."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from insidesales.core.tests.browser.browsing import BrowserWorld, sign_in_at
from insidesales.crm.models import Lead
from insidesales.inbound.models import AssignTo, RoutingRule, Submission, WebForm

pytestmark = pytest.mark.browser

CONSENT = "Я согласна на обработку персональных данных для ответа на заявку."


def test_a_visitors_form_reaches_the_rep_live(asgi_server, open_page, browser_world: BrowserWorld, screenshot):
    world = browser_world
    rep = world.inside_rep
    form = WebForm.objects.create(
        organization=world.organization,
        name="Заявка",
        language="ru",
        title="Оставьте заявку",
        fields=[
            {"key": "first_name"},
            {"key": "last_name", "required": True},
            {"key": "email", "required": True},
            {"key": "phone"},
        ],
        consent_text=CONSENT,
        min_fill_seconds=1,
    )
    RoutingRule.objects.create(
        organization=world.organization, name="Desk", assign_to=AssignTo.ROUND_ROBIN, team=world.team, position=1
    )

    desk = open_page("rep")
    sign_in_at(desk, asgi_server, rep.user.email)
    desk.goto(asgi_server + "/tasks/")
    bell = desk.locator(".bell")
    expect(bell).to_be_visible()
    desk.wait_for_timeout(1500)  # the alerts stream is open: the rep counts as online for routing

    visitor: Page = open_page("visitor")
    visitor.goto(f"{asgi_server}/f/{form.public_key}/?utm_source=yandex&utm_campaign=spring")
    expect(visitor.get_by_role("heading", name="Оставьте заявку")).to_be_visible()
    visitor.locator("input[name=first_name]").fill("Ольга")
    visitor.locator("input[name=last_name]").fill("Смирнова")
    visitor.locator("input[name=email]").fill("olga@smirnova.test")
    visitor.locator("input[name=phone]").fill("+7 916 123-45-67")
    visitor.get_by_label(CONSENT).check()
    time.sleep(1.2)  # a person takes longer than the form's minimum fill time
    visitor.get_by_role("button", name="Отправить").click()
    expect(visitor.locator(".thanks")).to_be_visible()
    screenshot(visitor, "thanks")

    toast = desk.locator(".alert-toast")
    expect(toast).to_contain_text("Ольга Смирнова", timeout=10_000)
    expect(desk.locator(".bell-count")).to_have_text("1")
    screenshot(desk, "alert")

    lead = Lead.objects.get(email="olga@smirnova.test")
    assert lead.owner_id == rep.user_id
    submission = Submission.objects.get(lead=lead)
    assert submission.consent_text == CONSENT and submission.utm == {"source": "yandex", "campaign": "spring"}

    toast.get_by_role("link").click()
    desk.wait_for_url(f"**/leads/{lead.pk}/")
    expect(desk.locator("main")).to_contain_text("spring")
    screenshot(desk, "lead")
