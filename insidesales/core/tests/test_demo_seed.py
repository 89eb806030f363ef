"""The demo organization and the benchmark seeder: they load, stay consistent with the services, and repeat safely."""

from __future__ import annotations

import io

import phonenumbers
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F, Max
from phonenumbers import tzdata

from insidesales.core import demo_data as data
from insidesales.core import synthetic
from insidesales.core.demo_loader import DEMO_PASSWORD, DEMO_USERS
from insidesales.core.phones import parse_phone
from insidesales.core.text import company_search_key, search_key
from insidesales.crm.models import Activity, Company, Contact, Deal, Lead, Task
from insidesales.orgs.models import AuditLog, Membership, Organization, Role, Team

pytestmark = pytest.mark.django_db

DEMO_SIZE = 300  # the real demo has 3,000 leads; the shape is the same


def load_demo() -> str:
    out = io.StringIO()
    call_command("demo", leads=DEMO_SIZE, stdout=out)
    return out.getvalue()


def counts(org: Organization) -> dict[str, int]:
    models = (Lead, Company, Contact, Deal, Task, Team, Membership)
    found = {m.__name__: m.objects.filter(organization=org).count() for m in models}
    found["Activity"] = Activity.objects.filter(organization=org).count()
    found["AuditLog"] = AuditLog.objects.filter(organization_id=org.pk).count()
    return found


def assert_like_the_services(rows, region: str) -> None:
    """Phones and search keys as lead_create/record_create would have stored them."""
    for row in rows:
        parsed = parse_phone(row.phone_raw, region)
        assert parsed is not None, row.phone_raw
        assert (row.phone, row.country, row.time_zone) == (parsed.e164, parsed.country, parsed.time_zone)
        assert phonenumbers.is_valid_number(phonenumbers.parse(row.phone))
        assert row.name_key == search_key(row.first_name, row.last_name)
        assert row.name_rev_key == search_key(row.last_name, row.first_name)
        assert row.email == row.email.strip().lower() and "@" in row.email


def test_demo_loads_on_an_empty_database_with_history_for_every_role():
    output = load_demo()

    org = Organization.objects.get(slug="demo")
    assert org.name == "Demo Trading Co." and org.default_region == "US"
    leads = Lead.objects.filter(organization=org)
    assert leads.count() == DEMO_SIZE
    assert set(leads.values_list("status", flat=True)) == {"new", "working", "qualified", "disqualified", "converted"}
    assert leads.filter(agency__name="Callpoint Outsourcing").exists()
    assert leads.filter(owner__isnull=True, agency__isnull=True).exists()  # the unassigned pool
    assert leads.filter(country="RU").exists() and leads.filter(country="US").exists()
    assert leads.exclude(custom={}).exists()
    converted = leads.filter(status="converted").first()
    assert converted.converted_contact is not None and converted.converted_at is not None
    kinds = set(Activity.objects.filter(organization=org).values_list("kind", flat=True))
    assert {"created", "call", "email", "note", "status_change", "assignment", "conversion", "stage_change"} <= kinds
    call = Activity.objects.filter(organization=org, kind="call").first()
    assert {"duration", "outcome"} <= set(call.data)
    # Worked through the services: their audit trail is there, dated in the past like the timeline.
    assert AuditLog.objects.filter(organization_id=org.pk, action="lead.convert").exists()
    assert Deal.objects.filter(organization=org, stage__kind="won").exists()
    # Russian companies' lost deals give their reason in Russian, American ones in English.
    lost_ru = set(
        Deal.objects.filter(organization=org, company__country="RU")
        .exclude(lost_reason="")
        .values_list("lost_reason", flat=True)
    )
    lost_us = set(
        Deal.objects.filter(organization=org, company__country="US")
        .exclude(lost_reason="")
        .values_list("lost_reason", flat=True)
    )
    assert lost_ru and lost_us and lost_ru <= set(data.LOST_REASONS["ru"]) and lost_us <= set(data.LOST_REASONS["en"])
    moscow = Team.objects.get(organization=org, name="Moscow desk")
    assert moscow.managers.get().full_name == "Дмитрий Соколов"
    for email in ("rep@demo.example", "rep.ru@demo.example", "field@demo.example", "agency@demo.example"):
        assert Task.objects.filter(assignee__email=email, completed_at__isnull=True).count() >= 5, email
    assert_like_the_services(leads.order_by("?")[:100], org.default_region)
    newest = leads.annotate(newest=Max("activities__occurred_at"))
    assert not newest.exclude(last_activity_at=F("newest")).exists()
    assert "admin@demo.example" in output and DEMO_PASSWORD in output and "http://127.0.0.1:8000/" in output


def test_demo_is_loaded_only_once():
    load_demo()
    org = Organization.objects.get(slug="demo")
    before = counts(org)

    output = load_demo()

    assert counts(org) == before
    assert Organization.objects.filter(slug="demo").count() == 1
    assert "already loaded" in output


@pytest.mark.parametrize("user", [u for u in DEMO_USERS if u.listed], ids=lambda u: u.email)
def test_every_demo_user_signs_in_with_their_role(client, user):
    load_demo()

    assert client.login(email=user.email, password=DEMO_PASSWORD)
    membership = Membership.objects.get(user__email=user.email, organization__slug="demo")
    assert membership.role == user.role
    assert membership.user.language == user.language
    if user.role == Role.AGENCY_REP:
        assert membership.agency.name == "Callpoint Outsourcing"


def test_seed_creates_leads_with_valid_phones_and_consistent_keys():
    call_command("seed", leads=500, organization="seedtest", stdout=io.StringIO())

    org = Organization.objects.get(slug="seedtest")
    leads = Lead.objects.filter(organization=org)
    assert leads.count() == 500
    assert_like_the_services(leads, org.default_region)
    for lead in leads:
        assert lead.company_key == company_search_key(lead.company_name)
        assert lead.phone.startswith("+") and lead.phone[1:].isdigit()
    assert Company.objects.filter(organization=org).count() == 50
    activities = Activity.objects.filter(organization=org, lead__isnull=False).count()
    assert 1000 <= activities <= 2000  # about three per lead
    owners = set(leads.exclude(owner=None).values_list("owner_id", flat=True))
    assert len(owners) > 20 and Membership.objects.filter(organization=org, user_id__in=owners).count() == len(owners)
    assert Team.objects.filter(organization=org).count() == 5
    assert leads.filter(agency__isnull=False).exists()
    # Every lead's last activity is its newest timeline entry.
    newest = leads.annotate(newest=Max("activities__occurred_at"))
    assert not newest.exclude(last_activity_at=F("newest")).exists()


def test_seed_fast_load_restores_every_index():
    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            found = set()
            for model in (Lead, Activity, Company, Contact, Deal):
                found |= set(connection.introspection.get_constraints(cursor, model._meta.db_table))
            return found

    before = indexes()
    call_command("seed", leads=200, organization="fast", fast_load=True, stdout=io.StringIO())

    assert indexes() == before
    assert Lead.objects.filter(organization__slug="fast").count() == 200


def test_seed_adds_to_an_existing_organization():
    call_command("seed", leads=100, organization="again", stdout=io.StringIO())
    call_command("seed", leads=100, organization="again", stdout=io.StringIO())

    assert Lead.objects.filter(organization__slug="again").count() == 200
    assert Membership.objects.filter(organization__slug="again", role=Role.ADMIN).count() == 1


def test_generated_phone_prefixes_decide_country_and_zone():
    # synthetic.describe caches by the first HEAD_DIGITS digits; that is only right while no time-zone
    # prefix of the countries it generates is longer.
    for code in ("1", "7", "44", "49"):
        longest = max(len(prefix) for prefix in tzdata.TIMEZONE_DATA if prefix.startswith(code))
        assert longest <= synthetic.HEAD_DIGITS
