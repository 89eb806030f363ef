"""The demo organization's telephony: the simulated carrier, caller IDs (with local presence), the
default dispositions, a do-not-call list, three call campaigns (power for the US desk, preview for the
Moscow desk, one for the agency), two weeks of calls with their provider events, and callbacks due.

Calls go through the real event path (`call_event_apply`), so their timeline entries, campaign queue
and the abandonment figures of the compliance report are what the product itself writes."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q

from insidesales.calls.models import (
    Call,
    CallDirection,
    CallerId,
    CampaignLead,
    CampaignLeadState,
    Disposition,
    DncEntry,
    DncSource,
    ProviderKind,
)
from insidesales.calls.providers.base import EventKind, ProviderEvent
from insidesales.calls.services.callbacks import callback_schedule
from insidesales.calls.services.campaigns import campaign_create, campaign_set_status
from insidesales.calls.services.config import dispositions_ensure, telephony_settings
from insidesales.calls.services.events import ABANDONED, call_event_apply, call_event_record
from insidesales.crm.models import Lead
from insidesales.orgs.models import Membership, Role

US_TALK_TRACK = (
    "Hi {{ lead.first_name }}, this is {your name} from Demo Trading Co.\n"
    "Reason for the call: companies like {{ lead.company_name }} use us to cut their shipping costs.\n"
    "Ask: how do you handle freight today? Who decides on suppliers?\n"
    "If interested: book a 20-minute call with a field rep."
)
RU_TALK_TRACK = (
    "Здравствуйте, {{ lead.first_name }}! Меня зовут {ваше имя}, компания Demo Trading Co.\n"
    "Повод звонка: компании вроде «{{ lead.company_name }}» сокращают с нами расходы на доставку.\n"
    "Спросите: как вы сейчас организуете перевозки? Кто выбирает поставщиков?\n"
    "Если интересно — договоритесь о встрече с выездным менеджером."
)


def demo_calls(*, people: dict[str, Membership], now: dt.datetime, seed: int) -> dict[str, int]:
    rng = random.Random(f"calls:{seed}")
    admin = people["admin@demo.example"]
    org = admin.organization_id
    settings = telephony_settings(org)
    settings.provider = ProviderKind.SIMULATED
    settings.recording_notices = {"*": "This call may be recorded for quality and training."}
    # The demo's leads were given their zones on purpose (their addresses say where they are).
    settings.window_rules = {"default": [{"start": "08:00", "end": "21:00"}], "trust_stored_zones": True}
    settings.save()
    dispositions = {d.key: d for d in dispositions_ensure(org)}
    us_team = people["manager@demo.example"].team_id
    ru_team = people["manager.ru@demo.example"].team_id
    CallerId.objects.bulk_create(
        [
            CallerId(organization_id=org, number="+12125550143", label="New York", region="US", is_default=True),
            CallerId(organization_id=org, number="+13125550187", label="Chicago", region="US-312", team_id=us_team),
            CallerId(organization_id=org, number="+74955550162", label="Москва", region="RU", team_id=ru_team),
        ]
    )
    leads = Lead.objects.filter(organization_id=org).exclude(phone="")
    for lead in leads.filter(status="new").order_by("id")[:12]:
        DncEntry.objects.get_or_create(
            organization_id=org,
            number=lead.phone,
            campaign=None,
            defaults={"source": DncSource.MANUAL, "reason": "Asked not to be called", "added_by": admin.user},
        )
    manager, manager_ru = people["manager@demo.example"], people["manager.ru@demo.example"]

    def pool(team_id: int | None, prefix: str, count: int) -> list[int]:
        scope = Q(owner__isnull=True, agency__isnull=True) | Q(team_id=team_id)
        return list(
            leads.filter(scope, phone__startswith=prefix, status__in=("new", "working"))
            .order_by("-last_activity_at")
            .values_list("id", flat=True)[:count]
        )

    us = campaign_create(
        membership=manager,
        data={
            "name": "US spring follow-up",
            "mode": "power",
            "lines_per_agent": 2,
            "team_id": us_team,
            "talk_track": US_TALK_TRACK,
            "lead_ids": pool(us_team, "+1", 400),
        },
    )
    ru = campaign_create(
        membership=manager_ru,
        data={
            "name": "Москва: повторные звонки",
            "mode": "preview",
            "team_id": ru_team,
            "talk_track": RU_TALK_TRACK,
            "lead_ids": pool(ru_team, "+7", 200),
        },
    )
    agency_leads = list(leads.filter(agency__isnull=False).values_list("id", flat=True)[:200])
    agency = campaign_create(
        membership=admin,
        data={
            "name": "Callpoint: outsourced qualification",
            "mode": "predictive",
            "agency_id": Membership.objects.filter(organization_id=org, role=Role.AGENCY_REP).first().agency_id,
            "talk_track": US_TALK_TRACK,
            "lead_ids": agency_leads,
        },
    )
    for campaign, by in ((us, manager), (ru, manager_ru), (agency, admin)):
        campaign_set_status(membership=by, campaign_id=campaign.pk, status="active")
    placed = _history(
        campaign=us,
        agents=[m for m in people.values() if m.team_id == us_team and m.role == Role.INSIDE_REP],
        dispositions=dispositions,
        now=now,
        rng=rng,
        days=14,
        per_day=14,
    )
    placed += _history(
        campaign=ru,
        agents=[m for m in people.values() if m.team_id == ru_team and m.role == Role.INSIDE_REP],
        dispositions=dispositions,
        now=now,
        rng=rng,
        days=14,
        per_day=8,
    )
    rep = people["rep@demo.example"]
    due = 0
    for lead in Lead.objects.filter(organization_id=org, owner=rep.user).exclude(phone="").order_by("id")[:4]:
        callback_schedule(
            membership=rep,
            record=lead,
            due_at=now + dt.timedelta(minutes=rng.choice((-90, -20, 45, 180))),
            note="Asked to call back after the budget meeting",
        )
        due += 1
    return {"campaigns": 3, "calls": placed, "callbacks": due}


def _history(*, campaign, agents, dispositions, now, rng, days: int, per_day: int) -> int:
    """Finished calls of the last `days` days through provider events: busy lines, no answers,
    machines, conversations with an outcome, and now and then an answer no agent took in time."""
    if not agents:
        return 0
    entries = list(CampaignLead.objects.filter(campaign=campaign).select_related("lead").order_by("-priority"))
    placed = 0
    for day in range(days, 0, -1):
        for _ in range(per_day):
            if not entries:
                return placed
            entry = entries.pop(0)
            lead = entry.lead
            agent = rng.choice(agents)
            start = (now - dt.timedelta(days=day)).replace(hour=14, minute=0) + dt.timedelta(
                minutes=rng.randint(0, 360)
            )
            call = Call.objects.create(
                organization_id=campaign.organization_id,
                direction=CallDirection.OUTBOUND,
                provider=ProviderKind.SIMULATED,
                provider_call_id=f"sim-demo-{campaign.pk}-{entry.pk}",
                from_number="+12125550143" if lead.phone.startswith("+1") else "+74955550162",
                to_number=lead.phone,
                campaign=campaign,
                lead=lead,
                owner_id=lead.owner_id,
                team_id=lead.team_id,
                agency_id=lead.agency_id,
                queued_at=start,
                dispatched_at=start,
            )
            CampaignLead.objects.filter(pk=entry.pk).update(state=CampaignLeadState.DIALING, call=call)
            roll = rng.random()
            events = [(EventKind.INITIATED, 0, {}), (EventKind.RINGING, 1, {})]
            ring = rng.uniform(4, 20)
            disposition: Disposition | None = None
            if roll < 0.2:
                events.append((EventKind.BUSY, 3, {}))
            elif roll < 0.5:
                events.append((EventKind.NO_ANSWER, 25, {}))
            elif roll < 0.62:
                events += [(EventKind.ANSWERED, ring, {"answered_by": "unknown"}), (EventKind.MACHINE, ring + 3, {})]
                events.append((EventKind.COMPLETED, ring + 4, {}))
            else:
                talk = rng.expovariate(1 / 180)
                events.append((EventKind.ANSWERED, ring, {"answered_by": "human"}))
                if rng.random() < 0.02:
                    call_event_apply(_event(call, EventKind.ANSWERED, start, ring, {"answered_by": "human"}))
                    call_event_record(call=call, kind=ABANDONED, occurred_at=start + dt.timedelta(seconds=ring + 2))
                    events.append((EventKind.COMPLETED, ring + 9, {}))
                else:
                    Call.objects.filter(pk=call.pk).update(agent=agent.user)
                    events.append((EventKind.BRIDGED, ring + 0.6, {}))
                    events.append((EventKind.COMPLETED, ring + 0.6 + talk, {"duration_s": round(talk + 0.6)}))
                    disposition = dispositions[
                        rng.choice(("interested", "not_interested", "not_interested", "callback"))
                    ]
            for kind, seconds, data in events:
                call_event_apply(_event(call, kind, start, seconds, data))
            if disposition is not None:
                Call.objects.filter(pk=call.pk).update(
                    disposition=disposition, disposed_at=start + dt.timedelta(minutes=10)
                )
                call.refresh_from_db()
                from insidesales.calls.services.timeline import call_timeline_sync

                call_timeline_sync(call)
            placed += 1
    return placed


def _event(call: Call, kind: str, start: dt.datetime, seconds: float, data: dict) -> ProviderEvent:
    return ProviderEvent(
        provider=call.provider,
        provider_call_id=call.provider_call_id,
        kind=kind,
        occurred_at=start + dt.timedelta(seconds=seconds),
        event_id=f"{call.provider_call_id}:{kind}",
        data=data,
        reference=str(call.pk),
    )
