"""Similar people in an import: rows with no shared e-mail or phone that look like a person already
there (or earlier in the file) by name and company.

The duplicate scan's matcher and model (`imports.duplicates`): first name, surname, company, e-mail
and phone each land on a level, and a pair is similar when its Fellegi–Sunter probability is at least
one half. The model (u from the organization's own records, the prior as the scan's over its
candidate pairs) is estimated once per import from a sample of the visible records and the first
rows.

Which pairs are compared — the block — is the one an index can serve for existing records and the
same for rows of the file, so a result never depends on where the file's batches split: the same
company (its key, legal forms aside) and a surname starting with the same four letters. Existing
records come through the index on (organization, company key, surname key): one index range per
company and surname, however large the table. Companies written in two ways ("Acme Corp" / "Acme
Corporation") and swapped names are left to the duplicate scan, which compares the whole organization
after every lead import.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connection
from django.db.models import Max, Min

from insidesales.core.lookups import prefix_operator, prefix_pattern
from insidesales.core.text import company_search_key, search_key
from insidesales.imports.duplicates import LEAD_SCHEMA, add_blocking_columns, one_person_possible
from insidesales.imports.matching import Matcher, Model, Schema

SURNAME_PREFIX = 4  # as the scan's name blocks: the surname's first four letters
# Compared: the same company key and the surname's first letters (exact e-mail and phone matches are
# handled by the import before this). No block-size cap: the database range is read whole anyway.
SIMILAR_SCHEMA = Schema(
    fields=LEAD_SCHEMA.fields,
    blocks=((("company", 0), ("last_name", SURNAME_PREFIX)),),
    max_block=10**9,
    identifiers=LEAD_SCHEMA.identifiers,
)
THRESHOLD = 0.5
SAMPLE_RECORDS = 20_000
SAMPLE_RUNS = 20  # the sample is this many runs of consecutive ids from random places
# Ranges per statement: PostgreSQL takes them as arrays; SQLite as SELECTs (at most 500 in one
# statement, and at most SQLITE_VARIABLES bound values: each range binds 3 and the visibility's).
TERMS_PER_QUERY = {"postgresql": 1000}
SQLITE_TERMS, SQLITE_VARIABLES = 100, 30_000
LAST_CHARACTER = "\U0010ffff"  # after a prefix: above every value starting with it (byte order)

Person = tuple[str, str, str, str, str]  # first name, surname, company key, e-mail, phone (normalized)


def model_to_json(model: Model) -> dict:
    return {"m": [list(d.items()) for d in model.m], "u": [list(d.items()) for d in model.u], "prior": model.prior}


def model_from_json(data: dict) -> Model | None:
    if not data:
        return None
    return Model(
        m=[{int(level): float(p) for level, p in d} for d in data["m"]],
        u=[{int(level): float(p) for level, p in d} for d in data["u"]],
        prior=float(data["prior"]),
    )


@dataclass(frozen=True)
class Similar:
    """The best match of a row: an existing record (`record_id`) or an earlier row (`row`)."""

    probability: float
    record_id: int | None = None
    row: int | None = None


def person(first: str, last: str, company_key: str, email: str, phone: str) -> Person:
    return (search_key(first) if first else "", search_key(last) if last else "", company_key, email.lower(), phone)


def columns_of(people: Sequence[Person]) -> dict[str, list[str]]:
    names = [f.name for f in LEAD_SCHEMA.fields]  # first_name, last_name, company, email, phone
    columns = {name: [p[i] for p in people] for i, name in enumerate(names)}
    return add_blocking_columns(columns)  # the scan blocks on these; only the model's prior sees them here


class SimilarFinder:
    """Finds, for each row of a batch, the most probable earlier person it duplicates (if any)."""

    def __init__(
        self, scope, record_type: str, organization_id: int, *, sees_all: bool = False, model: Model | None = None
    ) -> None:
        self.scope = scope  # the importing user's visible records of the type
        self.sees_all = sees_all  # the scope is the whole organization (an admin)
        self.organization_id = organization_id
        self._scope_sql: tuple[str, tuple | None] | None = None
        self.record_type = record_type
        self.model: Model | None = model  # given: the one an earlier run of the same import estimated

    # -- rows and records ---------------------------------------------------------------------------

    def row_person(self, values: dict) -> Person:
        company = values.get("company_key")
        if company is None:  # a contact: the company as named in the row
            company = company_search_key(values.get("company_name") or "")
        return person(values["first_name"], values["last_name"], company, values["email"], values["phone"])

    def _records(self, queryset) -> list[tuple[int, Person]]:
        if self.record_type == "lead":
            fields = ("id", "first_name", "last_name", "company_key", "email", "phone")
        else:
            fields = ("id", "first_name", "last_name", "company__name_key", "email", "phone")
        return [(pk, person(f, la, c or "", e, ph)) for pk, f, la, c, e, ph in queryset.values_list(*fields)]

    def existing(self, people: Iterable[Person]) -> list[tuple[int, Person]]:
        """Visible records sharing a block with any of these people (the same company key and the
        surname's first letters): for leads one index range each; for contacts those of the companies
        with that key (a company has few contacts), kept when the surname fits."""
        terms = sorted({(p[2], p[1][:SURNAME_PREFIX]) for p in people if p[2] and p[1]})
        found: dict[int, Person] = {}
        if self.record_type == "lead":
            size = TERMS_PER_QUERY.get(connection.vendor)
            if size is None:
                _where, params = self._scope()
                size = max(1, min(SQLITE_TERMS, SQLITE_VARIABLES // (3 + len(params or ()))))
            for start in range(0, len(terms), size):
                found.update(self._leads_at(terms[start : start + size]))
            return sorted(found.items())
        letters: dict[str, set[str]] = {}
        for company, letter in terms:
            letters.setdefault(company, set()).add(letter)
        keys = sorted(letters)
        for start in range(0, len(keys), 500):
            at_companies = self.scope.filter(company__name_key__in=keys[start : start + 500]).order_by()
            for pk, p in self._records(at_companies):
                if p[1][:SURNAME_PREFIX] in letters.get(p[2], ()):
                    found[pk] = p
        return sorted(found.items())

    def _scope(self) -> tuple[str, tuple | None]:
        """The visibility as SQL over the lead's own columns, compiled once: (WHERE text, parameters),
        parameters None when the member sees nothing."""
        if self._scope_sql is None:
            query = self.scope.order_by().query
            if sum(1 for count in query.alias_refcount.values() if count) > 1:  # rules on the lead's own columns
                raise ImproperlyConfigured("visible_records() joins another table; _leads_at needs one")
            try:
                where, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
            except EmptyResultSet:
                where, params = "", None
            self._scope_sql = (where, tuple(params) if params is not None else None)
        return self._scope_sql

    def _leads_at(self, terms: list[tuple[str, str]]) -> list[tuple[int, Person]]:
        """One statement for many (company key, surname prefix) ranges, in SQL written here: Django
        takes longer to build a query of a hundred OR-ed terms than the database takes to run it."""
        vendor = connection.vendor
        where, params = self._scope()
        if params is None:  # sees nothing
            return []
        columns = "id, first_name, last_name, company_key, email, phone"
        if vendor == "postgresql":
            # The ranges as arrays, each looked up by the index in a LATERAL subquery: one statement
            # whatever the number of ranges (a UNION of a hundred SELECTs takes long to plan here).
            sql = (
                f"SELECT {columns} FROM unnest(%s::text[], %s::text[]) AS t(company, low) "
                f"CROSS JOIN LATERAL (SELECT {columns} FROM crm_lead WHERE organization_id = %s "
                "AND company_key = t.company AND name_rev_key ~>=~ t.low AND name_rev_key ~<~ (t.low || %s) "
                f"AND ({where or '1 = 1'}) OFFSET 0) AS found"
            )
            values = [[c for c, _p in terms], [p for _c, p in terms], self.organization_id, LAST_CHARACTER, *params]
        else:
            # One SELECT per range, the visibility repeated in each: with one OR-ed WHERE, or the ranges
            # in a subquery, SQLite without statistics (a new database) walks the organization's rows.
            operator = prefix_operator(vendor)
            branch = (
                f"SELECT {columns} FROM crm_lead WHERE organization_id = %s AND company_key = %s "
                f"AND name_rev_key {operator} %s AND ({where or '1 = 1'})"
            )
            sql = " UNION ALL ".join([branch] * len(terms))
            values = [
                value
                for company, prefix in terms
                for value in (self.organization_id, company, prefix_pattern(prefix, vendor), *params)
            ]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return [(pk, person(f, la, c or "", e, ph)) for pk, f, la, c, e, ph in cursor.fetchall()]

    # -- the model ----------------------------------------------------------------------------------

    def prepare(self, first_rows: Sequence[Person]) -> Model:
        """Estimate the model once: u from a sample of the organization's records and these rows, the
        prior as the scan's over the sample's candidate pairs."""
        if self.model is not None:
            return self.model
        people = [p for _pk, p in self.sample()] + list(first_rows)
        matcher = Matcher(LEAD_SCHEMA, columns_of(people))
        if matcher.size >= 2:
            lefts, rights = matcher.candidate_arrays()
            matcher.score_arrays(lefts, rights)  # sets matcher.model
            self.model = matcher.model
        else:
            self.model = None
        return self.model

    def sample(self) -> list[tuple[int, Person]]:
        """Up to SAMPLE_RECORDS visible records: for an admin, runs of consecutive ids from random
        places of the organization (every row there is visible, so each run reads only what it keeps);
        for anyone else the first ones the database finds through the visibility's own indexes, in no
        order (runs by id, or an order, would walk past the many rows they cannot see)."""
        if not self.sees_all:
            return self._records(self.scope.order_by()[:SAMPLE_RECORDS])
        bounds = self.scope.order_by().aggregate(low=Min("id"), high=Max("id"))
        low, high = bounds["low"], bounds["high"]
        if low is None:
            return []
        run = SAMPLE_RECORDS // SAMPLE_RUNS
        if high - low < SAMPLE_RECORDS:
            return self._records(self.scope.order_by()[:SAMPLE_RECORDS])
        rng = random.Random(low * 31 + high)
        found: dict[int, Person] = {}
        for _ in range(SAMPLE_RUNS):
            start = rng.randint(low, high)
            found.update(self._records(self.scope.filter(id__gte=start).order_by("id")[:run]))
        return list(found.items())

    # -- matching -----------------------------------------------------------------------------------

    def find(self, rows: Sequence[Person]) -> list[Similar | None]:
        """For each row, its most probable match among the existing records and the rows before it
        (probability at least one half), or None."""
        if not rows:
            return []
        model = self.prepare(rows)
        if model is None:
            return [None] * len(rows)
        records = self.existing(rows)
        matcher = Matcher(SIMILAR_SCHEMA, columns_of([p for _pk, p in records] + list(rows)), model=model)
        lefts, rights = matcher.candidate_arrays()
        offset = len(records)
        keep = rights >= offset  # pairs with a row of the batch on the right: the left one is earlier
        lefts, rights = lefts[keep], rights[keep]
        best: list[Similar | None] = [None] * len(rows)
        if not len(lefts):
            return best
        matrix, probability = matcher.score_arrays(lefts, rights)
        for index in np.flatnonzero((probability >= THRESHOLD) & one_person_possible(matrix)).tolist():
            left, right, p = int(lefts[index]), int(rights[index]) - offset, float(probability[index])
            current = best[right]
            if current is not None and current.probability >= p:
                continue
            if left < offset:
                best[right] = Similar(round(p, 4), record_id=records[left][0])
            else:
                best[right] = Similar(round(p, 4), row=left - offset)
        return best
