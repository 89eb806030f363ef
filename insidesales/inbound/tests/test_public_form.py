"""The public form endpoint end to end: a visitor's post becomes a routed, announced lead exactly once; spam is
refused, counted and sampled; a returning sender joins their lead; cross-site posts follow the form's sites."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from insidesales.core.models import LiveEvent
from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, ActivityKind, Lead, Task
from insidesales.inbound import spam
from insidesales.inbound.models import (
    AssignTo,
    Notification,
    Outcome,
    RejectedSample,
    RejectionCount,
    RejectReason,
    RepAvailability,
    RoutingRule,
    Submission,
    WebForm,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    org = f.OrganizationFactory()
    admin = f.AdminMembershipFactory(organization=org)
    team = f.TeamFactory(organization=org)
    rep = f.InsideRepMembershipFactory(organization=org, team=team)
    form = WebForm.objects.create(
        organization=org,
        name="Contact us",
        fields=[
            {"key": "first_name", "required": False},
            {"key": "last_name", "required": True},
            {"key": "email", "required": True},
            {"key": "phone"},
            {"key": "company_name"},
        ],
        consent_text="I agree that Acme may contact me about my request.",
        allowed_domains=["acme.example"],
        min_fill_seconds=2,
    )
    RoutingRule.objects.create(organization=org, name="Team", assign_to=AssignTo.ROUND_ROBIN, team=team, position=1)
    RepAvailability.objects.create(organization=org, user=rep.user, seen_at=timezone.now())
    return {"org": org, "admin": admin, "team": team, "rep": rep, "form": form}


def aged_token(form: WebForm, seconds: float = 10.0, nonce: str = "n1") -> str:
    return signing.dumps({"f": form.pk, "t": time.time() - seconds, "n": nonce}, salt=spam.TOKEN_SALT)


def post(form: WebForm, data: dict, *, origin: str | None = None, json: bool = False, ip: str = "203.0.113.7"):
    headers = {"REMOTE_ADDR": ip}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    if json:
        headers["HTTP_ACCEPT"] = "application/json"
    return Client().post(reverse("inbound_form_submit", args=[form.public_key]), data, **headers)


def good(form: WebForm, **extra) -> dict:
    return {
        "first_name": "Anna",
        "last_name": "Berg",
        "email": "Anna.Berg@example.org",
        "consent": "1",
        "_t": aged_token(form),
        "_page": "https://acme.example/pricing?utm_source=google&utm_campaign=spring",
        "_ref": "https://www.google.com/",
        **extra,
    }


def test_hosted_page_renders_fields_consent_honeypot_and_a_start_token(setup):
    form = setup["form"]
    response = Client().get(reverse("inbound_form_page", args=[form.public_key]) + "?utm_source=news")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="last_name"' in html and 'name="email"' in html
    assert form.consent_text in html
    assert f'name="{spam.HONEYPOT}"' in html
    assert 'name="_t" value="' in html
    assert 'name="_utm_source" value="news"' in html
    assert "frame-ancestors 'self' https://acme.example" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_a_submission_becomes_a_routed_lead_with_consent_utm_task_and_one_alert(setup):
    form, rep = setup["form"], setup["rep"]
    response = post(form, good(form), origin="https://www.acme.example")
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == "https://www.acme.example"
    lead = Lead.objects.get(email="anna.berg@example.org")
    assert lead.owner_id == rep.user_id and lead.team_id == setup["team"].pk
    assert lead.source == "web_form"
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.CREATED and submission.lead_id == lead.pk
    assert submission.consent_given and submission.consent_text == form.consent_text
    assert submission.utm == {"source": "google", "campaign": "spring"}
    assert submission.referrer == "https://www.google.com/"
    assert submission.landing_page.startswith("https://acme.example/pricing")
    assert submission.assigned_at is not None and submission.owner_id == rep.user_id
    kinds = list(Activity.objects.filter(lead=lead).values_list("kind", flat=True))
    assert {ActivityKind.CREATED, ActivityKind.INQUIRY, ActivityKind.ASSIGNMENT} <= set(kinds)
    inquiry = Activity.objects.get(lead=lead, kind=ActivityKind.INQUIRY)
    assert inquiry.data["consent_text"] == form.consent_text
    task = Task.objects.get(lead=lead)
    assert task.assignee_id == rep.user_id and task.due_at == submission.received_at
    alerts = Notification.objects.filter(user=rep.user)
    assert alerts.count() == 1
    assert LiveEvent.objects.filter(topic=f"notify:{rep.user_id}").count() == 1


def test_the_same_form_token_sent_twice_is_stored_once(setup):
    form = setup["form"]
    data = good(form)
    assert post(form, data).status_code == 200
    assert post(form, data).status_code == 200
    assert Submission.objects.count() == 1 and Lead.objects.count() == 1
    assert Notification.objects.count() == 1


def test_a_returning_sender_joins_their_lead_instead_of_a_duplicate(setup):
    form = setup["form"]
    existing = f.LeadFactory(organization=setup["org"], email="anna.berg@example.org", owner=setup["admin"].user)
    assert post(form, good(form)).status_code == 200
    assert Lead.objects.filter(email="anna.berg@example.org").count() == 1
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.ATTACHED_LEAD and submission.lead_id == existing.pk
    assert submission.owner_id == setup["admin"].user_id  # its owner keeps it and is told
    assert Activity.objects.filter(lead=existing, kind=ActivityKind.INQUIRY).exists()
    assert Notification.objects.filter(user=setup["admin"].user).count() == 1


def test_a_sender_who_is_a_contact_joins_the_contact(setup):
    form = setup["form"]
    contact = f.ContactFactory(organization=setup["org"], email="anna.berg@example.org", owner=setup["rep"].user)
    assert post(form, good(form)).status_code == 200
    assert not Lead.objects.exists()
    submission = Submission.objects.get()
    assert submission.outcome == Outcome.ATTACHED_CONTACT and submission.contact_id == contact.pk
    assert Activity.objects.filter(contact=contact, kind=ActivityKind.INQUIRY).exists()


def test_missing_fields_and_consent_are_shown_with_the_values_kept(setup):
    form = setup["form"]
    response = post(form, good(form, last_name="", consent=""))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Anna"' in html and "This field is required." in html
    assert "Please confirm your consent" in html
    assert not Submission.objects.exists() and not Lead.objects.exists()
    json_response = post(form, good(form, email="not-an-email"), json=True)
    assert json_response.status_code == 422
    assert "email" in json_response.json()["errors"]


def test_honeypot_is_counted_sampled_and_answered_like_success(setup):
    form = setup["form"]
    response = post(form, good(form, **{spam.HONEYPOT: "http://spam.example"}), json=True)
    assert response.status_code == 200 and response.json()["ok"] is True
    assert not Submission.objects.exists()
    assert RejectionCount.objects.get(reason=RejectReason.HONEYPOT).count == 1
    assert RejectedSample.objects.get().data["last_name"] == "Berg"


def test_too_fast_or_tokenless_is_refused_with_a_way_to_send_again(setup):
    form = setup["form"]
    fast = post(form, good(form, _t=aged_token(form, seconds=0.2)))
    assert fast.status_code == 422
    assert "press the button again" in fast.content.decode()
    assert 'value="Berg"' in fast.content.decode()
    assert post(form, good(form, _t="")).status_code == 422
    assert post(form, good(form, _t="forged")).status_code == 422
    assert RejectionCount.objects.get(reason=RejectReason.TOO_FAST).count == 3
    assert not Submission.objects.exists()


def test_other_sites_cannot_post_but_the_forms_own_sites_and_plain_posts_can(setup):
    form = setup["form"]
    refused = post(form, good(form), origin="https://evil.example")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused
    assert RejectionCount.objects.get(reason=RejectReason.ORIGIN).count == 1
    assert post(form, good(form, _t=aged_token(form, nonce="a")), origin="https://acme.example").status_code == 200
    assert post(form, good(form, _t=aged_token(form, nonce="b"), email="b@example.org")).status_code == 200
    assert Submission.objects.count() == 2


def test_preflight_allows_the_forms_sites_only(setup):
    form = setup["form"]
    url = reverse("inbound_form_submit", args=[form.public_key])
    ok = Client().options(url, HTTP_ORIGIN="https://shop.acme.example")
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == "https://shop.acme.example"
    no = Client().options(url, HTTP_ORIGIN="https://acme.example.evil.example")
    assert "Access-Control-Allow-Origin" not in no


def test_per_address_rate_limit_answers_429_and_counts(setup):
    form = setup["form"]
    WebForm.objects.filter(pk=form.pk).update(per_ip_per_hour=2)
    form.refresh_from_db()
    for n in range(2):
        assert post(form, good(form, _t=aged_token(form, nonce=f"r{n}"), email=f"r{n}@example.org")).status_code == 200
    limited = post(form, good(form, _t=aged_token(form, nonce="r3"), email="r3@example.org"))
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert (
        post(form, good(form, _t=aged_token(form, nonce="r4"), email="r4@example.org"), ip="198.51.100.1").status_code
        == 200
    )
    assert RejectionCount.objects.get(reason=RejectReason.IP_RATE).count == 1


def test_redirect_goes_only_to_the_forms_own_sites(setup):
    form = setup["form"]
    WebForm.objects.filter(pk=form.pk).update(redirect_url="https://acme.example/thanks")
    form.refresh_from_db()
    response = post(form, good(form))
    assert response.status_code == 303 and response["Location"] == "https://acme.example/thanks"
    WebForm.objects.filter(pk=form.pk).update(redirect_url="https://elsewhere.example/")
    form.refresh_from_db()
    response = post(form, good(form, _t=aged_token(form, nonce="x"), email="x@example.org"))
    assert response.status_code == 200 and "Thank you" in response.content.decode()


def test_inactive_or_unknown_forms_are_404(setup):
    form = setup["form"]
    WebForm.objects.filter(pk=form.pk).update(is_active=False)
    assert Client().get(reverse("inbound_form_page", args=[form.public_key])).status_code == 404
    assert post(form, good(form)).status_code == 404
    assert Client().get(reverse("inbound_form_page", args=["nope"])).status_code == 404


def test_embed_script_and_start_token_are_served(setup):
    form = setup["form"]
    script = Client().get(reverse("inbound_form_embed", args=[form.public_key]))
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert f"/f/{form.public_key}/" in script.content.decode()
    start = Client().get(reverse("inbound_form_start", args=[form.public_key]), HTTP_ORIGIN="https://acme.example")
    assert start["Access-Control-Allow-Origin"] == "https://acme.example"
    assert spam.read_token(form, start.json()["token"]) is not None


def test_nobody_online_leaves_the_lead_in_the_pool_and_tells_the_admins(setup):
    form = setup["form"]
    RepAvailability.objects.update(seen_at=timezone.now() - timezone.timedelta(hours=1))
    assert post(form, good(form)).status_code == 200
    lead = Lead.objects.get()
    assert lead.owner_id is None
    assert list(Notification.objects.values_list("user_id", flat=True)) == [setup["admin"].user_id]
    assert not Task.objects.exists()


def test_one_address_over_its_limit_cannot_use_up_the_forms_budget(setup):
    form = setup["form"]
    WebForm.objects.filter(pk=form.pk).update(per_ip_per_hour=2, per_form_per_minute=5)
    form.refresh_from_db()
    for n in range(12):
        post(form, good(form, _t=aged_token(form, nonce=f"flood{n}"), email=f"f{n}@example.org"), ip="192.0.2.66")
    other = post(form, good(form, _t=aged_token(form, nonce="real"), email="real@example.org"), ip="198.51.100.9")
    assert other.status_code == 200


def test_an_ipv6_64_shares_one_budget():
    assert spam.address_key("2001:db8:1:2:aaaa::1") == spam.address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert spam.address_key("2001:db8:1:3::1") != spam.address_key("2001:db8:1:2::1")
    assert spam.address_key("::ffff:203.0.113.7") == "203.0.113.7"


def test_a_replayed_token_is_refused_after_a_few_uses(setup):
    form = setup["form"]
    token = aged_token(form, nonce="replayed")
    answers = [post(form, good(form, _t=token), ip="192.0.2.77").status_code for _ in range(7)]
    assert answers[:5] == [200] * 5 and answers[5:] == [429, 429]
    assert Submission.objects.count() == 1


def test_someone_elses_details_with_a_used_token_do_not_vanish(setup):
    form = setup["form"]
    token = aged_token(form, nonce="shared")
    assert post(form, good(form, _t=token)).status_code == 200
    again = post(form, good(form, _t=token, last_name="Other", email="other@example.org"))
    assert again.status_code == 422
    assert 'value="Other"' in again.content.decode()  # the form comes back with a fresh token, values kept
    assert Submission.objects.count() == 1


def test_line_breaks_in_names_are_flattened(setup):
    form = setup["form"]
    assert post(form, good(form, first_name="Eve\r\nBcc: x@evil.example")).status_code == 200
    assert Lead.objects.get().first_name == "Eve  Bcc: x@evil.example"


def test_frames_only_on_the_forms_https_sites(setup):
    form = setup["form"]
    csp = Client().get(reverse("inbound_form_page", args=[form.public_key]))["Content-Security-Policy"]
    assert "https://acme.example" in csp and "http://acme.example" not in csp


def test_the_leads_timeline_shows_what_was_sent_escaped(setup):
    form = setup["form"]
    assert post(form, good(form, company_name="<b>Acme</b>")).status_code == 200
    lead = Lead.objects.get()
    client = Client()
    client.force_login(setup["admin"].user)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Inquiry via Contact us" in page and "What was sent" in page
    assert "&lt;b&gt;Acme&lt;/b&gt;" in page and "<b>Acme</b>" not in page
    assert form.consent_text in page and "https://www.google.com/" in page and "spring" in page
