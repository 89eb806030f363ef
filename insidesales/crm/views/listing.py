"""List-page state: filters, sort and columns read from the query string or a saved view, and written back.

The same state feeds the selector, the filter form, the "Next" link and the "Save view" form, so a
page reached by any of those shows exactly the rows the user asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils.translation import gettext as _

from insidesales.core.errors import NotFound
from insidesales.crm import selectors
from insidesales.crm.filters import FilterSet
from insidesales.crm.models import SavedView
from insidesales.orgs.models import Membership

PAGE_SIZE = 50


@dataclass
class ListState:
    """What a list shows: cleaned filters, sort ("-field" or "field"), columns, and the saved view applied."""

    filterset: FilterSet
    filters: dict[str, Any]
    sort: str
    columns: list[str]
    view: SavedView | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def items(self) -> list[tuple[str, str]]:
        """Query-string pairs that reproduce this state (defaults left out to keep links short)."""
        pairs: list[tuple[str, str]] = []
        for key, value in self.filters.items():
            if isinstance(value, list):
                pairs.extend((key, str(v)) for v in value)
            else:
                pairs.append((key, str(value)))
        if self.sort != self.filterset.default_sort:
            pairs.append(("sort", self.sort))
        if self.columns != list(self.filterset.default_columns):
            pairs.extend(("cols", c) for c in self.columns)
        return pairs

    def querystring(self, **extra: Any) -> str:
        pairs = self.items()
        if self.view is not None:
            pairs.append(("view", str(self.view.pk)))
        pairs.extend((k, str(v)) for k, v in extra.items() if v not in (None, ""))
        return urlencode(pairs)

    @property
    def column_choices(self) -> list[tuple[str, Any]]:
        return [(key, self.filterset.columns[key]) for key in column_order(self.filterset)]

    def filters_querydict(self) -> QueryDict:
        """The filters alone, as the saved-view service expects them."""
        query = QueryDict(mutable=True)
        for key, value in self.filters.items():
            query.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
        return query


def column_order(filterset: FilterSet) -> list[str]:
    """Columns in display order: the default ones as the filter set lists them, then the rest."""
    defaults = list(filterset.default_columns)
    return defaults + [c for c in filterset.columns if c not in defaults]


def state_keys(filterset: FilterSet, params: QueryDict) -> bool:
    """True when the query string itself says what to show (then a `view` only marks the dropdown)."""
    names = set(filterset.by_name) | {"q", "sort", "cols"}
    return any(key in names or key.startswith("custom.") for key in params)


def read_list_state(params: QueryDict, filterset: FilterSet, membership: Membership) -> ListState:
    """Parse the query string; `?view=<id>` alone applies a saved view of this record type."""
    errors: dict[str, list[str]] = {}
    view = None
    if params.get("view"):
        view = selectors.saved_view_get(membership=membership, view_id=params["view"])
        if view.record_type != filterset.record_type:
            raise NotFound()
    if view is not None and not state_keys(filterset, params):
        filters = filterset.clean(view.filters or {}, errors)
        sort, columns = view.sort, list(view.columns or [])
    else:
        filters = filterset.clean(params, errors)
        sort = params.get("sort", "")
        columns = [c for raw in params.getlist("cols") for c in raw.split(",") if c]
    if sort and sort.lstrip("-") not in filterset.sorts:
        errors.setdefault("sort", []).append(_("Unknown sort."))
        sort = ""
    order = column_order(filterset)
    columns = sorted(set(columns) & set(order), key=order.index) or list(filterset.default_columns)
    return ListState(
        filterset=filterset,
        filters=filters,
        sort=sort or filterset.default_sort,
        columns=columns,
        view=view,
        errors=errors,
    )


@dataclass
class ListOptions:
    """Choices shared by the filter form and the bulk-action bar, fetched once per request."""

    users: list
    teams: list
    agencies: list
    tags: list
    pipelines: list


def list_options(membership: Membership, record_type: str) -> ListOptions:
    """The choices, read once per change of the organization's people, teams, agencies or tags
    (`orgs.directory`), not on every page."""
    from insidesales.orgs.directory import remembered
    from insidesales.orgs.selectors import agency_list, assignable_users, team_list
    from insidesales.orgs.visibility import can_assign_to_others

    managers = can_assign_to_others(membership)

    def read() -> tuple:
        return (
            # Only what the selects show: a user row is wide (password hash, preferences).
            tuple(assignable_users(membership=membership).only("id", "full_name", "email")),
            tuple(team_list(membership=membership)) if managers else (),
            tuple(agency_list(membership=membership)) if managers else (),
            tuple(selectors.tag_list(membership=membership)),
        )

    users, teams, agencies, tags = remembered(membership, "list_options", read)
    return ListOptions(
        users=list(users),
        teams=list(teams),
        agencies=list(agencies),
        tags=list(tags),
        pipelines=list(selectors.pipeline_list(membership=membership)) if record_type == "deal" else [],
    )
