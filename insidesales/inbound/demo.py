"""The demo organization's inbound side: a contact form in English and one in Russian, routing rules per
desk with response deadlines, a month of inquiries (most answered, some fast, some late, a few missed) for
the speed-to-lead report, and the alerts they made (already read)."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from insidesales.core.synthetic import Synthetic
from insidesales.crm.models import Contact, Lead
from insidesales.inbound.models import AssignTo, Notification, RoutingRule, SlaAction, Submission, WebForm
from insidesales.inbound.services.submissions import Visit, submission_accept
from insidesales.inbound.speed import first_touch_record
from insidesales.orgs.models import Membership

FORM_FIELDS = [
    {"key": "first_name", "required": False},
    {"key": "last_name", "required": True},
    {"key": "email", "required": True},
    {"key": "phone", "required": False},
    {"key": "company_name", "required": False},
    {"key": "notes", "required": False},
]
CAMPAIGNS = ("spring-freight", "webinar-logistics", "brand", "")
SOURCES = ("google", "newsletter", "linkedin", "")


def demo_inbound(*, people: dict[str, Membership], now: dt.datetime, seed: int, inquiries: int = 80) -> dict:
    admin = people["admin@demo.example"]
    organization = admin.organization
    us_team = people["manager@demo.example"].team
    ru_team = people["manager.ru@demo.example"].team
    english = WebForm.objects.create(
        organization=organization,
        name="Contact us",
        title="Talk to our freight team",
        intro="Tell us what you ship; a specialist calls you back within minutes during business hours.",
        fields=FORM_FIELDS,
        consent_text="I agree that Demo Trading Co. may contact me about my request and store my details for it.",
        thank_you_message="Thank you! A specialist will call you shortly.",
        allowed_domains=["demo.example"],
        created_by=admin.user,
    )
    russian = WebForm.objects.create(
        organization=organization,
        name="Заявка на расчёт",
        language="ru",
        title="Рассчитать стоимость доставки",
        intro="Оставьте контакты — менеджер перезвонит в течение нескольких минут в рабочее время.",
        fields=FORM_FIELDS,
        consent_text="Я согласен на обработку персональных данных для ответа на мою заявку (152-ФЗ).",
        thank_you_message="Спасибо! Менеджер скоро свяжется с вами.",
        allowed_domains=["demo.example"],
        created_by=admin.user,
    )
    RoutingRule.objects.create(
        organization=organization,
        name="Russia and CIS → Moscow desk",
        position=1,
        conditions=[{"field": "country", "op": "in", "value": ["RU", "BY", "KZ"]}],
        assign_to=AssignTo.ROUND_ROBIN,
        team=ru_team,
        skip_offline=False,
        sla_minutes=5,
        sla_action=SlaAction.BOTH,
    )
    RoutingRule.objects.create(
        organization=organization,
        name="Partners → agency",
        position=2,
        conditions=[{"field": "utm_source", "op": "eq", "value": "partner"}],
        assign_to=AssignTo.AGENCY,
        agency=people["agency@demo.example"].agency,
    )
    RoutingRule.objects.create(
        organization=organization,
        name="Everyone else → US desk",
        position=3,
        assign_to=AssignTo.ROUND_ROBIN,
        team=us_team,
        weights={str(people["rep@demo.example"].user_id): 2},
        skip_offline=False,
        sla_minutes=5,
        sla_action=SlaAction.ESCALATE,
    )
    RoutingRule.objects.create(
        organization=organization,
        name="Default: unassigned pool",
        position=1000,
        is_default=True,
        assign_to=AssignTo.POOL,
    )
    rng = random.Random(seed + 6)
    synthetic = Synthetic(seed + 6, "US")
    made = 0
    # Oldest first, as they arrived (alerts are listed in arrival order).
    times = sorted(
        min(
            (now - dt.timedelta(days=rng.uniform(0.2, 30))).replace(
                hour=rng.choice((8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20))
            ),
            now - dt.timedelta(minutes=rng.uniform(10, 120)),  # a business hour later today: earlier instead
        )
        for _ in range(inquiries)
    )
    for n, received in enumerate(times):
        russian_lead = rng.random() < 0.35
        country = "RU" if russian_lead else rng.choice(("US", "US", "US", "GB", "DE"))
        company = synthetic.company(country)
        person = synthetic.person(country, domain=company.domain)
        phone = person.phone.e164
        for _attempt in range(5):  # a new person: a number no lead or contact of the demo has yet
            if not (
                Lead.objects.filter(organization=organization, phone=phone).exists()
                or Contact.objects.filter(organization=organization, phone=phone).exists()
            ):
                break
            phone = synthetic.person(country).phone.e164
        else:
            phone = ""
        campaign, source = rng.choice(CAMPAIGNS), rng.choice(SOURCES)
        submission, _new = submission_accept(
            organization=organization,
            form=russian if russian_lead else english,
            values={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"inq{n}.{person.email}",
                "phone": phone,
                "company_name": company.name,
            },
            visit=Visit(
                ip=f"198.51.100.{n % 250 + 1}",
                user_agent="Mozilla/5.0",
                referrer="https://www.google.com/" if source == "google" else "",
                landing_page="https://demo.example/pricing",
                utm={k: v for k, v in (("source", source), ("campaign", campaign)) if v},
            ),
            consent_given=True,
            now=received,
        )
        made += 1
        roll = rng.random()
        if submission.owner_id and roll < 0.88:
            delay = rng.choice(
                (rng.uniform(20, 290), rng.uniform(20, 290), rng.uniform(300, 3600), rng.uniform(3600, 20000))
            )
            first_touch_record(
                lead_ids=[submission.lead_id] if submission.lead_id else [],
                contact_ids=[submission.contact_id] if submission.contact_id else [],
                user_id=submission.owner_id,
                kind=rng.choice(("call", "call", "email")),
                at=received + dt.timedelta(seconds=delay),
            )
            if delay > 300:
                Submission.objects.filter(pk=submission.pk).update(sla_missed=True)
        elif received < now - dt.timedelta(hours=1):
            Submission.objects.filter(pk=submission.pk).update(sla_due_at=None, sla_missed=bool(submission.sla_due_at))
    # History, not news: the demo's people have seen these alerts (and no emails go out for them).
    Notification.objects.filter(organization=organization).update(read_at=timezone.now(), emailed_at=timezone.now())
    return {"forms": 2, "rules": 4, "inquiries": made}
