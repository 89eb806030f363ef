"""Merging two leads into one, and undoing a merge.

The survivor keeps its id and takes, field by field, the value the person chose (by default its own,
or the other's where its own is empty; notes are kept from both). Everything that points at the
merged lead — timeline entries, tasks, and whatever later apps link to leads (calls, meetings,
orders) — is moved to the survivor; tags are joined. The merged lead is then deleted, kept whole in
the `LeadMerge` row, so an undo brings it back with its id, its tags and everything that was moved,
and puts back the survivor's fields the merge changed (unless someone has changed them since). The
copy is personal data kept only for the undo: `merge_copies_erase` erases it `MERGE_UNDO_KEEP_DAYS`
after the merge, or once the merge is undone.
Reverse relations declared with `related_name="+"` are bookkeeping (duplicate pairs, merges) and are
not moved.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import serializers
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.core.text import company_search_key
from insidesales.crm.models import Activity, ActivityKind, Lead, LeadStatus, Tag
from insidesales.crm.services.activities import activity_log
from insidesales.crm.services.common import get_visible, name_keys, parse_id
from insidesales.crm.services.leads import LEAD_EDITABLE
from insidesales.imports.duplicates import can_review, scan_request
from insidesales.imports.models import DuplicatePair, LeadMerge, PairStatus
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record
from insidesales.orgs.visibility import can_delete_records, visible_records

# Fields a person picks between: the lead's editable fields; a phone brings its typed spelling along.
CHOOSABLE = LEAD_EDITABLE
CARRIED = {"phone": ("phone", "phone_raw")}
# Keys of LeadMerge.relinked that are not relations: merges that followed the merged lead to the
# survivor, and the merged lead's "not duplicates" pairs (restored by an undo).
FOLLOWED, DISMISSED, TAG_ROWS = "_merges", "_dismissed_pairs", "_tag_rows"
SURVIVOR, OTHER, BOTH = "survivor", "other", "both"


def merge_defaults(survivor: Lead, other: Lead) -> dict[str, str]:
    """The choice offered first: the survivor's value, the other's where the survivor has none,
    both notes when they differ."""
    choices = {}
    for name in CHOOSABLE:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if name == "notes" and mine and theirs and mine.strip() != theirs.strip():
            choices[name] = BOTH
        else:
            choices[name] = OTHER if (not mine and theirs) else SURVIVOR
    return choices


def merged_values(survivor: Lead, other: Lead, choices: dict[str, str]) -> dict[str, Any]:
    """What the survivor's fields become under these choices (only fields that change)."""
    values: dict[str, Any] = {}
    for name in CHOOSABLE:
        choice = choices.get(name) or merge_defaults(survivor, other)[name]
        if choice == OTHER:
            for carried in CARRIED.get(name, (name,)):
                values[carried] = getattr(other, carried)
        elif choice == BOTH and name == "notes":
            parts = [part for part in (survivor.notes.strip(), other.notes.strip()) if part]
            values[name] = "\n\n".join(dict.fromkeys(parts))
    custom = dict(other.custom or {})
    custom.update({key: value for key, value in (survivor.custom or {}).items() if value not in (None, "")})
    values["custom"] = custom
    if survivor.owner_id is None and survivor.agency_id is None and (other.owner_id or other.agency_id):
        values.update(owner_id=other.owner_id, team_id=other.team_id, agency_id=other.agency_id)
    return {name: value for name, value in values.items() if getattr(survivor, name) != value}


def _check_choices(choices: dict[str, str]) -> None:
    errors = {}
    for name, choice in choices.items():
        if name not in CHOOSABLE:
            errors[name] = [_("This field cannot be chosen in a merge.")]
        elif choice not in (SURVIVOR, OTHER) and not (name == "notes" and choice == BOTH):
            errors[name] = [_("Choose the value of one of the two leads.")]
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)


def _links() -> list[tuple[str, Any, str]]:
    """(label, model, field name) of every relation that points at a lead and follows a merge."""
    return [
        (f"{rel.related_model._meta.label_lower}.{rel.field.name}", rel.related_model, rel.field.name)
        for rel in Lead._meta.related_objects
        if rel.one_to_many and not rel.hidden
    ]


def _lock_pair(membership: Membership, survivor_id: Any, other_id: Any) -> tuple[Lead, Lead]:
    """Both leads, visible to the member, row-locked in id order (two opposite merges of one pair
    then wait for each other instead of deadlocking)."""
    survivor_pk, other_pk = parse_id(survivor_id), parse_id(other_id)
    if survivor_pk is None or other_pk is None:
        raise NotFound()
    if survivor_pk == other_pk:
        get_visible(Lead, membership, survivor_pk)
        raise ValidationError(_("A lead cannot be merged with itself."))
    rows = visible_records(Lead.objects.all(), membership).filter(pk__in=[survivor_pk, other_pk])
    found = {lead.pk: lead for lead in rows.select_for_update().order_by("pk")}
    if len(found) != 2:
        raise NotFound()
    return found[survivor_pk], found[other_pk]


@transaction.atomic
def lead_merge(
    *, membership: Membership, survivor_id: Any, other_id: Any, choices: dict[str, str] | None = None
) -> LeadMerge:
    """Merge lead `other_id` into lead `survivor_id` (both must be visible to the member)."""
    survivor, other = _lock_pair(membership, survivor_id, other_id)
    if not can_review(membership):
        raise PermissionDenied(_("Your role does not merge leads."))
    if survivor.pk == other.pk:
        raise ValidationError(_("A lead cannot be merged with itself."))
    if not can_delete_records(membership) and other.owner_id != membership.user_id:
        raise PermissionDenied(_("You can merge away only your own leads; keep this one instead."))
    if other.status == LeadStatus.CONVERTED:
        if survivor.status == LeadStatus.CONVERTED:
            raise Conflict(_("Both leads have been converted; merge their contacts instead."))
        raise ValidationError(_("A converted lead cannot be merged away: keep it and merge the other into it."))
    choices = dict(choices or {})
    _check_choices(choices)

    merged_json = serializers.serialize("json", [other])
    other_name = other.full_name or other.email or f"#{other.pk}"
    values = merged_values(survivor, other, choices)
    changes = {name: [_plain(getattr(survivor, name)), _plain(value)] for name, value in values.items()}
    for name, value in values.items():
        setattr(survivor, name, value)
    survivor.name_key, survivor.name_rev_key = name_keys(survivor.first_name, survivor.last_name)
    survivor.company_key = company_search_key(survivor.company_name)
    survivor.save()

    own_tags = set(survivor.tags.values_list("pk", flat=True))
    added_tags = sorted(set(other.tags.values_list("pk", flat=True)) - own_tags)
    tag_rows = []
    if added_tags:
        survivor.tags.add(*added_tags)
        # The link rows made here: undo removes these, not a tag someone removed and added again since.
        through = Lead.tags.through
        tag_rows = list(through.objects.filter(lead_id=survivor.pk, tag_id__in=added_tags).values_list("pk", flat=True))
    relinked = {}
    for label, model, field in _links():
        rows = model._base_manager.filter(**{field: other.pk})
        ids = list(rows.values_list("pk", flat=True))
        if ids:
            model._base_manager.filter(pk__in=ids).update(**{field: survivor.pk})
            relinked[label] = ids
    # Earlier merges into the lead merged away now live on in the survivor: they follow it, so they
    # can still be undone (and this merge's undo hands them back).
    earlier = list(LeadMerge.objects.filter(survivor_id=other.pk, undone_at__isnull=True).values_list("pk", flat=True))
    LeadMerge.objects.filter(pk__in=earlier).update(survivor_id=survivor.pk)
    # Their tags now live on in the link rows this merge made (a tag the survivor had already is its
    # own, not theirs to take back).
    made = dict(Lead.tags.through.objects.filter(pk__in=tag_rows).values_list("tag_id", "pk"))
    _retarget_tag_rows(earlier, made)
    pairs = DuplicatePair.objects.filter(organization_id=survivor.organization_id).filter(
        Q(left_id=other.pk) | Q(right_id=other.pk)
    )
    dismissed = [
        [pair.left_id, pair.right_id, pair.score, pair.reasons, pair.group, pair.decided_by_id]
        for pair in pairs.filter(status=PairStatus.DISMISSED)
    ]
    merge = LeadMerge.objects.create(
        organization_id=survivor.organization_id,
        actor=membership.user,
        survivor=survivor,
        merged_id=other.pk,
        merged_name=other_name[:255],
        merged=merged_json,
        changes=changes,
        added_tags=added_tags,
        relinked={**relinked, FOLLOWED: earlier, DISMISSED: dismissed, TAG_ROWS: tag_rows},
    )
    pairs.delete()
    other.delete()
    activity_log(
        record=survivor,
        kind=ActivityKind.MERGE,
        actor=membership.user,
        subject=f"Merged with {other_name}"[:255],
        data={"event": "merged", "merge_id": merge.pk, "other_id": merge.merged_id, "other_name": other_name},
    )
    audit_record(
        organization_id=survivor.organization_id,
        actor=membership.user,
        action="lead.merge",
        instance=survivor,
        changes={**changes, "merged_lead": [merge.merged_id, None]},
    )
    return merge


def _retarget_tag_rows(merge_ids: list[int], rows_by_tag: dict[int, int]) -> None:
    """Point the recorded tag link rows of these merges at the rows their tags now live in."""
    for earlier in LeadMerge.objects.filter(pk__in=merge_ids):
        if TAG_ROWS in earlier.relinked:
            earlier.relinked[TAG_ROWS] = [rows_by_tag[t] for t in earlier.added_tags if t in rows_by_tag]
            earlier.save(update_fields=["relinked"])


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, dict, list)) or value is None else str(value)


def _restore(merge: LeadMerge) -> Lead:
    """The merged lead, saved again from its copy with its id: checked to be that lead of this
    organization; links to a user, team or agency removed since are left empty, unknown fields skipped."""
    restored = next(iter(serializers.deserialize("json", merge.merged, ignorenonexistent=True)))
    lead = restored.object
    if not isinstance(lead, Lead) or lead.pk != merge.merged_id or lead.organization_id != merge.organization_id:
        raise Conflict(_("The copy of the merged lead does not match this merge; it cannot be undone."))
    for name in ("owner", "team", "agency"):
        related = Lead._meta.get_field(name).related_model
        if getattr(lead, f"{name}_id") and not related.objects.filter(pk=getattr(lead, f"{name}_id")).exists():
            setattr(lead, f"{name}_id", None)
    tags = restored.m2m_data.get("tags", [])
    restored.m2m_data["tags"] = list(
        Tag.objects.filter(organization_id=merge.organization_id, pk__in=tags).values_list("pk", flat=True)
    )
    restored.save()
    return Lead.objects.get(pk=merge.merged_id)


def merge_get(*, membership: Membership, merge_id: Any) -> LeadMerge:
    """A merge the member may see: its survivor is visible to them."""
    try:
        pk = int(merge_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    merge = LeadMerge.objects.filter(organization_id=membership.organization_id, pk=pk).first()
    if merge is None or merge.survivor_id is None or not can_review(membership):
        raise NotFound()
    get_visible(Lead, membership, merge.survivor_id)
    return merge


def merge_list(*, membership: Membership, limit: int = 20) -> list[LeadMerge]:
    """Recent merges whose survivor the member can see."""
    if not can_review(membership):
        return []
    leads = visible_records(Lead.objects.all(), membership).values("pk")
    return list(
        LeadMerge.objects.filter(organization_id=membership.organization_id, survivor__in=leads)
        .select_related("survivor", "actor")
        .order_by("-created_at", "-id")[:limit]
    )


@transaction.atomic
def merge_undo(*, membership: Membership, merge_id: Any) -> LeadMerge:
    """Bring the merged lead back with everything that was moved; restore the survivor's fields the
    merge set, except those changed since (those keep their newer value, listed in the audit row)."""
    merge = merge_get(membership=membership, merge_id=merge_id)
    merge = LeadMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    if merge.erased_at is not None:
        raise Conflict(
            _("This merge is older than %(days)d days: its copy of the merged lead was erased, so it cannot be undone.")
            % {"days": settings.MERGE_UNDO_KEEP_DAYS}
        )
    if merge.actor_id != membership.user_id and not can_delete_records(membership):
        raise PermissionDenied(_("Only the person who merged, a manager or an admin can undo a merge."))
    survivor = get_visible(Lead, membership, merge.survivor_id, for_update=True)
    if Lead.objects.filter(pk=merge.merged_id).exists():
        raise Conflict(_("The merged lead exists again; this merge cannot be undone."))

    lead = _restore(merge)
    # The lead comes back with its owner, team and agency: it must be in the undoer's scope too.
    if not visible_records(Lead.objects.filter(pk=lead.pk), membership).exists():
        raise NotFound()

    kept = {}
    for name, (before, after) in merge.changes.items():
        if name == "phone_raw":
            continue  # travels with the phone
        if _plain(getattr(survivor, name)) == after:
            setattr(survivor, name, before)
            if name == "phone" and "phone_raw" in merge.changes:
                survivor.phone_raw = merge.changes["phone_raw"][0]
        else:
            kept[name] = _plain(getattr(survivor, name))
    survivor.name_key, survivor.name_rev_key = name_keys(survivor.first_name, survivor.last_name)
    survivor.company_key = company_search_key(survivor.company_name)
    survivor.save()
    if TAG_ROWS in merge.relinked:
        Lead.tags.through.objects.filter(pk__in=merge.relinked[TAG_ROWS], lead_id=survivor.pk).delete()
    elif merge.added_tags:  # merges made before the link rows were kept
        survivor.tags.remove(*merge.added_tags)
    models = {label: (model, field) for label, model, field in _links()}
    for label, ids in merge.relinked.items():
        if label in models:
            model, field = models[label]
            model._base_manager.filter(pk__in=ids, **{field: survivor.pk}).update(**{field: lead.pk})
    followed = merge.relinked.get(FOLLOWED, [])
    LeadMerge.objects.filter(pk__in=followed, survivor_id=survivor.pk).update(survivor_id=lead.pk)
    # The merges handed back take back their tags from the restored lead's (new) link rows.
    restored_rows = dict(Lead.tags.through.objects.filter(lead_id=lead.pk).values_list("tag_id", "pk"))
    _retarget_tag_rows(followed, restored_rows)
    for left, right, score, reasons, group, decided_by in merge.relinked.get(DISMISSED, []):
        if Lead.objects.filter(pk__in=[left, right]).count() == 2:
            DuplicatePair.objects.get_or_create(
                organization_id=merge.organization_id,
                left_id=left,
                right_id=right,
                defaults={
                    "score": score,
                    "reasons": reasons,
                    "group": group,
                    "status": PairStatus.DISMISSED,
                    "decided_by_id": decided_by,
                },
            )
    Activity.objects.filter(
        lead_id=survivor.pk, kind=ActivityKind.MERGE, data__merge_id=merge.pk, data__event="merged"
    ).update(
        data={
            "event": "merged",
            "merge_id": merge.pk,
            "other_id": lead.pk,
            "other_name": merge.merged_name,
            "undone": True,
        }
    )
    merge.undone_at = timezone.now()
    merge.undone_by = membership.user
    merge.save(update_fields=["undone_at", "undone_by", "updated_at"])
    data = {"event": "undone", "merge_id": merge.pk}
    activity_log(
        record=survivor,
        kind=ActivityKind.MERGE,
        actor=membership.user,
        subject=f"Merge with {merge.merged_name} undone"[:255],
        data={**data, "other_id": lead.pk, "other_name": merge.merged_name},
    )
    activity_log(
        record=lead,
        kind=ActivityKind.MERGE,
        actor=membership.user,
        subject=f"Merge into {survivor} undone"[:255],
        data={**data, "other_id": survivor.pk, "other_name": str(survivor)},
    )
    audit_record(
        organization_id=merge.organization_id,
        actor=membership.user,
        action="lead.merge_undo",
        instance=survivor,
        changes={"merged_lead": [None, lead.pk], **({"kept_newer": [None, kept]} if kept else {})},
    )
    scan_request(organization_id=merge.organization_id, requested_by=membership.user)
    return merge


def merge_copies_erase(now: Any = None) -> int:
    """Erase the copy of the merged lead and the kept lead's values from before, of merges older than
    MERGE_UNDO_KEEP_DAYS and of undone merges (the lead is back; the copy is a stale duplicate of it).
    The merge stays as history (who, when, which fields, what moved); its timeline entry loses the
    undo button. Returns how many merges were erased."""
    import datetime as dt

    now = now or timezone.now()
    before = now - dt.timedelta(days=settings.MERGE_UNDO_KEEP_DAYS)
    due = Q(erased_at__isnull=True) & (Q(created_at__lt=before) | Q(undone_at__isnull=False))
    erased = 0
    for merge in LeadMerge.objects.filter(due).only("pk", "survivor_id", "changes"):
        with transaction.atomic():
            claimed = LeadMerge.objects.filter(due, pk=merge.pk).update(
                erased_at=now,
                merged="",
                changes={name: [None, after] for name, (_before, after) in (merge.changes or {}).items()},
            )
            if not claimed:  # undone or erased meanwhile
                continue
            # The entry is on the kept lead's timeline; both move together along chained merges.
            entries = Activity.objects.filter(
                lead_id=merge.survivor_id,
                kind=ActivityKind.MERGE,
                data__merge_id=merge.pk,
                data__event="merged",
            )
            for entry in entries:
                entry.data = {**entry.data, "expired": True}
                entry.save(update_fields=["data"])
            erased += 1
    return erased
