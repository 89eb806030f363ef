"""Web form settings services: who may write, the field list, consent, the sites and the redirect, spam limits,
switching off and deleting (submissions stay)."""

from __future__ import annotations

import pytest

from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.inbound.models import Submission, WebForm
from insidesales.inbound.selectors_forms import field_catalog, web_form_get, web_form_list
from insidesales.inbound.services.forms import (
    clean_domain,
    redirect_problem,
    web_form_create,
    web_form_delete,
    web_form_set_active,
    web_form_update,
)
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db

EMAIL = {"key": "email", "label": "", "required": True}


@pytest.fixture
def admin(db):
    return f.AdminMembershipFactory()


def make(admin, **data):
    values = {"name": "Contact us", "fields": [EMAIL], **data}
    return web_form_create(membership=admin, data=values)


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.fields


def test_admin_creates_a_form_with_defaults_and_an_audit_row(admin):
    form = make(admin)
    assert form.organization_id == admin.organization_id
    assert form.created_by == admin.user
    assert form.fields == [{"key": "email", "label": "Email", "required": True}]  # the field's own label
    assert (form.source, form.min_fill_seconds, form.per_ip_per_hour, form.is_active) == ("web_form", 3, 20, True)
    assert form.public_key
    assert AuditLog.objects.filter(action="web_form.create", object_id=form.pk).exists()


def test_managers_and_reps_may_not_write(admin):
    manager = f.ManagerMembershipFactory(organization=admin.organization)
    rep = f.InsideRepMembershipFactory(organization=admin.organization)
    form = make(admin)
    with pytest.raises(PermissionDenied):
        make(manager)
    with pytest.raises(PermissionDenied):
        web_form_update(membership=manager, form_id=form.pk, data={"name": "x"})
    with pytest.raises(NotFound):  # reps do not see forms at all
        web_form_update(membership=rep, form_id=form.pk, data={"name": "x"})
    with pytest.raises(NotFound):
        web_form_delete(membership=rep, form_id=form.pk)
    assert web_form_get(membership=manager, form_id=form.pk) == form
    assert WebForm.objects.get().name == "Contact us"


def test_another_organizations_form_is_not_found(admin):
    other = f.AdminMembershipFactory()
    form = make(other)
    for call in (
        lambda: web_form_get(membership=admin, form_id=form.pk),
        lambda: web_form_update(membership=admin, form_id=form.pk, data={"name": "Mine"}),
        lambda: web_form_set_active(membership=admin, form_id=form.pk, is_active=False),
        lambda: web_form_delete(membership=admin, form_id=form.pk),
    ):
        with pytest.raises(NotFound):
            call()
    assert list(web_form_list(membership=admin)) == []
    form.refresh_from_db()
    assert (form.name, form.is_active) == ("Contact us", True)


def test_fields_come_from_the_lead_and_its_custom_fields(admin):
    f.CustomFieldFactory(organization=admin.organization, key="budget", label="Budget")
    f.CustomFieldFactory(organization=admin.organization, key="tier", label="Tier", record_type="contact")
    f.CustomFieldFactory(key="elsewhere")  # another organization's
    catalog = field_catalog(membership=admin)
    assert "custom:budget" in catalog and "custom:tier" not in catalog and "custom:elsewhere" not in catalog
    form = make(admin, fields=[{"key": "phone"}, {"key": "custom:budget", "label": "Your budget", "required": True}])
    assert form.fields == [
        {"key": "phone", "label": "Phone", "required": False},
        {"key": "custom:budget", "label": "Your budget", "required": True},
    ]
    for key in ("custom:tier", "custom:elsewhere", "owner_id", ""):
        assert "fields" in errors_of(lambda key=key: make(admin, fields=[EMAIL, {"key": key}]))


def test_the_same_field_twice_and_a_form_without_email_or_phone_are_refused(admin):
    twice = errors_of(lambda: make(admin, fields=[EMAIL, {"key": "email", "label": "Again"}]))
    assert "twice" in twice["fields"][0]
    nobody = errors_of(lambda: make(admin, fields=[{"key": "first_name"}, {"key": "company_name"}]))
    assert "email or the phone" in nobody["fields"][0]
    assert "fields" in errors_of(lambda: make(admin, fields="email"))
    assert "fields" in errors_of(lambda: make(admin, fields=[]))
    assert not WebForm.objects.exists()


def test_labels_are_limited_in_length(admin):
    make(admin, fields=[{"key": "email", "label": "x" * 100}])
    problem = errors_of(lambda: make(admin, fields=[{"key": "email", "label": "x" * 101}]))
    assert "too long" in problem["fields"][0]


def test_consent_text_is_stored_as_typed_and_required_consent_needs_text(admin):
    text = "  I agree to be called about\n<b>my inquiry</b>.  "
    form = make(admin, consent_text=text, consent_required=True)
    assert form.consent_text == text
    assert "consent_text" in errors_of(lambda: make(admin, consent_text="   ", consent_required=True))
    assert make(admin, consent_text="", consent_required=False).consent_text == ""


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Example.COM", "example.com"),
        ("www.example.com.", "www.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("*.example.org", "example.org"),
        ("shop.github.io", "shop.github.io"),
    ],
)
def test_allowed_domains_are_normalized_host_names(typed, stored):
    assert clean_domain(typed) == stored


@pytest.mark.parametrize("typed", ["localhost", "com", "co.uk", "github.io", "рф", "*.com"])
def test_a_domain_shared_by_everyone_is_refused(typed):
    """A public suffix would make every site under it one of the form's sites (posts, frames, redirects)."""
    with pytest.raises(ValueError, match="shared by many"):
        clean_domain(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "https://example.com",
        "example.com/contact",
        "example.com:8080",
        "user@example.com",
        "10.0.0.1",
        "[::1]",
        "-bad-.com",
        "a..b",
        "exa mple.com",
        "example.123",
        "x" * 64 + ".com",
        "",
    ],
)
def test_allowed_domains_refuse_what_is_not_a_host_name(typed):
    with pytest.raises(ValueError):
        clean_domain(typed)


def test_the_form_stores_its_sites_deduplicated(admin):
    form = make(admin, allowed_domains=["Example.com", "example.com", "shop.example.com", "  "])
    assert form.allowed_domains == ["example.com", "shop.example.com"]
    problems = errors_of(lambda: make(admin, allowed_domains=["https://example.com/x", "ok.example"]))
    assert len(problems["allowed_domains"]) == 1


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/thanks", True),
        ("http://www.example.com/thanks?x=1", True),
        ("https://EXAMPLE.com:8443/t", True),
        ("https://evilexample.com/", False),
        ("https://example.com.evil.net/", False),
        ("javascript:alert(1)", False),
        ("ftp://example.com/", False),
        ("//example.com/x", False),
        ("https://user:pw@example.com/", False),
        ("https://other.org/", False),
    ],
)
def test_redirects_go_only_to_the_forms_sites(url, ok):
    assert (redirect_problem(url, ["example.com"]) is None) is ok


def test_a_redirect_needs_its_host_among_the_sites(admin):
    problem = errors_of(lambda: make(admin, redirect_url="https://example.com/thanks"))
    assert "example.com" in problem["redirect_url"][0]
    form = make(admin, redirect_url="https://example.com/thanks", allowed_domains=["example.com"])
    assert form.redirect_url == "https://example.com/thanks"


def test_language_source_and_spam_limits_are_checked(admin):
    problems = errors_of(
        lambda: make(
            admin,
            language="de",
            source="carrier_pigeon",
            min_fill_seconds=121,
            per_ip_per_hour=0,
            per_form_per_minute="many",
            name=" ",
        )
    )
    assert set(problems) == {"language", "source", "min_fill_seconds", "per_ip_per_hour", "per_form_per_minute", "name"}
    form = make(admin, language="ru", source="event", min_fill_seconds=0, per_ip_per_hour=5, per_form_per_minute=1)
    assert (form.language, form.source, form.min_fill_seconds) == ("ru", "event", 0)


def test_update_keeps_what_is_not_sent_and_audits_the_change(admin):
    form = make(admin, title="Talk to us")
    web_form_update(membership=admin, form_id=form.pk, data={"name": "Demo request"})
    form.refresh_from_db()
    assert (form.name, form.title) == ("Demo request", "Talk to us")
    row = AuditLog.objects.get(action="web_form.update", object_id=form.pk)
    assert row.changes == {"name": ["Contact us", "Demo request"]}
    web_form_update(membership=admin, form_id=form.pk, data={"name": "Demo request"})
    assert AuditLog.objects.filter(action="web_form.update").count() == 1  # nothing changed, nothing written


def test_switching_off_and_deleting_keeps_the_submissions(admin):
    form = make(admin)
    web_form_set_active(membership=admin, form_id=form.pk, is_active=False)
    form.refresh_from_db()
    assert form.is_active is False
    submission = Submission.objects.create(organization_id=admin.organization_id, form=form, data={"email": "a@b.c"})
    web_form_delete(membership=admin, form_id=form.pk)
    assert not WebForm.objects.exists()
    submission.refresh_from_db()
    assert submission.form_id is None
    assert AuditLog.objects.filter(action="web_form.delete").exists()
