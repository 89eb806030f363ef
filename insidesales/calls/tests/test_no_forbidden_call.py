"""No call is ever originated to a do-not-call number or outside the callee's calling window: a
property-based test through the code that picks campaign leads to dial (`campaign_next_leads`, what
the dialer's floors and the preview desk use) and the check click-to-call makes, over random leads,
zones, do-not-call lists and clocks — including instants around daylight-saving changes.

Each lead the dialer picks is checked independently here, from first principles: its number is on no
list, and the local wall-clock time in every zone the lead may be in (its stored zone, or all zones its
number may be in) is inside the window on that local date."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insidesales.calls import gate
from insidesales.calls.compliance import lead_time_zones
from insidesales.calls.models import CampaignLead, DncEntry
from insidesales.calls.services import campaigns
from insidesales.calls.services.config import telephony_settings
from insidesales.crm.models import Lead
from insidesales.orgs.visibility import record_scope

# Numbers of several countries: US landlines (one zone by area code), a US mobile-style number that
# spans zones, Russian mobiles (eleven zones), London, Sydney, Berlin.
PHONES = [
    "+12125550101",  # New York
    "+13125550102",  # Chicago
    "+14155550103",  # San Francisco
    "+19075550104",  # Alaska
    "+79165550105",  # a Russian mobile: anywhere from Kaliningrad to Kamchatka
    "+74955550106",  # Moscow landline
    "+442079460107",  # London
    "+61255550108",  # Sydney
    "+4930555010",  # Berlin
]
ZONES = ["", "America/New_York", "America/Los_Angeles", "Europe/Moscow", "Asia/Vladivostok", "Australia/Sydney"]
TRANSITIONS = [  # 2026 and 2027 daylight-saving changes (UTC)
    dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC),  # US spring forward
    dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC),  # US fall back
    dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC),  # Europe
    dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 4, 16, tzinfo=dt.UTC),  # Sydney
    dt.datetime(2026, 10, 3, 16, tzinfo=dt.UTC),
    dt.datetime(2027, 3, 14, 7, tzinfo=dt.UTC),
]
clocks = st.one_of(
    st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)).map(
        lambda d: d.replace(tzinfo=dt.UTC)
    ),
    st.tuples(st.sampled_from(TRANSITIONS), st.integers(-7200, 7200)).map(lambda p: p[0] + dt.timedelta(seconds=p[1])),
)
windows = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(1, 16)).map(
    lambda w: {"start": f"{w[0]:02d}:{w[1]:02d}", "end": f"{(w[0] + w[2]) % 24:02d}:{w[1]:02d}"}
)


def in_window(rules: dict, zone_name: str, instant: dt.datetime) -> bool:
    """The rule, evaluated from scratch: is the local time in `zone_name` inside a window that opened on
    this local day (or the day before, for windows past midnight)?"""
    local = instant.astimezone(zoneinfo.ZoneInfo(zone_name)).replace(tzinfo=None)
    blocked = {dt.date.fromisoformat(d) for d in rules.get("blocked_dates", [])}
    for window in rules["default"]:
        start, end = dt.time.fromisoformat(window["start"]), dt.time.fromisoformat(window["end"])
        for day in (local.date(), local.date() - dt.timedelta(days=1)):
            if day in blocked:
                continue
            opens = dt.datetime.combine(day, start)
            closes = dt.datetime.combine(day, end)
            if closes <= opens:
                closes += dt.timedelta(days=1)
            if opens <= local < closes and local.date() not in blocked:
                return True
    return False


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    leads=st.lists(st.tuples(st.sampled_from(PHONES), st.sampled_from(ZONES)), min_size=1, max_size=6),
    blocked=st.sets(st.sampled_from(PHONES), max_size=3),
    window=windows,
    now=clocks,
    blocked_day=st.booleans(),
)
def test_no_call_is_picked_for_a_do_not_call_number_or_outside_the_window(cw, leads, blocked, window, now, blocked_day):
    rules = {"default": [window]}
    if blocked_day:
        rules["blocked_dates"] = [(now - dt.timedelta(hours=12)).date().isoformat()]
    with transaction.atomic():
        config = telephony_settings(cw.org.pk)
        config.window_rules = rules
        config.save()
        made = []
        for phone, zone in leads:
            lead = Lead.objects.create(organization=cw.org, last_name="Prop", phone=phone, time_zone=zone)
            made.append(lead)
        for number in blocked:
            DncEntry.objects.create(organization=cw.org, number=number)
        campaign = campaigns.campaign_create(
            membership=cw.admin, data={"name": "Property", "lead_ids": [lead.pk for lead in made]}
        )
        CampaignLead.objects.filter(campaign=campaign).update(next_attempt_at=now - dt.timedelta(days=1))
        picked = campaigns.campaign_next_leads(
            campaign=campaign, count=len(made), scope=record_scope(cw.admin), now=now
        )
        for entry in picked:
            lead = entry.lead
            assert lead.phone not in blocked
            zones = lead_time_zones(phone=lead.phone, country=lead.country, time_zone=lead.time_zone)
            assert zones, lead.phone
            for zone in zones:
                assert in_window(rules, zone, now), (lead.phone, zone, now, rules)
        # Click-to-call asks the same check; it refuses exactly the leads the campaign skipped.
        picked_ids = {entry.lead_id for entry in picked}
        for lead in made:
            refusal = gate.outbound_refusal(
                organization_id=cw.org.pk,
                rules=rules,
                number=lead.phone,
                country=lead.country,
                time_zone=lead.time_zone,
                campaign_id=None,
                now=now,
            )
            if lead.pk in picked_ids:
                assert refusal is None
            elif refusal is None:  # not picked although callable: only possible when another lead had the slot
                raise AssertionError(f"{lead.phone} was callable but skipped")
        transaction.set_rollback(True)
