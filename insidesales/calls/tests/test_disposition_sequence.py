"""The disposition action "enroll in sequence": set by an admin on the disposition settings page, run after the
rep chooses the disposition; a record that cannot be enrolled never breaks the disposition, the timeline says why."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from insidesales.calls.models import Call, CallStatus, Disposition
from insidesales.calls.services import dialing
from insidesales.calls.services.config import dispositions_ensure
from insidesales.calls.services.dispositions import disposition_create, disposition_enroll, disposition_update
from insidesales.calls.settings_forms import DispositionSettingsForm
from insidesales.core.errors import ValidationError
from insidesales.crm.models import Activity
from insidesales.mail.models import Enrollment, Mailbox, Sequence, SequenceStep
from insidesales.mail.services.suppression import suppression_add

pytestmark = pytest.mark.django_db


def _sequence(cw, **fields) -> Sequence:
    sequence = Sequence.objects.create(organization=cw.org, name="After the call", owner=cw.admin.user, **fields)
    SequenceStep.objects.create(sequence=sequence, position=0, kind="auto_email", subject="Thanks", body="Hello")
    return sequence


def _mailbox(membership) -> Mailbox:
    return Mailbox.objects.create(
        organization=membership.organization, user=membership.user, email=f"{membership.user_id}@x.test", smtp_host="h"
    )


def _finished_call(cw, lead) -> Call:
    return Call.objects.create(
        organization=cw.org,
        provider="simulated",
        status=CallStatus.COMPLETED,
        agent=cw.rep.user,
        lead=lead,
        to_number=lead.phone,
        owner_id=lead.owner_id,
        team_id=lead.team_id,
    )


def _enrolling_disposition(cw, sequence) -> Disposition:
    return disposition_create(
        membership=cw.admin,
        data={"key": "send_info", "label": "Send info", "enroll_sequence": str(sequence.pk)},
    )


def test_admin_sets_and_clears_the_action_through_the_form(cw):
    sequence = _sequence(cw)
    form = DispositionSettingsForm(membership=cw.admin)
    assert (str(sequence.pk), "After the call") in form.fields["enroll_sequence"].choices
    assert "enroll_sequence" not in DispositionSettingsForm().fields  # no organization known: not offered
    disposition = _enrolling_disposition(cw, sequence)
    assert disposition.actions["enroll_sequence"] == sequence.pk
    disposition_update(membership=cw.admin, disposition_id=disposition.pk, data={"label": "Send info"})
    disposition.refresh_from_db()
    assert disposition.actions["enroll_sequence"] == sequence.pk  # not offered: kept
    disposition_update(
        membership=cw.admin, disposition_id=disposition.pk, data={"label": "Send info", "enroll_sequence": ""}
    )
    disposition.refresh_from_db()
    assert "enroll_sequence" not in disposition.actions
    with pytest.raises(ValidationError) as exc:
        disposition_update(
            membership=cw.admin, disposition_id=disposition.pk, data={"label": "Send info", "enroll_sequence": "999999"}
        )
    assert "enroll_sequence" in exc.value.fields


def test_settings_page_saves_the_action(cw):
    """Through the settings views (they hand the admin's membership to the form, which lists the sequences)."""
    sequence = _sequence(cw)
    client = Client()
    client.force_login(cw.admin.user)
    dispositions_ensure(cw.org.pk)
    disposition = Disposition.objects.get(organization=cw.org, key="not_interested")
    url = reverse("telephony_disposition_edit", args=[disposition.pk])
    response = client.post(url, {"label": "Not interested", "position": "3", "enroll_sequence": str(sequence.pk)})
    assert response.status_code == 302
    disposition.refresh_from_db()
    assert disposition.actions.get("enroll_sequence") == sequence.pk
    page = client.get(reverse("telephony_disposition_list")).content.decode()
    assert "enroll in sequence" in page


def test_choosing_the_disposition_enrolls_the_called_lead_with_the_rep_as_actor(cw):
    sequence = _sequence(cw)
    _mailbox(cw.rep)
    lead = cw.lead(by=cw.rep, phone="+14155552671", email="callee@example.org")
    call = _finished_call(cw, lead)
    disposition = _enrolling_disposition(cw, sequence)
    assert disposition_enroll(membership=cw.rep, call=call, disposition=disposition) is None
    enrollment = Enrollment.objects.get(lead=lead, sequence=sequence)
    assert enrollment.enrolled_by_id == cw.rep.user_id and enrollment.state == "active"
    note = Activity.objects.get(lead=lead, data__event="sequence_enroll")
    assert note.data["enrolled"] is True and "After the call" in note.subject


def test_a_suppressed_callee_is_not_enrolled_and_the_timeline_says_why(cw):
    sequence = _sequence(cw)
    _mailbox(cw.rep)
    lead = cw.lead(by=cw.rep, phone="+14155552672", email="no-more@example.org")
    suppression_add(organization_id=cw.org.pk, email="no-more@example.org", reason="unsubscribed")
    call = _finished_call(cw, lead)
    why = disposition_enroll(membership=cw.rep, call=call, disposition=_enrolling_disposition(cw, sequence))
    assert why == "address on the suppression list"
    assert not Enrollment.objects.filter(lead=lead).exists()
    note = Activity.objects.get(lead=lead, data__event="sequence_enroll")
    assert note.data["enrolled"] is False and "suppression list" in note.subject


def test_no_mailbox_or_a_paused_sequence_never_breaks_the_disposition(cw):
    sequence = _sequence(cw, status="paused")
    lead = cw.lead(by=cw.rep, phone="+14155552673", email="someone@example.org")
    call = _finished_call(cw, lead)
    why = disposition_enroll(membership=cw.rep, call=call, disposition=_enrolling_disposition(cw, sequence))
    assert "not active" in why
    Sequence.objects.filter(pk=sequence.pk).update(status="active")
    why = disposition_enroll(membership=cw.rep, call=call, disposition=Disposition.objects.get(key="send_info"))
    assert "mailbox" in why.lower()  # nobody to send from: said, not raised
    assert Activity.objects.filter(lead=lead, data__event="sequence_enroll", data__enrolled=False).count() == 2


def test_call_dispose_runs_the_enroll_action(cw):
    """End to end through `call_dispose` (needs its one-line hook calling `disposition_enroll`)."""
    sequence = _sequence(cw)
    _mailbox(cw.rep)
    lead = cw.lead(by=cw.rep, phone="+14155552674", email="end2end@example.org")
    call = _finished_call(cw, lead)
    _enrolling_disposition(cw, sequence)
    dialing.call_dispose(membership=cw.rep, call_id=call.pk, disposition_key="send_info")
    call.refresh_from_db()
    assert call.disposition.key == "send_info"
    assert Enrollment.objects.filter(lead=lead, sequence=sequence, enrolled_by=cw.rep.user).exists()
