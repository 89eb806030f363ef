"""Every read of records, scoped to the acting membership through `orgs.visibility`."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

from django.db import connection, connections, router
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.compiled import prepared_statements
from insidesales.core.errors import NotFound, ValidationError
from insidesales.core.lookups import prefix_operator, prefix_pattern
from insidesales.core.pagination import Page, paginate
from insidesales.crm.filters import MODEL_FILTERSETS, apply_search, is_name_search, name_search_keys
from insidesales.crm.models import (
    Activity,
    Company,
    Contact,
    CustomField,
    Deal,
    Lead,
    Pipeline,
    SavedView,
    Stage,
    Tag,
    Task,
)
from insidesales.crm.services.activities import RECORD_FIELD, _task_scope
from insidesales.crm.services.config import saved_view_scope
from insidesales.orgs.models import Membership
from insidesales.orgs.visibility import visible_records

LIST_RELATED = {
    Lead: ("owner",),
    Contact: ("owner", "company"),
    Company: ("owner",),
    Deal: ("owner", "company", "stage"),
}


def record_queryset(*, membership: Membership, model: type) -> QuerySet:
    return visible_records(model.objects.all(), membership)


def record_list(
    *,
    membership: Membership,
    model: type,
    filters: dict[str, Any] | None = None,
    sort: str = "",
    cursor: str | None = None,
    limit: int = 50,
    with_tags: bool = True,
) -> Page:
    """A page of visible records matching cleaned filters, in keyset order (no counts, no offsets)."""
    filterset = MODEL_FILTERSETS[model]
    sort = sort or filterset.default_sort
    if sort.lstrip("-") not in filterset.sorts:
        raise ValidationError(fields={"sort": [_("Unknown sort.")]})
    queryset = with_list_related(
        filterset.apply(record_queryset(membership=membership, model=model), filters or {}, membership), model
    )
    page = paginate(queryset, order=sort, cursor=cursor, limit=limit)
    attach_owners(page.items, membership)
    if with_tags:
        attach_tags(page.items, model)
    return page


def with_list_related(queryset: QuerySet, model: type) -> QuerySet:
    """`queryset` joined to the relations a list row shows, except the owner (`attach_owners`). Never
    `select_related()` with no names: that follows every non-null foreign key (for leads, a join to the
    organization and an Organization built per row)."""
    related = [name for name in LIST_RELATED[model] if name != "owner"]
    return queryset.select_related(*related) if related else queryset


def attach_owners(records: list[Any], membership: Membership, field: str = "owner") -> None:
    """Set `record.<field>` (a user: owner, actor, assignee) on a page of records from the
    organization's people, remembered per directory version (a join to the users table made every row
    carry and convert a dozen user columns). Users who are not members any more are read in one query."""
    from insidesales.orgs.directory import remembered
    from insidesales.orgs.models import User

    if not records:
        return
    attname = f"{field}_id"
    wanted = {getattr(record, attname) for record in records} - {None}
    model_field = records[0]._meta.get_field(field)
    if not wanted:
        for record in records:
            model_field.set_cached_value(record, None)
        return
    organization_id = membership.organization_id
    # The same for every member (looked up by the ids of records the member already sees): kept
    # once per organization, not once per member.
    people = remembered(
        membership,
        "people_by_id",
        lambda: {
            user.pk: user for user in User.objects.filter(memberships__organization_id=organization_id).distinct()
        },
        shared=True,
    )
    missing = wanted - people.keys()
    others = User.objects.in_bulk(missing) if missing else {}
    for record in records:
        value = getattr(record, attname)
        model_field.set_cached_value(record, None if value is None else people.get(value) or others.get(value))


def attach_tags(records: list[Any], model: type) -> None:
    """Set `record.tag_list` (tags by name) on each of a page of records, in one query.

    `prefetch_related("tags")` builds a related manager and a queryset per record, which costs more
    than the query itself; a page only needs each record's (id, name, colour).
    """
    if not records:
        return
    through = model.tags.through
    by_record: dict[int, list[Tag]] = {record.pk: [] for record in records}
    tags: dict[int, Tag] = {}
    alias = router.db_for_read(through)
    # Prepared on PostgreSQL, so a few statement texts only: the id list is padded (with its first id,
    # which IN ignores) to the next of TAG_QUERY_SIZES.
    ids = list(by_record)
    size = next((n for n in TAG_QUERY_SIZES if n >= len(ids)), len(ids))
    ids += [ids[0]] * (size - len(ids))
    with prepared_statements(connections[alias]), connections[alias].cursor() as cursor:
        cursor.execute(_tags_sql(through, alias, size), ids)
        rows = cursor.fetchall()
    for record_id, tag_id, name, color in rows:
        tag = tags.get(tag_id)
        if tag is None:
            tag = tags[tag_id] = Tag(id=tag_id, name=name, color=color)
        by_record[record_id].append(tag)
    for record in records:
        record.tag_list = by_record[record.pk]


TAG_QUERY_SIZES = (1, 2, 4, 8, 16, 25, 50, 100, 200)


@functools.lru_cache(maxsize=512)
def _tags_sql(through: type, alias: str, count: int) -> str:
    """The tags of `count` records, by tag name: the SQL the ORM writes for
    `through.objects.filter(<record>_id__in=ids).order_by("tag__name", "tag_id")
    .values_list("<record>_id", "tag_id", "tag__name", "tag__color")`, kept per page size (compiling
    that queryset cost a millisecond of every list page; a test compares the two)."""
    quote = connections[alias].ops.quote_name
    record_field = next(f for f in through._meta.fields if f.is_relation and f.related_model is not Tag)
    tag_field = through._meta.get_field("tag")
    link, tags = quote(through._meta.db_table), quote(Tag._meta.db_table)
    record, tag = f"{link}.{quote(record_field.column)}", f"{link}.{quote(tag_field.column)}"
    name, color, pk = (f"{tags}.{quote(Tag._meta.get_field(n).column)}" for n in ("name", "color", "id"))
    return (
        f"SELECT {record}, {tag}, {name}, {color} FROM {link} INNER JOIN {tags} ON ({tag} = {pk})"
        f" WHERE {record} IN ({', '.join(['%s'] * count)}) ORDER BY {name} ASC, {tag} ASC"
    )


def record_tags(record: Any) -> list[Tag]:
    """A record's tags by name: the ones `attach_tags` set, else read now."""
    tag_list = getattr(record, "tag_list", None)
    return tag_list if tag_list is not None else list(record.tags.all())


def record_get(*, membership: Membership, model: type, record_id: Any):
    """One visible record, with what its detail page shows; NotFound when out of scope (one query, as
    `get_visible` would check it, plus the tags).

    The owner, team and agency come from the organization's directory remembered per version, and
    the tags from kept SQL (`attach_tags`, read as `record_tags(record)`): joining three tables and
    prefetching the tags through the ORM cost more than the rest of the query.
    """
    try:
        pk = int(record_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    related = [r for r in ("company", "contact", "stage", "pipeline") if hasattr(model, r)]
    queryset = visible_records(model.objects.all(), membership)
    if related:
        queryset = queryset.select_related(*related)
    record = queryset.filter(pk=pk).first()
    if record is None:
        raise NotFound()
    attach_owners([record], membership)
    attach_teams_and_agencies([record], membership)
    attach_tags([record], model)
    return record


def attach_teams_and_agencies(records: list[Any], membership: Membership) -> None:
    """Set `record.team` and `record.agency` from the organization's teams and agencies remembered per
    directory version (kept once per organization, as the owners are)."""
    from insidesales.orgs.directory import remembered
    from insidesales.orgs.models import Agency, Team

    organization_id = membership.organization_id
    for name, model in (("team", Team), ("agency", Agency)):
        wanted = {getattr(record, f"{name}_id") for record in records} - {None}
        if not wanted:
            continue
        known = remembered(
            membership,
            f"{name}_by_id",
            lambda model=model: {row.pk: row for row in model.objects.filter(organization_id=organization_id)},
            shared=True,
        )
        missing = wanted - known.keys()
        others = model.objects.in_bulk(missing) if missing else {}
        field = records[0]._meta.get_field(name)
        for record in records:
            value = getattr(record, f"{name}_id")
            if value is not None:
                field.set_cached_value(record, known.get(value) or others.get(value))


def timeline(*, membership: Membership, record: Any, cursor: str | None = None, limit: int = 25) -> Page:
    """The record's activities, newest first. `record` must come from a scoped selector."""
    queryset = Activity.objects.filter(**{RECORD_FIELD[type(record)]: record})
    page = paginate(queryset, order="-occurred_at", cursor=cursor, limit=limit)
    attach_owners(page.items, membership, "actor")
    return page


# How many rows per key column and prefix a name search considers (see `_name_candidates`).
NAME_CANDIDATES = 100


def global_search(*, membership: Membership, text: str, limit: int = 8) -> dict[str, list[Any]]:
    """Leads, contacts, companies and deals matching a name, email, company or phone in any format.

    By name, each type shows the most recently active of the first NAME_CANDIDATES matches of each key
    column in alphabetical order, not of every match: "Ale" matches thousands of leads among a million,
    and sorting them all by activity would cost more than the whole page may. Typing more letters narrows
    the matches, as users expect of a search box; the list pages' own search still pages through all.
    """
    text = (text or "").strip()
    results: dict[str, list[Any]] = {}
    for key, model, fields in (
        ("leads", Lead, ("name_key", "name_rev_key", "company_key")),
        ("contacts", Contact, ("name_key", "name_rev_key")),
        ("companies", Company, ("name_key",)),
        ("deals", Deal, ("name_key",)),
    ):
        if "@" in text and model in (Company, Deal):
            results[key] = []
            continue
        queryset = record_queryset(membership=membership, model=model)
        if is_name_search(model, text) and connection.vendor != "postgresql":
            # SQLite walks the covering (organization, activity, id) index from its most recent end
            # until it has the page, reading no rows: measured faster there than reading the candidates.
            queryset = queryset.filter(pk__in=_name_candidates(membership, model, fields, text))
        elif is_name_search(model, text):
            # PostgreSQL: the candidates come with their last activity from the covering name-key
            # indexes (index-only scans) and are sorted here; visibility is then checked on the most
            # recent ones first, in growing batches, until the page is full. (Asked for `id IN (...)
            # ORDER BY last_activity_at DESC LIMIT 8`, PostgreSQL may walk the organization's whole
            # activity index looking for them; reading every candidate's row read up to 300 rows.)
            ordered = [pk for _at, pk in sorted(_name_candidates(membership, model, fields, text, True), reverse=True)]
            found: list[Any] = []
            start, size = 0, limit * 3
            while len(found) < limit and start < len(ordered):
                batch = ordered[start : start + size]
                start, size = start + size, size * 2
                rows = {row.pk: row for row in with_list_related(queryset, model).filter(pk__in=batch)}
                found.extend(rows[pk] for pk in batch if pk in rows)
            results[key] = found[:limit]
            attach_owners(results[key], membership)
            continue
        else:
            queryset = apply_search(queryset, text, membership, fields)
        results[key] = list(with_list_related(queryset, model).order_by("-last_activity_at", "-id")[:limit])
        attach_owners(results[key], membership)
    return results


def _name_candidates(
    membership: Membership, model: type, fields: tuple[str, ...], text: str, with_activity: bool = False
) -> list[Any]:
    """Ids of the first NAME_CANDIDATES rows per key column and prefix, read along the (organization, key)
    index; with `with_activity`, distinct (last_activity_at, id) pairs instead (PostgreSQL's covering
    name-key indexes hold both, so nothing but the index is read).

    Visibility is applied afterwards to this small set. On SQLite the index order is the key order, so
    `ORDER BY key` stops early; PostgreSQL's `varchar_pattern_ops` index cannot serve `ORDER BY`, so there
    the limit alone stops the index scan (the rows come in the index's order anyway). The columns' limited
    scans go in one statement, with SQL kept per shape (`_candidates_sql`).
    """
    pairs = name_search_keys(model, fields, text)
    if not pairs:
        return []
    alias = router.db_for_read(model)
    vendor = connections[alias].vendor
    params: list[Any] = []
    for _name, key in pairs:
        params += [membership.organization_id, prefix_pattern(key, vendor)]
    with connections[alias].cursor() as cursor:
        cursor.execute(_candidates_sql(model, tuple(name for name, _key in pairs), alias, with_activity), params)
        rows = cursor.fetchall()
    if with_activity:
        return list({(at, pk) for pk, at in rows})
    return list({pk for pk, *_rest in rows})


@functools.lru_cache(maxsize=64)
def _candidates_sql(model: type, columns: tuple[str, ...], alias: str, with_activity: bool = False) -> str:
    """For each column, what `model.objects.filter(organization_id=%s, <column>__prefix=%s)
    .order_by(<column> on SQLite only).values_list("pk"[, "last_activity_at"])[:NAME_CANDIDATES]` reads,
    in one UNION ALL (compiling those querysets cost more than running them; a test compares the two)."""
    connection = connections[alias]
    quote, vendor = connection.ops.quote_name, connection.vendor
    meta = model._meta
    table = quote(meta.db_table)
    pk = f"{table}.{quote(meta.pk.column)}"
    activity = f", {table}.{quote(meta.get_field('last_activity_at').column)} AS at" if with_activity else ""
    organization = f"{table}.{quote(meta.get_field('organization').column)}"
    parts = []
    for index, name in enumerate(columns):
        column = f"{table}.{quote(meta.get_field(name).column)}"
        order = f" ORDER BY {column} ASC" if vendor == "sqlite" else ""
        scan = (
            f"SELECT {pk} AS id{activity} FROM {table}"
            f" WHERE ({organization} = %s AND {column} {prefix_operator(vendor)} %s){order} LIMIT {NAME_CANDIDATES}"
        )
        parts.append(f"SELECT id{', at' if with_activity else ''} FROM ({scan}) AS part{index}")
    return " UNION ALL ".join(parts)


def task_list(
    *,
    membership: Membership,
    assignee_id: int | None = None,
    open_only: bool = True,
    due_before: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    queryset = _task_scope(membership).select_related("assignee", "lead", "contact", "company", "deal")
    if assignee_id is not None:
        queryset = queryset.filter(assignee_id=assignee_id)
    if open_only:
        queryset = queryset.filter(completed_at__isnull=True)
    if due_before is not None:
        queryset = queryset.filter(due_at__lt=due_before)
    return (
        paginate(queryset, order="due_at", cursor=cursor, limit=limit)
        if due_before
        else paginate(queryset.exclude(due_at__isnull=True), order="due_at", cursor=cursor, limit=limit)
    )


def task_list_undated(*, membership: Membership, assignee_id: int | None = None, limit: int = 100) -> list[Task]:
    """Open tasks without a due date (shown apart from the dated list, newest first)."""
    queryset = _task_scope(membership).select_related("assignee", "lead", "contact", "company", "deal")
    if assignee_id is not None:
        queryset = queryset.filter(assignee_id=assignee_id)
    return list(queryset.filter(completed_at__isnull=True, due_at__isnull=True).order_by("-created_at", "-id")[:limit])


def tasks_today(*, membership: Membership) -> list[Task]:
    """My open tasks due by the end of today in my time zone, overdue first."""
    # The user's own zone, not whatever zone the request activated: API-key requests activate none.
    try:
        zone = zoneinfo.ZoneInfo(membership.user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    now = timezone.localtime(timezone=zone)
    end_of_day = now.replace(hour=23, minute=59, second=59, microsecond=999999)
    return list(
        _task_scope(membership)
        .select_related("lead", "contact", "company", "deal")
        .filter(assignee_id=membership.user_id, completed_at__isnull=True, due_at__lte=end_of_day)
        .order_by("due_at", "id")[:200]
    )


def record_tasks(*, membership: Membership, record: Any) -> list[Task]:
    tasks = list(
        Task.objects.filter(**{RECORD_FIELD[type(record)]: record}).order_by("completed_at", "due_at", "id")[:100]
    )
    attach_owners(tasks, membership, "assignee")
    return tasks


def tag_list(*, membership: Membership) -> QuerySet[Tag]:
    return Tag.objects.filter(organization_id=membership.organization_id).order_by("name")


def custom_field_list(*, membership: Membership, record_type: str | None = None) -> QuerySet[CustomField]:
    qs = CustomField.objects.filter(organization_id=membership.organization_id)
    return qs.filter(record_type=record_type) if record_type else qs


def pipeline_list(*, membership: Membership) -> QuerySet[Pipeline]:
    return (
        Pipeline.objects.filter(organization_id=membership.organization_id)
        .prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("position", "id")))
        .order_by("-is_default", "name")
    )


def saved_view_list(*, membership: Membership, record_type: str | None = None) -> QuerySet[SavedView]:
    qs = saved_view_scope(membership).select_related("team", "owner")
    return qs.filter(record_type=record_type) if record_type else qs


def saved_view_get(*, membership: Membership, view_id: Any) -> SavedView:
    from insidesales.core.errors import NotFound

    view = saved_view_scope(membership).filter(pk=view_id).first() if str(view_id).isdigit() else None
    if view is None:
        raise NotFound()
    return view


def home_counts(*, membership: Membership) -> dict[str, int]:
    """Cheap counts for the home page: my open leads and deals, my overdue tasks (each an indexed filter)."""
    from insidesales.crm.models import LeadStatus, StageKind

    me = membership.user_id
    return {
        "open_leads": record_queryset(membership=membership, model=Lead)
        .filter(owner_id=me, status__in=[LeadStatus.NEW, LeadStatus.WORKING])
        .count(),
        "open_deals": record_queryset(membership=membership, model=Deal)
        .filter(owner_id=me, stage__kind=StageKind.OPEN)
        .count(),
        "overdue_tasks": _task_scope(membership)
        .filter(assignee_id=me, completed_at__isnull=True, due_at__lt=timezone.now())
        .count(),
    }


def lead_convert_preview(*, membership: Membership, lead: Lead) -> dict[str, Any]:
    """What `lead_convert` would do for this lead: the company and contact it merges into, or creates."""
    from insidesales.crm.services.leads import FREE_MAIL_DOMAINS, _match_company, _match_contact

    domain = lead.email.split("@", 1)[1] if "@" in lead.email else ""
    wants_company = bool(lead.company_name or (domain and domain not in FREE_MAIL_DOMAINS))
    company = _match_company(membership, lead) if wants_company else None
    contact = _match_contact(membership, lead)
    company_name = company.name if company else (lead.company_name or domain if wants_company else "")
    return {
        "company": company,
        "company_name": company_name,
        "creates_company": wants_company and company is None,
        "contact": contact,
        "creates_contact": contact is None,
        "deal_name": company_name or (str(contact) if contact else lead.full_name or str(lead)),
    }
