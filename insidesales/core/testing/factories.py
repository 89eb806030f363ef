"""factory-boy factories for organizations, people and records.

Records get their search keys computed exactly as the services compute them, so selectors find
factory-made rows the same way they find rows written through the services. Pass `owned_by=<Membership>`
to a record factory to give the record to that member with their team and agency, as an assignment would.
"""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from insidesales.core.text import company_search_key, normalize_email, search_key
from insidesales.crm.models import (
    Activity,
    ActivityKind,
    Company,
    Contact,
    CustomField,
    CustomFieldType,
    Deal,
    Lead,
    Pipeline,
    SavedView,
    Stage,
    StageKind,
    Tag,
    Task,
)
from insidesales.orgs.models import Agency, Membership, Organization, Role, Team, User

PASSWORD = "correct-horse-battery-42"


class OrganizationFactory(factory.Factory):
    """An organization made by `organization_create`, so it has the default pipeline like a real one."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    default_region = "US"
    time_zone = "UTC"
    reps_see_unassigned = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from insidesales.orgs.services import organization_create

        reps_see_unassigned = kwargs.pop("reps_see_unassigned")
        default_currency = kwargs.pop("default_currency", None)
        organization = organization_create(**kwargs)
        changed = []
        if not reps_see_unassigned:
            organization.reps_see_unassigned = False
            changed.append("reps_see_unassigned")
        if default_currency:
            organization.default_currency = default_currency
            changed.append("default_currency")
        if changed:
            organization.save(update_fields=changed)
        return organization


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    language = "en"
    time_zone = "UTC"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Agency {n}")
    is_active = True


class MembershipFactory(DjangoModelFactory):
    """An inside rep by default; the subclasses below make the other roles."""

    class Meta:
        model = Membership
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.INSIDE_REP
    team = None
    agency = None


class AdminMembershipFactory(MembershipFactory):
    role = Role.ADMIN


class ManagerMembershipFactory(MembershipFactory):
    """A manager who is a member of and manages `team` (a new team unless given)."""

    role = Role.MANAGER
    team = factory.SubFactory(TeamFactory, organization=factory.SelfAttribute("..organization"))

    @factory.post_generation
    def manages(self, create, extracted, **kwargs):
        if not create:
            return
        for team in extracted if extracted is not None else ([self.team] if self.team else []):
            team.managers.add(self.user)


class InsideRepMembershipFactory(MembershipFactory):
    role = Role.INSIDE_REP


class FieldRepMembershipFactory(MembershipFactory):
    role = Role.FIELD_REP


class AgencyRepMembershipFactory(MembershipFactory):
    role = Role.AGENCY_REP
    agency = factory.SubFactory(AgencyFactory, organization=factory.SelfAttribute("..organization"))


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class CustomFieldFactory(DjangoModelFactory):
    class Meta:
        model = CustomField

    organization = factory.SubFactory(OrganizationFactory)
    record_type = "lead"
    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    field_type = CustomFieldType.TEXT
    choices = factory.LazyAttribute(lambda o: ["gold", "silver"] if o.field_type == CustomFieldType.CHOICE else [])
    required = False


class _RecordFactory(DjangoModelFactory):
    """Shared behaviour: `owned_by` sets organization, owner, team and agency from a membership."""

    class Meta:
        abstract = True
        skip_postgeneration_save = True

    class Params:
        owned_by = None

    organization = factory.Maybe(
        "owned_by",
        yes_declaration=factory.SelfAttribute("owned_by.organization"),
        no_declaration=factory.SubFactory(OrganizationFactory),
    )
    owner = factory.Maybe("owned_by", yes_declaration=factory.SelfAttribute("owned_by.user"), no_declaration=None)
    team = factory.Maybe("owned_by", yes_declaration=factory.SelfAttribute("owned_by.team"), no_declaration=None)
    agency = factory.Maybe("owned_by", yes_declaration=factory.SelfAttribute("owned_by.agency"), no_declaration=None)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        if kwargs.get("email"):
            kwargs["email"] = normalize_email(kwargs["email"])
        return kwargs

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class LeadFactory(_RecordFactory):
    class Meta:
        model = Lead

    first_name = factory.Sequence(lambda n: f"Lead{n}")
    last_name = "Example"
    company_name = ""
    email = factory.Sequence(lambda n: f"lead{n}@prospect{n}.test")
    name_key = factory.LazyAttribute(lambda o: search_key(o.first_name, o.last_name))
    name_rev_key = factory.LazyAttribute(lambda o: search_key(o.last_name, o.first_name))
    company_key = factory.LazyAttribute(lambda o: company_search_key(o.company_name))


class CompanyFactory(_RecordFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.test")
    name_key = factory.LazyAttribute(lambda o: company_search_key(o.name))


class ContactFactory(_RecordFactory):
    class Meta:
        model = Contact

    first_name = factory.Sequence(lambda n: f"Contact{n}")
    last_name = "Person"
    email = factory.Sequence(lambda n: f"contact{n}@customer{n}.test")
    name_key = factory.LazyAttribute(lambda o: search_key(o.first_name, o.last_name))
    name_rev_key = factory.LazyAttribute(lambda o: search_key(o.last_name, o.first_name))


def _default_pipeline(organization: Organization) -> Pipeline:
    return Pipeline.objects.filter(organization=organization).order_by("-is_default", "id").first()


def _first_open_stage(pipeline: Pipeline) -> Stage:
    return Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).order_by("position", "id").first()


class DealFactory(_RecordFactory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    pipeline = factory.LazyAttribute(lambda o: _default_pipeline(o.organization))
    stage = factory.LazyAttribute(lambda o: _first_open_stage(o.pipeline))
    currency = factory.LazyAttribute(lambda o: o.organization.default_currency)
    name_key = factory.LazyAttribute(lambda o: search_key(o.name))


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = Task

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    assignee = factory.SubFactory(UserFactory)
    created_by = factory.SelfAttribute("assignee")


class ActivityFactory(DjangoModelFactory):
    """A timeline entry; pass exactly one of lead/contact/company/deal."""

    class Meta:
        model = Activity

    organization = factory.SubFactory(OrganizationFactory)
    kind = ActivityKind.NOTE
    subject = ""
    body = factory.Sequence(lambda n: f"Note {n}")


class SavedViewFactory(DjangoModelFactory):
    class Meta:
        model = SavedView

    organization = factory.SubFactory(OrganizationFactory)
    record_type = "lead"
    name = factory.Sequence(lambda n: f"View {n}")
    owner = factory.SubFactory(UserFactory)
