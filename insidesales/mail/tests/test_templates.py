"""Email templates: services (validation at save time, variants per language, who may change what),
selectors (own + shared; admins all; another rep's personal template is 404), and the API."""

from __future__ import annotations

import json

import pytest

from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.mail.models import EmailTemplate
from insidesales.mail.selectors.templates import preview_leads, template_get, template_list
from insidesales.mail.services.templates import email_template_create, email_template_delete, email_template_update
from insidesales.orgs.models import AuditLog
from insidesales.orgs.services import api_key_create

EN = {"subject": "Hi {{ lead.first_name }}", "body": 'Hello {{ lead.first_name | default("there") }},\n\nBye'}
RU = {"subject": "Здравствуйте, {{ lead.first_name }}", "body": "Добрый день!"}


def make(member, name="Intro", shared=False, **variants):
    return email_template_create(
        actor=member, name=name, variants=variants or {"en": EN}, default_language="en", is_shared=shared
    )


# ---- services -------------------------------------------------------------------------------------------


def test_create_keeps_each_language_and_writes_an_audit_row(world):
    template = make(world.rep1, en=EN, ru=RU)
    assert template.owner == world.rep1.user and template.organization_id == world.org.pk
    assert {v.language: v.subject for v in template.variants.all()} == {"en": EN["subject"], "ru": RU["subject"]}
    assert AuditLog.objects.filter(action="email_template.create", object_id=template.pk).exists()


@pytest.mark.parametrize(
    ("variants", "field", "words"),
    [
        ({"en": {"subject": "Hi {{ lead.first_name | nope }}", "body": "b"}}, "subject_en", "nope"),
        ({"ru": {"subject": "s", "body": "a\n{% for x in y %}{% endfor %}"}}, "body_ru", "Line 2"),
        ({"en": {"subject": "", "body": "body only"}}, "subject_en", "subject"),
        ({"en": {"subject": "s", "body": "{% include 'base.html' %}"}}, "body_en", "include"),
        ({}, "variants", "at least one language"),
    ],
)
def test_syntax_errors_show_at_save_time(world, variants, field, words):
    with pytest.raises(ValidationError) as caught:
        email_template_create(
            actor=world.rep1, name="Bad", variants=variants, default_language="ru" if "ru" in variants else "en"
        )
    assert words in " ".join(caught.value.fields[field])
    assert not EmailTemplate.objects.filter(name="Bad").exists()


def test_default_language_needs_a_variant(world):
    with pytest.raises(ValidationError) as caught:
        email_template_create(actor=world.rep1, name="T", variants={"en": EN}, default_language="ru")
    assert "default_language" in caught.value.fields


def test_update_replaces_languages_and_keeps_what_is_not_given(world):
    template = make(world.rep1, en=EN, ru=RU)
    email_template_update(actor=world.rep1, template=template, name="Renamed")
    template.refresh_from_db()
    assert template.name == "Renamed" and template.variants.count() == 2
    email_template_update(actor=world.rep1, template=template, variants={"en": EN, "ru": {"subject": "", "body": ""}})
    assert [v.language for v in template.variants.all()] == ["en"]


def test_only_owner_or_admin_changes_a_shared_template(world):
    template = make(world.rep1, shared=True)
    with pytest.raises(PermissionDenied):
        email_template_update(actor=world.rep2, template=template, name="Mine now")
    with pytest.raises(PermissionDenied):
        email_template_delete(actor=world.manager, template=template)
    email_template_update(actor=world.admin, template=template, name="Admin fixed it")
    email_template_delete(actor=world.admin, template=template)
    assert not EmailTemplate.objects.filter(pk=template.pk).exists()


def test_a_template_an_active_sequence_sends_is_changed_only_by_admins_and_managers(world):
    from insidesales.mail.models import Sequence, SequenceStep, StepKind

    template = make(world.rep1, shared=True)
    sequence = Sequence.objects.create(organization=world.org, name="Org-wide", owner=world.admin.user)
    SequenceStep.objects.create(sequence=sequence, position=0, kind=StepKind.AUTO_EMAIL, template=template)
    with pytest.raises(PermissionDenied):  # its own author, a rep: not while the sequence sends it
        email_template_update(actor=world.rep1, template=template, variants={"en": {"subject": "x", "body": "spam"}})
    email_template_update(actor=world.admin, template=template, name="Reviewed")
    sequence.status = "paused"
    sequence.save()
    email_template_update(actor=world.rep1, template=template, name="Back to the author")


# ---- selectors --------------------------------------------------------------------------------------------


def test_members_see_their_own_and_shared_templates_admins_all(world):
    personal = make(world.rep1, name="Personal")
    shared = make(world.rep2, name="Shared", shared=True)
    others = make(world.rep2, name="Rep2 personal")
    assert set(template_list(membership=world.rep1)) == {personal, shared}
    assert set(template_list(membership=world.agency_x_rep)) == {shared}
    assert set(template_list(membership=world.admin)) == {personal, shared, others}
    assert list(template_list(membership=world.admin_b)) == []
    with pytest.raises(NotFound):
        template_get(membership=world.rep1, template_id=others.pk)
    with pytest.raises(NotFound):
        template_get(membership=world.admin_b, template_id=shared.pk)


def test_preview_leads_are_only_visible_ones(world):
    leads = preview_leads(membership=world.rep1, limit=100)
    assert set(leads) == {world.lead_rep1, world.lead_unassigned}
    found = preview_leads(membership=world.rep1, search=world.lead_rep2.last_name)
    assert world.lead_rep2 not in found


# ---- API ------------------------------------------------------------------------------------------------


class Api:
    def __init__(self, client, membership):
        self.client, self.headers = (
            client,
            {"Authorization": f"Bearer {api_key_create(membership=membership, name='t')[1]}"},
        )

    def call(self, method, path, data=None):
        kwargs = {"headers": self.headers}
        if data is not None:
            kwargs.update(data=json.dumps(data), content_type="application/json")
        return getattr(self.client, method)(f"/api/v1/email-templates{path}", **kwargs)


def test_api_create_get_patch_preview_delete(world, client):
    api = Api(client, world.rep1)
    body = {
        "name": "API intro",
        "default_language": "en",
        "variants": [{"language": "en", **EN}, {"language": "ru", **RU}],
    }
    created = api.call("post", "", body)
    assert created.status_code == 201, created.content
    tid = created.json()["id"]
    assert {v["language"] for v in created.json()["variants"]} == {"en", "ru"}
    assert api.call("get", f"/{tid}").json()["name"] == "API intro"
    patched = api.call("patch", f"/{tid}", {"is_shared": True})
    assert patched.status_code == 200 and patched.json()["is_shared"] is True
    assert len(patched.json()["variants"]) == 2
    preview = api.call("post", f"/{tid}/preview", {"lead_id": world.lead_rep1.pk})
    assert preview.status_code == 200, preview.content
    assert preview.json()["subject"] == f"Hi {world.lead_rep1.first_name}"
    assert preview.json()["html"].startswith("<p>Hello")
    assert api.call("post", f"/{tid}/preview", {"lead_id": world.lead_rep2.pk}).status_code == 404
    listed = api.call("get", "")
    assert [item["id"] for item in listed.json()["items"]] == [tid]
    assert api.call("delete", f"/{tid}").status_code == 204
    assert api.call("get", f"/{tid}").status_code == 404


def test_api_errors_are_problems_naming_the_field(world, client):
    api = Api(client, world.rep1)
    bad = api.call(
        "post", "", {"name": "x", "variants": [{"language": "en", "subject": "s", "body": "{{ a | nope }}"}]}
    )
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    assert "nope" in bad.json()["errors"]["body_en"][0]


def test_api_scope_other_reps_personal_template_is_404_shared_is_403_to_change(world, client):
    personal = make(world.rep2, name="Rep2's own")
    shared = make(world.rep2, name="Rep2 shared", shared=True)
    api = Api(client, world.rep1)
    assert api.call("get", f"/{personal.pk}").status_code == 404
    assert api.call("patch", f"/{personal.pk}", {"name": "x"}).status_code == 404
    assert api.call("delete", f"/{personal.pk}").status_code == 404
    assert api.call("post", f"/{personal.pk}/preview", {"lead_id": world.lead_rep1.pk}).status_code == 404
    assert api.call("get", f"/{shared.pk}").status_code == 200
    assert api.call("patch", f"/{shared.pk}", {"name": "x"}).status_code == 403
    assert api.call("post", f"/{shared.pk}/preview", {"lead_id": world.lead_rep1.pk}).status_code == 200
