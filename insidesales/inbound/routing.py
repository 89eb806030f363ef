"""Routing of new inbound leads: the organization's ordered rules, tried one by one, decide who gets a lead.

`decide` is pure reading plus (when `commit`) advancing a round robin's tallies; it returns a `Decision`
with a trace of every rule tried and every rep passed over, so "test this lead" can show why. The caller
(`services.submissions`) applies the decision inside its own transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insidesales.core.compiled import CompiledQuery
from insidesales.crm.models import Company, Contact, Lead, LeadStatus
from insidesales.inbound.models import AssignTo, RepAvailability, RoutingRule
from insidesales.orgs.models import Agency, Membership, Role

# A rep counts as online while their app (the notification stream) was seen this recently.
ONLINE_WINDOW = dt.timedelta(minutes=2)
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING)

# Fields a condition may test, besides "custom:<key>". Values come from `lead_facts`.
FACT_FIELDS = (
    "country",
    "time_zone",
    "region",
    "source",
    "form",
    "channel",
    "company_name",
    "company_size",
    "email_domain",
    "title",
    "language",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
OPERATORS = ("eq", "ne", "in", "not_in", "contains", "starts_with", "gte", "lte", "empty", "not_empty")
# How the rule editor and the trace name them.
FIELD_LABELS = {
    "country": gettext_lazy("Country"),
    "time_zone": gettext_lazy("Time zone"),
    "region": gettext_lazy("Region"),
    "source": gettext_lazy("Source"),
    "form": gettext_lazy("Web form"),
    "channel": gettext_lazy("Channel"),
    "company_name": gettext_lazy("Company"),
    "company_size": gettext_lazy("Company size (employees)"),
    "email_domain": gettext_lazy("Email domain"),
    "title": gettext_lazy("Job title"),
    "language": gettext_lazy("Language"),
    "utm_source": gettext_lazy("UTM source"),
    "utm_medium": gettext_lazy("UTM medium"),
    "utm_campaign": gettext_lazy("UTM campaign"),
}
OP_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "contains": gettext_lazy("contains"),
    "starts_with": gettext_lazy("starts with"),
    "gte": gettext_lazy("is at least"),
    "lte": gettext_lazy("is at most"),
    "empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
}
assert set(FIELD_LABELS) == set(FACT_FIELDS) and set(OP_LABELS) == set(OPERATORS)


@dataclass
class Candidate:
    user_id: int
    name: str
    team_id: int | None
    agency_id: int | None
    language: str = "en"


@dataclass
class RuleTrace:
    rule_id: int
    name: str
    matched: bool
    why: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rep, reason)


@dataclass
class Decision:
    rule: RoutingRule | None = None
    owner: Candidate | None = None
    agency_id: int | None = None
    reason: str = ""
    trace: list[RuleTrace] = field(default_factory=list)

    @property
    def owner_id(self) -> int | None:
        return self.owner.user_id if self.owner else None

    @property
    def team_id(self) -> int | None:
        return self.owner.team_id if self.owner else None


# --- facts -------------------------------------------------------------------------------------------------


class Facts(dict):
    """Facts about a lead; the costly one (the company's size, which may need the matching account) is
    looked up only when a condition asks for it."""

    def __init__(self, lead: Lead, email_domain: str, known: dict[str, Any]) -> None:
        super().__init__(known)
        self._lead, self._email_domain = lead, email_domain

    def get(self, key: str, default: Any = None) -> Any:
        if key == "company_size" and key not in self:
            self[key] = _company_size(self._lead, self._email_domain)
        return super().get(key, default)


def lead_facts(lead: Lead, *, form_id: int | None = None, channel: str = "", utm: dict | None = None) -> dict:
    """What conditions can test about a lead (and the inquiry that brought it)."""
    email_domain = lead.email.rsplit("@", 1)[-1].lower() if "@" in (lead.email or "") else ""
    known: dict[str, Any] = {
        "country": lead.country,
        "time_zone": lead.time_zone,
        "region": _region(lead),
        "source": lead.source,
        "form": str(form_id or ""),
        "channel": channel,
        "company_name": lead.company_name,
        "email_domain": email_domain,
        "title": lead.title,
        "language": (lead.custom or {}).get("language", ""),
    }
    for key in ("source", "medium", "campaign"):
        known[f"utm_{key}"] = (utm or {}).get(key, "")
    for key, value in (lead.custom or {}).items():
        known[f"custom:{key}"] = value
    return Facts(lead, email_domain, known)


def _region(lead: Lead) -> str:
    """The lead's region: ISO 3166-2 subdivision when the phone number tells it is unknown to us; the time
    zone's area ("Europe", "America") is a usable stand-in, and the country is always there."""
    return (lead.custom or {}).get("region") or (lead.time_zone.split("/", 1)[0] if lead.time_zone else "")


def _company_size(lead: Lead, email_domain: str) -> Any:
    custom = lead.custom or {}
    for key in ("employees", "company_size"):
        if custom.get(key) not in (None, ""):
            return custom[key]
    company = _matching_company(lead, email_domain)
    return company.employees if company and company.employees is not None else ""


def _matching_company(lead: Lead, email_domain: str) -> Company | None:
    companies = Company.objects.filter(organization_id=lead.organization_id)
    if email_domain and email_domain not in FREEMAIL:
        found = companies.filter(domain=email_domain).order_by("pk").first()  # stored lower-case: the index
        if found:
            return found
    if lead.company_key:
        return companies.filter(name_key=lead.company_key).order_by("pk").first()
    return None


# Addresses of these domains say nothing about the sender's company.
FREEMAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "ya.ru",
        "bk.ru",
        "inbox.ru",
        "list.ru",
        "rambler.ru",
    }
)


# --- conditions --------------------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip().casefold()


def condition_holds(condition: dict, facts: dict) -> bool:
    actual = facts.get(condition.get("field", ""), "")
    op, expected = condition.get("op", "eq"), condition.get("value", "")
    if op == "empty":
        return actual in (None, "", [])
    if op == "not_empty":
        return actual not in (None, "", [])
    if op in ("gte", "lte"):
        a, b = _number(actual), _number(expected)
        if a is None or b is None:
            return False
        return a >= b if op == "gte" else a <= b
    if op in ("in", "not_in"):
        options = expected if isinstance(expected, list) else str(expected).split(",")
        inside = _text(actual) in {_text(o) for o in options}
        return inside if op == "in" else not inside
    if op == "contains":
        return _text(expected) in _text(actual)
    if op == "starts_with":
        return _text(actual).startswith(_text(expected))
    if op == "ne":
        return _text(actual) != _text(expected)
    return _text(actual) == _text(expected)


def describe_condition(condition: dict, facts: dict) -> str:
    value = condition.get("value", "")
    shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    holds = condition_holds(condition, facts)
    field_name, op = condition.get("field", ""), condition.get("op", "eq")
    return _("%(field)s %(op)s %(value)s: lead has “%(actual)s” — %(verdict)s") % {
        "field": str(FIELD_LABELS.get(field_name, field_name)).lower()
        if not field_name.startswith("custom:")
        else field_name,
        "op": str(OP_LABELS.get(op, op)),
        "value": shown,
        "actual": facts.get(condition.get("field", ""), ""),
        "verdict": _("matches") if holds else _("does not match"),
    }


# --- reps --------------------------------------------------------------------------------------------------


def _team_reps(organization_id: int, team_id: int) -> QuerySet:
    return (
        Membership.objects.filter(
            organization_id=organization_id, team_id=team_id, is_active=True, role=Role.INSIDE_REP, user__is_active=True
        )
        .select_related("user")
        .order_by("user_id")
    )


# Every inbound lead asks this: compiled to SQL once (core/compiled.py).
_TEAM_REPS = CompiledQuery(_team_reps, organization_id=-7_301_915_447, team_id=-7_301_915_448)


def _candidates(rule: RoutingRule) -> list[Candidate]:
    members = _TEAM_REPS.run(organization_id=rule.organization_id, team_id=rule.team_id)
    return [
        Candidate(m.user_id, m.user.full_name or m.user.email, m.team_id, m.agency_id, m.user.language or "en")
        for m in members
    ]


def unavailable_reasons(
    organization_id: int, candidates: list[Candidate], *, skip_offline: bool, now: dt.datetime
) -> dict[int, str]:
    """Why each rep who cannot take a new lead right now cannot (offline, paused, out of office, full)."""
    from insidesales.calls.models import AgentSession, AgentState

    ids = [c.user_id for c in candidates]
    reasons: dict[int, str] = {}
    availability = {
        a.user_id: a for a in RepAvailability.objects.filter(organization_id=organization_id, user_id__in=ids)
    }
    paused = set(
        AgentSession.objects.filter(
            organization_id=organization_id, user_id__in=ids, state=AgentState.PAUSED
        ).values_list("user_id", flat=True)
    )
    limits = {uid: a.max_open_leads for uid, a in availability.items() if a.max_open_leads is not None}
    open_counts = _open_counts(organization_id, list(limits)) if limits else {}
    for uid in ids:
        a = availability.get(uid)
        if a is not None and not a.accepts_inbound:
            reasons[uid] = _("does not take inbound leads")
        elif a is not None and a.away_until and a.away_until > now and (a.away_from is None or a.away_from <= now):
            reasons[uid] = _("out of office")
        elif uid in paused:
            reasons[uid] = _("paused")
        elif uid in limits and open_counts.get(uid, 0) >= limits[uid]:
            reasons[uid] = _("at capacity (%(n)d open new leads)") % {"n": open_counts.get(uid, 0)}
        elif skip_offline and (a is None or a.seen_at is None or a.seen_at < now - ONLINE_WINDOW):
            reasons[uid] = _("offline")
    return reasons


def _open_counts(organization_id: int, user_ids: list[int]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(organization_id=organization_id, owner_id__in=user_ids, status=LeadStatus.NEW)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {r["owner_id"]: r["n"] for r in rows}


def _pick_round_robin(rule: RoutingRule, eligible: list[Candidate], *, commit: bool) -> Candidate:
    """Smooth weighted round robin (as nginx balances upstreams): over any stretch, each rep gets leads in
    proportion to their weight, interleaved rather than in bursts; reps skipped keep their place."""
    state = {str(k): int(v) for k, v in (rule.rr_state or {}).items()}
    weights = {c.user_id: max(0, int((rule.weights or {}).get(str(c.user_id), 1))) for c in eligible}
    weighted = [c for c in eligible if weights[c.user_id] > 0] or eligible
    total = sum(weights[c.user_id] or 1 for c in weighted)
    for c in weighted:
        state[str(c.user_id)] = state.get(str(c.user_id), 0) + (weights[c.user_id] or 1)
    chosen = max(weighted, key=lambda c: (state[str(c.user_id)], -c.user_id))
    state[str(chosen.user_id)] -= total
    if commit:
        rule.rr_state = state
        RoutingRule.objects.filter(pk=rule.pk).update(rr_state=state)
    return chosen


def _pick_least_open(rule: RoutingRule, eligible: list[Candidate]) -> Candidate:
    counts = (
        Lead.objects.filter(
            organization_id=rule.organization_id,
            owner_id__in=[c.user_id for c in eligible],
            status__in=OPEN_STATUSES,
        )
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    by_user = {r["owner_id"]: r["n"] for r in counts}
    return min(eligible, key=lambda c: (by_user.get(c.user_id, 0), c.user_id))


def account_owner(lead: Lead, *, contacts_checked: bool = False) -> tuple[Candidate | None, str]:
    """The owner of the existing account this lead belongs to: a contact with the same email (not looked
    for again when the caller knows there is none), or a company with the lead's email domain or name — if
    that owner is still an active member."""
    email_domain = lead.email.rsplit("@", 1)[-1].lower() if "@" in (lead.email or "") else ""
    owner_id, what = None, ""
    if lead.email and not contacts_checked:
        contact = (
            Contact.objects.filter(organization_id=lead.organization_id, email=lead.email.lower())
            .exclude(owner_id=None)
            .order_by("pk")
            .first()
        )
        if contact:
            owner_id, what = contact.owner_id, _("contact %(name)s") % {"name": contact}
    if owner_id is None:
        company = _matching_company(lead, email_domain)
        if company and company.owner_id:
            owner_id, what = company.owner_id, _("company %(name)s") % {"name": company.name}
    if owner_id is None:
        return None, ""
    member = (
        Membership.objects.select_related("user")
        .filter(organization_id=lead.organization_id, user_id=owner_id, is_active=True, user__is_active=True)
        .first()
    )
    if member is None:
        return None, ""
    return (
        Candidate(
            member.user_id,
            member.user.full_name or member.user.email,
            member.team_id,
            member.agency_id,
            member.user.language or "en",
        ),
        what,
    )


# --- the decision ------------------------------------------------------------------------------------------


def _active_rules(organization_id: int) -> QuerySet:
    return RoutingRule.objects.filter(organization_id=organization_id, is_active=True).order_by(
        "is_default", "position", "id"
    )


_ACTIVE_RULES = CompiledQuery(_active_rules, organization_id=-7_301_915_449)


def rules_for(organization_id: int) -> list[RoutingRule]:
    return _ACTIVE_RULES.run(organization_id=organization_id)


def decide(
    lead: Lead,
    facts: dict,
    *,
    commit: bool,
    now: dt.datetime | None = None,
    exclude_user_ids: frozenset[int] = frozenset(),
    rules: list[RoutingRule] | None = None,
    contacts_checked: bool = False,
) -> Decision:
    """Which rule takes this lead and who gets it. With `commit`, a round robin's tallies advance."""
    now = now or timezone.now()
    decision = Decision()
    owner_of_account: tuple[Candidate | None, str] | None = None
    for rule in rules if rules is not None else rules_for(lead.organization_id):
        trace = RuleTrace(rule.pk, rule.name, matched=True)
        decision.trace.append(trace)
        for condition in rule.conditions or []:
            trace.why.append(describe_condition(condition, facts))
            if not condition_holds(condition, facts):
                trace.matched = False
        if not trace.matched:
            continue
        if rule.prefer_account_owner or rule.assign_to == AssignTo.ACCOUNT_OWNER:
            if owner_of_account is None:
                owner_of_account = account_owner(lead, contacts_checked=contacts_checked)
            found, what = owner_of_account
            if found and found.user_id not in exclude_user_ids:
                decision.rule, decision.owner = rule, found
                if commit:
                    decision.reason = _("Rule “%(rule)s”: owner of the existing account (%(what)s).") % {
                        "rule": rule.name,
                        "what": what,
                    }
                else:  # a trial ("test this lead") names no account its user may not be allowed to see
                    decision.reason = _("Rule “%(rule)s”: owner of an existing account.") % {"rule": rule.name}
                return decision
            if rule.assign_to == AssignTo.ACCOUNT_OWNER:
                trace.matched = False
                trace.why.append(_("no existing account with an active owner"))
                continue
        if rule.assign_to == AssignTo.POOL:
            decision.rule = rule
            decision.reason = _("Rule “%(rule)s”: left in the unassigned pool.") % {"rule": rule.name}
            return decision
        if rule.assign_to == AssignTo.AGENCY:
            agency = Agency.objects.filter(
                pk=rule.agency_id, organization_id=rule.organization_id, is_active=True
            ).first()
            if agency is None:
                trace.matched = False
                trace.why.append(_("its agency is missing or inactive"))
                continue
            decision.rule, decision.agency_id = rule, agency.pk
            decision.reason = _("Rule “%(rule)s”: to agency %(agency)s.") % {"rule": rule.name, "agency": agency.name}
            return decision
        if rule.assign_to == AssignTo.USER:
            pool = _single(rule)
        else:
            pool = _candidates(rule) if rule.team_id else []
        reasons = unavailable_reasons(rule.organization_id, pool, skip_offline=rule.skip_offline, now=now)
        for c in pool:
            if c.user_id in exclude_user_ids:
                reasons[c.user_id] = _("already had this lead")
        eligible = [c for c in pool if c.user_id not in reasons]
        trace.skipped = [(c.name, reasons[c.user_id]) for c in pool if c.user_id in reasons]
        if not eligible:
            trace.matched = False
            trace.why.append(_("nobody in it can take a lead now") if pool else _("nobody to assign to"))
            continue
        if rule.assign_to == AssignTo.LEAST_OPEN:
            chosen = _pick_least_open(rule, eligible)
            how = _("fewest open leads")
        elif rule.assign_to == AssignTo.ROUND_ROBIN:
            chosen = _pick_round_robin(rule, eligible, commit=commit)
            how = _("round robin")
        else:
            chosen, how = eligible[0], _("territory owner")
        decision.rule, decision.owner = rule, chosen
        decision.reason = _("Rule “%(rule)s”: %(how)s → %(rep)s.") % {"rule": rule.name, "how": how, "rep": chosen.name}
        return decision
    decision.reason = _("No rule matched: left in the unassigned pool.")
    return decision


def _single(rule: RoutingRule) -> list[Candidate]:
    member = (
        Membership.objects.select_related("user")
        .filter(organization_id=rule.organization_id, user_id=rule.user_id, is_active=True, user__is_active=True)
        .first()
    )
    if member is None:
        return []
    return [
        Candidate(
            member.user_id,
            member.user.full_name or member.user.email,
            member.team_id,
            member.agency_id,
            member.user.language or "en",
        )
    ]


def mark_seen(*, organization_id: int, user_id: int, now: dt.datetime | None = None) -> None:
    """The rep's app is open (called by the notification stream): they count as online for routing."""
    now = now or timezone.now()
    updated = RepAvailability.objects.filter(organization_id=organization_id, user_id=user_id).update(seen_at=now)
    if not updated:
        RepAvailability.objects.get_or_create(
            organization_id=organization_id, user_id=user_id, defaults={"seen_at": now}
        )


def online_filter(now: dt.datetime) -> Q:
    return Q(seen_at__gte=now - ONLINE_WINDOW)
