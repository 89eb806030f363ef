"""Who sees which sequences and enrollments: another team's sequence, another rep's enrollment or lead answer 404
on every page (reads and writes alike) and change nothing; agency reps see only their agency's sequences."""
# ruff: noqa: F811 - the `sw` fixture is imported from the world module and named by each test

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from insidesales.core.testing.world import db_state
from insidesales.mail.selectors.sequences import enrollment_list, sequence_list
from insidesales.mail.services import sequence_editing as editing
from insidesales.mail.services.sequences import enrollment_create

from .test_sequence_views_world import steps_of, sw  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_another_teams_sequence_is_404_on_every_page(sw):
    west = sw.sequence(by=sw.other_manager, team=sw.other_team, name="West only")
    step = steps_of(west)[0]
    lead = sw.lead()
    pages = [
        ("get", reverse("sequence_detail", args=[west.pk])),
        ("get", reverse("sequence_edit", args=[west.pk])),
        ("post", reverse("sequence_edit", args=[west.pk])),
        ("post", reverse("sequence_status", args=[west.pk])),
        ("get", reverse("sequence_enrollments", args=[west.pk])),
        ("post", reverse("sequence_enroll", args=[west.pk])),
        ("get", reverse("sequence_step_create", args=[west.pk])),
        ("post", reverse("sequence_step_create", args=[west.pk])),
        ("get", reverse("sequence_step_edit", args=[west.pk, step.pk])),
        ("post", reverse("sequence_step_delete", args=[west.pk, step.pk])),
        ("post", reverse("sequence_step_move", args=[west.pk, step.pk])),
        ("post", reverse("sequence_enroll_lead", args=[lead.pk])),  # a visible lead, a hidden sequence
    ]
    before = db_state()
    for who in (sw.rep, sw.manager, sw.agency_rep):
        client = client_for(who)
        for method, url in pages:
            data = {"status": "paused", "kind": "wait", "wait_days": "1", "sequence": str(west.pk), "name": "x"}
            response = getattr(client, method)(url, data if method == "post" else None)
            assert response.status_code == 404, (who, method, url)
    assert db_state() == before
    assert client_for(sw.other_manager).get(reverse("sequence_detail", args=[west.pk])).status_code == 200


def test_a_step_of_another_sequence_is_404(sw):
    east, west = sw.sequence(), sw.sequence(by=sw.other_manager, team=sw.other_team)
    response = client_for(sw.admin).get(reverse("sequence_step_edit", args=[east.pk, steps_of(west)[0].pk]))
    assert response.status_code == 404


def test_another_reps_enrollment_and_lead_are_404(sw):
    sequence = sw.sequence()
    theirs = enrollment_create(actor=sw.other_rep, sequence=sequence, lead=sw.lead(by=sw.other_rep))
    client = client_for(sw.rep)
    for action in ("enrollment_stop", "enrollment_pause", "enrollment_resume"):
        assert client.post(reverse(action, args=[theirs.pk])).status_code == 404
    assert client.get(reverse("sequence_enroll_lead", args=[theirs.lead_id])).status_code == 404
    page = client.get(reverse("sequence_enrollments", args=[sequence.pk])).content.decode()
    assert theirs.email not in page
    theirs.refresh_from_db()
    assert theirs.state == "active"
    assert client_for(sw.manager).post(reverse("enrollment_pause", args=[theirs.pk])).status_code == 302


def test_agency_reps_see_only_their_agencys_sequences_and_records(sw):
    for_agency = editing.sequence_create(actor=sw.admin, data={"name": "Agency", "agency_id": sw.agency.pk})
    sw.sequence()
    assert list(sequence_list(membership=sw.agency_rep)) == [for_agency]
    assert {s.name for s in sequence_list(membership=sw.rep)} == {"Cold outreach"}
    assert {s.name for s in sequence_list(membership=sw.admin)} == {"Agency", "Cold outreach"}
    assert not enrollment_list(membership=sw.agency_rep).exists()


def test_sequences_list_page_does_not_name_hidden_sequences(sw):
    sw.sequence(by=sw.other_manager, team=sw.other_team, name="Secret West plan")
    assert "Secret West plan" not in client_for(sw.rep).get(reverse("sequence_list")).content.decode()
    assert "Secret West plan" in client_for(sw.admin).get(reverse("sequence_list")).content.decode()
