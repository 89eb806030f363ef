"""A ready-made "world": two organizations, every role, and records in every corner of visibility.

Organization A ("acme", US) has:
- teams `team1` (managed by `manager`) and `team2`; agencies `agency_x`, `agency_y` and the switched-off
  `agency_off`;
- members `admin`, `manager` (team 1), `rep1` (inside rep, team 1), `rep2` (inside rep, team 2), `field_rep`,
  `agency_x_rep`, `agency_y_rep`, `agency_off_rep`;
- for every *slot* below a lead, a company, a contact (at that company) and a deal (on that company and contact),
  all owned alike, each with a unique name, email and phone so a leak is easy to spot; plus a task per
  person-owned slot and a note on each lead.
Organization B ("globex") has `admin_b` and the slot `org_b`.

`VISIBLE_SLOTS` is the visibility rule book of DESIGN.md written out by hand: which slots each member sees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm.models import Company, Contact, Deal, Lead, Tag, Task
from insidesales.orgs.models import Agency, Membership, Organization, Team

SLOTS = ("rep1", "rep2", "manager", "unassigned", "agency_x", "agency_y", "agency_off", "field", "org_b")
MEMBERS = (
    "admin",
    "manager",
    "rep1",
    "rep2",
    "field_rep",
    "agency_x_rep",
    "agency_y_rep",
    "agency_off_rep",
    "admin_b",
)
ORG_A_SLOTS = frozenset(SLOTS) - {"org_b"}

# Who sees what (DESIGN.md, "Tenancy and visibility"), with the unassigned pool visible to reps.
VISIBLE_SLOTS: dict[str, frozenset[str]] = {
    "admin": ORG_A_SLOTS,
    "manager": frozenset({"manager", "rep1", "unassigned"}),
    "rep1": frozenset({"rep1", "unassigned"}),
    "rep2": frozenset({"rep2", "unassigned"}),
    "field_rep": frozenset({"field"}),
    "agency_x_rep": frozenset({"agency_x"}),
    "agency_y_rep": frozenset({"agency_y"}),
    "agency_off_rep": frozenset(),
    "admin_b": frozenset({"org_b"}),
}
# The same when the organization hides the unassigned pool from inside reps (managers still see it).
VISIBLE_SLOTS_POOL_HIDDEN: dict[str, frozenset[str]] = {
    **VISIBLE_SLOTS,
    "rep1": frozenset({"rep1"}),
    "rep2": frozenset({"rep2"}),
}
# Tasks are seen by assignee: one's own, a manager's team's, an admin's whole organization's.
VISIBLE_TASK_SLOTS: dict[str, frozenset[str]] = {
    "admin": frozenset({"rep1", "rep2", "manager", "field", "agency_x", "agency_y"}),
    "manager": frozenset({"rep1", "manager"}),
    "rep1": frozenset({"rep1"}),
    "rep2": frozenset({"rep2"}),
    "field_rep": frozenset({"field"}),
    "agency_x_rep": frozenset({"agency_x"}),
    "agency_y_rep": frozenset({"agency_y"}),
    "agency_off_rep": frozenset(),
    "admin_b": frozenset({"org_b"}),
}


@dataclass
class Slot:
    """The records that share one owner (or none, or an agency)."""

    name: str
    lead: Lead
    company: Company
    contact: Contact
    deal: Deal
    task: Task | None = None

    def record(self, model: type) -> Any:
        return {Lead: self.lead, Company: self.company, Contact: self.contact, Deal: self.deal}[model]


@dataclass
class World:
    org: Organization
    org_b: Organization
    team1: Team
    team2: Team
    agency_x: Agency
    agency_y: Agency
    agency_off: Agency
    tag: Tag
    tag_b: Tag
    members: dict[str, Membership] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # world.rep1 → the membership; world.lead_rep1 / world.deal_org_b → a slot's record.
        members = self.__dict__.get("members", {})
        if name in members:
            return members[name]
        kind, _, slot = name.partition("_")
        slots = self.__dict__.get("slots", {})
        if kind in ("lead", "company", "contact", "deal", "task") and slot in slots:
            return getattr(slots[slot], kind)
        raise AttributeError(name)

    def visible_slots(self, member: str) -> frozenset[str]:
        table = VISIBLE_SLOTS if self.org.reps_see_unassigned else VISIBLE_SLOTS_POOL_HIDDEN
        return table[member]

    def hidden_slots(self, member: str) -> frozenset[str]:
        return frozenset(SLOTS) - self.visible_slots(member)

    def records(self, model: type, slots: frozenset[str] | set[str] | tuple[str, ...] = SLOTS) -> list[Any]:
        return [self.slots[s].record(model) for s in slots]

    def refresh(self) -> None:
        """Reload memberships (e.g. after switching an agency off) so cached relations are fresh."""
        for name, membership in self.members.items():
            self.members[name] = Membership.objects.select_related("organization", "agency", "team", "user").get(
                pk=membership.pk
            )


def _phone(index: int) -> str:
    # 555-01xx numbers are reserved for fiction, and each record gets its own.
    return f"+1415555{100 + index:04d}"


def build_world(*, reps_see_unassigned: bool = True) -> World:
    org = f.OrganizationFactory(name="Acme", slug="acme", reps_see_unassigned=reps_see_unassigned)
    org_b = f.OrganizationFactory(name="Globex", slug="globex")
    team1 = f.TeamFactory(organization=org, name="Team 1")
    team2 = f.TeamFactory(organization=org, name="Team 2")
    agency_x = f.AgencyFactory(organization=org, name="Agency X")
    agency_y = f.AgencyFactory(organization=org, name="Agency Y")
    agency_off = f.AgencyFactory(organization=org, name="Agency Off", is_active=False)
    world = World(
        org=org,
        org_b=org_b,
        team1=team1,
        team2=team2,
        agency_x=agency_x,
        agency_y=agency_y,
        agency_off=agency_off,
        tag=f.TagFactory(organization=org, name="hot"),
        tag_b=f.TagFactory(organization=org_b, name="hot"),
    )

    def user(name: str):
        return f.UserFactory(email=f"{name.replace('_', '-')}@acme.test", full_name=name.replace("_", " ").title())

    m = world.members
    m["admin"] = f.AdminMembershipFactory(organization=org, user=user("admin"))
    m["manager"] = f.ManagerMembershipFactory(organization=org, user=user("manager"), team=team1)
    m["rep1"] = f.InsideRepMembershipFactory(organization=org, user=user("rep1"), team=team1)
    m["rep2"] = f.InsideRepMembershipFactory(organization=org, user=user("rep2"), team=team2)
    m["field_rep"] = f.FieldRepMembershipFactory(organization=org, user=user("field_rep"))
    m["agency_x_rep"] = f.AgencyRepMembershipFactory(organization=org, user=user("agency_x_rep"), agency=agency_x)
    m["agency_y_rep"] = f.AgencyRepMembershipFactory(organization=org, user=user("agency_y_rep"), agency=agency_y)
    m["agency_off_rep"] = f.AgencyRepMembershipFactory(organization=org, user=user("agency_off_rep"), agency=agency_off)
    m["admin_b"] = f.AdminMembershipFactory(
        organization=org_b, user=f.UserFactory(email="admin-b@globex.test", full_name="Admin B")
    )

    ownership: dict[str, dict[str, Any]] = {
        "rep1": {"owned_by": m["rep1"]},
        "rep2": {"owned_by": m["rep2"]},
        "manager": {"owned_by": m["manager"]},
        "unassigned": {"organization": org},
        "agency_x": {"organization": org, "agency": agency_x},
        "agency_y": {"organization": org, "agency": agency_y},
        "agency_off": {"organization": org, "agency": agency_off},
        "field": {"owned_by": m["field_rep"]},
        "org_b": {"organization": org_b},
    }
    task_assignee = {
        "rep1": "rep1",
        "rep2": "rep2",
        "manager": "manager",
        "field": "field_rep",
        "agency_x": "agency_x_rep",
        "agency_y": "agency_y_rep",
        "org_b": "admin_b",
    }
    base = timezone.now() - dt.timedelta(days=1)
    for index, slot in enumerate(SLOTS):
        own = ownership[slot]
        word = slot.replace("_", "").capitalize()  # e.g. "Agencyx": unique, searchable name part
        company = f.CompanyFactory(
            **own, name=f"{word} Industries", domain=f"{slot.replace('_', '')}-industries.test", phone=_phone(index)
        )
        contact = f.ContactFactory(
            **own,
            first_name="Contact",
            last_name=f"{word}contact",
            email=f"contact.{slot}@{slot.replace('_', '')}-industries.test",
            phone=_phone(20 + index),
            company=company,
        )
        deal = f.DealFactory(**own, name=f"{word} Deal", company=company, contact=contact)
        lead = f.LeadFactory(
            **own,
            first_name="Lead",
            last_name=f"{word}lead",
            company_name=f"{word} Prospects",
            email=f"lead.{slot}@{slot.replace('_', '')}-prospects.test",
            phone=_phone(40 + index),
            last_activity_at=base + dt.timedelta(minutes=index),
        )
        f.ActivityFactory(organization=lead.organization, lead=lead, body=f"First call with {word}")
        task = None
        if slot in task_assignee:
            task = f.TaskFactory(
                organization=lead.organization,
                title=f"Call {word}",
                assignee=m[task_assignee[slot]].user,
                lead=lead,
                due_at=timezone.now() + dt.timedelta(hours=1),
            )
        world.slots[slot] = Slot(name=slot, lead=lead, company=company, contact=contact, deal=deal, task=task)
    return world


# Columns that reading (not writing) may touch: signing in stamps last_login, using an API key last_used_at.
VOLATILE_COLUMNS = {"orgs.User": {"last_login"}, "orgs.ApiKey": {"last_used_at"}}


def db_state() -> dict[str, list[tuple]]:
    """Every row of the domain tables, to assert that a refused request changed nothing at all."""
    from django.apps import apps

    state: dict[str, list[tuple]] = {}
    for app_label in ("orgs", "crm"):
        for model in apps.get_app_config(app_label).get_models():
            skip = VOLATILE_COLUMNS.get(model._meta.label, set())
            columns = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
            rows = model.objects.order_by("pk").values_list(*columns)
            state[model._meta.label] = [tuple(map(repr, row)) for row in rows]
            for m2m in model._meta.local_many_to_many:
                through = m2m.remote_field.through
                state[through._meta.label] = [tuple(r) for r in through.objects.order_by("pk").values_list()]
    return state


__all__ = [
    "MEMBERS",
    "SLOTS",
    "VISIBLE_SLOTS",
    "VISIBLE_SLOTS_POOL_HIDDEN",
    "VISIBLE_TASK_SLOTS",
    "Slot",
    "World",
    "build_world",
    "db_state",
]
