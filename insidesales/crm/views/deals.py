"""Deal stage changes: move to a stage, mark won, mark lost (a lost deal needs a reason)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from insidesales.core.errors import Conflict, ValidationError
from insidesales.core.http import member_view
from insidesales.crm import services
from insidesales.crm.views.records import error_text


@require_POST
@member_view
def deal_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """`outcome=won` / `outcome=lost` (with `lost_reason`) close the deal; otherwise move to `stage`."""
    membership = request.membership
    outcome = request.POST.get("outcome", "")
    reason = request.POST.get("lost_reason", "").strip()
    try:
        if outcome == "won":
            deal = services.deal_mark_won(membership=membership, deal_id=pk)
        elif outcome == "lost":
            deal = services.deal_mark_lost(membership=membership, deal_id=pk, reason=reason)
        else:
            deal = services.deal_move_stage(
                membership=membership, deal_id=pk, stage_id=request.POST.get("stage", ""), lost_reason=reason
            )
    except (ValidationError, Conflict) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Deal moved to %(stage)s.") % {"stage": deal.stage})
    return redirect("deal_detail", pk)
