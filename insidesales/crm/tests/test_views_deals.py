"""Deal stage changes through the UI: move, won, lost (which needs a reason)."""

from __future__ import annotations

import pytest

from insidesales.core.testing import factories as f
from insidesales.crm.models import Stage, StageKind

pytestmark = pytest.mark.django_db


def stage(org, kind: str, position: int = 0) -> Stage:
    return Stage.objects.filter(organization=org, kind=kind).order_by("position")[position]


def test_stage_selector_moves_the_deal(ui, ui_login):
    deal = f.DealFactory(owned_by=ui.rep)
    target = stage(ui.org, StageKind.OPEN, 2)
    client = ui_login(ui.rep)
    assert f'action="/deals/{deal.pk}/stage/"' in client.get(f"/deals/{deal.pk}/").content.decode()
    response = client.post(f"/deals/{deal.pk}/stage/", {"stage": target.pk}, follow=True)
    assert f"Deal moved to {target.name}." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == target and deal.closed_at is None


def test_lost_requires_a_reason(ui, ui_login):
    deal = f.DealFactory(owned_by=ui.rep)
    client = ui_login(ui.rep)
    response = client.post(f"/deals/{deal.pk}/stage/", {"outcome": "lost"}, follow=True)
    assert "Say why the deal was lost." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.kind == StageKind.OPEN
    lost = stage(ui.org, StageKind.LOST)
    response = client.post(f"/deals/{deal.pk}/stage/", {"stage": lost.pk}, follow=True)
    assert "Say why the deal was lost." in response.content.decode()
    client.post(f"/deals/{deal.pk}/stage/", {"outcome": "lost", "lost_reason": "Price"})
    deal.refresh_from_db()
    assert deal.stage == lost and deal.lost_reason == "Price" and deal.closed_at is not None


def test_won_button_closes_the_deal(ui, ui_login):
    deal = f.DealFactory(owned_by=ui.rep)
    ui_login(ui.rep).post(f"/deals/{deal.pk}/stage/", {"outcome": "won"})
    deal.refresh_from_db()
    assert deal.stage.kind == StageKind.WON and deal.closed_at is not None


def test_stage_change_on_another_reps_deal_is_404(ui, ui_login):
    deal = f.DealFactory(owned_by=ui.other_rep)
    assert ui_login(ui.rep).post(f"/deals/{deal.pk}/stage/", {"outcome": "won"}).status_code == 404
    deal.refresh_from_db()
    assert deal.stage.kind == StageKind.OPEN
