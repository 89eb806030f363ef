"""`/me` (who am I, in which organization, with which role) and `/search` across record types."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from insidesales.api.schemas import NO_NUL, NamedRef, UserRef, user_ref
from insidesales.crm import selectors

router = Router(tags=["me"])


class MeUser(Schema):
    id: int
    email: str
    full_name: str
    language: str
    time_zone: str


class MeOrganization(Schema):
    id: int
    name: str
    slug: str
    default_region: str
    default_currency: str
    time_zone: str


class MeOut(Schema):
    user: MeUser
    role: str
    organization: MeOrganization
    team: NamedRef | None
    agency: NamedRef | None

    @staticmethod
    def resolve_team(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.team.pk, "name": obj.team.name} if obj.team_id else None

    @staticmethod
    def resolve_agency(obj: Any) -> dict[str, Any] | None:
        return {"id": obj.agency.pk, "name": obj.agency.name} if obj.agency_id else None


@router.get("/me", response=MeOut, operation_id="me", summary="Who am I")
def me(request: HttpRequest):
    return request.auth


class SearchHit(Schema):
    id: int
    name: str
    email: str = ""
    phone: str = ""
    owner: UserRef | None

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return getattr(obj, "email", "")

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return getattr(obj, "phone", "")

    @staticmethod
    def resolve_owner(obj: Any) -> dict[str, Any] | None:
        return user_ref(obj.owner) if obj.owner_id else None


class SearchOut(Schema):
    leads: list[SearchHit]
    contacts: list[SearchHit]
    companies: list[SearchHit]
    deals: list[SearchHit]


@router.get(
    "/search",
    response=SearchOut,
    operation_id="search",
    summary="Search every record type",
    description="By name or company (prefix), email (prefix) or phone in any format; the best few of each type.",
    tags=["search"],
)
def search(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=200, pattern=NO_NUL),
    limit: int = Query(8, ge=1, le=50),
):
    return selectors.global_search(membership=request.auth, text=q, limit=limit)
