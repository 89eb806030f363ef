"""Lead writes: create, update, assign, the status verbs (work, qualify, disqualify), convert, delete."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.core.text import company_search_key, search_key
from insidesales.crm.models import (
    ActivityKind,
    Company,
    Contact,
    Deal,
    DisqualifyReason,
    Lead,
    LeadSource,
    LeadStatus,
    Pipeline,
    Stage,
    StageKind,
)
from insidesales.inbound.webhook_events import emit_lead
from insidesales.orgs.models import Agency, Membership, Role, User
from insidesales.orgs.services import audit_record, diff, snapshot
from insidesales.orgs.visibility import can_delete_records, visible_records

from .activities import activity_log
from .common import (
    apply_phone,
    clean_country,
    clean_custom,
    clean_email,
    clean_time_zone,
    fill_time_zone,
    get_visible,
    name_keys,
    parse_id,
    raise_if,
    resolve_owner,
)

LEAD_EDITABLE = (
    "first_name",
    "last_name",
    "title",
    "company_name",
    "email",
    "phone",
    "country",
    "time_zone",
    "source",
    "notes",
)
# Names and titles are one line: line breaks and other control characters (pasted, or sent by a web form)
# would break the email headers and lists they are shown in.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
TEXT_LIMITS = {"first_name": 100, "last_name": 100, "title": 150, "company_name": 255}


def _apply_lead_fields(lead: Lead, data: dict[str, Any], membership: Membership, *, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in data and data[name] is not None:
            value = CONTROL_CHARACTERS.sub(" ", str(data[name])).strip()
            if len(value) > limit:
                errors.setdefault(name, []).append(_("At most %(n)d characters.") % {"n": limit})
            setattr(lead, name, value[:limit])
    if "notes" in data and data["notes"] is not None:
        lead.notes = str(data["notes"])
    if "email" in data and data["email"] is not None:
        lead.email = clean_email(data["email"], errors)
    if "country" in data and data["country"] is not None:
        lead.country = clean_country(data["country"], errors)
    if "time_zone" in data and data["time_zone"] is not None:
        lead.time_zone = clean_time_zone(data["time_zone"], errors)
    if "source" in data and data["source"]:
        if data["source"] not in LeadSource.values:
            errors.setdefault("source", []).append(_("Unknown source."))
        else:
            lead.source = data["source"]
    if "phone" in data:
        apply_phone(lead, data["phone"], membership.organization.default_region, errors)
    fill_time_zone(lead)
    if creating and not (lead.first_name or lead.last_name or lead.company_name or lead.email or lead.phone):
        errors.setdefault("last_name", []).append(_("Give at least a name, a company, an email or a phone."))
    if "custom" in data:
        lead.custom = clean_custom(
            organization_id=membership.organization_id,
            record_type="lead",
            current=lead.custom,
            values=data["custom"],
            errors=errors,
            creating=creating,
        )
    elif creating:
        lead.custom = clean_custom(
            organization_id=membership.organization_id,
            record_type="lead",
            current={},
            values={},
            errors=errors,
            creating=True,
        )
    raise_if(errors)
    lead.name_key, lead.name_rev_key = name_keys(lead.first_name, lead.last_name)
    lead.company_key = company_search_key(lead.company_name)


def lead_prepare(*, organization: Any, data: dict[str, Any]) -> Lead:
    """An unsaved lead of `organization` from data nobody signed in typed (a web form, the inbound API):
    checked and normalized exactly as `lead_create` does; raises ValidationError with per-field messages."""
    from types import SimpleNamespace

    lead = Lead(organization_id=organization.pk)
    scope = SimpleNamespace(organization=organization, organization_id=organization.pk)
    _apply_lead_fields(lead, data, scope, creating=True)  # type: ignore[arg-type]
    return lead


@transaction.atomic
def lead_create(*, membership: Membership, data: dict[str, Any]) -> Lead:
    """Create a lead. Reps own what they create; admins/managers may pick an owner."""
    lead = Lead(organization_id=membership.organization_id)
    _apply_lead_fields(lead, data, membership, creating=True)
    errors: dict[str, list[str]] = {}
    owner_id = data.get("owner_id", membership.user_id if membership.role != Role.ADMIN else None)
    if membership.role == Role.AGENCY_REP:
        lead.agency_id = membership.agency_id
        owner_id = membership.user_id
    owner, team, agency, ok = resolve_owner(membership, owner_id, errors)
    raise_if(errors)
    if ok:
        lead.owner, lead.team = owner, team
        lead.agency = agency or lead.agency
    lead.save()
    if data.get("tag_ids"):
        from .config import _valid_tags

        lead.tags.set(_valid_tags(membership, data["tag_ids"]))
    activity_log(
        record=lead,
        kind=ActivityKind.CREATED,
        actor=membership.user,
        subject=_("Lead created"),
        data={"source": lead.source},
    )
    audit_record(
        organization_id=lead.organization_id,
        actor=membership.user,
        action="lead.create",
        instance=lead,
        changes={k: [None, v] for k, v in snapshot(lead, list(LEAD_EDITABLE)).items() if v},
    )
    emit_lead("lead.created", lead)
    return lead


@transaction.atomic
def lead_update(*, membership: Membership, lead_id: int, data: dict[str, Any]) -> Lead:
    """Change a lead's details. Status changes go through the named verbs, never through here."""
    lead = get_visible(Lead, membership, lead_id, for_update=True)
    refuse_converted(lead)
    if "status" in data:
        raise ValidationError(fields={"status": [_("Use qualify, disqualify or convert to change the status.")]})
    before = snapshot(lead)
    _apply_lead_fields(lead, data, membership, creating=False)
    lead.save()
    if "tag_ids" in data and data["tag_ids"] is not None:
        from .config import _valid_tags

        lead.tags.set(_valid_tags(membership, data["tag_ids"]))
    changes = diff(before, snapshot(lead))
    if changes:
        audit_record(
            organization_id=lead.organization_id,
            actor=membership.user,
            action="lead.update",
            instance=lead,
            changes=changes,
        )
    return lead


def _set_status(lead: Lead, status: str, actor: User | None, *, reason: str = "", note: str = "") -> None:
    old = lead.status
    lead.status = status
    lead.disqualify_reason = reason if status == LeadStatus.DISQUALIFIED else ""
    lead.save(update_fields=["status", "disqualify_reason", "updated_at"])
    activity_log(
        record=lead,
        kind=ActivityKind.STATUS_CHANGE,
        actor=actor,
        subject=f"{old} → {status}",
        body=note,
        data={"from": old, "to": status, "reason": reason},
    )
    audit_record(
        organization_id=lead.organization_id,
        actor=actor,
        action=f"lead.{status}",
        instance=lead,
        changes={"status": [old, status], **({"disqualify_reason": ["", reason]} if reason else {})},
    )
    emit_lead("lead.status_changed", lead, previous_status=old)


ALLOWED_FROM = {
    LeadStatus.WORKING: {LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED},
    LeadStatus.QUALIFIED: {LeadStatus.NEW, LeadStatus.WORKING},
    LeadStatus.DISQUALIFIED: {LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED},
}


def _transition(membership: Membership, lead_id: int, to: str, *, reason: str = "", note: str = "") -> Lead:
    lead = get_visible(Lead, membership, lead_id, for_update=True)
    if lead.status == to:
        return lead
    if lead.status not in ALLOWED_FROM[to]:
        raise Conflict(
            _("A %(status)s lead cannot move to %(to)s.")
            % {"status": LeadStatus(lead.status).label, "to": LeadStatus(to).label}
        )
    _set_status(lead, to, membership.user, reason=reason, note=note)
    return lead


@transaction.atomic
def lead_start_working(*, membership: Membership, lead_id: int) -> Lead:
    return _transition(membership, lead_id, LeadStatus.WORKING)


@transaction.atomic
def lead_qualify(*, membership: Membership, lead_id: int, note: str = "") -> Lead:
    return _transition(membership, lead_id, LeadStatus.QUALIFIED, note=note)


@transaction.atomic
def lead_disqualify(*, membership: Membership, lead_id: int, reason: str, note: str = "") -> Lead:
    if reason not in DisqualifyReason.values:
        raise ValidationError(fields={"reason": [_("Choose a reason.")]})
    return _transition(membership, lead_id, LeadStatus.DISQUALIFIED, reason=reason, note=note)


@transaction.atomic
def lead_assign(
    *, membership: Membership, lead_id: int, owner_id: int | None = None, agency_id: int | None = None
) -> Lead:
    """Give a lead to a user (and their team) or to an agency, or return it to the pool (both None)."""
    lead = get_visible(Lead, membership, lead_id, for_update=True)
    return _assign_record(membership, lead, owner_id=owner_id, agency_id=agency_id)


def refuse_converted(record: Any) -> None:
    """A converted lead is the record of its conversion: kept as it was when converted (its contact,
    company and deal are what people work on), so it is not edited or reassigned."""
    if isinstance(record, Lead) and record.status == LeadStatus.CONVERTED:
        raise ValidationError(
            _("“%(lead)s” was converted: it is kept as it was. Work with its contact, company and deal instead.")
            % {"lead": record}
        )


def _assign_record(membership: Membership, record: Any, *, owner_id: int | None, agency_id: int | None) -> Any:
    refuse_converted(record)
    errors: dict[str, list[str]] = {}
    before = snapshot(record, ["owner_id", "team_id", "agency_id"])
    is_manager = membership.role in (Role.ADMIN, Role.MANAGER)
    if owner_id is None and agency_id is None:
        if not is_manager and record.owner_id != membership.user_id:
            raise PermissionDenied(_("Only managers can return records to the pool."))
        record.owner, record.team, record.agency = None, None, None
    elif agency_id is not None and owner_id is None:
        if not is_manager:
            raise PermissionDenied(_("Only managers can assign to an agency."))
        agency = Agency.objects.filter(organization_id=membership.organization_id, pk=agency_id, is_active=True).first()
        if agency is None:
            raise ValidationError(fields={"agency": [_("Unknown or inactive agency.")]})
        record.owner, record.team, record.agency = None, None, agency
    else:
        if membership.role == Role.AGENCY_REP:
            raise PermissionDenied(_("Agency reps cannot reassign records."))
        owner, team, agency, ok = resolve_owner(membership, owner_id, errors)
        raise_if(errors)
        record.owner, record.team, record.agency = owner, team, agency
    record.save(update_fields=["owner", "team", "agency", "updated_at"])
    after = snapshot(record, ["owner_id", "team_id", "agency_id"])
    changes = diff(before, after)
    if changes:
        activity_log(
            record=record,
            kind=ActivityKind.ASSIGNMENT,
            actor=membership.user,
            subject=str(record.owner or record.agency or _("Unassigned")),
            data=changes,
        )
        audit_record(
            organization_id=record.organization_id,
            actor=membership.user,
            action=f"{record._meta.model_name}.assign",
            instance=record,
            changes=changes,
        )
        if isinstance(record, Lead):
            emit_lead("lead.assigned", record, previous={k.removesuffix("_id"): v[0] for k, v in changes.items()})
    return record


@transaction.atomic
def lead_delete(*, membership: Membership, lead_id: int) -> None:
    lead = get_visible(Lead, membership, lead_id, for_update=True)
    if lead.status == LeadStatus.CONVERTED and membership.role != Role.ADMIN:
        raise PermissionDenied(_("Only administrators can delete a converted lead."))
    if not can_delete_records(membership) and lead.owner_id != membership.user_id:
        raise PermissionDenied(_("You can delete only your own leads."))
    audit_record(
        organization_id=lead.organization_id,
        actor=membership.user,
        action="lead.delete",
        instance=lead,
        changes={k: [v, None] for k, v in snapshot(lead, list(LEAD_EDITABLE)).items() if v},
    )
    lead.delete()


def _match_company(membership: Membership, lead: Lead) -> Company | None:
    companies = visible_records(Company.objects.all(), membership)
    domain = lead.email.split("@", 1)[1] if "@" in lead.email else ""
    if domain and domain not in FREE_MAIL_DOMAINS:
        found = companies.filter(domain=domain).order_by("id").first()
        if found:
            return found
    if lead.company_key:
        return companies.filter(name_key=lead.company_key).order_by("id").first()
    return None


def _match_contact(membership: Membership, lead: Lead) -> Contact | None:
    contacts = visible_records(Contact.objects.all(), membership)
    if lead.email:
        found = contacts.filter(email=lead.email).order_by("id").first()
        if found:
            return found
    if lead.phone:
        return contacts.filter(phone=lead.phone).order_by("id").first()
    return None


FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "icloud.com",
        "mail.ru",
        "yandex.ru",
        "ya.ru",
        "bk.ru",
        "list.ru",
        "inbox.ru",
        "rambler.ru",
        "aol.com",
        "gmx.de",
        "web.de",
        "proton.me",
        "protonmail.com",
    }
)


@transaction.atomic
def lead_convert(
    *,
    membership: Membership,
    lead_id: int,
    create_deal: bool = True,
    deal_name: str = "",
    deal_amount: Decimal | None = None,
    pipeline_id: int | None = None,
) -> dict[str, Any]:
    """Turn a lead into a contact at a company (merging into existing ones that match) and optionally a deal."""
    lead = get_visible(Lead, membership, lead_id, for_update=True)
    if lead.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
        raise Conflict(_("A %(status)s lead cannot be converted.") % {"status": LeadStatus(lead.status).label})
    owner_fields = {
        "owner_id": lead.owner_id or membership.user_id,
        "team_id": lead.team_id,
        "agency_id": lead.agency_id,
    }
    company, company_created = None, False
    if lead.company_name or ("@" in lead.email and lead.email.split("@", 1)[1] not in FREE_MAIL_DOMAINS):
        company = _match_company(membership, lead)
        if company is None:
            domain = lead.email.split("@", 1)[1] if "@" in lead.email else ""
            name = lead.company_name or domain
            company = Company.objects.create(
                organization_id=lead.organization_id,
                name=name,
                name_key=company_search_key(name),
                domain=domain if domain not in FREE_MAIL_DOMAINS else "",
                country=lead.country,
                **owner_fields,
            )
            company_created = True
    contact = _match_contact(membership, lead)
    contact_created = contact is None
    if contact is None:
        contact = Contact(
            organization_id=lead.organization_id,
            first_name=lead.first_name,
            last_name=lead.last_name or lead.email or "—",
            title=lead.title,
            email=lead.email,
            phone=lead.phone,
            phone_raw=lead.phone_raw,
            country=lead.country,
            time_zone=lead.time_zone,
            company=company,
            **owner_fields,
        )
        contact.name_key, contact.name_rev_key = name_keys(contact.first_name, contact.last_name)
        contact.save()
    elif company is not None and contact.company_id is None:
        contact.company = company
        contact.save(update_fields=["company", "updated_at"])
    deal = None
    if create_deal:
        pipeline = Pipeline.objects.filter(organization_id=lead.organization_id)
        pipeline = (
            pipeline.filter(pk=parse_id(pipeline_id)) if pipeline_id else pipeline.order_by("-is_default", "id")
        ).first()
        if pipeline is None:
            raise ValidationError(fields={"pipeline": [_("Unknown pipeline.")]})
        stage = Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).order_by("position", "id").first()
        if stage is None:
            raise ValidationError(fields={"pipeline": [_("This pipeline has no open stage.")]})
        name = (deal_name or "").strip() or (company.name if company else str(contact))
        deal = Deal.objects.create(
            organization_id=lead.organization_id,
            name=name[:255],
            name_key=search_key(name),
            company=company,
            contact=contact,
            pipeline=pipeline,
            stage=stage,
            amount=deal_amount or Decimal("0"),
            currency=membership.organization.default_currency,
            **owner_fields,
        )
        activity_log(
            record=deal,
            kind=ActivityKind.CREATED,
            actor=membership.user,
            subject=_("Deal created from lead"),
            data={"lead_id": lead.pk},
        )
    old_status = lead.status
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = timezone.now()
    lead.converted_contact, lead.converted_company, lead.converted_deal = contact, company, deal
    lead.save()
    emit_lead("lead.status_changed", lead, previous_status=old_status)
    # The lead's history follows the person: the contact's timeline shows it too.
    lead.activities.filter(contact__isnull=True).update(contact=contact)
    lead.tasks.filter(contact__isnull=True).update(contact=contact)
    summary = {
        "contact_id": contact.pk,
        "contact_created": contact_created,
        "company_id": company.pk if company else None,
        "company_created": company_created,
        "deal_id": deal.pk if deal else None,
    }
    activity_log(
        record=lead,
        kind=ActivityKind.CONVERSION,
        actor=membership.user,
        subject=_("Lead converted"),
        data=summary,
    )
    activity_log(
        record=contact,
        kind=ActivityKind.CONVERSION,
        actor=membership.user,
        subject=_("Converted from lead"),
        data={"lead_id": lead.pk, **summary},
    )
    if company is not None:
        activity_log(
            record=company,
            kind=ActivityKind.CONVERSION,
            actor=membership.user,
            subject=_("Lead converted: %(name)s") % {"name": str(lead)},
            data={"lead_id": lead.pk, **summary},
        )
    audit_record(
        organization_id=lead.organization_id,
        actor=membership.user,
        action="lead.convert",
        instance=lead,
        changes={"status": [old_status, LeadStatus.CONVERTED], **{k: [None, v] for k, v in summary.items()}},
    )
    return {"lead": lead, "contact": contact, "company": company, "deal": deal, **summary}
