"""Company, contact and deal writes (leads have their own module), plus deal stage verbs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, PermissionDenied, ValidationError
from insidesales.core.text import company_search_key, search_key
from insidesales.crm.models import ActivityKind, Company, Contact, Deal, Pipeline, Stage, StageKind
from insidesales.inbound.webhook_events import emit_deal_won
from insidesales.orgs.models import Membership, Role
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
from .leads import _assign_record

TEXT_LIMITS = {
    Company: {"name": 255, "domain": 255, "industry": 100, "city": 100},
    Contact: {"first_name": 100, "last_name": 100, "title": 150},
    Deal: {"name": 255, "lost_reason": 255},
}
REQUIRED = {Company: ("name",), Contact: ("last_name",), Deal: ("name",)}
RECORD_TYPE = {Company: "company", Contact: "contact", Deal: "deal"}


def _apply(model: type, record: Any, data: dict[str, Any], membership: Membership, *, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    for name, limit in TEXT_LIMITS[model].items():
        if name in data and data[name] is not None:
            value = str(data[name]).strip()
            if name == "domain":
                value = value.lower().removeprefix("http://").removeprefix("https://").removeprefix("www.").strip("/")
            if len(value) > limit:
                errors.setdefault(name, []).append(_("At most %(n)d characters.") % {"n": limit})
            setattr(record, name, value[:limit])
    for name in REQUIRED[model]:
        if not getattr(record, name):
            errors.setdefault(name, []).append(_("This field is required."))
    if "email" in data and data["email"] is not None and hasattr(record, "email"):
        record.email = clean_email(data["email"], errors)
    if "country" in data and data["country"] is not None and hasattr(record, "country"):
        record.country = clean_country(data["country"], errors)
    if "time_zone" in data and data["time_zone"] is not None and hasattr(record, "time_zone"):
        record.time_zone = clean_time_zone(data["time_zone"], errors)
    if "phone" in data and hasattr(record, "phone"):
        apply_phone(record, data["phone"], membership.organization.default_region, errors)
    fill_time_zone(record)
    if model is Company and "employees" in data:
        value = data["employees"]
        if value in (None, ""):
            record.employees = None
        else:
            try:
                record.employees = int(value)
                if record.employees < 0:
                    raise ValueError
            except (TypeError, ValueError):
                errors.setdefault("employees", []).append(_("Enter a whole number."))
    if "company_id" in data and model in (Contact, Deal):
        record.company = _visible_or_error(Company, membership, data["company_id"], "company", errors)
    if model is Deal:
        _apply_deal(record, data, membership, errors, creating=creating)
    if "custom" in data or creating:
        record.custom = clean_custom(
            organization_id=membership.organization_id,
            record_type=RECORD_TYPE[model],
            current=record.custom,
            values=data.get("custom") or {},
            errors=errors,
            creating=creating,
        )
    raise_if(errors)
    if model is Contact:
        record.name_key, record.name_rev_key = name_keys(record.first_name, record.last_name)
    elif model is Company:
        record.name_key = company_search_key(record.name)
    else:
        record.name_key = search_key(record.name)


def _visible_or_error(model: type, membership: Membership, pk: Any, field: str, errors: dict[str, list[str]]):
    if pk in (None, ""):
        return None
    found = visible_records(model.objects.all(), membership).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        errors.setdefault(field, []).append(_("Unknown record."))
    return found


def _apply_deal(
    deal: Deal, data: dict[str, Any], membership: Membership, errors: dict[str, list[str]], *, creating: bool
) -> None:
    if "contact_id" in data:
        deal.contact = _visible_or_error(Contact, membership, data["contact_id"], "contact", errors)
    if "amount" in data and data["amount"] not in (None, ""):
        try:
            deal.amount = Decimal(str(data["amount"]).replace(",", ".").replace(" ", ""))
            if deal.amount < 0 or not deal.amount.is_finite() or deal.amount >= Decimal("1e12"):
                raise InvalidOperation
        except InvalidOperation:
            errors.setdefault("amount", []).append(_("Enter a non-negative amount."))
    if "currency" in data and data["currency"]:
        currency = str(data["currency"]).upper().strip()
        if len(currency) != 3 or not currency.isalpha():
            errors.setdefault("currency", []).append(_("Use a three-letter currency code."))
        deal.currency = currency[:3]
    elif creating:
        deal.currency = membership.organization.default_currency
    if "expected_close" in data:
        value = data["expected_close"]
        if isinstance(value, str) and value:
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                errors.setdefault("expected_close", []).append(_("Enter a date as YYYY-MM-DD."))
                value = None
        deal.expected_close = value or None
    if creating:
        pipelines = Pipeline.objects.filter(organization_id=membership.organization_id)
        pipeline_id = data.get("pipeline_id")
        pipeline = (
            pipelines.filter(pk=parse_id(pipeline_id)) if pipeline_id else pipelines.order_by("-is_default", "id")
        ).first()
        if pipeline is None:
            errors.setdefault("pipeline", []).append(_("Unknown pipeline."))
            return
        deal.pipeline = pipeline
        stage_id = data.get("stage_id")
        stages = Stage.objects.filter(pipeline=pipeline)
        stage = (
            stages.filter(pk=parse_id(stage_id))
            if stage_id
            else stages.filter(kind=StageKind.OPEN).order_by("position")
        ).first()
        if stage is None:
            errors.setdefault("stage", []).append(_("Unknown stage."))
            return
        deal.stage = stage
        if stage.kind != StageKind.OPEN:
            deal.closed_at = timezone.now()


@transaction.atomic
def record_create(*, membership: Membership, model: type, data: dict[str, Any]) -> Any:
    record = model(organization_id=membership.organization_id)
    _apply(model, record, data, membership, creating=True)
    errors: dict[str, list[str]] = {}
    owner_id = data.get("owner_id", membership.user_id if membership.role != Role.ADMIN else None)
    if membership.role == Role.AGENCY_REP:
        owner_id = membership.user_id
    owner, team, agency, ok = resolve_owner(membership, owner_id, errors)
    raise_if(errors)
    if ok:
        record.owner, record.team, record.agency = owner, team, agency
    record.save()
    if data.get("tag_ids"):
        from .config import _valid_tags

        record.tags.set(_valid_tags(membership, data["tag_ids"]))
    activity_log(
        record=record,
        kind=ActivityKind.CREATED,
        actor=membership.user,
        subject=_("%(type)s created") % {"type": model._meta.verbose_name.capitalize()},
    )
    audit_record(
        organization_id=record.organization_id,
        actor=membership.user,
        action=f"{RECORD_TYPE[model]}.create",
        instance=record,
    )
    return record


@transaction.atomic
def record_update(*, membership: Membership, model: type, record_id: int, data: dict[str, Any]) -> Any:
    record = get_visible(model, membership, record_id, for_update=True)
    if model is Deal and ("stage_id" in data or "pipeline_id" in data):
        raise ValidationError(fields={"stage": [_("Use the move-stage operation to change the stage.")]})
    before = snapshot(record)
    _apply(model, record, data, membership, creating=False)
    record.save()
    if data.get("tag_ids") is not None:
        from .config import _valid_tags

        record.tags.set(_valid_tags(membership, data["tag_ids"]))
    changes = diff(before, snapshot(record))
    if changes:
        audit_record(
            organization_id=record.organization_id,
            actor=membership.user,
            action=f"{RECORD_TYPE[model]}.update",
            instance=record,
            changes=changes,
        )
    return record


@transaction.atomic
def record_assign(
    *,
    membership: Membership,
    model: type,
    record_id: int,
    owner_id: int | None = None,
    agency_id: int | None = None,
) -> Any:
    record = get_visible(model, membership, record_id, for_update=True)
    return _assign_record(membership, record, owner_id=owner_id, agency_id=agency_id)


@transaction.atomic
def record_delete(*, membership: Membership, model: type, record_id: int) -> None:
    record = get_visible(model, membership, record_id, for_update=True)
    if not can_delete_records(membership) and record.owner_id != membership.user_id:
        raise PermissionDenied(_("You can delete only your own records."))
    audit_record(
        organization_id=record.organization_id,
        actor=membership.user,
        action=f"{RECORD_TYPE[model]}.delete",
        instance=record,
        changes={k: [v, None] for k, v in snapshot(record).items() if v not in (None, "", {})},
    )
    record.delete()


@transaction.atomic
def deal_move_stage(*, membership: Membership, deal_id: int, stage_id: int, lost_reason: str = "") -> Deal:
    """Move a deal to a stage of its pipeline; won/lost stages close it, open stages reopen it."""
    deal = get_visible(Deal, membership, deal_id, for_update=True)
    stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, pk=stage_id).first() if str(stage_id).isdigit() else None
    if stage is None:
        raise ValidationError(fields={"stage": [_("Choose a stage of this deal's pipeline.")]})
    if stage.pk == deal.stage_id:
        return deal
    old = deal.stage
    if stage.kind == StageKind.LOST and not (lost_reason or "").strip():
        raise ValidationError(fields={"lost_reason": [_("Say why the deal was lost.")]})
    deal.stage = stage
    deal.closed_at = timezone.now() if stage.kind != StageKind.OPEN else None
    deal.lost_reason = (lost_reason or "").strip()[:255] if stage.kind == StageKind.LOST else ""
    deal.save(update_fields=["stage", "closed_at", "lost_reason", "updated_at"])
    activity_log(
        record=deal,
        kind=ActivityKind.STAGE_CHANGE,
        actor=membership.user,
        subject=f"{old.name} → {stage.name}",
        body=deal.lost_reason,
        data={"from": old.pk, "to": stage.pk, "kind": stage.kind},
    )
    audit_record(
        organization_id=deal.organization_id,
        actor=membership.user,
        action=f"deal.stage.{stage.kind}",
        instance=deal,
        changes={"stage_id": [old.pk, stage.pk]},
    )
    if stage.kind == StageKind.WON:
        emit_deal_won(deal)
    return deal


def _stage_of_kind(deal: Deal, kind: str) -> Stage:
    stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=kind).order_by("position").first()
    if stage is None:
        raise Conflict(_("This pipeline has no %(kind)s stage.") % {"kind": StageKind(kind).label})
    return stage


@transaction.atomic
def deal_mark_won(*, membership: Membership, deal_id: int) -> Deal:
    deal = get_visible(Deal, membership, deal_id)
    return deal_move_stage(membership=membership, deal_id=deal.pk, stage_id=_stage_of_kind(deal, StageKind.WON).pk)


@transaction.atomic
def deal_mark_lost(*, membership: Membership, deal_id: int, reason: str) -> Deal:
    deal = get_visible(Deal, membership, deal_id)
    return deal_move_stage(
        membership=membership,
        deal_id=deal.pk,
        stage_id=_stage_of_kind(deal, StageKind.LOST).pk,
        lost_reason=reason,
    )
