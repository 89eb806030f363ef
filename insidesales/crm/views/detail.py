"""What a record's detail page shows, assembled from selectors; shared by the page and its htmx partials."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from insidesales.crm import selectors
from insidesales.crm.forms import AssignForm, DisqualifyForm, NoteForm, StageForm, TaskForm, assignee_choices
from insidesales.crm.models import Company, Contact, Deal, Lead, LeadStatus, StageKind
from insidesales.crm.views.kinds import RecordKind
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.visibility import can_assign_to_others, can_delete_records

RELATED_LIMIT = 10


def wants_partial(request: HttpRequest, target: str) -> bool:
    """An htmx request aimed at element `target` gets that partial; anything else gets the full page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request and htmx.target == target


def fields_context(membership: Membership, kind: RecordKind, record: Any) -> dict[str, Any]:
    """The fields card: standard fields, custom fields (typed), tags."""
    meta = kind.model._meta
    rows = [(name, meta.get_field(name).verbose_name, getattr(record, name)) for name in kind.detail_fields]
    from insidesales.orgs.directory import remembered

    definitions = remembered(
        membership,
        f"custom_fields:{kind.record_type}",
        lambda: tuple(selectors.custom_field_list(membership=membership, record_type=kind.record_type)),
    )
    custom = [
        (definition.label, (record.custom or {}).get(definition.key), definition.field_type)
        for definition in definitions
    ]
    return {
        "kind": kind,
        "record": record,
        "field_rows": rows,
        "custom_rows": custom,
        "tags": selectors.record_tags(record),
        "region": membership.organization.default_region,
    }


def timeline_context(membership: Membership, kind: RecordKind, record: Any, *, cursor: str | None = None) -> dict:
    return {
        "kind": kind,
        "record": record,
        "timeline": selectors.timeline(membership=membership, record=record, cursor=cursor),
    }


def task_users(membership: Membership) -> list:
    if not can_assign_to_others(membership):
        return []
    from insidesales.orgs.directory import remembered
    from insidesales.orgs.selectors import assignable_users

    # Only what the selects show: a user row is wide (password hash, preferences).
    return list(
        remembered(
            membership,
            "assignable_users",
            lambda: tuple(assignable_users(membership=membership).only("id", "full_name", "email")),
        )
    )


def tasks_context(
    membership: Membership,
    kind: RecordKind,
    record: Any,
    *,
    form: TaskForm | None = None,
    users: list | None = None,
) -> dict:
    if form is None:
        users = task_users(membership) if users is None else users
        form = TaskForm(membership=membership, users=users, auto_id="task_%s")
    return {
        "kind": kind,
        "record": record,
        "tasks": selectors.record_tasks(membership=membership, record=record),
        "now": timezone.now(),
        "task_form": form,
    }


def detail_context(
    request: HttpRequest,
    kind: RecordKind,
    record: Any,
    *,
    note_form: NoteForm | None = None,
    task_form: TaskForm | None = None,
) -> dict[str, Any]:
    membership = request.membership
    users = task_users(membership)  # fetched once for the assign and task forms (empty for reps)
    # A converted lead is kept as it was converted: no editing, no reassigning; only admins delete it.
    frozen = isinstance(record, Lead) and record.status == LeadStatus.CONVERTED
    context: dict[str, Any] = {
        **fields_context(membership, kind, record),
        **timeline_context(membership, kind, record),
        **tasks_context(membership, kind, record, form=task_form, users=users),
        "note_form": note_form or NoteForm(auto_id="note_%s"),
        "frozen": frozen,
        "can_delete": membership.role == Role.ADMIN
        if frozen
        else can_delete_records(membership) or record.owner_id == membership.user_id,
        "is_manager": can_assign_to_others(membership),
        # Reps may take a record from the pool or hand their own back; managers get the full assign form.
        "can_take": not frozen
        and membership.role in (Role.INSIDE_REP, Role.FIELD_REP)
        and record.owner_id != membership.user_id,
        "can_release": not frozen and not can_assign_to_others(membership) and record.owner_id == membership.user_id,
    }
    if can_assign_to_others(membership) and not frozen:
        from insidesales.orgs.directory import remembered
        from insidesales.orgs.selectors import agency_list

        agencies = remembered(membership, "agencies", lambda: tuple(agency_list(membership=membership)))
        choices = assignee_choices(membership, users, list(agencies))
        current = "none"
        if record.owner_id:
            current = f"user:{record.owner_id}"
        elif record.agency_id:
            current = f"agency:{record.agency_id}"
        context["assign_form"] = AssignForm(choices=choices, initial={"target": current})
    if isinstance(record, Lead):
        context.update(lead_context(record))
    elif isinstance(record, Deal):
        context.update(deal_context(membership, record))
    elif isinstance(record, Company):
        context["related"] = [
            ("contact", _related(membership, Contact, {"company": record.pk})),
            ("deal", _related(membership, Deal, {"company": record.pk})),
        ]
    elif isinstance(record, Contact):
        context["related"] = [("deal", _related(membership, Deal, {"contact": record.pk}))]
    return context


def _related(membership: Membership, model: type, filters: dict[str, Any]) -> dict[str, Any]:
    """The newest few related records and a link to the full, filtered list."""
    from urllib.parse import urlencode

    from insidesales.crm.views.kinds import KIND_BY_MODEL

    page = selectors.record_list(
        membership=membership, model=model, filters=filters, limit=RELATED_LIMIT, with_tags=False
    )
    return {"kind": KIND_BY_MODEL[model], "items": page.items, "more": page.next_cursor, "query": urlencode(filters)}


def lead_context(lead: Lead) -> dict[str, Any]:
    status = lead.status
    return {
        "can_qualify": status in (LeadStatus.NEW, LeadStatus.WORKING),
        "can_disqualify": status in (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED),
        "can_convert": status not in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED),
        "can_work": status in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED),
        "disqualify_form": DisqualifyForm(auto_id="dq_%s"),
    }


def deal_context(membership: Membership, deal: Deal) -> dict[str, Any]:
    stages = next(
        (list(p.stages.all()) for p in selectors.pipeline_list(membership=membership) if p.pk == deal.pipeline_id),
        [],
    )
    return {
        "stage_form": StageForm(stages=stages, initial={"stage": str(deal.stage_id)}),
        "is_open": deal.stage.kind == StageKind.OPEN,
        "has_won": any(s.kind == StageKind.WON for s in stages),
        "has_lost": any(s.kind == StageKind.LOST for s in stages),
    }
