"""List pages are serialized by hand (api/fast_out.py): every item must read exactly as the record's own GET."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from insidesales.core.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return f.AdminMembershipFactory()


def test_list_items_equal_single_record_reads(admin, api_as):
    org = admin.organization
    tag = f.TagFactory(organization=org, name='<b>"hot"</b>', color="#ff0000")
    agency = f.AgencyFactory(organization=org)
    company = f.CompanyFactory(owned_by=admin, name="ООО «Ромашка»", employees=12, custom={"tier": "gold"})
    f.CompanyFactory(organization=org, agency=agency)
    f.LeadFactory(owned_by=admin, tags=[tag], custom={"budget": 1500.5, "vip": True}, company_name="Acme")
    f.LeadFactory(
        organization=org,
        status="converted",
        converted_at=timezone.now().replace(microsecond=0),
        converted_company=company,
    )
    f.LeadFactory(organization=org, agency=agency, last_activity_at=timezone.now().replace(microsecond=123456))
    contact = f.ContactFactory(owned_by=admin, company=company, tags=[tag])
    f.ContactFactory(organization=org)
    f.DealFactory(
        owned_by=admin,
        company=company,
        contact=contact,
        amount=Decimal("1234.5"),
        expected_close=dt.date(2026, 12, 31),
        closed_at=timezone.now(),
        tags=[tag],
    )
    f.DealFactory(organization=org)
    api = api_as(admin)
    for plural in ("leads", "contacts", "companies", "deals"):
        response = api.get(f"/{plural}", {"limit": 200})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json; charset=utf-8"
        page = response.json()
        assert set(page) == {"items", "next_cursor"} and page["items"], plural
        for item in page["items"]:
            single = api.get(f"/{plural}/{item['id']}")
            assert single.status_code == 200
            assert item == single.json(), plural
            assert list(item) == list(single.json()), plural  # the same keys in the same order
