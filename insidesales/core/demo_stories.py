"""Demo leads worked through the real services on a simulated clock: created, assigned, called, emailed,
qualified or disqualified, converted into deals that move through the pipeline.

Their timelines and audit rows are exactly what the product writes, spread over the last 90 days.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

from django.db.models import Max

from insidesales.core import demo_data as data
from insidesales.core.synthetic import Synthetic
from insidesales.crm import services
from insidesales.crm.models import ActivityKind, DisqualifyReason, Lead, LeadSource, Stage, StageKind, Tag
from insidesales.orgs.models import Agency, AuditLog, Membership, Role

CALL_SUBJECT = {"en": "Outbound call", "ru": "Исходящий звонок"}


@contextmanager
def simulated_clock(when: dt.datetime, organization_id: int):
    """Run services as if it were `when`, so what they write lands in the demo's past.

    Services read the time through `django.utils.timezone.now`, which is patched here. Audit rows take
    their time from a field default bound at import, so they are moved to `when` afterwards.
    """
    last_audit = AuditLog.objects.aggregate(top=Max("pk"))["top"] or 0
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield
    AuditLog.objects.filter(organization_id=organization_id, pk__gt=last_audit).update(created_at=when)


class Story:
    """One lead's life; `step` advances the clock by a random number of hours, never past `now`."""

    def __init__(self, *, start: dt.datetime, now: dt.datetime, organization_id: int, synthetic: Synthetic):
        self.at = start
        self.now = now
        self.organization_id = organization_id
        self.rng = synthetic.rng

    def step(self, low_hours: float, high_hours: float):
        self.at = min(
            self.at + dt.timedelta(hours=self.rng.uniform(low_hours, high_hours)), self.now - dt.timedelta(minutes=5)
        )
        return simulated_clock(self.at, self.organization_id)


def work_leads(
    *,
    people: dict[str, Membership],
    synthetic: Synthetic,
    count: int,
    agency: Agency,
    now: dt.datetime,
    tags: list[Tag],
) -> list[Lead]:
    """Create and work `count` leads through the services; returns them."""
    rng, pick = synthetic.rng, synthetic.pick
    admin = people["admin@demo.example"]
    desks = {
        "US": (
            people["manager@demo.example"],
            [m for m in people.values() if m.role == Role.INSIDE_REP and m.user.language == "en"],
        ),
        "RU": (
            people["manager.ru@demo.example"],
            [m for m in people.values() if m.role == Role.INSIDE_REP and m.user.language == "ru"],
        ),
    }
    agency_reps = [m for m in people.values() if m.role == Role.AGENCY_REP]
    stages = list(Stage.objects.filter(organization_id=admin.organization_id).order_by("position"))
    worked = []
    for index in range(count):
        market = synthetic.market()
        language = "ru" if market == "RU" else "en"
        manager, reps = desks["RU" if market == "RU" else "US"]
        rep = pick(reps)
        info = synthetic.company(market) if rng.random() < 0.8 else None
        person = synthetic.person(market, domain=info.domain if info else "")
        story = Story(
            start=now - dt.timedelta(days=rng.uniform(3, 88)),
            now=now,
            organization_id=admin.organization_id,
            synthetic=synthetic,
        )
        fields = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "title": person.title,
            "company_name": info.name if info else "",
            "email": person.email,
            "phone": person.phone.raw,
            "custom": {"budget": pick((10_000, 25_000, 40_000, 75_000))} if rng.random() < 0.6 else {},
            "tag_ids": [pick(tags).pk] if rng.random() < 0.3 else [],
        }
        if rng.random() < 0.6:
            fields["custom"]["preferred_language"] = {"RU": "Russian", "DE": "German"}.get(market, "English")
        flow = index % 4
        with story.step(0, 0):
            if flow == 0:  # inbound: arrives unassigned, the manager hands it to a rep
                lead = services.lead_create(membership=admin, data={**fields, "source": LeadSource.WEB_FORM})
            elif flow == 2:  # outsourced: the admin gives it to the agency
                lead = services.lead_create(membership=admin, data={**fields, "source": LeadSource.COLD_LIST})
            else:  # the rep's own prospecting or a referral
                source = LeadSource.REFERRAL if flow == 3 else LeadSource.COLD_LIST
                lead = services.lead_create(membership=rep, data={**fields, "source": source})
        worker = rep
        if flow == 0:
            with story.step(0.1, 3):
                services.lead_assign(membership=manager, lead_id=lead.pk, owner_id=rep.user_id)
        elif flow == 2:
            worker = pick(agency_reps)
            with story.step(0.5, 24):
                if rng.random() < 0.5:
                    services.lead_assign(membership=admin, lead_id=lead.pk, agency_id=agency.pk)
                else:
                    services.lead_assign(membership=admin, lead_id=lead.pk, owner_id=worker.user_id)
        _work(lead, worker, story, synthetic, language, person.email)
        _finish(lead, worker, story, synthetic, language, stages)
        worked.append(lead)
    return worked


def _work(lead: Lead, worker: Membership, story: Story, synthetic: Synthetic, language: str, email: str) -> None:
    """A few calls and emails; the first reached conversation becomes a note (which starts work on the lead)."""
    rng = synthetic.rng
    for attempt in range(rng.randint(1, 5)):
        with story.step(2, 40):
            outcome = synthetic.pick(data.CALL_OUTCOMES)
            if rng.random() < 0.65:
                duration = rng.randint(60, 900) if outcome == "connected" else rng.randint(0, 30)
                services.activity_log(
                    record=lead,
                    kind=ActivityKind.CALL,
                    actor=worker.user,
                    subject=CALL_SUBJECT[language],
                    data={"direction": "outbound", "duration": duration, "outcome": outcome},
                )
            else:
                services.activity_log(
                    record=lead,
                    kind=ActivityKind.EMAIL,
                    actor=worker.user,
                    subject=synthetic.pick(data.EMAIL_SUBJECTS[language]),
                    data={"direction": "outbound", "to": email},
                )
            if attempt == 0 or outcome == "connected":
                services.note_add(
                    membership=worker, record_type=Lead, record_id=lead.pk, body=synthetic.pick(data.NOTES[language])
                )


def _finish(lead: Lead, worker: Membership, story: Story, synthetic: Synthetic, language: str, stages) -> None:
    """Leave the lead working, or qualify, disqualify or convert it (and move the new deal along)."""
    rng = synthetic.rng
    ending = synthetic.pick(("working", "qualified", "disqualified", "converted", "converted"))
    if ending == "working":
        return
    with story.step(4, 72):
        if ending == "disqualified":
            reason = synthetic.pick(DisqualifyReason.values[:-1])
            services.lead_disqualify(membership=worker, lead_id=lead.pk, reason=reason)
            return
        services.lead_qualify(membership=worker, lead_id=lead.pk, note=synthetic.pick(data.NOTES[language]))
    if ending == "qualified":
        return
    with story.step(4, 96):
        result = services.lead_convert(
            membership=worker, lead_id=lead.pk, deal_amount=Decimal(rng.randrange(5_000, 90_000, 500))
        )
    deal = result["deal"]
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    for stage in open_stages[1 : rng.randint(1, len(open_stages))]:
        with story.step(24, 120):
            services.deal_move_stage(membership=worker, deal_id=deal.pk, stage_id=stage.pk)
    roll = rng.random()
    if roll < 0.3:
        with story.step(24, 120):
            services.deal_mark_won(membership=worker, deal_id=deal.pk)
    elif roll < 0.45:
        with story.step(24, 120):
            services.deal_mark_lost(
                membership=worker, deal_id=deal.pk, reason=synthetic.pick(data.LOST_REASONS[language])
            )
