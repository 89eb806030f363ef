"""Accepting an inbound inquiry (a web form sent, an inbound API call) in one transaction: check it, find the
lead or contact it belongs to or create a lead, route it, alert the rep, queue their call, start the clock.

Everything happens before the commit the caller's 2xx answer waits for: an acknowledged inquiry is stored,
assigned and announced; an error or a crash leaves nothing behind, so the sender may simply retry (and a
retry carrying the same key finds the first one instead of storing a second).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from insidesales.core.compiled import CompiledQuery
from insidesales.core.errors import ValidationError
from insidesales.crm.models import Activity, ActivityKind, Contact, Lead, LeadSource, LeadStatus, Task
from insidesales.crm.services.activities import activity_log
from insidesales.crm.services.leads import lead_prepare
from insidesales.inbound import routing
from insidesales.inbound.models import Channel, NotificationKind, Outcome, Submission, WebForm, WebhookEndpoint
from insidesales.inbound.services.notifications import notify
from insidesales.orgs.models import Membership, Organization, Role, User
from insidesales.orgs.services import audit_record

# Lead fields a form or the API may fill (besides "custom:<key>" for the organization's custom lead fields).
LEAD_FIELDS = ("first_name", "last_name", "email", "phone", "company_name", "title", "country", "notes")
UTM_KEYS = ("source", "medium", "campaign", "term", "content")
VALUE_LIMIT = 5000


@dataclass
class Visit:
    """Where an inquiry came from: the visitor's address and browser, the page that linked to the form
    (referrer), the page the form was on (landing page) and its UTM parameters."""

    ip: str | None = None
    user_agent: str = ""
    referrer: str = ""
    landing_page: str = ""
    utm: dict[str, str] = field(default_factory=dict)


def _lead_data(values: dict[str, Any], source: str) -> dict[str, Any]:
    data: dict[str, Any] = {"source": source if source in LeadSource.values else LeadSource.WEB_FORM}
    custom: dict[str, Any] = {}
    for key, value in values.items():
        if key in LEAD_FIELDS:
            data[key] = value
        elif key.startswith("custom:"):
            custom[key.removeprefix("custom:")] = value
    if custom:
        data["custom"] = custom
    if data.get("country"):
        data["country"] = str(data["country"]).strip().upper()
    return data


def _check_form(form: WebForm | None, values: dict[str, Any], consent_given: bool) -> None:
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        if len(str(value)) > VALUE_LIMIT:
            errors.setdefault(key, []).append(_("At most %(n)d characters.") % {"n": VALUE_LIMIT})
    if form is not None:
        for spec in form.fields or []:
            if spec.get("required") and not str(values.get(spec.get("key"), "") or "").strip():
                errors.setdefault(spec["key"], []).append(_("This field is required."))
        if form.consent_text and form.consent_required and not consent_given:
            errors.setdefault("consent", []).append(_("Please confirm your consent to be contacted."))
    if not any(str(values.get(k, "") or "").strip() for k in ("email", "phone")):
        errors.setdefault("email", []).append(_("Give an email address or a phone number so we can reply."))
    if errors:
        raise ValidationError(_("Please correct the errors below."), fields=errors)


def _matching_query(model: type, names: tuple[str, ...]) -> CompiledQuery:
    """Records of an organization with this email and/or phone: one statement, each arm on its own index
    (an OR would let SQLite's planner, without statistics, walk the organization's whole activity index
    instead); compiled once per shape, as every inquiry asks. Each arm binds the organization anew."""

    def build(**values: int | str) -> QuerySet:
        arms = [
            model.objects.filter(organization_id=values[f"organization_{n}"], **{name: values[name]})
            for n, name in enumerate(names)
        ]
        return arms[0].union(*arms[1:], all=True) if len(arms) > 1 else arms[0]

    sentinels: dict[str, int | str] = {name: f"\x01sentinel-{name}" for name in names}
    for n in range(len(names)):
        sentinels[f"organization_{n}"] = -7_301_915_452 - n
    return CompiledQuery(build, **sentinels)


_MATCHING = {
    (model, names): _matching_query(model, names)
    for model in (Lead, Contact)
    for names in (("email",), ("phone",), ("email", "phone"))
}


def _existing(lead: Lead) -> tuple[Lead | None, Contact | None]:
    """The lead or contact this inquiry's sender already is (same email, else same phone), if any: one
    query for leads, one for contacts (only if no open lead matched)."""
    keys = [(name, getattr(lead, name)) for name in ("email", "phone") if getattr(lead, name)]
    if not keys:
        return None, None

    def matching(model: type) -> list:
        query = _MATCHING[(model, tuple(name for name, _value in keys))]
        found = query.run(**dict(keys), **{f"organization_{n}": lead.organization_id for n in range(len(keys))})
        return sorted({r.pk: r for r in found}.values(), key=lambda r: (r.last_activity_at, r.pk), reverse=True)

    leads = matching(Lead)
    contacts: list[Contact] | None = None
    for name, value in keys:  # an email match wins over a phone match
        for found in leads:
            if getattr(found, name) != value:
                continue
            if found.status != LeadStatus.CONVERTED:
                return found, None
            if found.converted_contact_id:
                contact = Contact.objects.filter(pk=found.converted_contact_id).first()
                if contact is not None:
                    return None, contact
        if contacts is None:
            contacts = matching(Contact)
        for contact in contacts:
            if getattr(contact, name) == value:
                return None, contact
    return None, None


def _by_key(organization_id: int, dedupe_key: str) -> QuerySet:
    return Submission.objects.filter(organization_id=organization_id, dedupe_key=dedupe_key)[:1]


_BY_KEY = CompiledQuery(_by_key, organization_id=-7_301_915_451, dedupe_key="\x01sentinel-key")


class KeyReused(ValidationError):
    """The key (a form's start token, an Idempotency-Key) was already used for an inquiry with other
    details: a retry must repeat the same request, and a new inquiry needs a new key."""


def _short_key(key: str) -> str:
    """Keys fit the column: a long one is replaced by its digest (two long keys never collide by prefix)."""
    if len(key) <= 90:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


_writer = threading.Lock()


@contextlib.contextmanager
def _one_writer():
    """On SQLite, one inquiry at a time per process. SQLite has one writer anyway; a thread that finds the
    database locked sleeps in growing steps (1, 2, 5, 10... ms) before it tries again, so with several web
    threads the lock sat free while they slept. Waiting here instead wakes the next one at once."""
    if connection.vendor != "sqlite":
        yield
        return
    with _writer:
        yield


def _same_or_refused(earlier: Submission, values: dict[str, Any]) -> Submission:
    sent = {k: ("" if v is None else v) for k, v in values.items()}
    if earlier.data != sent:
        raise KeyReused(_("This was already sent with other details. Please send it again."))
    return earlier


def submission_accept(
    *,
    organization: Organization,
    form: WebForm | None,
    channel: str = Channel.FORM,
    values: dict[str, Any],
    visit: Visit | None = None,
    consent_given: bool = False,
    consent_text: str = "",
    dedupe_key: str = "",
    source: str = "",
    now: dt.datetime | None = None,
) -> tuple[Submission, bool]:
    """Store one inquiry; returns it and whether it is new (False: this key was already stored)."""
    dedupe_key = _short_key(dedupe_key)
    if dedupe_key:
        earlier = next(iter(_BY_KEY.run(organization_id=organization.pk, dedupe_key=dedupe_key)), None)
        if earlier is not None:
            return _same_or_refused(earlier, values), False
    try:
        with _one_writer():
            stored = _accept(
                organization,
                form,
                channel,
                values,
                visit or Visit(),
                consent_given,
                consent_text,
                dedupe_key,
                source,
                now,
            )
        return stored, True
    except IntegrityError:
        if not dedupe_key:
            raise
        earlier = Submission.objects.filter(organization_id=organization.pk, dedupe_key=dedupe_key).first()
        if earlier is None:
            raise
        return _same_or_refused(earlier, values), False


@transaction.atomic
def _accept(
    organization: Organization,
    form: WebForm | None,
    channel: str,
    values: dict[str, Any],
    visit: Visit,
    consent_given: bool,
    consent_text: str,
    dedupe_key: str,
    source: str,
    now: dt.datetime | None,
) -> Submission:
    now = now or timezone.now()
    values = {k: ("" if v is None else v) for k, v in values.items()}
    _check_form(form, values, consent_given)
    lead = lead_prepare(organization=organization, data=_lead_data(values, source or (form.source if form else "")))
    existing_lead, existing_contact = _existing(lead)
    if form is not None and form.consent_text:
        consent_text = form.consent_text
    consent_text = consent_text if consent_given else ""
    submission = Submission(
        organization_id=organization.pk,
        form=form,
        channel=channel,
        received_at=now,
        data=values,
        consent_text=consent_text,
        consent_given=consent_given,
        ip=visit.ip,
        user_agent=visit.user_agent[:300],
        referrer=visit.referrer[:1000],
        landing_page=visit.landing_page[:1000],
        utm={k: str(v)[:200] for k, v in visit.utm.items() if k in UTM_KEYS and v},
        source=lead.source,
        dedupe_key=dedupe_key[:100] or None,
    )
    inquiry = {
        "channel": channel,
        "form": form.pk if form else None,
        "form_name": form.name if form else "",
        "values": values,
        "utm": submission.utm,
        "referrer": submission.referrer,
        "landing_page": submission.landing_page,
        "consent_text": consent_text,
    }
    subject = _("Inquiry via %(form)s") % {"form": form.name} if form else _("Inquiry via the API")
    decision: routing.Decision | None = None
    record: Lead | Contact
    if existing_contact is not None:
        record = existing_contact
        submission.outcome, submission.contact = Outcome.ATTACHED_CONTACT, existing_contact
        owner_id, team_id, agency_id = existing_contact.owner_id, existing_contact.team_id, existing_contact.agency_id
    elif existing_lead is not None:
        record = existing_lead
        submission.outcome, submission.lead = Outcome.ATTACHED_LEAD, existing_lead
        owner_id, team_id, agency_id = existing_lead.owner_id, existing_lead.team_id, existing_lead.agency_id
        if owner_id is None and agency_id is None:
            decision = _route(existing_lead, form, channel, submission.utm, now)
            owner_id, team_id, agency_id = _assign(existing_lead, decision)
    else:
        lead.last_activity_at = now
        decision = _route(lead, form, channel, submission.utm, now, contacts_checked=True)
        owner_id, team_id, agency_id = _owner_of(decision)
        lead.owner_id, lead.team_id, lead.agency_id = owner_id, team_id, agency_id
        lead.save()
        record = lead
        submission.lead = lead
        audit_record(
            organization_id=organization.pk,
            actor=None,
            action="lead.create",
            instance=lead,
            changes={"source": [None, lead.source], "channel": [None, channel]},
        )
        Activity.objects.bulk_create(
            [
                Activity(
                    organization_id=organization.pk,
                    kind=ActivityKind.CREATED,
                    subject=_("Lead created"),
                    data={"source": lead.source, "channel": channel},
                    occurred_at=now,
                    lead=lead,
                ),
                Activity(
                    organization_id=organization.pk,
                    kind=ActivityKind.INQUIRY,
                    subject=subject[:255],
                    data=inquiry,
                    occurred_at=now,
                    lead=lead,
                ),
                *(
                    [
                        _assignment_entry(
                            lead,
                            decision,
                            {"owner_id": [None, owner_id], "team_id": [None, team_id], "agency_id": [None, agency_id]},
                            now,
                        )
                    ]
                    if owner_id or agency_id
                    else []
                ),
            ]
        )
    if submission.outcome != Outcome.CREATED:
        activity_log(
            record=record, kind=ActivityKind.INQUIRY, actor=None, subject=subject, data=inquiry, occurred_at=now
        )
    submission.owner_id, submission.team_id, submission.agency_id = owner_id, team_id, agency_id
    if decision is not None:
        submission.rule = decision.rule
        submission.route_reason = decision.reason[:300]
    if owner_id or agency_id:
        submission.assigned_at = now
    if decision is not None and decision.rule is not None and decision.rule.sla_minutes and owner_id:
        from insidesales.inbound.sla import deadline

        submission.sla_due_at = deadline(decision.rule, organization, now)
    submission.save()
    if submission.sla_due_at is not None:
        from insidesales.inbound.sla import schedule_check

        schedule_check(submission)
    _announce(organization, submission, record, now, decision)
    _emit_webhooks(organization, submission, record, decision)
    return submission


def _route(
    lead: Lead, form: WebForm | None, channel: str, utm: dict, now: dt.datetime, *, contacts_checked: bool = False
) -> routing.Decision:
    facts = routing.lead_facts(lead, form_id=form.pk if form else None, channel=channel, utm=utm)
    return routing.decide(lead, facts, commit=True, now=now, contacts_checked=contacts_checked)


def _owner_of(decision: routing.Decision) -> tuple[int | None, int | None, int | None]:
    if decision.owner is not None:
        return decision.owner.user_id, decision.owner.team_id, decision.owner.agency_id
    return None, None, decision.agency_id


def _assignment_entry(lead: Lead, decision: routing.Decision, changes: dict, now: dt.datetime) -> Activity:
    return Activity(
        organization_id=lead.organization_id,
        kind=ActivityKind.ASSIGNMENT,
        subject=(decision.owner.name if decision.owner else _("Agency"))[:255],
        body=decision.reason,
        data={**changes, "rule": decision.rule.pk if decision.rule else None},
        occurred_at=now,
        lead=lead,
    )


def _assign(lead: Lead, decision: routing.Decision) -> tuple[int | None, int | None, int | None]:
    """Give an existing lead to whom the decision names (nobody: it stays in the pool), on its timeline."""
    owner_id, team_id, agency_id = _owner_of(decision)
    if (owner_id, team_id, agency_id) != (lead.owner_id, lead.team_id, lead.agency_id):
        before = {"owner_id": lead.owner_id, "team_id": lead.team_id, "agency_id": lead.agency_id}
        lead.owner_id, lead.team_id, lead.agency_id = owner_id, team_id, agency_id
        lead.save(update_fields=["owner", "team", "agency", "updated_at"])
        after = {"owner_id": owner_id, "team_id": team_id, "agency_id": agency_id}
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        _assignment_entry(lead, decision, changes, timezone.now()).save()
    return owner_id, team_id, agency_id


def _recipients(organization: Organization, submission: Submission) -> list[int]:
    if submission.owner_id:
        return [submission.owner_id]
    members = Membership.objects.filter(organization_id=organization.pk, is_active=True, user__is_active=True)
    if submission.agency_id:
        return list(members.filter(agency_id=submission.agency_id).values_list("user_id", flat=True))
    # Nobody got it: the people who hand out work (the rule's team's managers, else the admins).
    rule = submission.rule
    if rule is not None and rule.team_id:
        managers = list(rule.team.managers.filter(is_active=True).values_list("pk", flat=True))
        if managers:
            return managers
    return list(members.filter(role=Role.ADMIN).values_list("user_id", flat=True))


def _announce(
    organization: Organization,
    submission: Submission,
    record: Lead | Contact,
    now: dt.datetime,
    decision: routing.Decision | None = None,
) -> None:
    """Alert whoever got the inquiry (live and by email, each in their language) and put a call at the top of
    the rep's tasks."""
    recipients = _recipients(organization, submission)
    name = str(record)
    owner = decision.owner if decision is not None else None
    if owner is not None and recipients == [owner.user_id]:
        languages = {owner.user_id: owner.language}  # routing read it already
    else:
        languages = dict(User.objects.filter(pk__in=recipients).values_list("pk", "language"))
    for language in sorted(set(languages.values())):
        with override(language or "en"):
            if submission.outcome == Outcome.CREATED:
                title = _("New inbound lead: %(name)s") % {"name": name}
            else:
                title = _("New inquiry from %(name)s") % {"name": name}
            notify(
                organization_id=organization.pk,
                user_ids=[uid for uid, lang in languages.items() if lang == language],
                kind=NotificationKind.NEW_LEAD,
                title=title,
                body=_channel_line(submission),
                lead_id=submission.lead_id,
                contact_id=submission.contact_id,
                submission_id=submission.pk,
                now=now,
                fresh=True,
            )
    if submission.owner_id:
        with override(languages.get(submission.owner_id) or "en"):
            call_title = _("Call back %(name)s (inbound inquiry)") % {"name": name}
        # Due at the moment the inquiry came in: the earliest due date in the rep's task list is first.
        Task.objects.create(
            organization_id=organization.pk,
            title=call_title[:255],
            due_at=now,
            assignee_id=submission.owner_id,
            lead_id=submission.lead_id,
            contact_id=submission.contact_id if submission.lead_id is None else None,
        )


def _channel_line(submission: Submission) -> str:
    if submission.form_id:
        line = _("Form “%(form)s”") % {"form": submission.form.name}
    else:
        line = _("Inbound API")
    if submission.utm.get("campaign"):
        line += " · " + submission.utm["campaign"]
    return line


def _emit_webhooks(organization: Organization, submission: Submission, record: Any, decision: Any) -> None:
    """lead.created for a new lead, lead.assigned when routing gave it to someone (queued in this
    transaction: a subscriber hears of exactly what was committed). One look at the subscriptions first:
    most organizations have none for these events."""
    from insidesales.inbound.webhook_events import emit_lead

    wanted = {
        event
        for events in _SUBSCRIBED.run(organization_id=organization.pk)
        for event in (events.events or [])
        if event in ("lead.created", "lead.assigned")
    }
    if not wanted or not submission.lead_id:
        return
    if "lead.created" in wanted and submission.outcome == Outcome.CREATED:
        emit_lead("lead.created", record, channel=submission.channel)
    if "lead.assigned" in wanted and decision is not None and (submission.owner_id or submission.agency_id):
        emit_lead("lead.assigned", record, rule=decision.rule.name if decision.rule else None)


def _subscriptions(organization_id: int) -> QuerySet:
    return WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True).only("id", "events")


_SUBSCRIBED = CompiledQuery(_subscriptions, organization_id=-7_301_915_450)
