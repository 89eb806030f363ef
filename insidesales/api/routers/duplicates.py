"""`/duplicates` and `/merges`: possible duplicate leads, the scan that finds them, merge and undo.

The merge itself is a lead operation (`POST /leads/{id}/merge`, in `leads.py`): the lead in the path
is the one kept. Contacts and companies have the same operations under `/duplicates/contacts`,
`/duplicates/companies` and `/merges/...` (`record_duplicates.py`).
"""

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from insidesales.api.schemas import MAX_ID, UtcDatetime
from insidesales.core.errors import PermissionDenied
from insidesales.core.pagination import paginate
from insidesales.imports import duplicates, merge

router = Router(tags=["duplicates"])
merges_router = Router(tags=["duplicates"])
PairId = Path(..., ge=1, le=MAX_ID, description="The pair's id.")
MergeId = Path(..., ge=1, le=MAX_ID, description="The merge's id.")
Reason = Literal[tuple(duplicates.REASONS)]  # type: ignore[valid-type]


class PairLead(Schema):
    id: int
    full_name: str
    company_name: str
    email: str
    phone: str
    status: str
    owner_id: int | None


class PairOut(Schema):
    id: int
    score: float = Field(description="The probability (0–1) that the two leads are one person.")
    reasons: list[Reason]
    group: int = Field(description="The lowest lead id of the group of connected pairs this pair belongs to.")
    status: Literal["open", "dismissed"]
    left: PairLead
    right: PairLead
    created_at: UtcDatetime


class PairPage(Schema):
    items: list[PairOut]
    next_cursor: str | None


class ScanOut(Schema):
    id: int
    status: Literal["scheduled", "queued", "running", "done", "failed"]
    run_after: UtcDatetime | None
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    leads_count: int | None = Field(description="Leads of the organization scanned; admins and managers only.")
    compared_count: int | None = Field(description="Candidate pairs compared; admins and managers only.")
    pairs_count: int | None = Field(description="Pairs found in the organization; admins and managers only.")
    created_at: UtcDatetime


class MergeOut(Schema):
    id: int
    survivor_id: int | None
    merged_id: int = Field(description="The id of the lead merged away (it exists again after an undo).")
    merged_name: str
    changes: dict[str, list[Any]] = Field(description="The kept lead's fields the merge set: [before, after].")
    moved: dict[str, int] = Field(description="Rows moved to the kept lead, by relation (e.g. crm.activity.lead).")
    created_at: UtcDatetime
    undone_at: UtcDatetime | None
    erased_at: UtcDatetime | None = Field(
        description="When the copy of the merged lead was erased (MERGE_UNDO_KEEP_DAYS after the merge, or once "
        "undone); from then on the merge cannot be undone and `changes` holds null before-values."
    )
    undoable: bool = Field(description="Whether POST /merges/{id}/undo can still bring the merged lead back.")

    @staticmethod
    def resolve_undoable(obj: Any) -> bool:
        return obj.undone_at is None and obj.erased_at is None

    @staticmethod
    def resolve_moved(obj: Any) -> dict[str, int]:
        return {label: len(ids) for label, ids in (obj.relinked or {}).items() if not label.startswith("_")}


@router.get(
    "",
    response=PairPage,
    operation_id="duplicate_list",
    summary="List possible duplicate leads",
    description="Pairs of leads you can both see that the last scan took for one person, most likely first.",
)
def list_pairs(
    request: HttpRequest,
    cursor: str | None = Query(None, max_length=1000, pattern=r"^[A-Za-z0-9_\-]*$"),
    limit: int = Query(50, ge=1, le=200),
):
    page = paginate(duplicates.pair_list(membership=request.auth), order="-score", cursor=cursor or None, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/scan",
    response=ScanOut | None,
    operation_id="duplicate_scan_latest",
    summary="The latest duplicate scan",
    description="The waiting scan (scheduled or queued) if there is one, else the last one; null before any.",
)
def latest_scan(request: HttpRequest):
    if not duplicates.reviews_any(request.auth):
        raise PermissionDenied(_("Your role does not review duplicates."))
    organization_id = request.auth.organization_id
    scan = duplicates.pending_scan(organization_id=organization_id) or duplicates.latest_scan(
        organization_id=organization_id
    )
    return _counts_for(request.auth, scan)


@router.post(
    "/scan",
    response={202: ScanOut},
    operation_id="duplicate_scan",
    summary="Scan for duplicates now",
    description="Queues a scan of the organization's leads (or brings the scheduled one forward).",
)
def scan_now(request: HttpRequest):
    return Status(202, _counts_for(request.auth, duplicates.scan_now(membership=request.auth)))


def _counts_for(membership: Any, scan: Any) -> Any:
    if scan is not None and not duplicates.sees_organization_counts(membership):
        scan.leads_count = scan.compared_count = scan.pairs_count = None
    return scan


@router.post(
    "/{int:id}/dismiss",
    response=PairOut,
    operation_id="duplicate_dismiss",
    summary="Not duplicates",
    description="The pair leaves the list; later scans do not offer it again.",
)
def dismiss(request: HttpRequest, id: int = PairId):
    return duplicates.pair_dismiss(membership=request.auth, pair_id=id)


@merges_router.post(
    "/{int:id}/undo",
    response=MergeOut,
    operation_id="merge_undo",
    summary="Undo a merge",
    description=(
        "The merged lead comes back with its id, tags and everything moved; the kept lead's fields get their "
        "values from before the merge, except fields changed since."
    ),
)
def undo(request: HttpRequest, id: int = MergeId):
    return merge.merge_undo(membership=request.auth, merge_id=id)
