"""The bulk of the demo organization: accounts, contacts, deals and leads with 90 days of history.

Rows are built as model instances with their own ids and timestamps (so history can lie in the past)
and inserted in bulk; the entries mirror what the services write (subjects, `data` shapes), so a
timeline looks the same whether a service or this module wrote it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from insidesales.core import demo_data as data
from insidesales.core.bulk_insert import assign_ids, insert_objects
from insidesales.core.synthetic import CompanyData, PersonData, Synthetic
from insidesales.core.text import company_search_key, search_key
from insidesales.crm.models import (
    Activity,
    ActivityKind,
    Company,
    Contact,
    Deal,
    DisqualifyReason,
    Lead,
    LeadSource,
    LeadStatus,
    Stage,
    StageKind,
)
from insidesales.orgs.models import Organization, User

LEGAL_FORM = re.compile(r"^(?:ООО|ПАО|АО|ЗАО)\s+|\s+(?:Inc\.|LLC|Corp\.|Co\.|GmbH|Ltd\.?)$")
DUPLICATE_ACCOUNTS = 0.06  # accounts entered twice (with their main contact), for the duplicates pages
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
STATUS_WEIGHTS = {"new": 22, "working": 34, "qualified": 16, "disqualified": 16, "converted": 12}
SOURCE_WEIGHTS = {"cold_list": 30, "web_form": 30, "inbound_call": 12, "referral": 10, "event": 10, "partner": 8}
PRODUCTS = {"en": ("Annual plan", "Pilot", "Expansion", "Renewal"), "ru": ("Годовой контракт", "Пилот", "Расширение")}
CALL_SUBJECT = {"en": "Outbound call", "ru": "Исходящий звонок"}
MEETING_SUBJECT = {"en": "On-site meeting", "ru": "Встреча у клиента"}


def weighted(weights: dict[str, int]) -> list[str]:
    return [key for key, weight in weights.items() for _ in range(weight)]


@dataclass
class Desk:
    """Who works a market: reps (user, team id), the manager who hands out leads."""

    reps: list[User]
    manager: User
    team_id: int | None
    field_rep: User | None = None


@dataclass
class DemoBatch:
    """Everything built in memory before insertion, in foreign-key order."""

    companies: list[Company] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    lead_tags: list[tuple[Lead, int]] = field(default_factory=list)
    # (lead, data of its conversion entry, data of the contact's and company's entries): ids filled on insert
    conversions: list[tuple[Lead, dict, dict]] = field(default_factory=list)


class DemoRecords:
    """Builds and inserts the demo's volume data. `desks` maps a market ("US", "RU") to its desk."""

    def __init__(
        self,
        *,
        organization: Organization,
        synthetic: Synthetic,
        desks: dict[str, Desk],
        admin: User,
        agency_id: int,
        agency_name: str,
        agency_reps: list[User],
        stages: list[Stage],
        tag_ids: list[int],
        now: dt.datetime | None = None,
    ) -> None:
        self.org = organization
        self.syn = synthetic
        self.rng = synthetic.rng
        # Accounts entered twice draw from their own stream: the rest of the demo stays as it was.
        self.twins = random.Random(f"twins:{synthetic.seed}")
        self.desks = desks
        self.admin = admin
        self.agency_id = agency_id
        self.agency_name = agency_name
        self.agency_reps = agency_reps
        self.stages = stages
        self.tag_ids = tag_ids
        self.now = now or timezone.now()
        self.batch = DemoBatch()
        self.accounts: dict[str, list[tuple[Company, CompanyData]]] = {}
        self.statuses = weighted(STATUS_WEIGHTS)
        self.sources = weighted(SOURCE_WEIGHTS)

    # --- helpers ----------------------------------------------------------------------------------
    def desk(self, market: str) -> Desk:
        return self.desks["RU"] if market == "RU" else self.desks["US"]

    def ago(self, max_days: float, min_days: float = 0.05) -> dt.datetime:
        # Skewed so that, as in real pipelines, there is more recent work than old work.
        return self.now - (min_days + (max_days - min_days) * self.rng.random() ** 1.4) * DAY

    def moments(self, start: dt.datetime, count: int) -> list[dt.datetime]:
        """`count` sorted times after `start`, during working hours where it is easy, all in the past."""
        span = max((self.now - start).total_seconds() - 600, 60)
        return sorted(start + dt.timedelta(seconds=60 + span * self.rng.random()) for _ in range(count))

    def activity(self, record, kind: str, actor: User | None, when: dt.datetime, **fields) -> Activity:
        target = {Lead: "lead", Contact: "contact", Company: "company", Deal: "deal"}[type(record)]
        entry = Activity(
            organization=self.org,
            kind=kind,
            actor=actor,
            occurred_at=when,
            subject=fields.pop("subject", "")[:255],
            body=fields.pop("body", ""),
            data=fields.pop("data", {}),
            **{target: record},
            **fields,
        )
        self.batch.activities.append(entry)
        return entry

    def touch(self, record, actor: User | None, when: dt.datetime, language: str, email: str) -> None:
        """One call, email or note by `actor`."""
        roll = self.rng.random()
        if roll < 0.55:
            outcome = self.syn.pick(data.CALL_OUTCOMES)
            duration = self.rng.randint(45, 1200) if outcome == "connected" else self.rng.randint(0, 35)
            payload = {"direction": "outbound", "duration": duration, "outcome": outcome}
            self.activity(record, ActivityKind.CALL, actor, when, subject=CALL_SUBJECT[language], data=payload)
        elif roll < 0.85:
            inbound = self.rng.random() < 0.25
            payload = {"direction": "inbound" if inbound else "outbound", "from" if inbound else "to": email}
            subject = self.syn.pick(data.EMAIL_SUBJECTS[language])
            self.activity(
                record, ActivityKind.EMAIL, actor, when, subject=("Re: " if inbound else "") + subject, data=payload
            )
        else:
            self.activity(record, ActivityKind.NOTE, actor, when, body=self.syn.pick(data.NOTES[language]))

    def owner_for(self, market: str) -> tuple[User | None, int | None, int | None]:
        """(owner, team id, agency id): mostly the market's reps, some to the agency, some unassigned."""
        roll = self.rng.random()
        if roll < 0.07:
            return None, None, None
        if roll < 0.17:
            rep = self.syn.pick(self.agency_reps) if self.rng.random() < 0.7 else None
            return rep, None, self.agency_id
        desk = self.desk(market)
        return self.syn.pick(desk.reps), desk.team_id, None

    def stamp(self, record, created: dt.datetime, last: dt.datetime) -> None:
        record.created_at, record.updated_at, record.last_activity_at = created, last, last

    # --- accounts ---------------------------------------------------------------------------------
    def build_accounts(self, count: int) -> None:
        for _ in range(count):
            market = self.syn.market()
            info = self.syn.company(market)
            desk = self.desk(market)
            owner, team_id, agency_id = self.owner_for(market)
            if market == "US" and desk.field_rep and self.rng.random() < 0.3:
                owner, team_id, agency_id = desk.field_rep, desk.team_id, None  # field reps own accounts
            company = self.company_row(info, owner, team_id, agency_id, created=self.ago(400, 30))
            self.accounts.setdefault(market, []).append((company, info))
            language = "ru" if market == "RU" else "en"
            contacts = [
                self.contact_row(self.syn.person(market, domain=info.domain), company, company.created_at)
                for _ in range(self.rng.randint(1, 3))
            ]
            times = self.moments(self.now - 90 * DAY, self.rng.randint(1, 4))
            for when in times:
                self.touch(company, owner, when, language, contacts[0].email)
            self.stamp(company, company.created_at, times[-1])
            for contact in contacts:
                self.stamp(contact, company.created_at, times[-1])
            if self.rng.random() < 0.7:
                self.deal_row(company, contacts[0], language)
            if self.twins.random() < DUPLICATE_ACCOUNTS:
                self.duplicate_account(company, info, contacts[0], owner, team_id, agency_id)

    def duplicate_account(self, company: Company, info: CompanyData, contact: Contact, owner, team_id, agency_id):
        """The same account entered again, as happens in every CRM: a rep types the company without (or
        with) its legal form and the main contact with the phone as it was said on the call. The
        duplicates pages find both."""
        name = LEGAL_FORM.sub("", info.name).replace("«", "").replace("»", "").strip()
        if name == info.name or not name:
            name = f"{info.name} Inc." if info.country != "RU" else f"ООО «{info.name}»"
        when = company.created_at + self.twins.random() * 20 * DAY
        twin = Company(
            organization=self.org,
            name=name,
            domain=info.domain,
            industry=info.industry,
            country=info.country,
            city=info.city,
            name_key=company_search_key(name),
            owner=owner,
            team_id=team_id,
            agency_id=agency_id,
        )
        self.stamp(twin, when, when)
        self.activity(twin, ActivityKind.CREATED, self.admin, when, subject="Company created")
        self.batch.companies.append(twin)
        again = Contact(
            organization=self.org,
            first_name=contact.first_name,
            last_name=contact.last_name,
            title="",
            company=twin,
            email="",
            phone=contact.phone,
            phone_raw=contact.phone_raw,
            country=contact.country,
            time_zone=contact.time_zone,
            name_key=contact.name_key,
            name_rev_key=contact.name_rev_key,
            owner=owner,
            team_id=team_id,
            agency_id=agency_id,
        )
        self.stamp(again, when, when)
        self.batch.contacts.append(again)

    def company_row(self, info: CompanyData, owner, team_id, agency_id, *, created: dt.datetime) -> Company:
        company = Company(
            organization=self.org,
            name=info.name,
            domain=info.domain,
            industry=info.industry,
            employees=info.employees,
            phone=info.phone.e164,
            phone_raw=info.phone.raw,
            country=info.country,
            city=info.city,
            name_key=info.name_key,
            owner=owner,
            team_id=team_id,
            agency_id=agency_id,
        )
        self.stamp(company, created, created)
        self.activity(company, ActivityKind.CREATED, self.admin, created, subject="Company created")
        self.batch.companies.append(company)
        return company

    def contact_row(self, person: PersonData, company: Company | None, created: dt.datetime, owner=None) -> Contact:
        """A contact, owned like `owner` (the lead it came from) if given, else like its company."""
        holder = owner or company
        contact = Contact(
            organization=self.org,
            first_name=person.first_name,
            last_name=person.last_name,
            title=person.title,
            company=company,
            email=person.email,
            phone=person.phone.e164,
            phone_raw=person.phone.raw,
            country=person.country,
            time_zone=person.phone.time_zone,
            name_key=person.name_key,
            name_rev_key=person.name_rev_key,
            owner=holder.owner if holder else None,
            team_id=holder.team_id if holder else None,
            agency_id=holder.agency_id if holder else None,
        )
        self.stamp(contact, created, created)
        self.batch.contacts.append(contact)
        return contact

    def deal_row(
        self, company: Company, contact: Contact, language: str, *, stage: Stage | None = None, created=None
    ) -> Deal:
        stage = stage or self.syn.pick(self.stages[:4] * 3 + self.stages[4:5] * 2 + self.stages[5:])
        name = f"{company.name} — {self.syn.pick(PRODUCTS[language])}"
        created = created or max(company.created_at, self.now - 80 * DAY) + self.rng.random() * 5 * DAY
        deal = Deal(
            organization=self.org,
            name=name[:255],
            name_key=search_key(name),
            company=company,
            contact=contact,
            pipeline_id=stage.pipeline_id,
            stage=stage,
            amount=Decimal(self.rng.randrange(3_000, 150_000, 500)),
            currency=self.org.default_currency,
            owner=company.owner,
            team_id=company.team_id,
            agency_id=company.agency_id,
        )
        self.activity(deal, ActivityKind.CREATED, company.owner, created, subject="Deal created")
        path = [s for s in self.stages if s.kind == StageKind.OPEN and s.position <= stage.position]
        if stage.kind != StageKind.OPEN:
            path = [s for s in self.stages if s.kind == StageKind.OPEN][: self.rng.randint(1, 4)] + [stage]
        times = self.moments(created, len(path) + self.rng.randint(0, 3))
        previous = path[0]
        for when, target in zip(times, path[1:], strict=False):
            self.activity(
                deal,
                ActivityKind.STAGE_CHANGE,
                company.owner,
                when,
                subject=f"{previous.name} → {target.name}",
                data={"from": previous.pk, "to": target.pk, "kind": target.kind},
            )
            previous = target
        for when in times[len(path) - 1 :]:
            if company.owner is not None and self.desk("US").field_rep == company.owner and self.rng.random() < 0.5:
                self.activity(
                    deal,
                    ActivityKind.MEETING,
                    company.owner,
                    when,
                    subject=MEETING_SUBJECT[language],
                    data={"location": company.city},
                )
            else:
                self.touch(deal, company.owner, when, language, contact.email)
        last = times[-1] if times else created
        self.stamp(deal, created, last)
        if stage.kind == StageKind.OPEN:
            deal.expected_close = (self.now + self.rng.randint(7, 100) * DAY).date()
        else:
            deal.closed_at = times[len(path) - 2] if len(path) > 1 else last
            deal.expected_close = deal.closed_at.date()
            if stage.kind == StageKind.LOST:
                deal.lost_reason = self.syn.pick(data.LOST_REASONS[language])
        self.batch.deals.append(deal)
        return deal

    # --- leads ------------------------------------------------------------------------------------
    def build_leads(self, count: int) -> None:
        for _ in range(count):
            self.lead_row()

    def lead_row(self) -> Lead:
        rng, syn = self.rng, self.syn
        market = syn.market()
        language = "ru" if market == "RU" else "en"
        account: tuple[Company, CompanyData] | None = None
        info: CompanyData | None = None
        if rng.random() < 0.75:
            if self.accounts.get(market) and rng.random() < 0.3:
                account = syn.pick(self.accounts[market])
                info = account[1]
            else:
                info = syn.company(market)
        person = syn.person(market, domain=info.domain if info else "")
        status, source = syn.pick(self.statuses), syn.pick(self.sources)
        owner, team_id, agency_id = self.owner_for(market)
        custom: dict = {}
        if rng.random() < 0.4:
            custom["budget"] = rng.choice((5_000, 10_000, 15_000, 25_000, 50_000, 120_000))
        if rng.random() < 0.5:
            custom["preferred_language"] = {"RU": "Russian", "DE": "German"}.get(market, "English")
        lead = Lead(
            organization=self.org,
            first_name=person.first_name,
            last_name=person.last_name,
            title=person.title,
            company_name=info.name if info else "",
            email=person.email,
            phone=person.phone.e164,
            phone_raw=person.phone.raw,
            country=person.country,
            time_zone=person.phone.time_zone,
            source=source,
            status=status,
            name_key=person.name_key,
            name_rev_key=person.name_rev_key,
            company_key=company_search_key(info.name) if info else "",
            owner=owner,
            team_id=team_id,
            agency_id=agency_id,
            custom=custom,
        )
        if status == LeadStatus.DISQUALIFIED:
            lead.disqualify_reason = syn.pick(DisqualifyReason.values[:-1])
        self.batch.leads.append(lead)
        if self.tag_ids and rng.random() < 0.2:
            self.batch.lead_tags.append((lead, syn.pick(self.tag_ids)))
        self.lead_history(lead, person, language, account)
        return lead

    def lead_history(self, lead: Lead, person: PersonData, language: str, account) -> None:
        """Created, assigned, worked (calls, emails, notes) and moved to its status, like the services do."""
        rng, now = self.rng, self.now
        created = self.ago(90)
        desk = self.desk("RU" if language == "ru" else "US")
        inbound = lead.source in (LeadSource.WEB_FORM, LeadSource.INBOUND_CALL)
        creator = None if inbound else (lead.owner if lead.source == LeadSource.REFERRAL else self.admin)
        self.activity(
            lead, ActivityKind.CREATED, creator, created, subject="Lead created", data={"source": lead.source}
        )
        when = created
        if (lead.owner_id or lead.agency_id) and creator != lead.owner:
            when = min(created + rng.random() * 2 * HOUR, now)
            changes = {"owner_id": [None, lead.owner.pk]} if lead.owner else {}
            if lead.team_id:
                changes["team_id"] = [None, lead.team_id]
            if lead.agency_id:
                changes["agency_id"] = [None, lead.agency_id]
            subject = lead.owner.full_name if lead.owner else self.agency_name
            self.activity(lead, ActivityKind.ASSIGNMENT, desk.manager, when, subject=subject, data=changes)
        worker = lead.owner or (self.syn.pick(self.agency_reps) if lead.agency_id else desk.manager)
        touches = {
            "new": rng.randint(0, 1),
            "working": rng.randint(1, 6),
            "qualified": rng.randint(2, 6),
            "disqualified": rng.randint(1, 5),
            "converted": rng.randint(3, 7),
        }[lead.status]
        times = self.moments(when, touches + 2)
        status = LeadStatus.NEW
        for index, moment in enumerate(times[:touches]):
            self.touch(lead, worker, moment, language, person.email)
            if index == 0 and lead.status != LeadStatus.NEW:
                status = self.status_change(lead, worker, moment, status, LeadStatus.WORKING)
        last = times[touches - 1] if touches else when
        if lead.status in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
            last = times[touches]
            self.status_change(lead, worker, last, status, lead.status, reason=lead.disqualify_reason)
        elif lead.status == LeadStatus.CONVERTED:
            last = times[touches]
            self.convert(lead, person, worker, last, language, account)
        self.stamp(lead, created, max(last, created))

    def status_change(self, lead: Lead, actor, when, old: str, new: str, *, reason: str = "") -> str:
        self.activity(
            lead,
            ActivityKind.STATUS_CHANGE,
            actor,
            when,
            subject=f"{old} → {new}",
            data={"from": old, "to": new, "reason": reason},
        )
        return new

    def convert(self, lead: Lead, person: PersonData, actor, when, language: str, account) -> None:
        """What `lead_convert` leaves behind: a contact, its company (new or matched), maybe a deal."""
        company, company_created = (account[0], False) if account else (None, False)
        if company is None and lead.company_name:
            info = self.syn.company(lead.country if lead.country in ("US", "RU", "GB", "DE") else "US")
            info.name, info.name_key = lead.company_name, lead.company_key
            info.domain = lead.email.split("@", 1)[1]
            company = self.company_row(info, lead.owner, lead.team_id, lead.agency_id, created=when)
            company_created = True
        contact = self.contact_row(person, company, when, owner=lead)
        deal = None
        if company is not None and self.rng.random() < 0.7:
            deal = self.deal_row(company, contact, language, stage=self.syn.pick(self.stages), created=when)
        lead.converted_at, lead.converted_deal = when, deal
        lead.converted_contact, lead.converted_company = contact, company
        # The lead's history follows the person, as in lead_convert. (Its entries are the latest ones.)
        for entry in reversed(self.batch.activities):
            if entry._state.fields_cache.get("lead") is lead:
                entry.contact = contact
            elif entry._state.fields_cache.get("lead") is not None:
                break
        summary: dict = {"contact_created": True, "company_created": company_created}
        linked: dict = dict(summary)
        self.batch.conversions.append((lead, summary, linked))
        self.activity(lead, ActivityKind.CONVERSION, actor, when, subject="Lead converted", data=summary)
        self.activity(contact, ActivityKind.CONVERSION, actor, when, subject="Converted from lead", data=linked)
        if company is not None:
            self.activity(company, ActivityKind.CONVERSION, actor, when, subject=f"Lead converted: {lead}", data=linked)
            company.last_activity_at = max(company.last_activity_at, when)
        self.stamp(contact, when, when)

    # --- insertion --------------------------------------------------------------------------------
    def insert(self) -> dict[str, int]:
        """Insert the batch in foreign-key order; ids are assigned first so rows can reference each other."""
        batch = self.batch
        through = Lead.tags.through
        tags = [through(lead=lead, tag_id=tag_id) for lead, tag_id in batch.lead_tags]
        for rows in (batch.companies, batch.contacts, batch.deals, batch.leads, batch.activities, tags):
            assign_ids(rows)
        for lead, summary, linked in batch.conversions:
            ids = {
                "contact_id": lead.converted_contact.pk,
                "company_id": lead.converted_company.pk if lead.converted_company else None,
                "deal_id": lead.converted_deal.pk if lead.converted_deal else None,
            }
            summary.update(ids)
            linked.update(ids, lead_id=lead.pk)
        # Re-read the foreign keys now that the targets have ids.
        for rows in (batch.contacts, batch.deals, batch.leads, batch.activities, tags):
            for obj in rows:
                for f in obj._meta.concrete_fields:
                    if f.is_relation and f.name in obj._state.fields_cache:
                        target = obj._state.fields_cache[f.name]
                        setattr(obj, f.attname, target.pk if target is not None else None)
        counts = {
            "companies": insert_objects(batch.companies),
            "contacts": insert_objects(batch.contacts),
            "deals": insert_objects(batch.deals),
            "leads": insert_objects(batch.leads),
            "activities": insert_objects(batch.activities),
        }
        insert_objects(tags)
        return counts
