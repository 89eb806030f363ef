"""The email template pages: list, new, edit (EN and RU), live preview (htmx) against a visible lead, delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from insidesales.mail.models import EmailTemplate
from insidesales.mail.services.templates import email_template_create

EN = {"subject": "Hi {{ lead.first_name }}", "body": 'Hello {{ lead.first_name | default("there") }}'}


@pytest.fixture
def rep1(world, client):
    client.force_login(world.rep1.user)
    return client


def form_data(**extra):
    data = {
        "name": "Intro",
        "default_language": "en",
        "subject_en": EN["subject"],
        "body_en": EN["body"],
        "subject_ru": "Привет, {{ lead.first_name }}",
        "body_ru": "Добрый день, {{ lead.first_name }}!",
    }
    data.update(extra)
    return data


def test_new_template_is_saved_with_both_languages(world, rep1):
    page = rep1.get(reverse("email_template_new"))
    assert page.status_code == 200 and b'name="subject_ru"' in page.content
    response = rep1.post(reverse("email_template_new"), form_data())
    template = EmailTemplate.objects.get(name="Intro")
    assert response.status_code == 302 and response["Location"] == reverse("email_template_edit", args=[template.pk])
    assert sorted(v.language for v in template.variants.all()) == ["en", "ru"]
    listing = rep1.get(reverse("email_template_list"))
    assert b"Intro" in listing.content


def test_syntax_error_is_shown_on_the_form(world, rep1):
    response = rep1.post(reverse("email_template_new"), form_data(body_en="Hi\n{% for x in y %}{% endfor %}"))
    assert response.status_code == 422
    assert "Line 2" in response.content.decode() and "for" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_live_preview_renders_against_a_visible_lead_escaped(world, rep1):
    lead = world.lead_rep1
    lead.first_name = "<b>Zoë</b>"
    lead.save(update_fields=["first_name"])
    response = rep1.post(
        reverse("email_template_preview"),
        form_data(preview_lead=str(lead.pk), preview_language="auto"),
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<b>Zoë</b>" not in html  # escaped everywhere, including inside the sandboxed iframe's srcdoc
    assert "Hi &lt;b&gt;Zoë&lt;/b&gt;" in html
    assert "sandbox" in html


def test_preview_ignores_a_lead_out_of_scope(world, rep1):
    hidden = world.lead_rep2
    response = rep1.post(reverse("email_template_preview"), form_data(preview_lead=str(hidden.pk)))
    assert hidden.first_name not in response.content.decode()
    assert "sample data" in response.content.decode()


def test_preview_shows_template_errors(world, rep1):
    response = rep1.post(reverse("email_template_preview"), form_data(body_en="{{ lead | nope }}"))
    assert "nope" in response.content.decode() and "message-error" in response.content.decode()


def test_preview_follows_the_lead_language(world, rep1):
    lead = world.lead_rep1
    lead.country = "RU"
    lead.save(update_fields=["country"])
    response = rep1.post(reverse("email_template_preview"), form_data(preview_lead=str(lead.pk)))
    assert "Привет" in response.content.decode()


def test_lead_search_lists_only_visible_leads(world, rep1):
    response = rep1.get(reverse("email_template_preview_leads"), {"q": world.lead_rep2.last_name})
    assert world.lead_rep2.last_name not in response.content.decode()
    response = rep1.get(reverse("email_template_preview_leads"), {"q": world.lead_rep1.last_name})
    assert world.lead_rep1.last_name in response.content.decode()
    assert response["HX-Trigger-After-Swap"] == "preview-leads-changed"


def test_edit_and_delete_with_confirmation(world, rep1):
    template = email_template_create(actor=world.rep1, name="Old", variants={"en": EN})
    page = rep1.get(reverse("email_template_edit", args=[template.pk]))
    assert page.status_code == 200 and b"Old" in page.content
    saved = rep1.post(reverse("email_template_edit", args=[template.pk]), form_data(name="New"))
    assert saved.status_code == 302
    template.refresh_from_db()
    assert template.name == "New"
    confirm = rep1.get(reverse("email_template_delete", args=[template.pk]))
    assert confirm.status_code == 200 and b"Yes, delete" in confirm.content
    assert rep1.post(reverse("email_template_delete", args=[template.pk])).status_code == 302
    assert not EmailTemplate.objects.filter(pk=template.pk).exists()


def test_another_reps_personal_template_is_404_and_shared_is_read_only(world, rep1):
    personal = email_template_create(actor=world.rep2, name="Rep2 own", variants={"en": EN})
    shared = email_template_create(actor=world.rep2, name="Rep2 shared", variants={"en": EN}, is_shared=True)
    for name in ("email_template_edit", "email_template_delete"):
        assert rep1.get(reverse(name, args=[personal.pk])).status_code == 404
        assert rep1.post(reverse(name, args=[personal.pk])).status_code == 404
    page = rep1.get(reverse("email_template_edit", args=[shared.pk]))
    assert page.status_code == 200 and b"Save template" not in page.content
    assert rep1.post(reverse("email_template_edit", args=[shared.pk]), form_data(name="Hijack")).status_code == 403
    assert rep1.post(reverse("email_template_delete", args=[shared.pk])).status_code == 403
    shared.refresh_from_db()
    assert shared.name == "Rep2 shared"
    listing = rep1.get(reverse("email_template_list")).content.decode()
    assert "Rep2 shared" in listing and "Rep2 own" not in listing
