"""Response deadlines (speed to lead): when a rule's first-touch deadline falls, and what happens when it
passes with no call or email by a person — reassign to the next rep and/or alert the managers, each step
on the lead's timeline.

Working hours are the organization's (Settings → Speed to lead), Monday to Friday 09:00–18:00 in the
organization's time zone unless changed, public holidays of its country closed; a rule that counts clock
time ignores them. The check of one inquiry is idempotent: it locks the row, acts only if the deadline
really passed untouched, and every alert is unique per step, so a crash or a second worker repeats nothing.
"""

from __future__ import annotations

import datetime as dt
import time as clock
from datetime import UTC, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from insidesales.calls.windows import CallingWindow, WindowRules, allowed_intervals
from insidesales.crm.models import ActivityKind, Lead, Task
from insidesales.crm.services.activities import activity_log
from insidesales.inbound import routing
from insidesales.inbound.models import InboundSettings, NotificationKind, RoutingRule, SlaAction, Submission
from insidesales.orgs.models import Membership, Organization, Role, User

DEFAULT_WORKING_HOURS = WindowRules(default=(CallingWindow(time(9), time(18), frozenset(range(5))),))
SEARCH = dt.timedelta(days=60)


_rules_cache: dict[tuple, tuple[float, WindowRules]] = {}
RULES_CACHE_SECONDS = 30.0


def working_rules(organization: Organization) -> WindowRules:
    """The organization's working hours (read at most every 30 s per process: every routed inquiry with a
    deadline asks, and they change rarely)."""
    now = clock.monotonic()
    key = (organization.pk, organization.created_at)
    cached = _rules_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    rules = _read_working_rules(organization)
    _rules_cache[key] = (now + RULES_CACHE_SECONDS, rules)
    return rules


def forget_working_rules(organization_id: int) -> None:
    for key in [k for k in _rules_cache if k[0] == organization_id]:
        _rules_cache.pop(key, None)


def _read_working_rules(organization: Organization) -> WindowRules:
    found = InboundSettings.objects.filter(organization_id=organization.pk).first()
    if found is None or not found.working_hours:
        rules = DEFAULT_WORKING_HOURS
        public = found.public_holidays if found else True
    else:
        try:
            rules = WindowRules.from_json(found.working_hours)
        except ValueError:
            rules = DEFAULT_WORKING_HOURS
        public = found.public_holidays
    return WindowRules(default=rules.default, blocked_dates=rules.blocked_dates, public_holidays=public)


def add_working_minutes(organization: Organization, start: dt.datetime, minutes: int) -> dt.datetime:
    """`minutes` of the organization's working time after `start` (which may fall outside working hours:
    then the clock starts when work does)."""
    rules = working_rules(organization)
    zone = organization.time_zone or "UTC"
    country = (organization.default_region or "").upper()
    left = dt.timedelta(minutes=minutes)
    naive = start.astimezone(UTC).replace(tzinfo=None)
    for opens, closes in allowed_intervals(rules, zone, country, naive, naive + SEARCH):
        opens = max(opens, naive)
        if closes - opens >= left:
            return (opens + left).replace(tzinfo=UTC)
        left -= closes - opens
    return start + dt.timedelta(minutes=minutes)  # no working time in sight: clock time


def deadline(rule: RoutingRule, organization: Organization, start: dt.datetime) -> dt.datetime:
    """When the first touch is due for an inquiry that `rule` routed at `start`."""
    minutes = rule.sla_minutes or 0
    if rule.sla_working_hours:
        return add_working_minutes(organization, start, minutes)
    return start + dt.timedelta(minutes=minutes)


def schedule_check(submission: Submission) -> None:
    """After commit, have the worker look at this inquiry when its deadline passes."""
    if submission.sla_due_at is None:
        return
    from insidesales.inbound.tasks import check_response_deadline

    pk, when = submission.pk, submission.sla_due_at
    transaction.on_commit(lambda: check_response_deadline.using(run_after=when).enqueue(pk))


def _managers(lead: Lead) -> list[int]:
    if lead.team_id:
        ids = list(User.objects.filter(managed_teams__id=lead.team_id, is_active=True).values_list("pk", flat=True))
        if ids:
            return ids
    return list(
        Membership.objects.filter(
            organization_id=lead.organization_id, role=Role.ADMIN, is_active=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


@transaction.atomic
def deadline_check(*, submission_id: int, now: dt.datetime | None = None) -> str:
    """Act on one inquiry whose deadline passed untouched; returns what was done ("" for nothing)."""
    from insidesales.inbound.services.notifications import notify

    now = now or timezone.now()
    submission = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("rule", "organization")
        .filter(pk=submission_id)
        .first()
    )
    if (
        submission is None
        or submission.first_touch_at is not None
        or submission.sla_due_at is None
        or submission.sla_due_at > now
        or submission.lead_id is None
    ):
        return ""
    lead = Lead.objects.select_for_update().filter(pk=submission.lead_id).first()
    rule = submission.rule
    if lead is None or rule is None or not rule.sla_minutes:
        Submission.objects.filter(pk=submission.pk).update(sla_due_at=None)
        return ""
    step = submission.sla_steps + 1
    organization = submission.organization
    missed_owner = lead.owner
    with override(_language(missed_owner)):
        activity_log(
            record=lead,
            kind=ActivityKind.DEADLINE,
            actor=None,
            subject=_("No call or email within %(n)d minutes") % {"n": rule.sla_minutes},
            body=str(missed_owner) if missed_owner else "",
            data={
                "submission": submission.pk,
                "step": step,
                "owner_id": lead.owner_id,
                "rule": rule.pk,
                "minutes": rule.sla_minutes,
            },
            touch=False,
        )
    done = []
    tried = list(dict.fromkeys([*submission.tried_user_ids, *([lead.owner_id] if lead.owner_id else [])]))
    submission.tried_user_ids = tried
    submission.sla_missed = True
    submission.sla_steps = step
    submission.sla_due_at = None
    reassign = rule.sla_action in (SlaAction.REASSIGN, SlaAction.BOTH) and step <= rule.sla_max_reassignments
    if reassign:
        facts = routing.lead_facts(lead, form_id=submission.form_id, channel=submission.channel, utm=submission.utm)
        decision = routing.decide(lead, facts, commit=True, now=now, exclude_user_ids=frozenset(tried), rules=[rule])
        if decision.owner is not None:
            before = {"owner_id": lead.owner_id, "team_id": lead.team_id}
            lead.owner_id, lead.team_id = decision.owner.user_id, decision.owner.team_id
            lead.agency_id = decision.owner.agency_id
            lead.save(update_fields=["owner", "team", "agency", "updated_at"])
            with override(_language(User.objects.filter(pk=lead.owner_id).first())):
                activity_log(
                    record=lead,
                    kind=ActivityKind.ASSIGNMENT,
                    actor=None,
                    subject=decision.owner.name,
                    body=_("Reassigned: the response deadline passed."),
                    data={
                        "owner_id": [before["owner_id"], lead.owner_id],
                        "team_id": [before["team_id"], lead.team_id],
                        "rule": rule.pk,
                        "deadline_step": step,
                    },
                )
                notify(
                    organization_id=organization.pk,
                    user_ids=[lead.owner_id],
                    kind=NotificationKind.REASSIGNED,
                    title=_("Inbound lead reassigned to you: %(name)s") % {"name": lead},
                    body=_("The previous rep did not call or email in time."),
                    lead_id=lead.pk,
                    submission_id=submission.pk,
                    step=step,
                    now=now,
                )
            Task.objects.filter(
                lead_id=lead.pk, completed_at__isnull=True, assignee_id__in=tried, due_at=submission.received_at
            ).update(assignee_id=lead.owner_id)
            submission.owner_id, submission.team_id = lead.owner_id, lead.team_id
            submission.agency_id = lead.agency_id
            submission.sla_due_at = deadline(rule, organization, now)
            done.append("reassigned")
    if rule.sla_action in (SlaAction.ESCALATE, SlaAction.BOTH):
        managers = _managers(lead)
        by_language: dict[str, list[int]] = {}
        for user in User.objects.filter(pk__in=managers):
            by_language.setdefault(user.language or "en", []).append(user.pk)
        for language, ids in by_language.items():
            with override(language):
                notify(
                    organization_id=organization.pk,
                    user_ids=ids,
                    kind=NotificationKind.ESCALATED,
                    title=_("Inbound lead not answered in time: %(name)s") % {"name": lead},
                    body=_("%(rep)s did not call or email within %(n)d minutes.")
                    % {"rep": missed_owner or _("Nobody"), "n": rule.sla_minutes},
                    lead_id=lead.pk,
                    submission_id=submission.pk,
                    step=step,
                    now=now,
                )
        done.append("escalated")
    submission.save(
        update_fields=[
            "tried_user_ids",
            "sla_missed",
            "sla_steps",
            "sla_due_at",
            "owner",
            "team",
            "agency",
            "updated_at",
        ]
    )
    schedule_check(submission)
    return "+".join(done) or "missed"


def _language(user: User | None) -> str:
    return (user.language if user else "") or "en"


def overdue_check_all(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Catch-up: every inquiry whose deadline passed (e.g. while the worker was down)."""
    now = now or timezone.now()
    due = Submission.objects.filter(sla_due_at__lte=now).order_by("sla_due_at").values_list("pk", flat=True)[:limit]
    return sum(1 for pk in list(due) if deadline_check(submission_id=pk, now=now))
