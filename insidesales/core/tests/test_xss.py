"""Stored XSS: script payloads in every text a user can store come back escaped on every page that shows them.

The payloads are written straight into the database (as an import or an old bug could leave them), into every
text column of every record type, notes, task titles, tag names, custom-field labels and values, user, team,
agency, stage and saved-view names; then every list, detail, edit, timeline and admin page is read.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import models
from django.test import Client
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm.filters import MODEL_FILTERSETS
from insidesales.crm.models import ActivityKind, Company, Contact, Deal, Lead, Stage
from insidesales.orgs.services import api_key_create, audit_record

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
URL = "javascript:alert(1)"
SHORT = '"><svg/onload=1>'  # fits the 20-character phone columns
# What must never appear in a page, whatever the payload: a tag or handler that would run.
DANGEROUS = [
    re.compile(r"<script>alert\(1\)", re.I),
    re.compile(r"<img src=x onerror", re.I),
    re.compile(r"<svg/onload", re.I),
    re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I),
]
RECORD_MODELS = (Lead, Contact, Company, Deal)
SKIP_COLUMNS = {"name_key", "name_rev_key", "company_key", "status", "source", "disqualify_reason", "currency"}


def _payload_for(field: models.Field, payload: str) -> str | None:
    limit = field.max_length or 10_000
    for candidate in (payload, SHORT):
        if len(candidate) <= limit:
            return candidate
    return None


def _fill(record, payload: str) -> None:
    """Every free-text column of the record gets the payload (or the short one where the column is narrow)."""
    for field in record._meta.concrete_fields:
        if (
            isinstance(field, (models.CharField, models.TextField))
            and field.editable
            and field.name not in SKIP_COLUMNS
        ):
            value = _payload_for(field, payload)
            if value is not None and not field.choices:
                setattr(record, field.attname, value)
    record.save()


@pytest.fixture(params=[SCRIPT, ATTRIBUTE, URL], ids=["script", "attribute", "javascript-url"])
def stored(request, db):
    payload = request.param
    organization = f.OrganizationFactory(name=payload)
    team = f.TeamFactory(organization=organization, name=payload)
    agency = f.AgencyFactory(organization=organization, name=payload)
    admin = f.AdminMembershipFactory(organization=organization, team=team, user=f.UserFactory(full_name=payload))
    rep = f.InsideRepMembershipFactory(organization=organization, team=team, user=f.UserFactory(full_name=payload))
    tag = f.TagFactory(organization=organization, name=payload)
    Stage.objects.filter(organization=organization).update(name=payload)
    for record_type in ("lead", "contact", "company", "deal"):
        f.CustomFieldFactory(organization=organization, record_type=record_type, key="note", label=payload)
        f.CustomFieldFactory(
            organization=organization,
            record_type=record_type,
            key="pick",
            label=payload,
            field_type="choice",
            choices=[payload],
        )
    custom = {"note": payload, "pick": payload}
    company = f.CompanyFactory(owned_by=rep, tags=[tag], custom=custom)
    contact = f.ContactFactory(owned_by=rep, company=company, tags=[tag], custom=custom)
    deal = f.DealFactory(owned_by=rep, company=company, contact=contact, tags=[tag], custom=custom)
    lead = f.LeadFactory(owned_by=rep, tags=[tag], custom=custom)
    pool_lead = f.LeadFactory(organization=organization, agency=agency, custom=custom)
    records = [lead, contact, company, deal, pool_lead]
    for record in records:
        _fill(record, payload)
        for kind in (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.STATUS_CHANGE):
            f.ActivityFactory(
                organization=organization,
                kind=kind,
                actor=rep.user,
                subject=payload,
                body=payload,
                **{record._meta.model_name: record},
            )
        f.TaskFactory(
            organization=organization,
            assignee=admin.user,
            created_by=rep.user,
            title=payload,
            notes=payload,
            due_at=timezone.now() - dt.timedelta(hours=1),
            **{record._meta.model_name: record},
        )
        audit_record(
            organization_id=organization.pk,
            actor=rep.user,
            action="lead.update",
            instance=record,
            changes={"first_name": [payload, payload]},
        )
    view = f.SavedViewFactory(organization=organization, owner=admin.user, name=payload, record_type="lead")
    api_key_create(membership=admin, name=payload)
    client = Client()
    client.force_login(admin.user)
    return payload, client, records, view


def _pages(records, view) -> list[tuple[str, dict]]:
    pages: list[tuple[str, dict]] = [
        ("/", {}),
        ("/tasks/", {}),
        ("/audit/", {}),
        ("/agencies/", {}),
        ("/settings/", {}),
        ("/settings/api-keys/", {}),
    ]
    for model in RECORD_MODELS:
        plural = model._meta.verbose_name_plural.lower()
        columns = ",".join(MODEL_FILTERSETS[model].columns)
        pages.append((f"/{plural}/", {"cols": columns}))
    pages.append(("/leads/", {"view": str(view.pk)}))
    for record in records:
        plural = record._meta.verbose_name_plural.lower()
        pages += [
            (f"/{plural}/{record.pk}/", {}),
            (f"/{plural}/{record.pk}/edit/", {}),
            (f"/{plural}/{record.pk}/timeline/", {}),
        ]
        if isinstance(record, Lead):
            pages.append((f"/leads/{record.pk}/convert/", {}))
    return pages


def _assert_safe(html: str, where: str) -> None:
    for pattern in DANGEROUS:
        match = pattern.search(html)
        assert match is None, (
            f"{where}: unescaped {match.group(0)!r} near {html[max(0, match.start() - 120) : match.end() + 40]!r}"
        )


def test_every_page_escapes_stored_payloads(stored):
    payload, client, records, view = stored
    shown = 0
    for path, params in _pages(records, view):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(path, params, headers=headers)
            assert response.status_code in (200, 302), (path, response.status_code)
            html = response.content.decode()
            _assert_safe(html, f"{path} {headers}")
            shown += payload in html or "&lt;" in html or "&quot;&gt;" in html or URL in html
    assert shown > 20  # the payloads really were on the pages, escaped


def test_search_escapes_the_query_and_the_results(stored):
    payload, client, _, _ = stored
    for path in ("/search/", "/leads/", "/contacts/", "/companies/", "/deals/"):
        for q in (payload, payload[:8], SHORT):
            response = client.get(path, {"q": q})
            _assert_safe(response.content.decode(), f"{path}?q={q}")


def test_payloads_in_query_parameters_are_escaped(stored):
    _, client, _, _ = stored
    for path in ("/leads/", "/deals/", "/tasks/", "/search/", "/login/"):
        for key in ("q", "sort", "cursor", "cols", "status", "owner", "next", "view"):
            response = client.get(path, {key: SCRIPT + ATTRIBUTE})
            assert response.status_code < 500, (path, key)
            _assert_safe(response.content.decode(), f"{path}?{key}=…")
