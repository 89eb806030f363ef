"""Duplicate leads, contacts and companies: the scan that finds them (scheduled and on demand), the
pairs people review.

A scan reads every lead, contact and company of the organization once, hands the normalized fields
to the matcher (`imports.matching`) and replaces each kind's open pairs with what it found; pairs
someone marked as "not duplicates" stay and are not offered again. Members see only pairs whose two
records they can see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insidesales.core.errors import NotFound, PermissionDenied
from insidesales.core.text import search_key
from insidesales.crm.models import Company, Contact, Lead
from insidesales.imports.matching import CLOSE, DIFFERENT, EXACT, MISSING, PARTIAL, Field, Matcher, Pair, Schema, groups
from insidesales.imports.models import (
    PENDING_SCAN,
    CompanyPair,
    ContactPair,
    DuplicatePair,
    DuplicateScan,
    PairStatus,
    ScanStatus,
)
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.services import audit_record
from insidesales.orgs.visibility import visible_records

LEAD_SCHEMA = Schema(
    fields=(
        Field("first_name", "name", swaps_with="last_name"),
        Field("last_name", "name", swaps_with="first_name"),
        Field("company", "text"),
        Field("email", "code"),
        Field("phone", "exact"),
    ),
    # As the usual CRM matching rules: the same e-mail, the same phone, or a similar name at a similar
    # company (typos allowed past the first letters, and first and last names swapped).
    blocks=(
        (("email", 0),),
        (("phone", 0),),
        (("email_user", 0),),
        (("last_name", 4), ("first_name", 1), ("company", 4)),
        (("first_name", 4), ("last_name", 1), ("company", 4)),
        (("company", 0), ("first_name", 0), ("last_name", 0)),
        # First and last names swapped ("Sidorova Anna" for "Anna Sidorova"): the two name keys above
        # in either order, so both spellings share this key.
        (("name_pair", 0), ("company", 4)),
    ),
    max_block=100,
    identifiers=("email", "phone"),
)
# Contacts are people like leads, compared alike (their company is the linked company's name).
CONTACT_SCHEMA = LEAD_SCHEMA
COMPANY_SCHEMA = Schema(
    fields=(
        Field("name", "text"),
        Field("domain", "code"),
        Field("phone", "exact"),
        Field("city", "name"),
    ),
    # The same web domain, the same phone, the same name (legal forms aside), or a name alike in its
    # first letters in the same city.
    blocks=(
        (("domain", 0),),
        (("phone", 0),),
        (("name", 0),),
        (("name", 5), ("city", 2)),
    ),
    max_block=100,
    identifiers=("domain", "phone"),
)
REASONS = {
    "same_name": gettext_lazy("same name"),
    "similar_name": gettext_lazy("similar name"),
    "same_company": gettext_lazy("same company"),
    "similar_company": gettext_lazy("similar company"),
    "same_email": gettext_lazy("same email"),
    "similar_email": gettext_lazy("similar email"),
    "same_phone": gettext_lazy("same phone"),
    "same_domain": gettext_lazy("same web domain"),
    "similar_domain": gettext_lazy("similar web domain"),
    "same_city": gettext_lazy("same city"),
    "import": gettext_lazy("flagged by an import"),
}
INSERT_BATCH = 5000
STALE_SCAN = dt.timedelta(hours=2)  # a scan "running" longer than this lost its worker


def can_review(membership: Membership, kind: str = "lead") -> bool:
    """Everyone who works leads reviews their duplicates; field reps work accounts (contacts and
    companies), not leads."""
    if kind == "lead":
        return membership.role in (Role.ADMIN, Role.MANAGER, Role.INSIDE_REP, Role.AGENCY_REP)
    return membership.role in (Role.ADMIN, Role.MANAGER, Role.INSIDE_REP, Role.AGENCY_REP, Role.FIELD_REP)


def reviews_any(membership: Membership) -> bool:
    return any(can_review(membership, kind) for kind in ("lead", "contact", "company"))


def sees_organization_counts(membership: Membership) -> bool:
    """How many leads and pairs the whole organization has is for admins and managers."""
    return membership.role in (Role.ADMIN, Role.MANAGER)


def _require(membership: Membership, kind: str = "lead") -> None:
    if not can_review(membership, kind):
        raise PermissionDenied(_("Your role does not review duplicates."))


# -- reading ---------------------------------------------------------------------------------------


def pair_list(*, membership: Membership, status: str = PairStatus.OPEN, kind: str = "lead") -> QuerySet:
    """Pairs of this organization whose two records (of this kind) the member can see, best first."""
    spec = KINDS[kind]
    _require(membership, kind)
    records = visible_records(spec.model.objects.all(), membership).values("pk")
    queryset = spec.pair_model.objects.filter(organization_id=membership.organization_id, status=status)
    if membership.role != Role.ADMIN:
        queryset = queryset.filter(left__in=records, right__in=records)
    return queryset.select_related(*spec.related).order_by("-score", "-id")


def pair_get(*, membership: Membership, pair_id: Any, kind: str = "lead") -> Any:
    if not can_review(membership, kind):
        raise NotFound()  # nobody's pairs exist for a role that reviews none
    try:
        pk = int(pair_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    pair = pair_list(membership=membership, status=PairStatus.OPEN, kind=kind).filter(pk=pk).first()
    if pair is None:
        raise NotFound()
    return pair


def reason_labels(codes: list[str]) -> list[str]:
    return [str(REASONS[code]) for code in codes if code in REASONS]


def latest_scan(*, organization_id: int) -> DuplicateScan | None:
    """The scan running or finished last (None before the first)."""
    scans = DuplicateScan.objects.filter(organization_id=organization_id).exclude(status__in=PENDING_SCAN)
    return scans.order_by("-created_at", "-id").first()


def pending_scan(*, organization_id: int) -> DuplicateScan | None:
    """The scan waiting to run, scheduled or queued."""
    return DuplicateScan.objects.filter(organization_id=organization_id, status__in=PENDING_SCAN).first()


# -- writing ---------------------------------------------------------------------------------------


@transaction.atomic
def pair_dismiss(*, membership: Membership, pair_id: Any, kind: str = "lead") -> Any:
    """ "Not duplicates": the pair leaves the list and later scans do not bring it back."""
    pair = pair_get(membership=membership, pair_id=pair_id, kind=kind)
    pair.status = PairStatus.DISMISSED
    pair.decided_by = membership.user
    pair.save(update_fields=["status", "decided_by", "updated_at"])
    audit_record(
        organization_id=pair.organization_id,
        actor=membership.user,
        action="duplicates.dismiss",
        instance=pair,
        changes={KINDS[kind].plural: [pair.left_id, pair.right_id]},
    )
    return pair


def scan_request(
    *, organization_id: int, requested_by: Any = None, run_after: dt.datetime | None = None
) -> DuplicateScan:
    """Queue a scan (now, or at `run_after`), unless one is already waiting: then that one, brought
    forward when this request is for sooner."""
    status = ScanStatus.SCHEDULED if run_after else ScanStatus.QUEUED
    pending = DuplicateScan.objects.filter(organization_id=organization_id, status__in=PENDING_SCAN).first()
    if pending is None:
        try:
            with transaction.atomic():
                pending = DuplicateScan.objects.create(
                    organization_id=organization_id, requested_by=requested_by, status=status, run_after=run_after
                )
        except IntegrityError:  # somebody else queued one a moment ago
            pending = DuplicateScan.objects.filter(organization_id=organization_id, status__in=PENDING_SCAN).first()
            if pending is None:
                raise
    elif run_after is None and pending.status == ScanStatus.SCHEDULED:
        DuplicateScan.objects.filter(pk=pending.pk, status=ScanStatus.SCHEDULED).update(
            status=ScanStatus.QUEUED, run_after=None, requested_by=requested_by
        )
        pending.refresh_from_db()
    else:
        return pending
    from insidesales.imports.tasks import run_duplicate_scan

    scan_id, when = pending.pk, pending.run_after
    transaction.on_commit(
        lambda: (run_duplicate_scan.using(run_after=when) if when else run_duplicate_scan).enqueue(scan_id)
    )
    return pending


def scan_now(*, membership: Membership) -> DuplicateScan:
    """The "Scan now" button: anyone who reviews some kind of duplicates (a scan looks at every kind)."""
    if not reviews_any(membership):
        raise PermissionDenied(_("Your role does not review duplicates."))
    with transaction.atomic():
        scan = scan_request(organization_id=membership.organization_id, requested_by=membership.user)
        audit_record(
            organization_id=membership.organization_id, actor=membership.user, action="duplicates.scan", instance=scan
        )
    return scan


def ensure_scheduled(*, organization_id: int) -> None:
    """Keep the daily scan going: one waiting scan per organization, at most one interval away."""
    hours = getattr(settings, "DUPLICATE_SCAN_INTERVAL_HOURS", 24)
    if not DuplicateScan.objects.filter(organization_id=organization_id, status__in=PENDING_SCAN).exists():
        scan_request(organization_id=organization_id, run_after=timezone.now() + dt.timedelta(hours=hours))


def schedule_all() -> int:
    """Called when a worker starts: every organization gets its daily scan if it has none waiting."""
    from insidesales.orgs.models import Organization

    organizations = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in organizations:
        ensure_scheduled(organization_id=organization_id)
    return len(organizations)


@dataclass
class RecordColumns:
    ids: list[int]
    columns: dict[str, list[str]]


LeadColumns = RecordColumns


def read_leads(organization_id: int) -> RecordColumns:
    """Every lead of the organization, normalized for the matcher (one pass, no model instances).
    Besides the compared fields, `email_user` (the part before the @) is there for blocking."""
    rows = (
        Lead.objects.filter(organization_id=organization_id)
        .order_by()
        .values_list("id", "first_name", "last_name", "company_key", "email", "phone")
    )
    return _people_columns(rows)


def read_contacts(organization_id: int) -> RecordColumns:
    """Every contact of the organization, as `read_leads` (the company is the linked company's key)."""
    rows = (
        Contact.objects.filter(organization_id=organization_id)
        .order_by()
        .values_list("id", "first_name", "last_name", "company__name_key", "email", "phone")
    )
    return _people_columns(rows)


def read_companies(organization_id: int) -> RecordColumns:
    """Every company of the organization, normalized for the matcher."""
    ids: list[int] = []
    columns: dict[str, list[str]] = {f.name: [] for f in COMPANY_SCHEMA.fields}
    names, domains, phones, cities = (columns[f.name] for f in COMPANY_SCHEMA.fields)
    rows = (
        Company.objects.filter(organization_id=organization_id)
        .order_by()
        .values_list("id", "name_key", "domain", "phone", "city")
    )
    for pk, name_key, domain, phone, city in rows.iterator(chunk_size=20000):
        ids.append(pk)
        names.append(name_key or "")
        domains.append((domain or "").lower())
        phones.append(phone or "")
        cities.append(search_key(city) if city else "")
    return RecordColumns(ids, columns)


def name_pair_key(first: str, last: str) -> str:
    """The same for "Anna Sidorova" and "Sidorova Anna": the surname-first and given-name-first keys
    of the name blocks, in sorted order ("" when either name is missing)."""
    if not first or not last:
        return ""
    one, other = f"{last[:4]}\x1f{first[:1]}", f"{first[:4]}\x1f{last[:1]}"
    return f"{min(one, other)}\x1e{max(one, other)}"


def add_blocking_columns(columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """The columns people are blocked on besides their compared fields: `email_user` (the part of the
    email before the @, when at least four letters) and `name_pair` (see `name_pair_key`)."""
    columns["email_user"] = [user if len(user := email.partition("@")[0]) >= 4 else "" for email in columns["email"]]
    columns["name_pair"] = list(map(name_pair_key, columns["first_name"], columns["last_name"]))
    return columns


def _people_columns(rows: Any) -> RecordColumns:
    ids: list[int] = []
    columns: dict[str, list[str]] = {f.name: [] for f in LEAD_SCHEMA.fields}
    first, last, company, email, phone = (columns[f.name] for f in LEAD_SCHEMA.fields)
    for pk, first_name, last_name, company_key, lead_email, lead_phone in rows.iterator(chunk_size=20000):
        ids.append(pk)
        first.append(search_key(first_name) if first_name else "")
        last.append(search_key(last_name) if last_name else "")
        company.append(company_key or "")
        email.append(lead_email.lower())
        phone.append(lead_phone)
    return RecordColumns(ids, add_blocking_columns(columns))


def company_reasons_of(levels: tuple[int, ...]) -> list[str]:
    name, domain, phone, city = levels
    codes = []
    if name == EXACT:
        codes.append("same_name")
    elif name in (CLOSE, PARTIAL):
        codes.append("similar_name")
    if domain == EXACT:
        codes.append("same_domain")
    elif domain in (CLOSE, PARTIAL):
        codes.append("similar_domain")
    if phone == EXACT:
        codes.append("same_phone")
    if city == EXACT:
        codes.append("same_city")
    return codes


def one_company_possible(matrix: np.ndarray) -> np.ndarray:
    """Which pairs (rows of a COMPANY_SCHEMA level matrix) can be one company at all: they share a web
    domain or a phone, or their names are alike and their cities not different (two offices of a
    chain in two cities, or two "Stroy" firms, are separate accounts unless something else ties them)."""
    name, domain, phone, city = (matrix[:, index] for index in range(4))
    shared = (domain == EXACT) | (phone == EXACT)
    return shared | ((name >= CLOSE) & (city != DIFFERENT))


def reasons_of(levels: tuple[int, ...]) -> list[str]:
    first, last, company, email, phone = levels
    codes = []
    if first == EXACT and last == EXACT:
        codes.append("same_name")
    elif first in (EXACT, CLOSE, PARTIAL) and last in (EXACT, CLOSE, PARTIAL):
        codes.append("similar_name")
    if company == EXACT:
        codes.append("same_company")
    elif company in (CLOSE, PARTIAL):
        codes.append("similar_company")
    if email == EXACT:
        codes.append("same_email")
    elif email in (CLOSE, PARTIAL):
        codes.append("similar_email")
    if phone == EXACT:
        codes.append("same_phone")
    return codes


def one_person_possible(matrix: np.ndarray) -> np.ndarray:
    """Which pairs (rows of a LEAD_SCHEMA level matrix) can be one person at all: they share an email
    or a phone, or both names are alike (a missing first name counts as alike) with nothing that
    tells them apart — not different companies, not both a different email and a different phone
    (the usual CRM matching rules: a name alone is not enough). The scores treat the fields as
    independent, which they are not: colleagues with one surname ("Jesse Khan", "Joshua Khan" at
    Falcon Realty) agree on two rare values, and namesakes at two companies on a rare name, and would
    score as duplicates."""
    first, last, company, email, phone = (matrix[:, index] for index in range(5))
    shared_contact = (email == EXACT) | (phone == EXACT)
    names_alike = ((first >= PARTIAL) | (first == MISSING)) & (last >= PARTIAL)
    told_apart = (company == DIFFERENT) | ((email == DIFFERENT) & (phone == DIFFERENT))
    return shared_contact | (names_alike & ~told_apart)


@dataclass(frozen=True)
class DuplicateKind:
    """What the scan and the review pages need to know of one kind of record."""

    key: str  # "lead", "contact", "company"
    plural: str  # "leads", ...: in URLs and audit rows
    model: type
    pair_model: type
    schema: Schema
    read: Callable[[int], RecordColumns]
    reasons: Callable[[tuple[int, ...]], list[str]]
    possible: Callable[[np.ndarray], np.ndarray]
    related: tuple[str, ...]  # select_related of a pair list


KINDS: dict[str, DuplicateKind] = {
    "lead": DuplicateKind(
        "lead",
        "leads",
        Lead,
        DuplicatePair,
        LEAD_SCHEMA,
        read_leads,
        reasons_of,
        one_person_possible,
        ("left", "right", "left__owner", "right__owner"),
    ),
    "contact": DuplicateKind(
        "contact",
        "contacts",
        Contact,
        ContactPair,
        CONTACT_SCHEMA,
        read_contacts,
        reasons_of,
        one_person_possible,
        ("left", "right", "left__owner", "right__owner", "left__company", "right__company"),
    ),
    "company": DuplicateKind(
        "company",
        "companies",
        Company,
        CompanyPair,
        COMPANY_SCHEMA,
        read_companies,
        company_reasons_of,
        one_company_possible,
        ("left", "right", "left__owner", "right__owner"),
    ),
}


def find_pairs(records: RecordColumns, kind: str = "lead") -> tuple[int, list[Pair], dict[int, int]]:
    """(pairs compared, pairs scoring at least one half, record index → its group's lowest record id)."""
    spec = KINDS[kind]
    matcher = Matcher(spec.schema, records.columns)
    lefts, rights = matcher.candidate_arrays()
    if not len(lefts):
        return 0, [], {}
    matrix, probability = matcher.score_arrays(lefts, rights)
    chosen = np.flatnonzero((probability >= 0.5) & spec.possible(matrix))
    found = [Pair(int(lefts[i]), int(rights[i]), tuple(matrix[i].tolist()), float(probability[i])) for i in chosen]
    group_of = {}
    for members in groups(found):
        lowest = min(records.ids[member] for member in members)
        for member in members:
            group_of[member] = lowest
    return len(lefts), found, group_of


def scan_run(*, scan_id: int) -> DuplicateScan | None:
    """Run a waiting scan (a second call for the same scan does nothing) and schedule the next."""
    now = timezone.now()
    scan = DuplicateScan.objects.filter(pk=scan_id, status__in=PENDING_SCAN).first()
    if scan is None:
        return None
    running = DuplicateScan.objects.filter(organization_id=scan.organization_id, status=ScanStatus.RUNNING)
    running.filter(started_at__lt=now - STALE_SCAN).update(
        status=ScanStatus.FAILED, finished_at=now, error="The worker running this scan stopped."
    )
    if running.exists():  # one scan at a time per organization: this one waits for the other
        from insidesales.imports.tasks import run_duplicate_scan

        run_duplicate_scan.using(run_after=now + dt.timedelta(minutes=5)).enqueue(scan_id)
        return None
    claimed = DuplicateScan.objects.filter(pk=scan_id, status__in=PENDING_SCAN).update(
        status=ScanStatus.RUNNING, started_at=now
    )
    if not claimed:
        return None
    scan = DuplicateScan.objects.get(pk=scan_id)
    counts = {}
    compared_total = found_total = 0
    try:
        for kind, spec in KINDS.items():
            records = spec.read(scan.organization_id)
            compared, found, group_of = find_pairs(records, kind)
            _store_pairs(scan.organization_id, records, found, group_of, kind)
            counts[kind] = len(records.ids)
            compared_total += compared
            found_total += len(found)
    except Exception as exc:
        DuplicateScan.objects.filter(pk=scan_id).update(
            status=ScanStatus.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        ensure_scheduled(organization_id=scan.organization_id)
        raise
    DuplicateScan.objects.filter(pk=scan_id).update(
        status=ScanStatus.DONE,
        finished_at=timezone.now(),
        leads_count=counts["lead"],
        contacts_count=counts["contact"],
        companies_count=counts["company"],
        compared_count=compared_total,
        pairs_count=found_total,
    )
    scan.refresh_from_db()
    ensure_scheduled(organization_id=scan.organization_id)
    return scan


def _store_pairs(
    organization_id: int, records: RecordColumns, found: list[Pair], group_of: dict[int, int], kind: str = "lead"
) -> None:
    """Replace the open pairs of this kind with the new ones, keeping every dismissed pair as it is."""
    spec = KINDS[kind]
    model, pair_model = spec.model, spec.pair_model
    ids = records.ids
    now = timezone.now()
    with transaction.atomic():
        # Records deleted since they were read have no pairs (their ids would break the foreign keys).
        wanted = sorted({ids[index] for pair in found for index in (pair.left, pair.right)})
        existing: set[int] = set()
        for start in range(0, len(wanted), INSERT_BATCH):
            chunk = wanted[start : start + INSERT_BATCH]
            existing.update(
                model.objects.filter(organization_id=organization_id, pk__in=chunk).values_list("pk", flat=True)
            )
        dismissed = set(
            pair_model.objects.filter(organization_id=organization_id, status=PairStatus.DISMISSED).values_list(
                "left_id", "right_id"
            )
        )
        own = pair_model.objects.filter(organization_id=organization_id, status=PairStatus.OPEN, from_import=False)
        own.delete()
        flagged = set(
            pair_model.objects.filter(organization_id=organization_id, from_import=True).values_list(
                "left_id", "right_id"
            )
        )
        batch: list[Any] = []
        for pair in found:
            left, right = sorted((ids[pair.left], ids[pair.right]))
            if (left, right) in dismissed or (left, right) in flagged or left not in existing or right not in existing:
                continue
            batch.append(
                pair_model(
                    organization_id=organization_id,
                    left_id=left,
                    right_id=right,
                    score=round(pair.probability, 4),
                    reasons=spec.reasons(pair.levels),
                    group=group_of.get(pair.left, left),
                    created_at=now,
                    updated_at=now,
                )
            )
            if len(batch) >= INSERT_BATCH:
                pair_model.objects.bulk_create(batch)
                batch = []
        if batch:
            pair_model.objects.bulk_create(batch)
