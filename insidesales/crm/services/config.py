"""Organization configuration: tags, custom fields, saved views, pipelines; and bulk actions on records."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.crm.models import (
    CustomField,
    CustomFieldType,
    Lead,
    Pipeline,
    RecordType,
    SavedView,
    Stage,
    StageKind,
    Tag,
)
from insidesales.orgs.models import Membership, Organization, Role, Team
from insidesales.orgs.services import audit_record, require_admin
from insidesales.orgs.visibility import managed_team_ids, visible_records

from .common import parse_id, raise_if

# Ids beyond a 64-bit integer cannot exist; the database drivers refuse them outright.
MAX_ID = 2**63

DEFAULT_STAGES = [
    ("Discovery", StageKind.OPEN, 10),
    ("Demo", StageKind.OPEN, 30),
    ("Proposal", StageKind.OPEN, 60),
    ("Negotiation", StageKind.OPEN, 80),
    ("Won", StageKind.WON, 100),
    ("Lost", StageKind.LOST, 0),
]


def pipeline_create_default(*, organization: Organization) -> Pipeline:
    pipeline = Pipeline.objects.create(organization=organization, name="Sales", is_default=True)
    Stage.objects.bulk_create(
        Stage(organization=organization, pipeline=pipeline, name=name, kind=kind, probability=p, position=i)
        for i, (name, kind, p) in enumerate(DEFAULT_STAGES)
    )
    return pipeline


@transaction.atomic
def pipeline_create(*, membership: Membership, name: str, stages: list[dict[str, Any]]) -> Pipeline:
    """A pipeline with its stages; it needs at least one open, one won and one lost stage."""
    require_admin(membership)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("This field is required."))
    kinds = {s.get("kind") for s in stages}
    if not {StageKind.OPEN, StageKind.WON, StageKind.LOST} <= kinds:
        errors.setdefault("stages", []).append(_("A pipeline needs open, won and lost stages."))
    for s in stages:
        if s.get("kind") not in StageKind.values or not str(s.get("name", "")).strip():
            errors.setdefault("stages", []).append(_("Every stage needs a name and a kind."))
            break
        if not 0 <= int(s.get("probability", 0)) <= 100:
            errors.setdefault("stages", []).append(_("Probability is between 0 and 100."))
            break
    if Pipeline.objects.filter(organization_id=membership.organization_id, name=name).exists():
        errors.setdefault("name", []).append(_("A pipeline with this name exists."))
    raise_if(errors)
    pipeline = Pipeline.objects.create(organization_id=membership.organization_id, name=name)
    Stage.objects.bulk_create(
        Stage(
            organization_id=membership.organization_id,
            pipeline=pipeline,
            name=str(s["name"]).strip()[:100],
            kind=s["kind"],
            probability=int(s.get("probability", 0)),
            position=i,
        )
        for i, s in enumerate(stages)
    )
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="pipeline.create",
        instance=pipeline,
    )
    return pipeline


def _valid_tags(membership: Membership, tag_ids: list[Any]) -> list[Tag]:
    # A malformed id is an unknown tag, not one to skip silently (that would clear the record's tags).
    try:
        ids = [int(str(t)) for t in tag_ids]
    except ValueError as exc:
        raise ValidationError(fields={"tags": [_("Unknown tag.")]}) from exc
    if any(abs(i) >= MAX_ID for i in ids):
        raise ValidationError(fields={"tags": [_("Unknown tag.")]})
    tags = list(Tag.objects.filter(organization_id=membership.organization_id, pk__in=ids))
    if len(tags) != len(set(ids)):
        raise ValidationError(fields={"tags": [_("Unknown tag.")]})
    return tags


@transaction.atomic
def tag_create(*, membership: Membership, name: str, color: str = "#64748b") -> Tag:
    name = (name or "").strip()[:64]
    if not name:
        raise ValidationError(fields={"name": [_("This field is required.")]})
    tag, created = Tag.objects.get_or_create(
        organization_id=membership.organization_id, name=name, defaults={"color": color}
    )
    if created:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="tag.create",
            instance=tag,
        )
    return tag


@transaction.atomic
def custom_field_create(
    *,
    membership: Membership,
    record_type: str,
    label: str,
    field_type: str,
    choices: list[str] | None = None,
    required: bool = False,
    key: str = "",
) -> CustomField:
    require_admin(membership)
    errors: dict[str, list[str]] = {}
    label = (label or "").strip()
    key = slugify(key or label).replace("-", "_")[:50]
    if record_type not in RecordType.values:
        errors.setdefault("record_type", []).append(_("Unknown record type."))
    if field_type not in CustomFieldType.values:
        errors.setdefault("field_type", []).append(_("Unknown type."))
    if not label or not key:
        errors.setdefault("label", []).append(_("Give the field a label in Latin letters or a key."))
    clean_choices = [str(c).strip() for c in (choices or []) if str(c).strip()]
    if field_type == CustomFieldType.CHOICE and not clean_choices:
        errors.setdefault("choices", []).append(_("A choice field needs choices."))
    if CustomField.objects.filter(
        organization_id=membership.organization_id, record_type=record_type, key=key
    ).exists():
        errors.setdefault("key", []).append(_("A field with this key exists."))
    raise_if(errors)
    field = CustomField.objects.create(
        organization_id=membership.organization_id,
        record_type=record_type,
        key=key,
        label=label[:100],
        field_type=field_type,
        choices=clean_choices,
        required=required,
    )
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="custom_field.create",
        instance=field,
    )
    return field


def saved_view_scope(membership: Membership):
    from django.db.models import Q

    teams = list(managed_team_ids(membership))
    if membership.team_id:
        teams.append(membership.team_id)
    return SavedView.objects.filter(organization_id=membership.organization_id).filter(
        Q(owner_id=membership.user_id) | Q(team_id__in=teams)
    )


@transaction.atomic
def saved_view_save(
    *,
    membership: Membership,
    record_type: str,
    name: str,
    filters: dict[str, Any],
    columns: list[str],
    sort: str,
    team_id: int | None = None,
    view_id: int | None = None,
) -> SavedView:
    """Create or overwrite a saved view; sharing with a team requires being in or managing it."""
    from insidesales.crm.filters import FILTERSETS

    errors: dict[str, list[str]] = {}
    name = (name or "").strip()[:100]
    if not name:
        errors.setdefault("name", []).append(_("This field is required."))
    filterset = FILTERSETS.get(record_type)
    if filterset is None:
        raise ValidationError(fields={"record_type": [_("Unknown record type.")]})
    clean_filters = filterset.clean(filters, errors)
    columns = [c for c in columns if c in filterset.columns]
    if sort and sort.lstrip("-") not in filterset.sorts:
        errors.setdefault("sort", []).append(_("Unknown sort."))
    if team_id and parse_id(team_id) is None:
        errors.setdefault("team", []).append(_("Unknown team."))
    elif team_id and int(team_id) not in (set(managed_team_ids(membership)) | {membership.team_id}):
        if membership.role != Role.ADMIN:
            errors.setdefault("team", []).append(_("You can share only with your own team."))
        elif not Team.objects.filter(organization_id=membership.organization_id, pk=team_id).exists():
            # Admins may share with any team — of their own organization only.
            errors.setdefault("team", []).append(_("Unknown team."))
    raise_if(errors)
    if view_id:
        view = SavedView.objects.filter(
            organization_id=membership.organization_id, owner=membership.user, pk=parse_id(view_id)
        ).first()
        if view is None:
            raise NotFound()
    else:
        view = SavedView(organization_id=membership.organization_id, owner=membership.user, record_type=record_type)
    view.name, view.filters, view.columns, view.sort, view.team_id = (
        name,
        clean_filters,
        columns,
        sort,
        team_id or None,
    )
    view.save()
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="saved_view.save",
        instance=view,
    )
    return view


@transaction.atomic
def saved_view_delete(*, membership: Membership, view_id: int) -> None:
    view = SavedView.objects.filter(
        organization_id=membership.organization_id, owner=membership.user, pk=view_id
    ).first()
    if view is None:
        raise NotFound()
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="saved_view.delete",
        instance=view,
    )
    view.delete()


# --- bulk actions ----------------------------------------------------------------------------------

BULK_LIMIT = 1000


def _bulk_targets(membership: Membership, model: type, ids: list[Any]) -> list[int]:
    """Only ids the member can see; any id outside scope makes the whole request a 404 (nothing changes)."""
    try:
        clean = sorted({int(str(i)) for i in ids})
    except ValueError as exc:
        # An id that is not an id cannot be a visible record: refuse the whole request, never skip it.
        raise NotFound() from exc
    if any(abs(i) >= MAX_ID for i in clean):
        raise NotFound()
    if not clean:
        raise ValidationError(fields={"ids": [_("Select at least one record.")]})
    if len(clean) > BULK_LIMIT:
        raise ValidationError(fields={"ids": [_("At most %(n)d records at once.") % {"n": BULK_LIMIT}]})
    visible = set(visible_records(model.objects.all(), membership).filter(pk__in=clean).values_list("pk", flat=True))
    if visible != set(clean):
        raise NotFound()
    return clean


@transaction.atomic
def records_bulk_assign(
    *, membership: Membership, model: type, ids: list[Any], owner_id: int | None, agency_id: int | None = None
) -> int:
    from .leads import _assign_record

    targets = _bulk_targets(membership, model, ids)
    for record in model.objects.select_for_update().filter(pk__in=targets):
        _assign_record(membership, record, owner_id=owner_id, agency_id=agency_id)
    return len(targets)


@transaction.atomic
def records_bulk_tag(*, membership: Membership, model: type, ids: list[Any], tag_id: int, remove: bool = False) -> int:
    targets = _bulk_targets(membership, model, ids)
    tag = _valid_tags(membership, [tag_id])[0]
    through = model.tags.through
    fk = f"{model._meta.model_name}_id"
    if remove:
        through.objects.filter(**{f"{fk}__in": targets, "tag_id": tag.pk}).delete()
    else:
        existing = set(through.objects.filter(**{f"{fk}__in": targets, "tag_id": tag.pk}).values_list(fk, flat=True))
        through.objects.bulk_create([through(**{fk: pk, "tag_id": tag.pk}) for pk in targets if pk not in existing])
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action=f"{model._meta.model_name}.bulk_{'untag' if remove else 'tag'}",
        object_type=model._meta.model_name,
        changes={"ids": [None, targets], "tag": [None, tag.name]},
    )
    return len(targets)


@transaction.atomic
def leads_bulk_status(*, membership: Membership, ids: list[Any], status: str, reason: str = "") -> int:
    from .leads import lead_disqualify, lead_qualify, lead_start_working

    targets = _bulk_targets(membership, Lead, ids)
    verbs = {"working": lead_start_working, "qualified": lead_qualify}
    for pk in targets:
        if status == "disqualified":
            lead_disqualify(membership=membership, lead_id=pk, reason=reason)
        elif status in verbs:
            verbs[status](membership=membership, lead_id=pk)
        else:
            raise ValidationError(fields={"status": [_("Choose working, qualified or disqualified.")]})
    return len(targets)


@transaction.atomic
def records_bulk_delete(*, membership: Membership, model: type, ids: list[Any]) -> int:
    from .records import RECORD_TYPE

    targets = _bulk_targets(membership, model, ids)
    if membership.role not in (Role.ADMIN, Role.MANAGER):
        foreign = model.objects.filter(pk__in=targets).exclude(owner_id=membership.user_id).exists()
        if foreign:
            raise PermissionDenied(_("You can delete only your own records."))
    name = RECORD_TYPE.get(model, "lead")
    for record in model.objects.filter(pk__in=targets):
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action=f"{name}.delete",
            instance=record,
            changes={"bulk": [None, True]},
        )
    model.objects.filter(pk__in=targets).delete()
    return len(targets)
