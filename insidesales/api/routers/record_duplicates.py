"""`/duplicates/contacts`, `/duplicates/companies` and `/merges/contacts`, `/merges/companies`: possible
duplicate contacts and companies, "not duplicates", and undoing a merge — as `duplicates.py` does for leads
(the scan is shared: it looks at every kind).

The merge itself is a record operation (`POST /contacts/{id}/merge`, `POST /companies/{id}/merge`, in
`contacts.py` and `companies.py`, with the schemas made here): the record in the path is the one kept.
"""

from dataclasses import dataclass
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, create_model

from insidesales.api.routers.duplicates import MergeId, MergeOut, PairId, Reason
from insidesales.api.schemas import Id, Input, UtcDatetime
from insidesales.core.pagination import paginate
from insidesales.imports import duplicates, merge

# Contacts and companies have no notes to keep both of: one record's value or the other's.
MergeChoice = Literal["survivor", "other"]


class PairContact(Schema):
    id: int
    full_name: str
    company_name: str | None = Field(description="The name of the contact's company; null when it has none.")
    email: str
    phone: str
    owner_id: int | None

    @staticmethod
    def resolve_company_name(obj: Any) -> str | None:
        return obj.company.name if obj.company_id else None


class PairCompany(Schema):
    id: int
    name: str
    domain: str
    phone: str
    city: str
    owner_id: int | None


@dataclass(frozen=True)
class DuplicateApi:
    """How one kind of record (besides leads) plugs into the duplicate operations."""

    kind: str  # "contact": the key of `duplicates.KINDS` and `merge.MERGE_KINDS`, and of operation ids
    plural: str  # "contacts": the path segment after /duplicates and /merges
    record_out: type[Schema]
    same_thing: str  # what two duplicates are: "one person"
    moved_example: str  # a relation the merge moves rows of, as `moved` names it

    @property
    def name(self) -> str:
        return self.kind.title()


CONTACT = DuplicateApi("contact", "contacts", PairContact, "one person", "crm.activity.contact")
COMPANY = DuplicateApi("company", "companies", PairCompany, "one account", "crm.contact.company")


def pair_out_schema(spec: DuplicateApi) -> type[Schema]:
    return create_model(
        f"{spec.name}PairOut",
        __base__=Schema,
        id=(int, ...),
        score=(float, Field(description=f"The probability (0–1) that the two {spec.plural} are {spec.same_thing}.")),
        reasons=(list[Reason], ...),
        group=(
            int,
            Field(description=f"The lowest {spec.kind} id of the group of connected pairs this pair belongs to."),
        ),
        status=(Literal["open", "dismissed"], ...),
        left=(spec.record_out, ...),
        right=(spec.record_out, ...),
        created_at=(UtcDatetime, ...),
    )


def merge_in_schema(spec: DuplicateApi) -> type[Schema]:
    fields = ", ".join(merge.MERGE_KINDS[spec.kind].choosable)
    return create_model(
        f"{spec.name}MergeIn",
        __base__=Input,
        other_id=(Id, Field(description=f"The {spec.kind} merged into this one and then deleted.")),
        choices=(
            dict[str, MergeChoice],
            Field(
                default_factory=dict,
                description=(
                    f"Per field, whose value the kept {spec.kind} keeps: `survivor` (this {spec.kind}) or `other`. "
                    f"Fields: {fields}. Unlisted fields keep this {spec.kind}'s value, or the other's where this "
                    "one has none."
                ),
            ),
        ),
    )


def merge_out_schema(spec: DuplicateApi) -> type[Schema]:
    """The lead `MergeOut` with this kind's words (same fields, in the same order)."""
    kind = spec.kind
    return create_model(
        f"{spec.name}MergeOut",
        __base__=MergeOut,
        merged_id=(int, Field(description=f"The id of the {kind} merged away (it exists again after an undo).")),
        changes=(dict[str, list[Any]], Field(description=f"The kept {kind}'s fields the merge set: [before, after].")),
        moved=(
            dict[str, int],
            Field(description=f"Rows moved to the kept {kind}, by relation (e.g. {spec.moved_example})."),
        ),
        erased_at=(
            UtcDatetime | None,
            Field(
                description=f"When the copy of the merged {kind} was erased (MERGE_UNDO_KEEP_DAYS after the merge, "
                "or once undone); from then on the merge cannot be undone and `changes` holds null before-values."
            ),
        ),
        undoable=(
            bool,
            Field(
                description=f"Whether POST /merges/{spec.plural}/{{id}}/undo can still bring the merged {kind} back."
            ),
        ),
    )


CONTACT_MERGE_IN, CONTACT_MERGE_OUT = merge_in_schema(CONTACT), merge_out_schema(CONTACT)
COMPANY_MERGE_IN, COMPANY_MERGE_OUT = merge_in_schema(COMPANY), merge_out_schema(COMPANY)
MERGE_OUT = {CONTACT.kind: CONTACT_MERGE_OUT, COMPANY.kind: COMPANY_MERGE_OUT}


def pairs_router(spec: DuplicateApi) -> Router:
    """`/duplicates/<plural>`: the list and "not duplicates"."""
    router = Router(tags=["duplicates"])
    kind, plural = spec.kind, spec.plural
    PairOut = pair_out_schema(spec)
    PairPage = create_model(
        f"{spec.name}PairPage",
        __base__=Schema,
        items=(list[PairOut], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, Field(description="Pass as `cursor` for the next page; null on the last page.")),
    )

    @router.get(
        "",
        response=PairPage,
        operation_id=f"{kind}_duplicate_list",
        summary=f"List possible duplicate {plural}",
        description=f"Pairs of {plural} you can both see that the last scan took for {spec.same_thing}, most "
        "likely first.",
    )
    def list_pairs(
        request: HttpRequest,
        cursor: str | None = Query(None, max_length=1000, pattern=r"^[A-Za-z0-9_\-]*$"),
        limit: int = Query(50, ge=1, le=200),
    ):
        pairs = duplicates.pair_list(membership=request.auth, kind=kind)
        page = paginate(pairs, order="-score", cursor=cursor or None, limit=limit)
        return {"items": page.items, "next_cursor": page.next_cursor}

    @router.post(
        "/{int:id}/dismiss",
        response=PairOut,
        operation_id=f"{kind}_duplicate_dismiss",
        summary=f"Not duplicates: dismiss a pair of {plural}",
        description="The pair leaves the list; later scans do not offer it again.",
    )
    def dismiss(request: HttpRequest, id: int = PairId):
        return duplicates.pair_dismiss(membership=request.auth, pair_id=id, kind=kind)

    return router


def merges_router(spec: DuplicateApi) -> Router:
    """`/merges/<plural>`: undo."""
    router = Router(tags=["duplicates"])
    kind = spec.kind

    @router.post(
        "/{int:id}/undo",
        response=MERGE_OUT[kind],
        operation_id=f"{kind}_merge_undo",
        summary=f"Undo a {kind} merge",
        description=(
            f"The merged {kind} comes back with its id, tags and everything moved; the kept {kind}'s fields get "
            "their values from before the merge, except fields changed since."
        ),
    )
    def undo(request: HttpRequest, id: int = MergeId):
        return merge.merge_undo(membership=request.auth, merge_id=id, kind=kind)

    return router


CONTACT_PAIRS, CONTACT_MERGES = pairs_router(CONTACT), merges_router(CONTACT)
COMPANY_PAIRS, COMPANY_MERGES = pairs_router(COMPANY), merges_router(COMPANY)
