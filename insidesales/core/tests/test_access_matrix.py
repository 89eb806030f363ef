"""Every route and API operation that takes an object id, for every role, against objects out of scope: 404.

The routes come from the URL configuration and the operations from the served OpenAPI document, so a new
route is covered the day it is added — and if its id does not map to an object type listed below, the
mapping test fails and forces a decision. A refused request must look exactly like one for an id that does
not exist, and must change nothing in the database. Lists, search and bulk endpoints must not leak either.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from insidesales.core.testing import factories as f
from insidesales.core.testing.world import MEMBERS, VISIBLE_TASK_SLOTS, World, db_state
from insidesales.crm.models import Company, Contact, Deal, Lead, Stage, StageKind
from insidesales.orgs.services import api_key_create

pytestmark = pytest.mark.django_db

API_PREFIX = "/api/v1/"
MISSING_ID = 987654321
# Where a route's id points, by the route's path. A new kind of object needs a line here (and targets below).
OBJECT_TYPES: list[tuple[str, str]] = [
    # Contact and company duplicates first: the generic duplicates/ and merges/ lines below are the leads'.
    (r"^(api/v1/)?duplicates/contacts/", "contact_pair"),
    (r"^(api/v1/)?duplicates/companies/", "company_pair"),
    (r"^(api/v1/)?merges/contacts/", "contact_merge"),
    (r"^(api/v1/)?merges/companies/", "company_merge"),
    (r"^calls/dial/lead/", "lead"),
    (r"^calls/dial/contact/", "contact"),
    (r"^calls/dial/company/", "company"),
    (r"^(api/v1/)?calls/", "call"),
    (r"^sequences/enroll/lead/", "lead"),
    (r"^sequences/enroll/contact/", "contact"),
    (r"^(api/v1/)?sequences/", "sequence"),
    (r"^(api/v1/)?enrollments/", "enrollment"),
    (r"^(api/v1/)?emails/", "email"),
    (r"^(api/v1/)?email-templates/", "email_template"),
    (r"^settings/mailboxes/|^api/v1/mailboxes/", "mailbox"),
    (r"^settings/mail/suppressions/|^api/v1/suppressions/", "suppression"),
    (r"^(api/v1/)?do-not-call/", "dnc_entry"),
    (r"^(api/v1/)?campaigns/", "campaign"),
    (r"^(api/v1/)?callbacks/", "callback"),
    (r"^(api/v1/)?leads/", "lead"),
    (r"^(api/v1/)?contacts/", "contact"),
    (r"^(api/v1/)?companies/", "company"),
    (r"^(api/v1/)?deals/", "deal"),
    (r"^(api/v1/)?tasks/", "task"),
    (r"^views/|^api/v1/saved-views/", "saved_view"),
    (r"^settings/api-keys/|^api/v1/api-keys/", "api_key"),
    (r"^settings/telephony/caller-ids/", "caller_id"),
    (r"^settings/telephony/dispositions/", "disposition"),
    (r"^settings/webhooks/deliveries/|^api/v1/webhook-deliveries/", "webhook_delivery"),
    (r"^settings/webhooks/|^api/v1/webhooks/", "webhook"),
    (r"^settings/forms/|^api/v1/forms/", "web_form"),
    (r"^settings/routing/|^api/v1/routing-rules/", "routing_rule"),
    (r"^settings/availability/|^api/v1/availability/", "availability"),
    (r"^notifications/", "notification"),
    (r"^agencies/", "agency"),
    (r"^imports/", "import_job"),
    (r"^(api/v1/)?duplicates/", "duplicate_pair"),
    (r"^(api/v1/)?merges/", "lead_merge"),
]
# Objects of `others` (below) that members besides their owner may reach: an organization's admin sees
# every import of the organization.
SEEN_BY = {
    ("import_job", "rep2"): {"admin"},
    ("email_template", "rep2"): {"admin"},
    ("web_form", "admin"): {"manager"},  # managers may look at their organization's web forms
    ("routing_rule", "admin"): {"manager"},  # managers read their organization's routing rules
    ("availability", "rep2"): {"admin"},  # an admin sets anyone's availability (rep2 is not the manager's)
}
# Routes whose kwargs are not object ids, and why they are safe.
NOT_OBJECT_IDS = {
    "password-reset/<uidb64>/<token>/": "a signed one-time token that Django's own view checks",
    "unsubscribe/<str:token>/": "a signed token naming one sent email; it only ever unsubscribes that address",
    "f/<str:key>/": "a web form's public key: the form is public by design (inactive or unknown: 404)",
    "f/<str:key>/start/": "a web form's public key: hands out a start token for that public form",
    "f/<str:key>/embed.js": "a web form's public key: the script that frames that public form",
    "f/<str:key>/submit/": "a web form's public key: anyone may send the public form (spam checks apply)",
}
RECORD_MODELS = {"lead": Lead, "contact": Contact, "company": Company, "deal": Deal}
# Duplicate pairs and merges of leads, contacts and companies: they follow their records' slot.
PAIRS_AND_MERGES = ("duplicate_pair", "contact_pair", "company_pair", "lead_merge", "contact_merge", "company_merge")
# Calls follow the slot of the lead called (its owner is the rep who called); callbacks the slot of their lead.
# Emails and enrollments follow the slot of their lead (owner, team and agency copied from it).
FOLLOW_SLOTS = (*PAIRS_AND_MERGES, "call", "callback", "email", "enrollment")
# Out-of-scope examples by kind of boundary; each member is tried against the first hidden slot of each.
BOUNDARIES = (
    ("org_b", "rep1"),  # another organization
    ("rep2", "rep1", "manager"),  # another team / another rep
    ("agency_x", "agency_y", "agency_off"),  # an agency's records
    ("unassigned",),  # the pool (hidden from reps here, and always from agencies and field reps)
    ("field",),  # a field rep's accounts
)


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _routes_with_kwargs() -> list[str]:
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            continue  # Django's back office: staff only, outside the product's visibility rules
        if getattr(pattern.pattern, "converters", None) or pattern.pattern.regex.groupindex:
            routes.append(route)
    return sorted(set(routes))


def object_type(path: str) -> str | None:
    path = path.lstrip("/")
    return next((kind for regex, kind in OBJECT_TYPES if re.search(regex, path)), None)


UI_ID_ROUTES = [r for r in _routes_with_kwargs() if not r.startswith("api/") and r not in NOT_OBJECT_IDS]


def _api_schema() -> dict[str, Any]:
    from insidesales.api.api import api

    return api.get_openapi_schema(path_prefix=API_PREFIX)


def _operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )


API_ID_OPERATIONS = [(m, p) for m, p in _operations(_api_schema()) if "{" in p]


def test_every_route_with_an_id_is_mapped_to_an_object_type():
    unmapped = [r for r in _routes_with_kwargs() if r not in NOT_OBJECT_IDS and object_type(r) is None]
    assert unmapped == [], f"Map these routes in OBJECT_TYPES (or NOT_OBJECT_IDS, saying why): {unmapped}"
    assert len(UI_ID_ROUTES) >= 30


def test_every_api_operation_with_an_id_is_mapped_and_served(client):
    served = client.get(API_PREFIX + "openapi.json").json()
    assert _operations(served) == _operations(_api_schema())
    unmapped = [p for m, p in API_ID_OPERATIONS if object_type(p) is None]
    assert unmapped == [], f"Map these API paths in OBJECT_TYPES: {unmapped}"
    # Every id route of the URL configuration under the API is an operation of the document.
    documented = {re.sub(r"\{\w+\}", "<int:id>", p.removeprefix("/")) for _, p in API_ID_OPERATIONS}
    in_urlconf = {re.sub(r"<int:\w+>", "<int:id>", r) for r in _routes_with_kwargs() if r.startswith("api/")}
    in_urlconf -= {"api/v1/^.*$"}
    assert in_urlconf <= documented
    assert len(API_ID_OPERATIONS) >= 30


# --- the world the requests run in --------------------------------------------------------------


@dataclass
class Access:
    world: World
    ui: dict[str, Client]
    api_keys: dict[str, str]
    others: dict[str, dict[str, Any]]  # per type: objects that only their owner may reach

    def hidden_ids(self, member: str, kind: str) -> list[int]:
        world = self.world
        if kind in RECORD_MODELS:
            hidden = world.hidden_slots(member)
            picks = [next(s for s in group if s in hidden) for group in BOUNDARIES if hidden & set(group)]
            return [world.slots[s].record(RECORD_MODELS[kind]).pk for s in picks]
        if kind in FOLLOW_SLOTS:
            # A pair (of a slot's record and its twin) is seen by who sees both records; a merge by who sees its
            # kept record: both follow the slot, like the records.
            hidden = world.hidden_slots(member)
            picks = [next(s for s in group if s in hidden) for group in BOUNDARIES if hidden & set(group)]
            return [self.others[kind][s].pk for s in picks]
        if kind == "task":
            hidden = {s for s, slot in world.slots.items() if slot.task} - VISIBLE_TASK_SLOTS[member]
            return [world.slots[s].task.pk for s in sorted(hidden)][:4]
        objects = self.others[kind]
        return [
            obj.pk for owner, obj in objects.items() if owner != member and member not in SEEN_BY.get((kind, owner), ())
        ]

    def stage_for(self, member: str) -> int:
        organization = self.world.members[member].organization_id
        return Stage.objects.filter(organization_id=organization, kind=StageKind.OPEN).order_by("-position").first().pk


@pytest.fixture
def access(db, settings, tmp_path) -> Access:
    from insidesales.core.testing.world import build_world

    settings.DATA_DIR = tmp_path  # uploaded files and import reports

    world = build_world(reps_see_unassigned=False)
    ui = {}
    for member in MEMBERS:
        client = Client()
        client.force_login(world.members[member].user)
        ui[member] = client
    api_keys = {m: api_key_create(membership=world.members[m], name="access")[1] for m in MEMBERS}
    others = {
        "saved_view": {
            "rep2": f.SavedViewFactory(organization=world.org, owner=world.rep2.user),
            "admin_b": f.SavedViewFactory(organization=world.org_b, owner=world.admin_b.user),
        },
        "api_key": {
            "rep2": api_key_create(membership=world.rep2, name="rep2's")[0],
            "admin_b": api_key_create(membership=world.admin_b, name="admin b's")[0],
        },
        "agency": {
            "admin": world.agency_x,  # for admin_b: another organization's agency
            "admin_b": f.AgencyFactory(organization=world.org_b, name="Agency B"),
        },
        "import_job": {
            "rep2": _finished_import(world.rep2),
            "admin_b": _finished_import(world.admin_b),
        },
        **_pairs_and_merges(world),
        "call": _calls(world),
        "callback": _callbacks(world),
        "dnc_entry": {"admin_b": _dnc_entry(world.admin_b)},
        # Telephony settings are the admins': each organization's admin is refused the other's.
        "caller_id": {"admin": _caller_id(world.admin), "admin_b": _caller_id(world.admin_b)},
        "disposition": {"admin": _disposition(world.admin), "admin_b": _disposition(world.admin_b)},
        "campaign": {"admin_b": _campaign(world.admin_b)},
        # Webhooks and their deliveries are the admins': each organization's admin is refused the other's.
        **_webhook_objects(world),
        # Web forms are the admins' (managers look): each organization's admin is refused the other's.
        "web_form": {"admin": _web_form(world.admin), "admin_b": _web_form(world.admin_b)},
        # Routing rules are the admins' (managers read); availability ids are user ids: rep2 (outside the
        # manager's teams) and org B's admin.
        "routing_rule": {"admin": _routing_rule(world.admin), "admin_b": _routing_rule(world.admin_b)},
        "availability": {"rep2": world.rep2.user, "admin_b": world.admin_b.user},
        **_mail_objects(world),
        # Alerts are their recipient's alone.
        "notification": {"rep2": _notification(world.rep2), "admin_b": _notification(world.admin_b)},
    }
    return Access(world=world, ui=ui, api_keys=api_keys, others=others)


def _finished_import(membership) -> Any:
    """A finished import with a rejected-rows report, so every import route has something to serve."""
    from insidesales.imports import services
    from insidesales.imports.models import ImportJob, ImportStatus

    job = ImportJob.objects.create(
        organization_id=membership.organization_id,
        created_by=membership.user,
        file_name="list.csv",
        stored_as=f"access-{membership.pk}",
        file_settings={"kind": "csv", "encoding": "utf-8", "delimiter": ",", "quotechar": '"'},
        headers=["Email"],
        mapping=["email"],
        status=ImportStatus.DONE,
        rejected_count=1,
    )
    services.report_path(job).write_text("Email,Why\nbad,invalid\n", encoding="utf-8")
    return job


def _calls(world: World) -> dict[str, Any]:
    """Per slot: a finished call to the slot's lead, made by the lead's owner."""
    from insidesales.calls.models import Call

    calls = {}
    for slot, records in world.slots.items():
        lead = records.lead
        calls[slot] = Call.objects.create(
            organization_id=lead.organization_id,
            provider="simulated",
            to_number=lead.phone or "+14155550100",
            status="completed",
            agent_id=lead.owner_id,
            lead=lead,
            owner_id=lead.owner_id,
            team_id=lead.team_id,
            agency_id=lead.agency_id,
        )
    return calls


def _callbacks(world: World) -> dict[str, Any]:
    """Per slot: an open callback on the slot's lead, promised by the lead's owner (team and agency copied)."""
    from django.utils import timezone

    from insidesales.calls.models import Callback

    return {
        slot: Callback.objects.create(
            organization_id=records.lead.organization_id,
            lead=records.lead,
            due_at=timezone.now(),
            assignee_id=records.lead.owner_id,
            team_id=records.lead.team_id,
            agency_id=records.lead.agency_id,
        )
        for slot, records in world.slots.items()
    }


def _campaign(membership) -> Any:
    from insidesales.calls.models import Campaign

    return Campaign.objects.create(organization_id=membership.organization_id, name="Org B's campaign")


def _mail_objects(world: World) -> dict[str, dict[str, Any]]:
    """Emails and enrollments per slot (on the slot's lead); personal templates and mailboxes of rep2 (their
    owner's alone; an admin sees the template, not the mailbox) and of org B; org B's sequence and
    suppressed address."""
    from django.utils import timezone

    from insidesales.mail.models import (
        Direction,
        EmailMessage,
        EmailTemplate,
        EmailTemplateVariant,
        Enrollment,
        Mailbox,
        MessageStatus,
        Sequence,
        Suppression,
    )

    emails, enrollments = {}, {}
    sequences = {}
    for slot, records in world.slots.items():
        lead = records.lead
        own = {"owner_id": lead.owner_id, "team_id": lead.team_id, "agency_id": lead.agency_id}
        emails[slot] = EmailMessage.objects.create(
            organization_id=lead.organization_id,
            direction=Direction.OUT,
            status=MessageStatus.SCHEDULED,
            scheduled_at=timezone.now() + timezone.timedelta(days=1),
            message_id=f"access-{slot}@example.test",
            thread_root=f"access-{slot}@example.test",
            from_address="sender@example.test",
            to_addresses=[lead.email or "lead@example.test"],
            subject="Out of scope",
            lead=lead,
            **own,
        )
        if lead.organization_id not in sequences:
            sequences[lead.organization_id] = Sequence.objects.create(
                organization_id=lead.organization_id, name="Access", owner=world.admin.user
            )
        enrollments[slot] = Enrollment.objects.create(
            organization_id=lead.organization_id,
            sequence=sequences[lead.organization_id],
            lead=lead,
            email=lead.email or "lead@example.test",
            **own,
        )

    def template(membership) -> EmailTemplate:
        made = EmailTemplate.objects.create(
            organization_id=membership.organization_id, name="Hidden", owner=membership.user
        )
        EmailTemplateVariant.objects.create(template=made, language="en", subject="s", body="b")
        return made

    def mailbox(membership) -> Mailbox:
        return Mailbox.objects.create(
            organization_id=membership.organization_id,
            user=membership.user,
            email=f"box{membership.pk}@example.test",
            smtp_host="smtp.example.test",
        )

    return {
        "email": emails,
        "enrollment": enrollments,
        "email_template": {"rep2": template(world.rep2), "admin_b": template(world.admin_b)},
        "mailbox": {"rep2": mailbox(world.rep2), "admin_b": mailbox(world.admin_b)},
        "sequence": {
            "admin_b": Sequence.objects.create(
                organization_id=world.admin_b.organization_id, name="Org B's", owner=world.admin_b.user
            )
        },
        "suppression": {
            "admin_b": Suppression.objects.create(
                organization_id=world.admin_b.organization_id, email="hidden@example.test", reason="manual"
            )
        },
    }


def _notification(membership) -> Any:
    from insidesales.inbound.models import Notification

    return Notification.objects.create(
        organization_id=membership.organization_id, user=membership.user, kind="new_lead", title="Yours only"
    )


def _webhook_objects(world: World) -> dict[str, dict[str, Any]]:
    from insidesales.inbound.models import WebhookDelivery, WebhookEndpoint

    endpoints, deliveries = {}, {}
    for member in ("admin", "admin_b"):
        organization_id = world.members[member].organization_id
        endpoints[member] = WebhookEndpoint.objects.create(
            organization_id=organization_id, url="https://hooks.example.test/in", events=["lead.created"]
        )
        deliveries[member] = WebhookDelivery.objects.create(
            organization_id=organization_id,
            endpoint=endpoints[member],
            event_id=f"evt_access{organization_id}",
            event_type="lead.created",
            payload={"id": f"evt_access{organization_id}", "type": "lead.created", "data": {}},
            status="failed",
        )
    return {"webhook": endpoints, "webhook_delivery": deliveries}


def _web_form(membership) -> Any:
    from insidesales.inbound.models import WebForm

    return WebForm.objects.create(
        organization_id=membership.organization_id,
        name="Contact us",
        fields=[{"key": "email", "label": "Email", "required": True}],
    )


def _routing_rule(membership) -> Any:
    from insidesales.inbound.models import RoutingRule

    return RoutingRule.objects.create(organization_id=membership.organization_id, name="Germany", assign_to="pool")


def _caller_id(membership) -> Any:
    from insidesales.calls.models import CallerId

    # A number no record of the world has (their phones are +141555501xx), so lists of it leak nothing.
    return CallerId.objects.create(organization_id=membership.organization_id, number="+12025550188", label="Main")


def _disposition(membership) -> Any:
    from insidesales.calls.models import Disposition

    return Disposition.objects.create(organization_id=membership.organization_id, key="access", label="Access")


def _dnc_entry(membership) -> Any:
    from insidesales.calls.models import DncEntry

    return DncEntry.objects.create(organization_id=membership.organization_id, number="+14155550199")


def _pairs_and_merges(world: World) -> dict[str, dict[str, Any]]:
    """Per slot and kind (lead, contact, company): a duplicate pair of the slot's record and a twin with the
    same owner, team and agency, and a merge kept in the slot's record."""
    from django.core import serializers

    from insidesales.imports.models import (
        CompanyMerge,
        CompanyPair,
        ContactMerge,
        ContactPair,
        DuplicatePair,
        LeadMerge,
    )

    twins = {
        "lead": lambda record, own: f.LeadFactory(
            **own, first_name=record.first_name, last_name=record.last_name, email=record.email
        ),
        "contact": lambda record, own: f.ContactFactory(
            **own, first_name=record.first_name, last_name=record.last_name, email=record.email
        ),
        "company": lambda record, own: f.CompanyFactory(**own, name=record.name, domain=record.domain),
    }
    models = {
        "lead": ("duplicate_pair", DuplicatePair, "lead_merge", LeadMerge),
        "contact": ("contact_pair", ContactPair, "contact_merge", ContactMerge),
        "company": ("company_pair", CompanyPair, "company_merge", CompanyMerge),
    }
    objects: dict[str, dict[str, Any]] = {name: {} for name in PAIRS_AND_MERGES}
    for slot, records in world.slots.items():
        for kind, (pairs, pair_model, merges, merge_model) in models.items():
            record = getattr(records, kind)
            own = {name: getattr(record, name) for name in ("organization", "owner", "team", "agency")}
            twin = twins[kind](record, own)
            objects[pairs][slot] = pair_model.objects.create(
                organization_id=record.organization_id, left=record, right=twin, score=0.99, reasons=["same_email"]
            )
            objects[merges][slot] = merge_model.objects.create(
                organization_id=record.organization_id,
                survivor=record,
                merged_id=MISSING_ID - 1,
                merged_name="Merged away",
                merged=serializers.serialize("json", [twin]).replace(str(twin.pk), str(MISSING_ID - 1), 1),
            )
    return objects


def _form_data(access: Access, member: str) -> dict[str, Any]:
    """A form that would be valid for an object in scope, so only the scope can refuse it."""
    membership = access.world.members[member]
    return {
        "target": f"user:{membership.user_id}",
        "body": "Out of scope",
        "title": "Out of scope",
        "name": "Out of scope",
        "first_name": "Out",
        "last_name": "Of scope",
        "reason": "no_budget",
        "note": "x",
        "stage": access.stage_for(member),
        "outcome": "won",
        "lost_reason": "Price",
        "is_active": "0",
        "done": "1",
        "confirm": "yes",
        "create_deal": "on",
        "action": "merge",
    }


def _concrete(route: str, pk: Any) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", str(pk), route)


def _refused(response) -> bool:
    """What a member with no access at all (a switched-off agency) must get: sent to sign in, or 401."""
    if response.status_code == 302:
        return "/login/" in response["Location"]
    return response.status_code in (401, 404)


def _send(client: Client, method: str, url: str, data: dict[str, Any]):
    return client.get(url) if method == "get" else client.post(url, data)


@pytest.mark.parametrize("route", UI_ID_ROUTES)
def test_ui_route_answers_404_for_objects_out_of_scope(access, route):
    kind = object_type(route)
    before = db_state()
    saw_404 = False
    for member in MEMBERS:
        client, data = access.ui[member], _form_data(access, member)
        targets = access.hidden_ids(member, kind)
        for method in ("get", "post"):
            missing = _send(client, method, _concrete(route, MISSING_ID), data)
            for pk in targets:
                response = _send(client, method, _concrete(route, pk), data)
                where = f"{method.upper()} {_concrete(route, pk)} as {member}"
                assert response.status_code == missing.status_code, f"{where}: differs from a missing id"
                if member == "agency_off_rep":
                    assert _refused(response) or response.status_code == 405, where
                    continue
                assert response.status_code in (403, 404, 405), f"{where}: {response.status_code}"
                saw_404 |= response.status_code == 404
    assert saw_404, f"{route} never answered 404: is it really looking the object up?"
    assert db_state() == before


def _body_for(schema: dict[str, Any], method: str, path: str, access: Access, member: str) -> Any:
    operation = schema["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    ref = content["schema"].get("$ref") or next(
        (o["$ref"] for o in content["schema"].get("anyOf", []) if "$ref" in o), None
    )
    properties = schema["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {}) if ref else {}
    world = access.world
    membership = world.members[member]
    # A merge's other record: one of the path's kind that the member sees.
    model = RECORD_MODELS.get(object_type(path) or "", Lead)
    samples = {
        "body": "Out of scope",
        "note": "x",
        "reason": "no_budget",
        "stage_id": access.stage_for(member),
        "lost_reason": "Price",
        "owner_id": membership.user_id,
        "title": "Out of scope",
        "name": "Out of scope",
        "first_name": "Out",
        "last_name": "Of scope",
        "done": True,
        "create_deal": True,
        "disposition": "not_interested",
        "talk_track": "Out of scope",
        "lead_ids": [next((world.slots[s].lead.pk for s in sorted(world.visible_slots(member))), MISSING_ID)],
        "lead_id": next((world.slots[s].lead.pk for s in sorted(world.visible_slots(member))), MISSING_ID),
        "kind": "wait",  # a sequence step
        "wait_days": 1,
        "other_id": next((world.slots[s].record(model).pk for s in sorted(world.visible_slots(member))), MISSING_ID),
    }
    if object_type(path) == "campaign":
        samples["status"] = "paused"  # a campaign's status verb (a lead's `status` has other choices)
    return {name: value for name, value in samples.items() if name in properties}


def _api_call(client: Client, key: str, method: str, path: str, body: Any):
    headers = {"Authorization": f"Bearer {key}"}
    if method == "GET":
        return client.get(path, headers=headers)
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path, data, content_type="application/json", headers=headers)


@pytest.mark.parametrize(("method", "path"), API_ID_OPERATIONS, ids=[f"{m} {p}" for m, p in API_ID_OPERATIONS])
def test_api_operation_answers_404_for_objects_out_of_scope(access, method, path):
    schema = _api_schema()
    kind = object_type(path)
    client = Client()
    before = db_state()
    for member in MEMBERS:
        key = access.api_keys[member]
        body = _body_for(schema, method, path, access, member)
        for pk in [MISSING_ID, *access.hidden_ids(member, kind)]:
            url = re.sub(r"\{\w+\}", str(pk), path)
            response = _api_call(client, key, method, url, body)
            expected = 401 if member == "agency_off_rep" else 404
            assert response.status_code == expected, f"{method} {url} as {member}: {response.content[:300]}"
    assert db_state() == before


# --- lists, counts, search, exports: nothing out of scope shows up --------------------------------


def _tokens(world: World, member: str) -> set[str]:
    """Strings that only the member's hidden records contain (names, emails, company words, task titles)."""
    tokens = set()
    for slot in world.hidden_slots(member):
        word = slot.replace("_", "")
        records = world.slots[slot]
        tokens |= {f"{word}lead", f"{word}contact", f"{word}-industries", f"{word}-prospects", f"{word} deal"}
        tokens |= {records.lead.email, records.contact.email, records.lead.phone, records.contact.phone}
    for slot, records in world.slots.items():
        if records.task and slot not in VISIBLE_TASK_SLOTS[member]:
            tokens.add(records.task.title.lower())
    return {t.lower() for t in tokens}


def _without(text: str, query: str) -> str:
    for form in {query, quote(query), quote_plus(query), escape(query), quote(query, safe="@")}:
        text = text.replace(form.lower(), "")
    return text


def _list_routes() -> dict[str, bool]:
    """Every page without an id → whether it searches or filters (lists, search, home), so gets queries too."""
    skip = ("admin/", "api/", "logout/", "i18n/")
    return {
        route: bool(
            pattern.name and (pattern.name.endswith(("_list", "_export")) or pattern.name in ("search", "home"))
        )
        for route, pattern in _walk(get_resolver().url_patterns)
        if not route.startswith(skip)
        # Live event streams never end; what they carry is the member's own topic (tested with the desktop).
        and not (pattern.name or "").endswith("_events")
        and not getattr(pattern.pattern, "converters", None)
        and not pattern.pattern.regex.groupindex
    }


LIST_ROUTES = dict(sorted(_list_routes().items()))
API_LIST_OPERATIONS = [p for m, p in _operations(_api_schema()) if m == "GET" and "{" not in p]


def _queries(world: World, member: str) -> list[str]:
    """Search terms a curious member might try for a hidden record: its email, phone, and a name."""
    hidden = sorted(world.hidden_slots(member))
    slot = world.slots[hidden[0]]
    return ["", slot.lead.email, slot.contact.phone, f"{hidden[0].replace('_', '')}lead"]


@pytest.mark.parametrize("member", [m for m in MEMBERS if m != "admin"])
def test_no_page_lists_or_finds_objects_out_of_scope(access, member):
    world, client = access.world, access.ui[member]
    tokens = _tokens(world, member)
    checked = 0
    for route, searches in LIST_ROUTES.items():
        for query in _queries(world, member) if searches else [""]:
            params = {"q": query} if query else {}
            response = client.get("/" + route, params)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = _without(body.decode(errors="replace").lower(), query.lower())
            leaked = sorted(t for t in tokens if t in text)
            assert leaked == [], f"/{route}?q={query} as {member} shows {leaked}"
            checked += response.status_code == 200
    assert checked >= 10 or member == "agency_off_rep"  # signed out at once: nothing to see
    assert sum(LIST_ROUTES.values()) >= 10  # the four record lists and their exports, tasks, search


@pytest.mark.parametrize("member", [m for m in MEMBERS if m not in ("admin", "agency_off_rep")])
def test_no_api_list_or_search_returns_objects_out_of_scope(access, member):
    world, client = access.world, Client()
    tokens = _tokens(world, member)
    for path in API_LIST_OPERATIONS:
        for query in _queries(world, member):
            params = {"q": query} if query else {}
            response = client.get(path, params, headers={"Authorization": f"Bearer {access.api_keys[member]}"})
            assert response.status_code < 500, path
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = _without(body.decode(errors="replace").lower(), query.lower())
            leaked = sorted(t for t in tokens if t in text)
            assert leaked == [], f"{path}?q={query} as {member} returns {leaked}"


# --- bulk endpoints: one hidden id and the whole request is a 404 that changes nothing ----------------

BULK_FORMS = [
    {"action": "assign", "target": "none"},
    {"action": "tag"},
    {"action": "status", "status": "qualified"},
    {"action": "delete", "confirm": "yes"},
]


@pytest.mark.parametrize("kind", list(RECORD_MODELS))
@pytest.mark.parametrize("member", ["manager", "rep1", "field_rep", "agency_x_rep", "admin_b"])
def test_bulk_with_an_id_out_of_scope_is_404_and_changes_nothing(access, kind, member):
    world, model = access.world, RECORD_MODELS[kind]
    visible = [world.slots[s].record(model).pk for s in world.visible_slots(member)]
    hidden = access.hidden_ids(member, kind)
    tag = (world.tag if world.members[member].organization_id == world.org.pk else world.tag_b).pk
    plural = model._meta.verbose_name_plural.lower()
    before = db_state()
    for form in BULK_FORMS:
        if form["action"] == "status" and kind != "lead":
            continue
        for pk in hidden:
            response = access.ui[member].post(f"/{plural}/bulk/", {**form, "tag": tag, "ids": [*visible, pk]})
            assert response.status_code == 404, (form, pk, response.status_code)
            body = {
                "ids": [*visible, pk],
                "action": form["action"],
                "tag_id": tag,
                "owner_id": None,
                "status": form.get("status"),
            }
            api = Client().post(
                f"{API_PREFIX}{plural}/bulk",
                json.dumps({k: v for k, v in body.items() if v is not None or k == "owner_id"}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {access.api_keys[member]}"},
            )
            assert api.status_code == 404, (form, pk, api.content[:300])
    assert db_state() == before
