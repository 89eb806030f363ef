"""Every list page and list endpoint costs the same number of queries for 5 rows as for 40 (no N+1).

Routes are enumerated from the URL configuration (`*_list`, search, home) and the OpenAPI document (every GET
without a path parameter), so a new list is measured the day it is added.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm.models import ActivityKind
from insidesales.orgs.services import api_key_create, audit_record

pytestmark = pytest.mark.django_db


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _ui_list_routes() -> list[str]:
    return sorted(
        "/" + route
        for route, pattern in _walk(get_resolver().url_patterns)
        if not route.startswith(("admin/", "api/"))
        and not getattr(pattern.pattern, "converters", None)
        and pattern.name
        and (pattern.name.endswith("_list") or pattern.name in ("search", "home", "audit_log", "api_keys"))
    )


def _api_list_paths() -> list[str]:
    from insidesales.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return sorted(path for path, item in schema["paths"].items() if "get" in item and "{" not in path)


UI_ROUTES = _ui_list_routes()
API_PATHS = _api_list_paths()


class Rows:
    """Adds `n` of everything a list can show, each row with its relations filled in (the N+1 bait)."""

    def __init__(self, admin, rep):
        self.admin, self.rep = admin, rep
        self.organization = admin.organization
        self.count = 0

    def add(self, n: int) -> None:
        organization = self.organization
        now = timezone.now()
        for _ in range(n):
            i = self.count
            self.count += 1
            owner = self.rep if i % 2 else self.admin
            tag = f.TagFactory(organization=organization, name=f"tag-{i}")
            company = f.CompanyFactory(owned_by=owner, name=f"Alpha company {i}", tags=[tag])
            contact = f.ContactFactory(owned_by=owner, first_name="Alpha", company=company, tags=[tag])
            deal = f.DealFactory(owned_by=owner, name=f"Alpha deal {i}", company=company, contact=contact, tags=[tag])
            lead = f.LeadFactory(owned_by=owner, first_name="Alpha", company_name="Alpha", tags=[tag])
            for record in (lead, contact, company, deal):
                f.ActivityFactory(
                    organization=organization,
                    kind=ActivityKind.NOTE,
                    actor=owner.user,
                    **{record._meta.model_name: record},
                )
            f.TaskFactory(
                organization=organization,
                assignee=self.admin.user,
                created_by=owner.user,
                title=f"Alpha task {i}",
                due_at=now - dt.timedelta(minutes=i + 1),
                lead=lead,
                deal=deal if i % 2 else None,
            )
            f.SavedViewFactory(organization=organization, owner=self.admin.user, name=f"Alpha view {i}")
            f.CustomFieldFactory(organization=organization, record_type="lead", key=f"field_{i}")
            f.AgencyFactory(organization=organization, name=f"Alpha agency {i}")
            api_key_create(membership=self.admin, name=f"Alpha key {i}")
            audit_record(organization_id=organization.pk, actor=owner.user, action="test.row", instance=lead)
            self._calls(i, owner, lead, now)
            self._mail(i, owner, lead, now)

    def _calls(self, i: int, owner, lead, now) -> None:
        """A campaign (of a team), a call on the lead with its outcome, a callback due, a do-not-call number."""
        from insidesales.calls.models import Call, Callback, Campaign, DncEntry
        from insidesales.calls.services.config import dispositions_ensure

        organization = self.organization
        outcome = dispositions_ensure(organization.pk)[0]
        campaign = Campaign.objects.create(organization=organization, name=f"Alpha campaign {i}", team_id=owner.team_id)
        Call.objects.create(
            organization=organization,
            provider="simulated",
            status="completed",
            to_number=f"+1415555{i:04d}",
            lead=lead,
            agent=owner.user,
            campaign=campaign,
            owner_id=lead.owner_id,
            team_id=lead.team_id,
            disposition=outcome,
        )
        Callback.objects.create(
            organization=organization,
            lead=lead,
            due_at=now - dt.timedelta(minutes=i + 1),
            assignee=self.admin.user,
            created_by=owner.user,
        )
        DncEntry.objects.create(organization=organization, number=f"+1212555{i:04d}", added_by=owner.user)

    def _mail(self, i: int, owner, lead, now) -> None:
        """A mailbox, a shared template, a sequence with a step, an enrollment of the lead with its email,
        a reply with an attachment, a suppressed address."""
        from insidesales.mail.models import (
            EmailAttachment,
            EmailMessage,
            EmailTemplate,
            EmailTemplateVariant,
            Enrollment,
            Mailbox,
            Sequence,
            SequenceStep,
            StepKind,
            Suppression,
        )

        organization = self.organization
        mailbox = Mailbox.objects.create(
            organization=organization, user=self.admin.user, email=f"alpha{i}@example.test", smtp_host="smtp.x.test"
        )
        template = EmailTemplate.objects.create(
            organization=organization, name=f"Alpha template {i}", owner=owner.user, is_shared=True
        )
        EmailTemplateVariant.objects.create(template=template, language="en", subject="Alpha", body="Alpha")
        sequence = Sequence.objects.create(
            organization=organization, name=f"Alpha sequence {i}", owner=owner.user, team_id=owner.team_id
        )
        step = SequenceStep.objects.create(sequence=sequence, position=0, kind=StepKind.AUTO_EMAIL, template=template)
        enrollment = Enrollment.objects.create(
            organization=organization,
            sequence=sequence,
            lead=lead,
            email=f"alpha{i}@prospect.test",
            mailbox=mailbox,
            owner_id=lead.owner_id,
            team_id=lead.team_id,
            enrolled_by=owner.user,
        )
        own = {"lead": lead, "owner_id": lead.owner_id, "team_id": lead.team_id, "mailbox": mailbox}
        sent = EmailMessage.objects.create(
            organization=organization,
            direction="out",
            status="sent",
            message_id=f"alpha-{i}@example.test",
            thread_root=f"alpha-{i}@example.test",
            from_address=mailbox.email,
            to_addresses=[enrollment.email],
            subject=f"Alpha {i}",
            enrollment=enrollment,
            step=step,
            template=template,
            created_by=owner.user,
            sent_at=now,
            **own,
        )
        reply = EmailMessage.objects.create(
            organization=organization,
            direction="in",
            status="received",
            message_id=f"alpha-reply-{i}@prospect.test",
            in_reply_to=sent.message_id,
            thread_root=sent.thread_root,
            from_address=enrollment.email,
            to_addresses=[mailbox.email],
            subject=f"Re: Alpha {i}",
            received_at=now,
            **own,
        )
        EmailAttachment.objects.create(
            message=reply, filename="alpha.pdf", content_type="application/pdf", size=10, sha256="0" * 64
        )
        Suppression.objects.create(organization=organization, email=f"alpha{i}@blocked.test", reason="manual")


@pytest.fixture
def rows(db) -> Rows:
    organization = f.OrganizationFactory()
    team = f.TeamFactory(organization=organization)
    admin = f.AdminMembershipFactory(organization=organization, team=team)
    rep = f.InsideRepMembershipFactory(organization=organization, team=team)
    return Rows(admin, rep)


def _queries(fetch) -> tuple[int, list[str]]:
    fetch()  # warm up: per-process caches, "last used" stamps written at most once a minute
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200, response.content[:500]
    return len(captured), [q["sql"] for q in captured.captured_queries]


def _assert_flat(fetch, rows: Rows, where: str) -> None:
    rows.add(5)
    small, _ = _queries(fetch)
    rows.add(35)
    large, sql = _queries(fetch)
    assert large == small, f"{where}: {small} queries for 5 rows, {large} for 40:\n" + "\n".join(sql)


def test_the_lists_are_found():
    assert {"/leads/", "/contacts/", "/companies/", "/deals/", "/tasks/", "/search/"} <= set(UI_ROUTES)
    assert {"/api/v1/leads", "/api/v1/deals", "/api/v1/tasks", "/api/v1/search"} <= set(API_PATHS)


@pytest.mark.parametrize("route", UI_ROUTES)
def test_ui_list_query_count_does_not_grow_with_rows(rows, route):
    client = Client()
    client.force_login(rows.admin.user)
    params = {"q": "alpha", "cols": ",".join(["name", "company", "owner", "tags", "stage", "amount"])}
    _assert_flat(lambda: client.get(route, params), rows, route)


@pytest.mark.parametrize("path", API_PATHS)
def test_api_list_query_count_does_not_grow_with_rows(rows, path):
    key = api_key_create(membership=rows.admin, name="counting")[1]
    client = Client()
    # `number`: the do-not-call check; `email`: the suppression list check
    params = {"q": "alpha", "limit": 50, "number": "+12125550001", "email": "alpha@example.test"}
    _assert_flat(lambda: client.get(path, params, headers={"Authorization": f"Bearer {key}"}), rows, path)
