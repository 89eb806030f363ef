"""Records store phones in E.164 (read in the organization's region) with what was typed, and emails normalized."""

from __future__ import annotations

import pytest

from insidesales.core.errors import ValidationError
from insidesales.core.testing import factories as f
from insidesales.crm import services
from insidesales.crm.models import Contact, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def ru_admin(db):
    organization = f.OrganizationFactory(default_region="RU", time_zone="Europe/Moscow")
    return f.AdminMembershipFactory(organization=organization)


@pytest.fixture
def us_admin(db):
    return f.AdminMembershipFactory(organization=f.OrganizationFactory(default_region="US"))


@pytest.mark.parametrize("typed", ["+7 916 123-45-67", "8 (916) 1234567", "8-916-123-45-67"])
def test_russian_numbers_in_a_russian_organization(ru_admin, typed):
    lead = services.lead_create(membership=ru_admin, data={"last_name": "Иванов", "phone": typed})
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_raw, lead.country, lead.time_zone) == (
        "+79161234567",
        typed,
        "RU",
        "Europe/Moscow",
    )


def test_american_number_in_an_american_organization(us_admin):
    lead = services.lead_create(membership=us_admin, data={"last_name": "Smith", "phone": "(415) 555-0100"})
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_raw, lead.country, lead.time_zone) == (
        "+14155550100",
        "(415) 555-0100",
        "US",
        "America/Los_Angeles",
    )


def test_explicit_country_and_time_zone_win_over_the_derived_ones(ru_admin):
    lead = services.lead_create(
        membership=ru_admin,
        data={"last_name": "Петров", "phone": "+7 916 123-45-67", "time_zone": "Asia/Novosibirsk", "country": "kz"},
    )
    assert (lead.time_zone, lead.country) == ("Asia/Novosibirsk", "KZ")


def test_time_zone_is_editable_and_survives_a_phone_change(ru_admin):
    lead = services.lead_create(membership=ru_admin, data={"last_name": "Петров", "phone": "+7 916 123-45-67"})
    services.lead_update(membership=ru_admin, lead_id=lead.pk, data={"time_zone": "Asia/Vladivostok"})
    services.lead_update(membership=ru_admin, lead_id=lead.pk, data={"phone": "8 (343) 765-43-21"})
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_raw, lead.time_zone) == ("+73437654321", "8 (343) 765-43-21", "Asia/Vladivostok")


def test_clearing_the_phone_clears_both_forms(us_admin):
    lead = services.lead_create(membership=us_admin, data={"last_name": "Smith", "phone": "(415) 555-0100"})
    services.lead_update(membership=us_admin, lead_id=lead.pk, data={"phone": "  "})
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_raw) == ("", "")


def test_not_updating_the_phone_keeps_it(us_admin):
    lead = services.lead_create(membership=us_admin, data={"last_name": "Smith", "phone": "(415) 555-0100"})
    services.lead_update(membership=us_admin, lead_id=lead.pk, data={"title": "CEO"})
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_raw) == ("+14155550100", "(415) 555-0100")


def test_bad_phone_is_refused_and_nothing_saved(us_admin):
    lead = services.lead_create(membership=us_admin, data={"last_name": "Smith", "phone": "(415) 555-0100"})
    with pytest.raises(ValidationError) as exc:
        services.lead_update(membership=us_admin, lead_id=lead.pk, data={"phone": "not a phone"})
    assert "phone" in exc.value.fields
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_raw) == ("+14155550100", "(415) 555-0100")


def test_country_alone_gives_a_time_zone(us_admin):
    lead = services.lead_create(membership=us_admin, data={"last_name": "Müller", "country": "de"})
    assert (lead.country, lead.time_zone) == ("DE", "Europe/Berlin")


def test_contacts_get_the_same_treatment(ru_admin):
    contact = services.record_create(
        membership=ru_admin,
        model=Contact,
        data={"last_name": "Сидоров", "phone": "8 (916) 1234567", "email": "  Sidorov@Romashka.RU "},
    )
    assert (contact.phone, contact.phone_raw, contact.time_zone, contact.email) == (
        "+79161234567",
        "8 (916) 1234567",
        "Europe/Moscow",
        "sidorov@romashka.ru",
    )


@pytest.mark.parametrize("model", [Lead, Contact])
@pytest.mark.parametrize("email", ["jane", "jane@", "@example.com", "jane doe@example.com", "jane@@example.com"])
def test_invalid_emails_are_refused(us_admin, model, email):
    data = {"last_name": "Doe", "email": email}
    with pytest.raises(ValidationError) as exc:
        if model is Lead:
            services.lead_create(membership=us_admin, data=data)
        else:
            services.record_create(membership=us_admin, model=model, data=data)
    assert "email" in exc.value.fields
    assert not model.objects.filter(last_name="Doe").exists()


def test_emails_are_stored_lower_case_and_trimmed(us_admin):
    lead = services.lead_create(membership=us_admin, data={"email": "  Jane.Doe@Example.COM "})
    lead.refresh_from_db()
    assert lead.email == "jane.doe@example.com"
