"""Saving the current list filters/columns/sort as a named view, and deleting one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from insidesales.core.errors import NotFound, ValidationError
from insidesales.core.http import member_view
from insidesales.crm import selectors, services
from insidesales.crm.views.kinds import RECORD_KINDS
from insidesales.crm.views.listing import read_list_state
from insidesales.orgs.models import Membership, Role, Team
from insidesales.orgs.visibility import managed_team_ids


def shareable_teams(membership: Membership, *, teams: list[Team] | None = None) -> list[Team]:
    """Teams a view may be shared with: any for admins, else the member's own team and the teams they manage.

    `teams`, when the caller already holds the organization's teams, saves a query.
    """
    from insidesales.orgs.selectors import team_list

    teams = list(team_list(membership=membership)) if teams is None else teams
    if membership.role == Role.ADMIN:
        return teams
    allowed = set(managed_team_ids(membership)) | {membership.team_id}
    return [t for t in teams if t.pk in allowed]


@require_POST
@member_view
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Store the list state posted in `state` (the list's query string) under a name."""
    membership = request.membership
    kind = RECORD_KINDS.get(request.POST.get("record_type", ""))
    if kind is None:
        raise NotFound()
    raw_state = request.POST.get("state", "")
    params = QueryDict(raw_state)
    list_url = reverse(kind.names["list"])
    state = read_list_state(params, kind.filterset, membership)
    team = request.POST.get("team") or None
    try:
        view = services.saved_view_save(
            membership=membership,
            record_type=kind.record_type,
            name=request.POST.get("name", ""),
            filters=state.filters_querydict(),
            columns=state.columns,
            sort=state.sort,
            team_id=int(team) if team and team.isdigit() else None,
        )
    except ValidationError as exc:
        text = " ".join(str(m) for items in exc.fields.values() for m in items) or exc.message
        messages.error(request, _("The view was not saved: %(errors)s") % {"errors": text})
        return redirect(f"{list_url}?{raw_state}" if raw_state else list_url)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{list_url}?view={view.pk}")


@require_POST
@member_view
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership
    view = selectors.saved_view_get(membership=membership, view_id=pk)
    services.saved_view_delete(membership=membership, view_id=view.pk)
    messages.success(request, _("View deleted."))
    return redirect(RECORD_KINDS[view.record_type].names["list"])
