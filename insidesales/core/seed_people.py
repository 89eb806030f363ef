"""The organization and people a benchmark seed gives records to (`insidesales seed`).

An existing organization's inside reps are used as they are (e.g. the demo's); a new one gets ~50 reps
in five market desks, their managers, an agency with its reps and an administrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from insidesales.core import demo_data as data
from insidesales.core.synthetic import Synthetic
from insidesales.crm.models import CustomField, Tag
from insidesales.orgs import directory
from insidesales.orgs.models import Agency, Membership, Organization, Role, Team, User
from insidesales.orgs.services import organization_create

# Benchmark data only: every seeded user shares this password.
SEED_PASSWORD = "demo-password-1"
SEED_TEAMS = (
    ("US East", "US"),
    ("US West", "US"),
    ("Moscow desk", "RU"),
    ("Saint Petersburg desk", "RU"),
    ("EMEA desk", "GB"),
)
AGENCY_NAME = "Callpoint Outsourcing"


@dataclass
class SeedPeople:
    """Who records can belong to: (user id, team id) per market, the agency and its reps."""

    organization: Organization
    admin_email: str
    owners: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    agency_id: int | None = None
    agency_rep_ids: list[int] = field(default_factory=list)


def _market_of(language: str, team_name: str) -> str:
    if language == "ru" or "Moscow" in team_name or "Petersburg" in team_name:
        return "RU"
    return "GB" if "EMEA" in team_name else "US"


def seed_people(*, slug: str, reps: int = 50, seed: int = 1) -> SeedPeople:
    """The organization `slug` with ~`reps` inside reps in five teams, managers, an agency; created if missing."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        organization = organization_create(name=f"{slug.replace('-', ' ').title()} Trading Co.", slug=slug)
    if not Membership.objects.filter(organization=organization, role=Role.INSIDE_REP).exists():
        _create_people(organization, reps=reps, seed=seed)
    for key, label, kind, choices in (
        ("budget", "Budget", "number", []),
        ("preferred_language", "Preferred language", "choice", ["English", "Russian", "German"]),
    ):
        CustomField.objects.get_or_create(
            organization=organization,
            record_type="lead",
            key=key,
            defaults={"label": label, "field_type": kind, "choices": choices},
        )
    for name, color in data.TAGS:
        Tag.objects.get_or_create(organization=organization, name=name, defaults={"color": color})
    people = SeedPeople(organization=organization, admin_email="")
    admin = Membership.objects.filter(organization=organization, role=Role.ADMIN).select_related("user").first()
    people.admin_email = admin.user.email if admin else ""
    members = Membership.objects.filter(organization=organization, is_active=True).select_related("user", "team")
    for member in members:
        if member.role == Role.INSIDE_REP:
            market = _market_of(member.user.language, member.team.name if member.team else "")
            people.owners.setdefault(market, []).append((member.user_id, member.team_id))
        elif member.role == Role.AGENCY_REP:
            people.agency_id = member.agency_id
            people.agency_rep_ids.append(member.user_id)
    # Markets with no rep of their own go to the US reps (the demo organization has no EMEA desk).
    fallback = people.owners.get("US") or next(iter(people.owners.values()))
    people.owners.setdefault("US", fallback)
    people.owners.setdefault("RU", fallback)
    people.owners.setdefault("GB", fallback)
    people.owners.setdefault("DE", people.owners["GB"])
    return people


@transaction.atomic
def _create_people(organization: Organization, *, reps: int, seed: int) -> None:
    synthetic = Synthetic(seed, organization.default_region)
    password = make_password(SEED_PASSWORD)  # hashed once: Argon2 per user would dominate small seeds
    slug = organization.slug
    agency, _ = Agency.objects.get_or_create(organization=organization, name=AGENCY_NAME)
    plan: list[tuple[str, str, Team | None, Agency | None, str]] = []  # email, role, team, agency, market
    plan.append((f"admin@{slug}.example", Role.ADMIN, None, None, "US"))
    per_team = max(1, reps // len(SEED_TEAMS))
    for index, (team_name, market) in enumerate(SEED_TEAMS, start=1):
        team, _ = Team.objects.get_or_create(organization=organization, name=team_name)
        plan.append((f"manager{index}@{slug}.example", Role.MANAGER, team, None, market))
        for number in range(per_team):
            plan.append((f"rep{index}{number:02d}@{slug}.example", Role.INSIDE_REP, team, None, market))
    for number in range(5):
        plan.append((f"agency{number}@{slug}.example", Role.AGENCY_REP, None, agency, "US"))
    users = []
    for email, role, _team, _agency, market in plan:
        person = synthetic.person(market)
        users.append(
            User(
                email=email,
                full_name=f"{person.first_name} {person.last_name}",
                language="ru" if market == "RU" else "en",
                time_zone=person.phone.time_zone or "UTC",
                password=password,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
        )
    User.objects.bulk_create(users)
    users = {u.email: u for u in User.objects.filter(email__in=[p[0] for p in plan])}
    Membership.objects.bulk_create(
        Membership(organization=organization, user=users[email], role=role, team=team, agency=agency_)
        for email, role, team, agency_, _ in plan
    )
    for email, role, team, _, _ in plan:
        if role == Role.MANAGER and team is not None:
            team.managers.add(users[email])
    directory.bump(organization.pk)  # bulk_create sends no signals
