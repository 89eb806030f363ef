"""The demo organization "Demo Trading Co.": people for every role, records, history and tasks.

Volume (a few thousand leads with 90 days of history) is inserted in bulk by `demo_records`; a
representative subset of leads is worked through the real services on a simulated clock, so their
timelines, audit log and tasks are exactly what the product writes. The same seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from insidesales.core import demo_data as data
from insidesales.core.bulk_insert import reset_sequences
from insidesales.core.demo_records import DemoRecords, Desk
from insidesales.core.demo_stories import simulated_clock, work_leads
from insidesales.core.synthetic import Synthetic
from insidesales.crm import services
from insidesales.crm.models import Activity, Company, Contact, Deal, Lead, Stage
from insidesales.orgs.models import Agency, Membership, Organization, Role, Team, User
from insidesales.orgs.services import member_add, organization_create

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Trading Co."
# Demo data only — printed on the console and documented, never use it for real accounts.
DEMO_PASSWORD = "demo-password-1"
DEMO_SEED = 20260101
AGENCY_NAME = "Callpoint Outsourcing"
US_DESK, MOSCOW_DESK = "US desk", "Moscow desk"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    team: str | None = None
    language: str = "en"
    time_zone: str = "America/New_York"
    listed: bool = True  # shown in the table of demo logins


DEMO_USERS = (
    DemoUser("admin@demo.example", "Olivia Bennett", Role.ADMIN),
    DemoUser("manager@demo.example", "Michael Carter", Role.MANAGER, US_DESK),
    DemoUser("manager.ru@demo.example", "Дмитрий Соколов", Role.MANAGER, MOSCOW_DESK, "ru", "Europe/Moscow"),
    DemoUser("rep@demo.example", "Jessica Miller", Role.INSIDE_REP, US_DESK),
    DemoUser("rep.ru@demo.example", "Анна Кузнецова", Role.INSIDE_REP, MOSCOW_DESK, "ru", "Europe/Moscow"),
    DemoUser("field@demo.example", "Daniel Brooks", Role.FIELD_REP, US_DESK, time_zone="America/Chicago"),
    DemoUser("agency@demo.example", "Kevin Ortiz", Role.AGENCY_REP),
    DemoUser("brandon.hayes@demo.example", "Brandon Hayes", Role.INSIDE_REP, US_DESK, listed=False),
    DemoUser("sophia.turner@demo.example", "Sophia Turner", Role.INSIDE_REP, US_DESK, listed=False),
    DemoUser("igor.lebedev@demo.example", "Игорь Лебедев", Role.INSIDE_REP, MOSCOW_DESK, "ru", "Europe/Moscow", False),
    DemoUser("maria.orlova@demo.example", "Мария Орлова", Role.INSIDE_REP, MOSCOW_DESK, "ru", "Europe/Moscow", False),
    DemoUser(
        "oksana.bondarenko@demo.example", "Оксана Бондаренко", Role.AGENCY_REP, None, "ru", "Europe/Moscow", False
    ),
)


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_SLUG).exists()


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, role, password) of the demo users worth signing in as."""
    return [(u.email, str(Role(u.role).label), DEMO_PASSWORD) for u in DEMO_USERS if u.listed]


@transaction.atomic
def demo_load(*, leads: int = 3000, seed: int = DEMO_SEED, out=None) -> Organization:
    """Create the demo organization with about `leads` leads. Call only when `demo_exists()` is False."""
    say = out or (lambda message: None)
    now = timezone.now()
    synthetic = Synthetic(seed, "US")
    organization = organization_create(
        name=DEMO_NAME, slug=DEMO_SLUG, default_region="US", time_zone="America/New_York"
    )
    people = _people(organization)
    admin = people["admin@demo.example"]
    tags = [services.tag_create(membership=admin, name=name, color=color) for name, color in data.TAGS]
    services.custom_field_create(membership=admin, record_type="lead", label="Budget", field_type="number")
    services.custom_field_create(
        membership=admin,
        record_type="lead",
        label="Preferred language",
        field_type="choice",
        choices=["English", "Russian", "German"],
    )
    say("people and settings ready")

    def users(team: str | None, role: str) -> list[User]:
        return [m.user for m in people.values() if m.role == role and (team is None or m.team.name == team)]

    teams = {m.team.name: m.team_id for m in people.values() if m.team_id}
    desks = {
        "US": Desk(
            users(US_DESK, Role.INSIDE_REP),
            people["manager@demo.example"].user,
            teams[US_DESK],
            field_rep=people["field@demo.example"].user,
        ),
        "RU": Desk(users(MOSCOW_DESK, Role.INSIDE_REP), people["manager.ru@demo.example"].user, teams[MOSCOW_DESK]),
    }
    agency = Agency.objects.get(organization=organization, name=AGENCY_NAME)
    stages = list(Stage.objects.filter(organization=organization).order_by("position"))
    records = DemoRecords(
        organization=organization,
        synthetic=synthetic,
        desks=desks,
        admin=admin.user,
        agency_id=agency.pk,
        agency_name=agency.name,
        agency_reps=users(None, Role.AGENCY_REP),
        stages=stages,
        tag_ids=[t.pk for t in tags],
        now=now,
    )
    stories = max(12, leads // 30)
    inquiries = max(8, leads // 40)  # leads that arrive through the web forms (inbound.demo)
    records.build_accounts(max(10, leads // 12))
    records.build_leads(max(0, leads - stories - inquiries))
    counts = records.insert()
    reset_sequences(Company, Contact, Deal, Lead, Activity, Lead.tags.through)
    say(f"{counts['leads']:,} leads, {counts['companies']:,} companies, {counts['activities']:,} activities inserted")
    work_leads(people=people, synthetic=synthetic, count=stories, agency=agency, now=now, tags=tags)
    _tasks(people=people, synthetic=synthetic, now=now)
    from insidesales.calls.demo import demo_calls

    calls = demo_calls(people=people, now=now, seed=seed)
    say(f"{calls['campaigns']} call campaigns, {calls['calls']} calls, {calls['callbacks']} callbacks")
    from insidesales.mail.demo import demo_mail

    mail = demo_mail(people=people, now=now, seed=seed)
    say(f"{mail['sequences']} email sequences, {mail['enrollments']} enrollments, {mail['emails']} emails sent")
    from insidesales.inbound.demo import demo_inbound

    inbound = demo_inbound(people=people, now=now, seed=seed, inquiries=inquiries)
    say(f"{inbound['forms']} web forms, {inbound['rules']} routing rules, {inbound['inquiries']} inbound inquiries")
    _settle_last_activity(organization, since=now)
    say(f"{stories} leads worked through the services; tasks set for every rep")
    from insidesales.imports.duplicates import scan_request

    scan_request(organization_id=organization.pk)  # the worker finds the demo's duplicates on start
    return organization


def _people(organization: Organization) -> dict[str, Membership]:
    """Teams, the agency and every demo user, through `member_add`; one password hash for all (Argon2 is slow)."""
    teams = {name: Team.objects.create(organization=organization, name=name) for name in (US_DESK, MOSCOW_DESK)}
    agency = Agency.objects.create(organization=organization, name=AGENCY_NAME)
    people: dict[str, Membership] = {}
    for user in DEMO_USERS:
        people[user.email] = member_add(
            actor=None,
            organization=organization,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            team=teams.get(user.team) if user.team else None,
            agency=agency if user.role == Role.AGENCY_REP else None,
            language=user.language,
        )
    password = make_password(DEMO_PASSWORD)
    for user in DEMO_USERS:
        account = people[user.email].user
        account.password, account.time_zone = password, user.time_zone
        account.is_staff = account.is_superuser = user.role == Role.ADMIN  # the admin may use /admin/ too
        account.save(update_fields=["password", "time_zone", "is_staff", "is_superuser"])
        if user.role == Role.MANAGER:
            teams[user.team].managers.add(account)
    return people


def _tasks(*, people: dict[str, Membership], synthetic: Synthetic, now: dt.datetime) -> None:
    """For everyone who works records: overdue tasks, tasks due today (their time zone), upcoming and done ones."""
    rng = synthetic.rng
    for member in people.values():
        if member.role == Role.ADMIN:
            continue
        model = Company if member.role == Role.FIELD_REP else Lead
        scope = {
            Role.AGENCY_REP: {"agency_id": member.agency_id},
            Role.MANAGER: {"team_id": member.team_id},
        }.get(member.role, {"owner_id": member.user_id})
        records = list(
            model.objects.filter(organization_id=member.organization_id, **scope).order_by("-last_activity_at")[:12]
        )
        if not records:
            continue
        local_now = now.astimezone(zoneinfo.ZoneInfo(member.user.time_zone or "UTC"))
        today = [
            local_now.replace(hour=h, minute=rng.choice((0, 15, 30)), second=0, microsecond=0) for h in (11, 15, 17)
        ]
        overdue = [now - dt.timedelta(hours=rng.uniform(2, 72)) for _ in range(2)]
        upcoming = [now + dt.timedelta(hours=rng.uniform(24, 24 * 14)) for _ in range(4)]
        for index, due in enumerate(overdue + today + upcoming):
            record = records[index % len(records)]
            with simulated_clock(min(now, due) - dt.timedelta(days=rng.uniform(1, 4)), member.organization_id):
                services.task_create(
                    membership=member,
                    title=_task_title(synthetic, member.user.language, record),
                    due_at=due,
                    record_type=model,
                    record_id=record.pk,
                )
        for record in records[:2]:
            done_at = now - dt.timedelta(days=rng.uniform(2, 10))
            with simulated_clock(done_at - dt.timedelta(days=2), member.organization_id):
                task = services.task_create(
                    membership=member,
                    title=_task_title(synthetic, member.user.language, record),
                    due_at=done_at,
                    record_type=model,
                    record_id=record.pk,
                )
            with simulated_clock(done_at, member.organization_id):
                services.task_complete(membership=member, task_id=task.pk)


def _task_title(synthetic: Synthetic, language: str, record) -> str:
    template = synthetic.pick(data.TASK_TITLES["ru" if language == "ru" else "en"])
    company = getattr(record, "company_name", "") or getattr(record, "name", "") or str(record)
    return template.format(name=str(record), company=company)


def _settle_last_activity(organization: Organization, *, since: dt.datetime) -> None:
    """Records made by services on the simulated clock took `last_activity_at` from the real clock (a field
    default); give them the time of their latest timeline entry instead."""
    for model, link in ((Lead, "lead"), (Contact, "contact"), (Company, "company"), (Deal, "deal")):
        latest = Activity.objects.filter(**{link: OuterRef("pk")}).order_by("-occurred_at").values("occurred_at")[:1]
        model.objects.filter(organization=organization, last_activity_at__gte=since).update(
            last_activity_at=Coalesce(Subquery(latest), F("created_at"))
        )
