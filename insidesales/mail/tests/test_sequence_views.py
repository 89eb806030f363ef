"""The sequence pages through the Django client: list, create, edit, detail with steps and report, the htmx
step editor, enrolling from a record, from a list selection and from a saved view, the enrollments list."""
# ruff: noqa: F811 - the `sw` fixture is imported from the world module and named by each test

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from insidesales.crm.models import SavedView
from insidesales.mail.models import Enrollment, EnrollmentState, Sequence, SequenceStatus, StopReason
from insidesales.mail.services.sequences import enrollment_create
from insidesales.mail.services.suppression import suppression_add

from .test_sequence_views_world import steps_of, sw  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_list_shows_visible_sequences_with_counts(sw):
    mine = sw.sequence(name="East outreach")
    sw.sequence(by=sw.other_manager, team=sw.other_team, name="West outreach")
    enrollment = enrollment_create(actor=sw.rep, sequence=mine, lead=sw.lead())
    Enrollment.objects.filter(pk=enrollment.pk).update(state=EnrollmentState.STOPPED, stop_reason=StopReason.REPLIED)
    enrollment_create(actor=sw.rep, sequence=mine, lead=sw.lead())
    page = client_for(sw.rep).get(reverse("sequence_list")).content.decode()
    assert "East outreach" in page and "West outreach" not in page
    assert "50.0%" in page  # one of two replied
    assert "New sequence" not in page  # reps use sequences, they do not write them


def test_manager_creates_a_sequence_and_sees_form_errors(sw):
    client = client_for(sw.manager)
    response = client.post(reverse("sequence_create"), {"name": "", "team": str(sw.team.pk)})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    response = client.post(reverse("sequence_create"), {"name": "Webinar", "team": str(sw.team.pk)})
    sequence = Sequence.objects.get(name="Webinar")
    assert response.status_code == 302 and response["Location"] == reverse("sequence_detail", args=[sequence.pk])
    assert sequence.status == SequenceStatus.DRAFT


def test_rep_may_not_open_the_create_or_edit_pages(sw):
    sequence = sw.sequence()
    client = client_for(sw.rep)
    assert client.get(reverse("sequence_create")).status_code == 403
    assert client.get(reverse("sequence_edit", args=[sequence.pk])).status_code == 403
    assert client.get(reverse("sequence_detail", args=[sequence.pk])).status_code == 200


def test_edit_changes_the_name_and_status_through_the_verbs(sw):
    sequence = sw.sequence()
    response = client_for(sw.manager).post(
        reverse("sequence_edit", args=[sequence.pk]),
        {"name": "Renamed", "team": str(sw.team.pk), "status": "paused"},
    )
    assert response.status_code == 302
    sequence.refresh_from_db()
    assert (sequence.name, sequence.status) == ("Renamed", SequenceStatus.PAUSED)


def test_detail_lists_steps_in_order_with_their_fields_and_the_report(sw):
    sequence = sw.sequence()
    page = client_for(sw.manager).get(reverse("sequence_detail", args=[sequence.pk])).content.decode()
    assert page.index("“Hello”") < page.index("wait 2 days") < page.index("Call them")
    assert "Enrolled" in page and "Emails sent" in page
    assert 'id="step-form"' in page  # the editor, for the team's manager


def test_step_editor_adds_moves_and_deletes_with_htmx(sw):
    sequence = sw.sequence()
    client = client_for(sw.manager)
    form = client.get(
        reverse("sequence_step_create", args=[sequence.pk]) + "?kind=wait", HTTP_HX_TARGET="step-form", **HTMX
    )
    assert 'name="wait_days"' in form.content.decode() and 'name="subject"' not in form.content.decode()
    assert '<option value="wait" selected>' in form.content.decode()
    response = client.post(
        reverse("sequence_step_create", args=[sequence.pk]), {"kind": "task", "title": "Research"}, **HTMX
    )
    assert response.status_code == 200 and 'id="steps"' in response.content.decode()
    assert [s.kind for s in steps_of(sequence)] == ["auto_email", "wait", "call", "task"]
    task = steps_of(sequence)[-1]
    client.post(reverse("sequence_step_move", args=[sequence.pk, task.pk]), {"direction": "up"}, **HTMX)
    assert [s.kind for s in steps_of(sequence)] == ["auto_email", "wait", "task", "call"]
    client.post(reverse("sequence_step_delete", args=[sequence.pk, task.pk]), **HTMX)
    assert [s.kind for s in steps_of(sequence)] == ["auto_email", "wait", "call"]


def test_step_errors_come_back_in_the_form(sw):
    sequence = sw.sequence()
    client = client_for(sw.manager)
    response = client.post(
        reverse("sequence_step_create", args=[sequence.pk]), {"kind": "wait", "wait_days": "0"}, **HTMX
    )
    assert response.status_code == 200  # htmx swaps 2xx only: the card comes back with the errors
    assert "errorlist" in response.content.decode()
    plain = client.post(
        reverse("sequence_step_create", args=[sequence.pk]),
        {"kind": "auto_email", "subject": "Hi {{ lead.first_name ", "body": "x"},
    )
    assert plain.status_code == 422 and "errorlist" in plain.content.decode()
    step = steps_of(sequence)[0]
    edited = client.post(
        reverse("sequence_step_edit", args=[sequence.pk, step.pk]),
        {
            "kind": "auto_email",
            "subject": "New subject",
            "body": "Hello again",
            "window_start": "09:00",
            "window_end": "11:00",
        },
    )
    assert edited.status_code == 302
    step.refresh_from_db()
    assert (step.subject, str(step.window_start)) == ("New subject", "09:00:00")


def test_enroll_a_lead_from_its_page_and_see_why_a_suppressed_one_is_not(sw):
    sequence = sw.sequence()
    client = client_for(sw.rep)
    lead = sw.lead()
    card = client.get(reverse("sequence_enroll_lead", args=[lead.pk]), HTTP_HX_TARGET="record-sequences", **HTMX)
    assert 'id="record-sequences"' in card.content.decode() and "Cold outreach" in card.content.decode()
    response = client.post(reverse("sequence_enroll_lead", args=[lead.pk]), {"sequence": sequence.pk}, follow=True)
    assert "Enrolled in “Cold outreach”." in messages_of(response)
    assert Enrollment.objects.filter(lead=lead, sequence=sequence, state="active").exists()
    suppressed = sw.lead(email="gone@example.org")
    suppression_add(organization_id=sw.org.pk, email="gone@example.org", reason="unsubscribed")
    response = client.post(
        reverse("sequence_enroll_lead", args=[suppressed.pk]), {"sequence": sequence.pk}, follow=True
    )
    assert "Not enrolled: address on the suppression list." in messages_of(response)
    detail = client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert reverse("sequence_enroll_lead", args=[lead.pk]) in detail


def test_enroll_a_contact_from_its_page(sw):
    sequence = sw.sequence()
    contact = sw.contact()
    response = client_for(sw.rep).post(reverse("sequence_enroll_contact", args=[contact.pk]), {"sequence": sequence.pk})
    assert response.status_code == 302
    assert Enrollment.objects.filter(contact=contact, sequence=sequence).count() == 1


def test_bulk_enroll_from_the_leads_list_counts_what_was_skipped(sw):
    sequence = sw.sequence()
    client = client_for(sw.rep)
    ok = [sw.lead(), sw.lead()]
    no_address = sw.lead(email="")
    suppressed = sw.lead(email="blocked@example.org")
    suppression_add(organization_id=sw.org.pk, email="blocked@example.org", reason="hard_bounce")
    ids = [str(r.pk) for r in (*ok, no_address, suppressed)]
    listing = client.get(reverse("lead_list")).content.decode()
    assert reverse("sequence_enroll_leads") in listing
    picker = client.post(reverse("sequence_enroll_leads"), {"ids": ids, "next": "/leads/"})
    assert picker.status_code == 200 and "Cold outreach" in picker.content.decode()
    response = client.post(
        reverse("sequence_enroll_leads"), {"ids": ids, "next": "/leads/", "sequence": sequence.pk}, follow=True
    )
    shown = messages_of(response)
    assert "2 enrolled." in shown
    assert "Not enrolled: no email address: 1, address on the suppression list: 1." in shown
    assert Enrollment.objects.filter(sequence=sequence).count() == 2


def test_bulk_enroll_with_a_lead_out_of_scope_is_404_and_enrolls_nothing(sw):
    sequence = sw.sequence()
    hidden = sw.lead(by=sw.outsider_rep)
    response = client_for(sw.rep).post(
        reverse("sequence_enroll_leads"), {"ids": [sw.lead().pk, hidden.pk], "sequence": sequence.pk}
    )
    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_enroll_a_saved_view_of_leads(sw):
    sequence = sw.sequence()
    sw.lead(first_name="Ann", company_name="Acme")
    sw.lead(first_name="Bob", company_name="Acme")
    sw.lead(first_name="Cid", company_name="Other")
    view = SavedView.objects.create(
        organization=sw.org, record_type="lead", name="Acme", owner=sw.rep.user, filters={"q": "Acme"}
    )
    client = client_for(sw.rep)
    assert "Acme" in client.get(reverse("sequence_detail", args=[sequence.pk])).content.decode()
    response = client.post(reverse("sequence_enroll", args=[sequence.pk]), {"saved_view": view.pk}, follow=True)
    assert "2 enrolled." in messages_of(response)
    again = client.post(reverse("sequence_enroll", args=[sequence.pk]), {"saved_view": view.pk}, follow=True)
    assert "Not enrolled: already in this sequence: 2." in messages_of(again)
    someone_elses = SavedView.objects.create(organization=sw.org, record_type="lead", name="X", owner=sw.other_rep.user)
    assert (
        client.post(reverse("sequence_enroll", args=[sequence.pk]), {"saved_view": someone_elses.pk}).status_code == 404
    )


def test_enrollments_list_filters_pages_and_pauses_resumes_stops(sw):
    sequence = sw.sequence()
    enrollments = [enrollment_create(actor=sw.rep, sequence=sequence, lead=sw.lead()) for _ in range(3)]
    client = client_for(sw.rep)
    url = reverse("sequence_enrollments", args=[sequence.pk])
    first = client.get(url)
    assert first.status_code == 200 and first.context["page"].items[0].pk == enrollments[-1].pk
    target = enrollments[0]
    client.post(reverse("enrollment_pause", args=[target.pk]), {"next": url})
    assert client.get(url + "?state=paused").context["page"].items == [Enrollment.objects.get(pk=target.pk)]
    client.post(reverse("enrollment_resume", args=[target.pk]))
    target.refresh_from_db()
    assert target.state == EnrollmentState.ACTIVE
    response = client.post(reverse("enrollment_stop", args=[target.pk]), {"next": url}, follow=True)
    target.refresh_from_db()
    assert (target.state, target.stop_reason) == (EnrollmentState.STOPPED, StopReason.MANUAL)
    assert "Stopped: no more steps run for this enrollment." in messages_of(response)
    again = client.post(reverse("enrollment_stop", args=[target.pk]), follow=True)
    assert "This enrollment has already ended." in messages_of(again)
