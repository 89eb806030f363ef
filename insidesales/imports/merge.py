"""Merging two leads, contacts or companies into one, and undoing a merge.

The survivor keeps its id and takes, field by field, the value the person chose (by default its own,
or the other's where its own is empty; notes are kept from both). Everything that points at the
merged record — timeline entries, tasks, a contact's deals, a company's contacts and deals, and
whatever later apps link to records (calls, meetings, orders) — is moved to the survivor; tags are
joined. The merged record is then deleted, kept whole in the merge row (`LeadMerge`, `ContactMerge`,
`CompanyMerge`), so an undo brings it back with its id, its tags and everything that was moved, and
puts back the survivor's fields the merge changed (unless someone has changed them since). The copy
is personal data kept only for the undo: `merge_copies_erase` erases it `MERGE_UNDO_KEEP_DAYS` after
the merge, or once the merge is undone.
Reverse relations declared with `related_name="+"` are bookkeeping (duplicate pairs, merges) and are
not moved, except the converted lead's links to its contact and company (`MergeKind.hidden_links`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.core.text import company_search_key
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Lead, LeadStatus, Tag
from insidesales.crm.services.activities import activity_log
from insidesales.crm.services.common import get_visible, name_keys, parse_id
from insidesales.crm.services.leads import LEAD_EDITABLE
from insidesales.imports.duplicates import KINDS, can_review, scan_request
from insidesales.imports.models import CompanyMerge, ContactMerge, LeadMerge, PairStatus
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record
from insidesales.orgs.visibility import can_delete_records, visible_records

# Fields a person picks between: the lead's editable fields; a phone brings its typed spelling along.
CHOOSABLE = LEAD_EDITABLE
CARRIED = {"phone": ("phone", "phone_raw")}
CONTACT_CHOOSABLE = ("first_name", "last_name", "title", "company", "email", "phone", "country", "time_zone")
COMPANY_CHOOSABLE = ("name", "domain", "industry", "employees", "phone", "country", "city")
# Keys of LeadMerge.relinked that are not relations: merges that followed the merged lead to the
# survivor, and the merged lead's "not duplicates" pairs (restored by an undo).
FOLLOWED, DISMISSED, TAG_ROWS = "_merges", "_dismissed_pairs", "_tag_rows"
SURVIVOR, OTHER, BOTH = "survivor", "other", "both"


def _rekey_lead(lead: Lead) -> None:
    lead.name_key, lead.name_rev_key = name_keys(lead.first_name, lead.last_name)
    lead.company_key = company_search_key(lead.company_name)


def _rekey_contact(contact: Contact) -> None:
    contact.name_key, contact.name_rev_key = name_keys(contact.first_name, contact.last_name)


def _rekey_company(company: Company) -> None:
    company.name_key = company_search_key(company.name)


def _check_leads(survivor: Lead, other: Lead) -> None:
    if other.status == LeadStatus.CONVERTED:
        if survivor.status == LeadStatus.CONVERTED:
            raise Conflict(_("Both leads have been converted; merge their contacts instead."))
        raise ValidationError(_("A converted lead cannot be merged away: keep it and merge the other into it."))


@dataclass(frozen=True)
class MergeKind:
    """What a merge of one kind of record needs to know."""

    key: str  # "lead", "contact", "company": also the name of the timeline's and tag links' column
    model: type
    merge_model: type
    choosable: tuple[str, ...]
    carried: dict[str, tuple[str, ...]]  # a chosen field and the attributes that travel with it
    rekey: Callable[[Any], None]  # recompute the search keys after fields changed
    check: Callable[[Any, Any], None] | None = None  # refuse a merge this kind does not allow
    hidden_links: tuple[tuple[str, str], ...] = ()  # (model label, field): related_name="+" links that follow

    @property
    def pair_model(self) -> type:
        return KINDS[self.key].pair_model

    @property
    def detail_url(self) -> str:
        return f"{self.key}_detail"


MERGE_KINDS: dict[str, MergeKind] = {
    "lead": MergeKind("lead", Lead, LeadMerge, CHOOSABLE, CARRIED, _rekey_lead, _check_leads),
    "contact": MergeKind(
        "contact",
        Contact,
        ContactMerge,
        CONTACT_CHOOSABLE,
        {**CARRIED, "company": ("company_id",)},
        _rekey_contact,
        hidden_links=(("crm.lead", "converted_contact"),),
    ),
    "company": MergeKind(
        "company",
        Company,
        CompanyMerge,
        COMPANY_CHOOSABLE,
        CARRIED,
        _rekey_company,
        hidden_links=(("crm.lead", "converted_company"),),
    ),
}


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds (as JavaScript's dates); an undo must bring the
    merged record back exactly, so times keep their microseconds."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat().replace("+00:00", "Z")
        return super().default(o)


def value_of(record: Any, name: str) -> Any:
    """A field's value as stored (a foreign key's id, not the related row)."""
    return record.serializable_value(name)


def merge_defaults(survivor: Any, other: Any) -> dict[str, str]:
    """The choice offered first: the survivor's value, the other's where the survivor has none,
    both notes when they differ."""
    spec = _kind_of(survivor)
    choices = {}
    for name in spec.choosable:
        mine, theirs = value_of(survivor, name), value_of(other, name)
        if name == "notes" and mine and theirs and mine.strip() != theirs.strip():
            choices[name] = BOTH
        else:
            choices[name] = OTHER if (mine in (None, "") and theirs not in (None, "")) else SURVIVOR
    return choices


def merged_values(survivor: Any, other: Any, choices: dict[str, str]) -> dict[str, Any]:
    """What the survivor's fields become under these choices (only fields that change; keyed by
    attribute, so a chosen company is `company_id`)."""
    spec = _kind_of(survivor)
    defaults = merge_defaults(survivor, other)
    values: dict[str, Any] = {}
    for name in spec.choosable:
        choice = choices.get(name) or defaults[name]
        if choice == OTHER:
            for carried in spec.carried.get(name, (name,)):
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


def _kind_of(record: Any) -> MergeKind:
    return next(spec for spec in MERGE_KINDS.values() if isinstance(record, spec.model))


def _check_choices(spec: MergeKind, choices: dict[str, str]) -> None:
    errors = {}
    for name, choice in choices.items():
        if name not in spec.choosable:
            errors[name] = [_("This field cannot be chosen in a merge.")]
        elif choice not in (SURVIVOR, OTHER) and not (name == "notes" and choice == BOTH):
            errors[name] = [str(_CHOOSE_ONE[spec.key])]
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)


def _links(spec: MergeKind | None = None) -> list[tuple[str, Any, str]]:
    """(label, model, field name) of every relation that points at a record of this kind and follows
    a merge."""
    spec = spec or MERGE_KINDS["lead"]
    links = [
        (f"{rel.related_model._meta.label_lower}.{rel.field.name}", rel.related_model, rel.field.name)
        for rel in spec.model._meta.related_objects
        if rel.one_to_many and not rel.hidden
    ]
    for label, field in spec.hidden_links:
        model = apps.get_model(label)
        links.append((f"{label}.{field}", model, field))
    return links


def _lock_pair(spec: MergeKind, membership: Membership, survivor_id: Any, other_id: Any) -> tuple[Any, Any]:
    """Both records, visible to the member, row-locked in id order (two opposite merges of one pair
    then wait for each other instead of deadlocking)."""
    survivor_pk, other_pk = parse_id(survivor_id), parse_id(other_id)
    if survivor_pk is None or other_pk is None:
        raise NotFound()
    if survivor_pk == other_pk:
        get_visible(spec.model, membership, survivor_pk)
        raise ValidationError(_SELF[spec.key])
    rows = visible_records(spec.model.objects.all(), membership).filter(pk__in=[survivor_pk, other_pk])
    found = {record.pk: record for record in rows.select_for_update().order_by("pk")}
    if len(found) != 2:
        raise NotFound()
    return found[survivor_pk], found[other_pk]


_CHOOSE_ONE = {
    "lead": gettext_lazy("Choose the value of one of the two leads."),
    "contact": gettext_lazy("Choose the value of one of the two contacts."),
    "company": gettext_lazy("Choose the value of one of the two companies."),
}
_SELF = {
    "lead": gettext_lazy("A lead cannot be merged with itself."),
    "contact": gettext_lazy("A contact cannot be merged with itself."),
    "company": gettext_lazy("A company cannot be merged with itself."),
}
_NOT_YOURS = {
    "lead": gettext_lazy("You can merge away only your own leads; keep this one instead."),
    "contact": gettext_lazy("You can merge away only your own contacts; keep this one instead."),
    "company": gettext_lazy("You can merge away only your own companies; keep this one instead."),
}
_ROLE = {
    "lead": gettext_lazy("Your role does not merge leads."),
    "contact": gettext_lazy("Your role does not merge contacts."),
    "company": gettext_lazy("Your role does not merge companies."),
}


def _display_name(record: Any) -> str:
    name = getattr(record, "full_name", None) if not isinstance(record, Company) else record.name
    return name or getattr(record, "email", "") or f"#{record.pk}"


def lead_merge(
    *, membership: Membership, survivor_id: Any, other_id: Any, choices: dict[str, str] | None = None
) -> LeadMerge:
    """Merge lead `other_id` into lead `survivor_id` (both must be visible to the member)."""
    return record_merge(kind="lead", membership=membership, survivor_id=survivor_id, other_id=other_id, choices=choices)


@transaction.atomic
def record_merge(
    *, kind: str, membership: Membership, survivor_id: Any, other_id: Any, choices: dict[str, str] | None = None
) -> Any:
    """Merge record `other_id` into record `survivor_id` of this kind (both visible to the member)."""
    spec = MERGE_KINDS[kind]
    survivor, other = _lock_pair(spec, membership, survivor_id, other_id)
    if not can_review(membership, kind):
        raise PermissionDenied(_ROLE[kind])
    if not can_delete_records(membership) and other.owner_id != membership.user_id:
        raise PermissionDenied(_NOT_YOURS[kind])
    if spec.check:
        spec.check(survivor, other)
    choices = dict(choices or {})
    _check_choices(spec, choices)

    merged_json = serializers.serialize("json", [other], cls=ExactJSONEncoder)
    other_name = _display_name(other)
    values = merged_values(survivor, other, choices)
    changes = {name: [_plain(getattr(survivor, name)), _plain(value)] for name, value in values.items()}
    for name, value in values.items():
        setattr(survivor, name, value)
    spec.rekey(survivor)
    survivor.save()

    through = spec.model.tags.through
    column = f"{kind}_id"
    own_tags = set(survivor.tags.values_list("pk", flat=True))
    added_tags = sorted(set(other.tags.values_list("pk", flat=True)) - own_tags)
    tag_rows = []
    if added_tags:
        survivor.tags.add(*added_tags)
        # The link rows made here: undo removes these, not a tag someone removed and added again since.
        tag_rows = list(
            through.objects.filter(**{column: survivor.pk}, tag_id__in=added_tags).values_list("pk", flat=True)
        )
    relinked = {}
    for label, model, field in _links(spec):
        rows = model._base_manager.filter(**{field: other.pk})
        ids = list(rows.values_list("pk", flat=True))
        if ids:
            model._base_manager.filter(pk__in=ids).update(**{field: survivor.pk})
            relinked[label] = ids
    # Earlier merges into the record merged away now live on in the survivor: they follow it, so they
    # can still be undone (and this merge's undo hands them back).
    merges = spec.merge_model.objects
    earlier = list(merges.filter(survivor_id=other.pk, undone_at__isnull=True).values_list("pk", flat=True))
    merges.filter(pk__in=earlier).update(survivor_id=survivor.pk)
    # Their tags now live on in the link rows this merge made (a tag the survivor had already is its
    # own, not theirs to take back).
    made = dict(through.objects.filter(pk__in=tag_rows).values_list("tag_id", "pk"))
    _retarget_tag_rows(spec, earlier, made)
    pairs = spec.pair_model.objects.filter(organization_id=survivor.organization_id).filter(
        Q(left_id=other.pk) | Q(right_id=other.pk)
    )
    dismissed = [
        [pair.left_id, pair.right_id, pair.score, pair.reasons, pair.group, pair.decided_by_id]
        for pair in pairs.filter(status=PairStatus.DISMISSED)
    ]
    merge = spec.merge_model.objects.create(
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
        data={
            "event": "merged",
            "kind": kind,
            "merge_id": merge.pk,
            "other_id": merge.merged_id,
            "other_name": other_name,
        },
    )
    audit_record(
        organization_id=survivor.organization_id,
        actor=membership.user,
        action=f"{kind}.merge",
        instance=survivor,
        changes={**changes, f"merged_{kind}": [merge.merged_id, None]},
    )
    return merge


def _retarget_tag_rows(spec: MergeKind, merge_ids: list[int], rows_by_tag: dict[int, int]) -> None:
    """Point the recorded tag link rows of these merges at the rows their tags now live in."""
    for earlier in spec.merge_model.objects.filter(pk__in=merge_ids):
        if TAG_ROWS in earlier.relinked:
            earlier.relinked[TAG_ROWS] = [rows_by_tag[t] for t in earlier.added_tags if t in rows_by_tag]
            earlier.save(update_fields=["relinked"])


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, dict, list)) or value is None else str(value)


def _restore(spec: MergeKind, merge: Any) -> Any:
    """The merged record, saved again from its copy with its id: checked to be that record of this
    organization; links to a user, team, agency or company removed since are left empty, unknown
    fields skipped."""
    restored = next(iter(serializers.deserialize("json", merge.merged, ignorenonexistent=True)))
    record = restored.object
    if not isinstance(record, spec.model) or record.pk != merge.merged_id:
        raise Conflict(_("The copy of the merged record does not match this merge; it cannot be undone."))
    if record.organization_id != merge.organization_id:
        raise Conflict(_("The copy of the merged record does not match this merge; it cannot be undone."))
    for field in spec.model._meta.concrete_fields:
        if not field.many_to_one or field.name == "organization":
            continue
        value = getattr(record, field.attname)
        if value and not _link_valid(field, value, merge.organization_id):
            setattr(record, field.attname, None)
    tags = restored.m2m_data.get("tags", [])
    restored.m2m_data["tags"] = list(
        Tag.objects.filter(organization_id=merge.organization_id, pk__in=tags).values_list("pk", flat=True)
    )
    restored.save()
    return spec.model.objects.get(pk=merge.merged_id)


def merge_get(*, membership: Membership, merge_id: Any, kind: str = "lead") -> Any:
    """A merge the member may see: its survivor is visible to them."""
    spec = MERGE_KINDS[kind]
    try:
        pk = int(merge_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    merge = spec.merge_model.objects.filter(organization_id=membership.organization_id, pk=pk).first()
    if merge is None or merge.survivor_id is None or not can_review(membership, kind):
        raise NotFound()
    get_visible(spec.model, membership, merge.survivor_id)
    return merge


def merge_list(*, membership: Membership, limit: int = 20, kind: str = "lead") -> list[Any]:
    """Recent merges whose survivor the member can see."""
    if not can_review(membership, kind):
        return []
    spec = MERGE_KINDS[kind]
    records = visible_records(spec.model.objects.all(), membership).values("pk")
    return list(
        spec.merge_model.objects.filter(organization_id=membership.organization_id, survivor__in=records)
        .select_related("survivor", "actor")
        .order_by("-created_at", "-id")[:limit]
    )


@transaction.atomic
def merge_undo(*, membership: Membership, merge_id: Any, kind: str = "lead") -> Any:
    """Bring the merged record back with everything that was moved; restore the survivor's fields the
    merge set, except those changed since (those keep their newer value, listed in the audit row)."""
    spec = MERGE_KINDS[kind]
    merge = merge_get(membership=membership, merge_id=merge_id, kind=kind)
    merge = spec.merge_model.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    if merge.erased_at is not None:
        raise Conflict(
            _(
                "This merge is older than %(days)d days: its copy of the merged record was erased, so it cannot "
                "be undone."
            )
            % {"days": settings.MERGE_UNDO_KEEP_DAYS}
        )
    if merge.actor_id != membership.user_id and not can_delete_records(membership):
        raise PermissionDenied(_("Only the person who merged, a manager or an admin can undo a merge."))
    survivor = get_visible(spec.model, membership, merge.survivor_id, for_update=True)
    if spec.model.objects.filter(pk=merge.merged_id).exists():
        raise Conflict(_("The merged record exists again; this merge cannot be undone."))

    record = _restore(spec, merge)
    # The record comes back with its owner, team and agency: it must be in the undoer's scope too.
    if not visible_records(spec.model.objects.filter(pk=record.pk), membership).exists():
        raise NotFound()

    kept = {}
    for name, (before, after) in merge.changes.items():
        if name == "phone_raw":
            continue  # travels with the phone
        if _plain(getattr(survivor, name)) == after:
            if name.endswith("_id") and before and not _target_exists(spec, name, before, merge.organization_id):
                kept[name] = _plain(getattr(survivor, name))  # the row it pointed at is gone
                continue
            setattr(survivor, name, before)
            if name == "phone" and "phone_raw" in merge.changes:
                survivor.phone_raw = merge.changes["phone_raw"][0]
        else:
            kept[name] = _plain(getattr(survivor, name))
    spec.rekey(survivor)
    survivor.save()
    through = spec.model.tags.through
    column = f"{kind}_id"
    if TAG_ROWS in merge.relinked:
        through.objects.filter(pk__in=merge.relinked[TAG_ROWS], **{column: survivor.pk}).delete()
    elif merge.added_tags:  # merges made before the link rows were kept
        survivor.tags.remove(*merge.added_tags)
    models = {label: (model, field) for label, model, field in _links(spec)}
    for label, ids in merge.relinked.items():
        if label in models:
            model, field = models[label]
            model._base_manager.filter(pk__in=ids, **{field: survivor.pk}).update(**{field: record.pk})
    followed = merge.relinked.get(FOLLOWED, [])
    spec.merge_model.objects.filter(pk__in=followed, survivor_id=survivor.pk).update(survivor_id=record.pk)
    # The merges handed back take back their tags from the restored record's (new) link rows.
    restored_rows = dict(through.objects.filter(**{column: record.pk}).values_list("tag_id", "pk"))
    _retarget_tag_rows(spec, followed, restored_rows)
    for left, right, score, reasons, group, decided_by in merge.relinked.get(DISMISSED, []):
        if spec.model.objects.filter(pk__in=[left, right]).count() == 2:
            spec.pair_model.objects.get_or_create(
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
    merge_entries(kind, survivor.pk, merge.pk).update(
        data={
            "event": "merged",
            "kind": kind,
            "merge_id": merge.pk,
            "other_id": record.pk,
            "other_name": merge.merged_name,
            "undone": True,
        }
    )
    merge.undone_at = timezone.now()
    merge.undone_by = membership.user
    merge.save(update_fields=["undone_at", "undone_by", "updated_at"])
    data = {"event": "undone", "kind": kind, "merge_id": merge.pk}
    activity_log(
        record=survivor,
        kind=ActivityKind.MERGE,
        actor=membership.user,
        subject=f"Merge with {merge.merged_name} undone"[:255],
        data={**data, "other_id": record.pk, "other_name": merge.merged_name},
    )
    activity_log(
        record=record,
        kind=ActivityKind.MERGE,
        actor=membership.user,
        subject=f"Merge into {survivor} undone"[:255],
        data={**data, "other_id": survivor.pk, "other_name": str(survivor)},
    )
    audit_record(
        organization_id=merge.organization_id,
        actor=membership.user,
        action=f"{kind}.merge_undo",
        instance=survivor,
        changes={f"merged_{kind}": [None, record.pk], **({"kept_newer": [None, kept]} if kept else {})},
    )
    scan_request(organization_id=merge.organization_id, requested_by=membership.user)
    return merge


def merge_entries(kind: str, survivor_id: Any, merge_id: int) -> Any:
    """The "merged" timeline entries of this merge on its kept record. Merge ids are per kind, and a
    converted lead's timeline (lead merges included) is also its contact's: entries say their kind
    (lead merges from before they did are lead merges)."""
    entries = Activity.objects.filter(
        **{f"{kind}_id": survivor_id}, kind=ActivityKind.MERGE, data__merge_id=merge_id, data__event="merged"
    )
    if kind == "lead":
        return entries.filter(Q(data__kind="lead") | ~Q(data__has_key="kind"))
    return entries.filter(data__kind=kind)


def _link_valid(field: Any, pk: Any, organization_id: int) -> bool:
    """Whether a restored link may point at this row: it still exists and is of the organization (a
    user: a member of it)."""
    related = field.related_model
    if related is Membership.user.field.related_model:
        return Membership.objects.filter(user_id=pk, organization_id=organization_id).exists()
    rows = related._base_manager.filter(pk=pk)
    if any(f.name == "organization" for f in related._meta.concrete_fields):
        rows = rows.filter(organization_id=organization_id)
    return rows.exists()


def _target_exists(spec: MergeKind, attname: str, pk: Any, organization_id: int) -> bool:
    field = next(f for f in spec.model._meta.concrete_fields if f.attname == attname)
    return _link_valid(field, pk, organization_id)


def merge_copies_erase(now: Any = None) -> int:
    """Erase the copy of the merged record and the kept record's values from before, of merges older
    than MERGE_UNDO_KEEP_DAYS and of undone merges (the record is back; the copy is a stale duplicate
    of it). The merge stays as history (who, when, which fields, what moved); its timeline entry loses
    the undo button. Returns how many merges were erased."""
    now = now or timezone.now()
    before = now - dt.timedelta(days=settings.MERGE_UNDO_KEEP_DAYS)
    due = Q(erased_at__isnull=True) & (Q(created_at__lt=before) | Q(undone_at__isnull=False))
    erased = 0
    for kind, spec in MERGE_KINDS.items():
        for merge in spec.merge_model.objects.filter(due).only("pk", "survivor_id", "changes"):
            with transaction.atomic():
                claimed = spec.merge_model.objects.filter(due, pk=merge.pk).update(
                    erased_at=now,
                    merged="",
                    changes={name: [None, after] for name, (_before, after) in (merge.changes or {}).items()},
                )
                if not claimed:  # undone or erased meanwhile
                    continue
                # The entry is on the kept record's timeline; both move together along chained merges.
                for entry in merge_entries(kind, merge.survivor_id, merge.pk):
                    entry.data = {**entry.data, "expired": True}
                    entry.save(update_fields=["data"])
                erased += 1
    return erased
