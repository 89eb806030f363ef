"""The organization's routing rules (admins write, managers read), "test this lead", and reps' availability
for inbound leads (each rep their own, managers their teams', admins everyone's).

Reads here take the acting membership and answer NotFound outside its scope, like every selector; writes
validate everything a rule may say (fields, operators, people, teams, agencies, weights, SLA) and leave an
audit row. There is always exactly one default rule, last, without conditions: it is created on first use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from insidesales.core.errors import Conflict, NotFound, ValidationError, one_or_not_found
from insidesales.core.text import company_search_key, normalize_email
from insidesales.crm.models import CustomField, Lead, RecordType
from insidesales.inbound import routing
from insidesales.inbound.models import AssignTo, RepAvailability, RoutingRule, SlaAction
from insidesales.orgs.models import Agency, Membership, Organization, Role, Team
from insidesales.orgs.services import audit_record, require_admin, snapshot
from insidesales.orgs.visibility import managed_user_ids

MAX_CONDITIONS = 20
MAX_WEIGHT = 100
SLA_MAX_MINUTES = 7 * 24 * 60
MAX_REASSIGNMENTS = 10
MAX_OPEN_LEADS = 10000
NUMERIC_OPS = ("gte", "lte")
LIST_OPS = ("in", "not_in")
VALUELESS_OPS = ("empty", "not_empty")
RULE_FIELDS = [
    "name",
    "conditions",
    "assign_to",
    "user_id",
    "team_id",
    "agency_id",
    "weights",
    "prefer_account_owner",
    "skip_offline",
    "sla_minutes",
    "sla_working_hours",
    "sla_action",
    "sla_max_reassignments",
]
# What "test this lead" may be told about a lead that does not exist yet.
TEST_LEAD_FIELDS = ("country", "time_zone", "source", "company_name", "email", "title")


# --- reads -------------------------------------------------------------------------------------------------


def can_read_rules(membership: Membership) -> bool:
    return membership.role in (Role.ADMIN, Role.MANAGER)


def _require_reader(membership: Membership) -> None:
    """Routing is the admins' and managers' business: for anyone else the pages do not exist."""
    if not can_read_rules(membership):
        raise NotFound()


def routing_rule_list(*, membership: Membership) -> list[RoutingRule]:
    """The organization's rules in the order they are tried, the default rule last (made if missing)."""
    _require_reader(membership)
    default_rule_ensure(organization_id=membership.organization_id)
    return list(
        RoutingRule.objects.filter(organization_id=membership.organization_id)
        .select_related("user", "team", "agency")
        .order_by("is_default", "position", "id")
    )


def routing_rule_get(*, membership: Membership, rule_id: Any, for_update: bool = False) -> RoutingRule:
    _require_reader(membership)
    queryset = RoutingRule.objects.filter(organization_id=membership.organization_id).select_related(
        "user", "team", "agency"
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    return one_or_not_found(queryset, rule_id)


def lead_custom_fields(*, membership: Membership) -> QuerySet[CustomField]:
    return CustomField.objects.filter(organization_id=membership.organization_id, record_type=RecordType.LEAD).order_by(
        "position", "id"
    )


def routing_members(*, membership: Membership) -> QuerySet[Membership]:
    """Active members a rule may name (a person) or weigh (a team's inside reps)."""
    return (
        Membership.objects.filter(organization_id=membership.organization_id, is_active=True, user__is_active=True)
        .select_related("user", "team")
        .order_by("user__full_name", "user__email")
    )


def default_rule_ensure(*, organization_id: int) -> RoutingRule:
    """The organization's default rule ("everyone else → unassigned pool"), created the first time it is needed.
    The organization's row is locked while looking, so two first uses at once make one rule."""
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization_id).first()
        rule = RoutingRule.objects.filter(organization_id=organization_id, is_default=True).order_by("id").first()
        if rule is None:
            rule = RoutingRule.objects.create(
                organization_id=organization_id,
                name=_("Everyone else"),
                is_default=True,
                assign_to=AssignTo.POOL,
                position=0,
            )
        return rule


# --- validation --------------------------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    return int(value)


def _clean_condition(raw: Any, custom_keys: set[str]) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(raw, Mapping):
        return None, _("Each condition needs a field, an operator and a value.")
    field = str(raw.get("field") or "").strip()
    op = str(raw.get("op") or "").strip()
    value = raw.get("value", "")
    if field not in routing.FACT_FIELDS and not (field.startswith("custom:") and field[7:] in custom_keys):
        return None, _("“%(field)s” is not a field a rule can test.") % {"field": field}
    if op not in routing.OPERATORS:
        return None, _("“%(op)s” is not an operator.") % {"op": op}
    if op in VALUELESS_OPS:
        return {"field": field, "op": op, "value": ""}, None
    if op in LIST_OPS:
        items = value if isinstance(value, list) else str(value or "").split(",")
        options = [str(item).strip() for item in items if str(item).strip()]
        if not options:
            return None, _("List at least one value, separated by commas.")
        return {"field": field, "op": op, "value": options[:100]}, None
    if isinstance(value, (list, dict)) or value is None:
        return None, _("Give one value.")
    text = str(value).strip()
    if op in NUMERIC_OPS:
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            number = None
        if number is None or not number.is_finite():
            return None, _("“%(field)s” at least / at most needs a number.") % {"field": field}
        shown = str(int(number)) if number == number.to_integral_value() else text  # 500.0 from JSON → "500"
        return {"field": field, "op": op, "value": shown}, None
    if not text:
        return None, _("Give a value (or use “is empty”).")
    return {"field": field, "op": op, "value": text[:200]}, None


def _clean(membership: Membership, data: Mapping[str, Any], current: RoutingRule | None) -> dict[str, Any]:
    """The rule's values from `data` (keys of RULE_FIELDS; absent keys keep `current`'s), or ValidationError."""
    errors: dict[str, list[str]] = {}
    org = membership.organization_id

    def given(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        return getattr(current, name) if current is not None else default

    values: dict[str, Any] = {}
    name = str(given("name", "") or "").strip()
    if not name:
        errors["name"] = [_("Give the rule a name.")]
    elif len(name) > 100:
        errors["name"] = [_("Keep the name under 100 characters.")]
    values["name"] = name

    raw_conditions = given("conditions", [])
    conditions: list[dict[str, Any]] = []
    if not isinstance(raw_conditions, list):
        errors["conditions"] = [_("Conditions are a list.")]
    else:
        custom_keys = set(lead_custom_fields(membership=membership).values_list("key", flat=True))
        for raw in raw_conditions[: MAX_CONDITIONS + 1]:
            cleaned, problem = _clean_condition(raw, custom_keys)
            if problem:
                errors.setdefault("conditions", []).append(problem)
            elif cleaned:
                conditions.append(cleaned)
        if len(raw_conditions) > MAX_CONDITIONS:
            errors.setdefault("conditions", []).append(_("At most %(n)d conditions.") % {"n": MAX_CONDITIONS})
    if current is not None and current.is_default and conditions:
        errors.setdefault("conditions", []).append(_("The default rule catches every lead: it has no conditions."))
    values["conditions"] = conditions

    assign_to = str(given("assign_to", AssignTo.ROUND_ROBIN) or "")
    if assign_to not in AssignTo.values:
        errors["assign_to"] = [_("Choose how leads are assigned.")]
    values["assign_to"] = assign_to
    values.update(user_id=None, team_id=None, agency_id=None, weights={})
    try:
        user_id = _int_or_none(given("user_id", None))
        team_id = _int_or_none(given("team_id", None))
        agency_id = _int_or_none(given("agency_id", None))
    except (TypeError, ValueError):
        errors["assign_to"] = [_("Choose who gets the leads.")]
        user_id = team_id = agency_id = None
    if assign_to == AssignTo.USER:
        ok = user_id and routing_members(membership=membership).filter(user_id=user_id).exists()
        if not ok:
            errors["user_id"] = [_("Choose an active member of the organization.")]
        values["user_id"] = user_id
    elif assign_to in (AssignTo.ROUND_ROBIN, AssignTo.LEAST_OPEN):
        if not team_id or not Team.objects.filter(organization_id=org, pk=team_id).exists():
            errors["team_id"] = [_("Choose a team.")]
        values["team_id"] = team_id
        if assign_to == AssignTo.ROUND_ROBIN and team_id:
            # A new team without new weights starts even: the old team's weights name other reps.
            keep = "weights" in data or (current is not None and current.team_id == team_id)
            values["weights"] = _clean_weights(org, team_id, given("weights", {}) if keep else {}, errors)
    elif assign_to == AssignTo.AGENCY:
        if not agency_id or not Agency.objects.filter(organization_id=org, pk=agency_id, is_active=True).exists():
            errors["agency_id"] = [_("Choose an active agency.")]
        values["agency_id"] = agency_id

    for flag in ("prefer_account_owner", "skip_offline", "sla_working_hours"):
        values[flag] = bool(given(flag, True))
    try:
        sla_minutes = _int_or_none(given("sla_minutes", None))
    except (TypeError, ValueError):
        sla_minutes = -1
    if sla_minutes is not None and not 1 <= sla_minutes <= SLA_MAX_MINUTES:
        errors["sla_minutes"] = [
            _("Enter from 1 to %(max)d minutes (a week), or leave it empty.") % {"max": SLA_MAX_MINUTES}
        ]
    values["sla_minutes"] = sla_minutes
    sla_action = str(given("sla_action", SlaAction.BOTH) or "")
    if sla_action not in SlaAction.values:
        errors["sla_action"] = [_("Choose what happens when the deadline is missed.")]
    values["sla_action"] = sla_action
    try:
        reassignments = int(given("sla_max_reassignments", 2) or 0)
    except (TypeError, ValueError):
        reassignments = -1
    if not 0 <= reassignments <= MAX_REASSIGNMENTS:
        errors["sla_max_reassignments"] = [_("Enter from 0 to %(max)d.") % {"max": MAX_REASSIGNMENTS}]
    values["sla_max_reassignments"] = max(reassignments, 0)
    if errors:
        raise ValidationError(fields=errors)
    return values


def team_reps(organization_id: int, team_id: int) -> QuerySet[Membership]:
    """The reps a team's round robin deals among (as `routing` picks them): its active inside reps."""
    return (
        Membership.objects.filter(
            organization_id=organization_id, team_id=team_id, is_active=True, role=Role.INSIDE_REP, user__is_active=True
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def _clean_weights(organization_id: int, team_id: int, raw: Any, errors: dict[str, list[str]]) -> dict[str, int]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, Mapping):
        errors["weights"] = [_("Weights are given per member.")]
        return {}
    members = {str(uid) for uid in team_reps(organization_id, team_id).values_list("user_id", flat=True)}
    weights: dict[str, int] = {}
    for key, value in raw.items():
        if str(key) not in members:
            errors.setdefault("weights", []).append(_("Only the team's reps can have a weight."))
            continue
        try:
            weight = int(value) if not isinstance(value, bool) else -1
        except (TypeError, ValueError):
            weight = -1
        if not 0 <= weight <= MAX_WEIGHT:
            errors.setdefault("weights", []).append(_("A weight is from 0 to %(max)d.") % {"max": MAX_WEIGHT})
            continue
        weights[str(key)] = weight
    return weights


# --- writes ------------------------------------------------------------------------------------------------


@transaction.atomic
def routing_rule_create(*, membership: Membership, data: Mapping[str, Any]) -> RoutingRule:
    """Add a rule before the default rule. `data`: the keys of RULE_FIELDS (conditions as
    [{"field", "op", "value"}], weights as {"<user id>": 0..100})."""
    require_admin(membership)
    default_rule_ensure(organization_id=membership.organization_id)
    values = _clean(membership, data, None)
    last = RoutingRule.objects.filter(organization_id=membership.organization_id, is_default=False).aggregate(
        Max("position")
    )["position__max"]
    rule = RoutingRule.objects.create(
        organization_id=membership.organization_id,
        position=(last or 0) + 1,
        is_active=bool(data.get("is_active", True)),
        **values,
    )
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="routing_rule.create",
        instance=rule,
        changes={name: [None, value] for name, value in snapshot(rule, RULE_FIELDS).items()},
    )
    return rule


@transaction.atomic
def routing_rule_update(*, membership: Membership, rule_id: Any, data: Mapping[str, Any]) -> RoutingRule:
    """Change a rule; keys absent from `data` keep their values. A new team starts its round robin afresh."""
    rule = routing_rule_get(membership=membership, rule_id=rule_id, for_update=True)
    require_admin(membership)
    before = snapshot(rule, RULE_FIELDS)
    values = _clean(membership, data, rule)
    if values["team_id"] != rule.team_id:
        rule.rr_state = {}
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    changes = {k: [before[k], v] for k, v in snapshot(rule, RULE_FIELDS).items() if before[k] != v}
    if changes:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="routing_rule.update",
            instance=rule,
            changes=changes,
        )
    if "is_active" in data and bool(data["is_active"]) != rule.is_active:
        rule = routing_rule_set_active(membership=membership, rule_id=rule.pk, is_active=bool(data["is_active"]))
    return rule


@transaction.atomic
def routing_rule_delete(*, membership: Membership, rule_id: Any) -> None:
    rule = routing_rule_get(membership=membership, rule_id=rule_id, for_update=True)
    require_admin(membership)
    if rule.is_default:
        raise Conflict(_("The default rule cannot be removed: it catches every lead no other rule takes."))
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="routing_rule.delete",
        instance=rule,
        changes={name: [value, None] for name, value in snapshot(rule, RULE_FIELDS).items()},
    )
    rule.delete()


@transaction.atomic
def routing_rule_set_active(*, membership: Membership, rule_id: Any, is_active: bool) -> RoutingRule:
    rule = routing_rule_get(membership=membership, rule_id=rule_id, for_update=True)
    require_admin(membership)
    if rule.is_default and not is_active:
        raise Conflict(_("The default rule is always on: it catches every lead no other rule takes."))
    if rule.is_active != is_active:
        rule.is_active = is_active
        rule.save(update_fields=["is_active", "updated_at"])
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="routing_rule.activate" if is_active else "routing_rule.deactivate",
            instance=rule,
            changes={"is_active": [not is_active, is_active]},
        )
    return rule


@transaction.atomic
def routing_rule_move(*, membership: Membership, rule_id: Any, direction: str) -> RoutingRule:
    """Swap a rule with its neighbour ("up": tried earlier, "down": later). The default rule stays last."""
    rule = routing_rule_get(membership=membership, rule_id=rule_id, for_update=True)
    require_admin(membership)
    if direction not in ("up", "down"):
        raise ValidationError(fields={"direction": [_("Move a rule up or down.")]})
    if rule.is_default:
        raise Conflict(_("The default rule is always tried last."))
    ordered = list(
        RoutingRule.objects.select_for_update()
        .filter(organization_id=membership.organization_id, is_default=False)
        .order_by("position", "id")
    )
    index = next(i for i, r in enumerate(ordered) if r.pk == rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered, start=1):  # renumbered, so equal positions never tie
        if item.position != position:
            RoutingRule.objects.filter(pk=item.pk).update(position=position)
        if item.pk == rule.pk:
            old, rule.position = rule.position, position
    if old != rule.position:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="routing_rule.move",
            instance=rule,
            changes={"position": [old, rule.position]},
        )
    return rule


# --- "test this lead" --------------------------------------------------------------------------------------


def routing_test(
    *,
    membership: Membership,
    lead_id: Any = None,
    data: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> tuple[routing.Decision, dict[str, Any]]:
    """Which rule would take this lead and who would get it, with the trace — changing nothing.

    Either an existing lead the member can see (`lead_id`), or lead fields in `data` (TEST_LEAD_FIELDS,
    "custom": {key: value}, "form_id", "channel", "utm": {source, medium, campaign})."""
    from insidesales.crm.selectors import record_get

    _require_reader(membership)
    data = dict(data or {})
    default_rule_ensure(organization_id=membership.organization_id)
    if lead_id not in (None, ""):
        lead = record_get(membership=membership, model=Lead, record_id=lead_id)
    else:
        lead = Lead(organization_id=membership.organization_id)
        for name in TEST_LEAD_FIELDS:
            setattr(lead, name, str(data.get(name) or "").strip())
        lead.country = lead.country.upper()
        lead.email = normalize_email(lead.email)
        lead.company_key = company_search_key(lead.company_name)
        custom = data.get("custom") or {}
        lead.custom = (
            {str(k): v for k, v in custom.items() if v not in (None, "")} if isinstance(custom, Mapping) else {}
        )
    utm = data.get("utm") if isinstance(data.get("utm"), Mapping) else {}
    try:
        form_id = _int_or_none(data.get("form_id"))
    except (TypeError, ValueError):
        raise ValidationError(fields={"form_id": [_("A form is given by its id.")]}) from None
    facts = routing.lead_facts(lead, form_id=form_id, channel=str(data.get("channel") or ""), utm=dict(utm or {}))
    decision = routing.decide(lead, facts, commit=False, now=now)
    return decision, facts


# --- availability ------------------------------------------------------------------------------------------


def availability_user_ids(membership: Membership) -> list[int] | None:
    """Whose availability this member may see and change: None = everyone (admins); managers their teams'
    members and themselves; everyone else themselves."""
    if membership.role == Role.ADMIN:
        return None
    if membership.role == Role.MANAGER:
        return sorted({membership.user_id, *managed_user_ids(membership)})
    return [membership.user_id]


def availability_members(*, membership: Membership) -> list[Membership]:
    queryset = routing_members(membership=membership).exclude(role=Role.AGENCY_REP, agency__is_active=False)
    ids = availability_user_ids(membership)
    if ids is not None:
        queryset = queryset.filter(user_id__in=ids)
    return list(queryset)


def availability_member(*, membership: Membership, user_id: Any) -> Membership:
    """The member whose availability is asked for, if in scope, else NotFound."""
    try:
        uid = int(user_id)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    ids = availability_user_ids(membership)
    if ids is not None and uid not in ids:
        raise NotFound()
    found = routing_members(membership=membership).filter(user_id=uid).first()
    if found is None:
        raise NotFound()
    return found


def availability_rows(
    *, membership: Membership, user_id: int | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Each member in scope (or just `user_id`) with their settings and their state for routing right now."""
    now = now or timezone.now()
    if user_id is not None:
        members = [availability_member(membership=membership, user_id=user_id)]
    else:
        members = availability_members(membership=membership)
    stored = {
        a.user_id: a
        for a in RepAvailability.objects.filter(
            organization_id=membership.organization_id, user_id__in=[m.user_id for m in members]
        )
    }
    candidates = [
        routing.Candidate(m.user_id, m.user.full_name or m.user.email, m.team_id, m.agency_id) for m in members
    ]
    reasons = routing.unavailable_reasons(membership.organization_id, candidates, skip_offline=True, now=now)
    return [
        {
            "member": m,
            "availability": stored.get(m.user_id)
            or RepAvailability(organization_id=m.organization_id, user_id=m.user_id),
            "available": m.user_id not in reasons,
            "state": reasons.get(m.user_id) or _("online"),
        }
        for m in members
    ]


def availability_get(*, membership: Membership, user_id: Any) -> RepAvailability:
    """The member's availability (unsaved defaults when they never set it)."""
    member = availability_member(membership=membership, user_id=user_id)
    found = RepAvailability.objects.filter(organization_id=member.organization_id, user_id=member.user_id).first()
    return found or RepAvailability(organization_id=member.organization_id, user_id=member.user_id)


AVAILABILITY_FIELDS = ["accepts_inbound", "away_from", "away_until", "max_open_leads"]


@transaction.atomic
def availability_update(*, membership: Membership, user_id: Any, data: Mapping[str, Any]) -> RepAvailability:
    """Set a member's availability: `accepts_inbound`, `away_from` / `away_until` (aware datetimes; empty =
    not away), `max_open_leads` (empty = no limit). Keys absent keep their values."""
    member = availability_member(membership=membership, user_id=user_id)
    availability, _created = RepAvailability.objects.select_for_update().get_or_create(
        organization_id=member.organization_id, user_id=member.user_id
    )
    before = snapshot(availability, AVAILABILITY_FIELDS)
    errors: dict[str, list[str]] = {}
    if "accepts_inbound" in data:
        availability.accepts_inbound = bool(data["accepts_inbound"])
    for name in ("away_from", "away_until"):
        if name in data:
            value = data[name] or None
            if value is not None and (not isinstance(value, dt.datetime) or timezone.is_naive(value)):
                errors[name] = [_("Give a date and time.")]
                continue
            setattr(availability, name, value)
    if "max_open_leads" in data:
        try:
            limit = _int_or_none(data["max_open_leads"])
        except (TypeError, ValueError):
            limit = -1
        if limit is not None and not 0 <= limit <= MAX_OPEN_LEADS:
            errors["max_open_leads"] = [_("Enter from 0 to %(max)d, or leave it empty.") % {"max": MAX_OPEN_LEADS}]
        else:
            availability.max_open_leads = limit
    if availability.away_from and availability.away_until and availability.away_until <= availability.away_from:
        errors.setdefault("away_until", []).append(_("The end of the time away must come after its start."))
    if availability.away_from and not availability.away_until:
        errors.setdefault("away_until", []).append(_("Say until when."))
    if errors:
        raise ValidationError(fields=errors)
    availability.save()
    changes = {k: [before[k], v] for k, v in snapshot(availability, AVAILABILITY_FIELDS).items() if before[k] != v}
    if changes:
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="availability.update",
            instance=availability,
            object_type="repavailability",
            changes=changes,
        )
    return availability
