"""The generic record pages: lists (filters, search, keyset pages, htmx partials), detail, create/edit, scope."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from insidesales.core.testing import factories as f
from insidesales.crm import services
from insidesales.crm.models import Activity, Company, Contact, CustomFieldType, Deal, Lead, SavedView
from insidesales.crm.views.listing import PAGE_SIZE

pytestmark = pytest.mark.django_db

HTMX_RESULTS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "results"}


def lead_links(response) -> set[int]:
    """Ids of the leads linked from a list page's table."""
    return {int(pk) for pk in re.findall(r'href="/leads/(\d+)/"', response.content.decode())}


# --- list -------------------------------------------------------------------------------------


def test_list_shows_visible_leads_with_formatted_phone_links(ui, ui_login):
    lead = ui.lead(first_name="Ann", last_name="Lee", phone="(415) 555-0100")
    response = ui_login(ui.admin).get("/leads/")
    assert response.status_code == 200
    assert lead.pk in lead_links(response)
    # The number links to click-to-call (a page that asks before dialing); a company's keeps its tel: link.
    assert f'href="/calls/dial/lead/{lead.pk}/">(415) 555-0100</a>' in response.content.decode()
    detail = ui_login(ui.admin).get(f"/leads/{lead.pk}/").content.decode()
    assert 'href="tel:+14155550100"' in detail and "(415) 555-0100" in detail  # the number itself still dials
    company = services.record_create(
        membership=ui.admin, model=Company, data={"name": "Acme", "phone": "(415) 555-0101"}
    )
    page = ui_login(ui.admin).get(f"/companies/{company.pk}/").content.decode()
    assert f'href="tel:{company.phone}">(415) 555-0101</a>' in page


def test_list_filters_by_owner_status_and_me(ui, ui_login):
    mine = ui.lead(by=ui.rep, last_name="Mine")
    theirs = ui.lead(by=ui.other_rep, last_name="Theirs")
    pool = ui.lead(last_name="Pool")
    services.lead_qualify(membership=ui.admin, lead_id=theirs.pk)
    client = ui_login(ui.manager)

    assert lead_links(client.get(f"/leads/?owner={ui.rep.user_id}")) == {mine.pk}
    assert lead_links(client.get("/leads/?owner=none")) == {pool.pk}
    assert lead_links(client.get("/leads/?status=qualified")) == {theirs.pk}
    assert lead_links(client.get("/leads/?status=new&status=qualified")) == {mine.pk, theirs.pk, pool.pk}
    assert lead_links(ui_login(ui.rep).get("/leads/?owner=me")) == {mine.pk}


def test_search_finds_a_lead_by_phone_typed_in_another_format(ui, ui_login):
    wanted = ui.lead(last_name="Caller", phone="(415) 555-0100")
    ui.lead(last_name="Other", phone="(415) 555-0199")
    client = ui_login(ui.admin)
    for typed in ("415.555.0100", "+1 415 555 0100", "4155550100"):
        assert lead_links(client.get("/leads/", {"q": typed})) == {wanted.pk}, typed
    assert lead_links(client.get("/leads/", {"q": "cal"})) == {wanted.pk}


def test_invalid_filter_value_is_reported_not_a_crash(ui, ui_login):
    response = ui_login(ui.admin).get("/leads/?status=bogus&sort=nope")
    assert response.status_code == 200
    assert "Invalid value." in response.content.decode()


def test_keyset_next_page_continues_where_the_first_stopped(ui, ui_login):
    leads = f.LeadFactory.create_batch(PAGE_SIZE + 7, organization=ui.org)
    client = ui_login(ui.admin)
    first = client.get("/leads/")
    first_ids = lead_links(first)
    assert len(first_ids) == PAGE_SIZE
    next_url = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1).replace("&amp;", "&")
    assert "cursor=" in next_url
    second = client.get(next_url)
    second_ids = lead_links(second)
    assert len(second_ids) == 7
    assert first_ids.isdisjoint(second_ids)
    assert first_ids | second_ids == {lead.pk for lead in leads}
    assert 'rel="next"' not in second.content.decode()
    assert "First page" in second.content.decode()


def test_stale_cursor_shows_first_page_with_a_message(ui, ui_login):
    ui.lead(last_name="Only")
    response = ui_login(ui.admin).get("/leads/?cursor=not-a-cursor")
    assert response.status_code == 200
    assert "Invalid cursor." in response.content.decode()
    assert len(lead_links(response)) == 1


def test_htmx_filter_request_gets_only_the_table_partial(ui, ui_login):
    lead = ui.lead(last_name="Partial")
    client = ui_login(ui.admin)
    partial = client.get("/leads/?q=part", **HTMX_RESULTS)
    body = partial.content.decode()
    assert '<div id="results"' in body and "<html" not in body and 'id="filters"' not in body
    assert lead.pk in lead_links(partial)
    assert partial["HX-Push-Url"] == "/leads/?q=part"
    full = client.get("/leads/?q=part")
    assert "<html" in full.content.decode() and 'id="filters"' in full.content.decode()


def test_column_chooser_shows_only_chosen_columns(ui, ui_login):
    ui.lead(last_name="Cols", email="cols@example.test", country="DE")
    body = ui_login(ui.admin).get("/leads/?cols=name&cols=country").content.decode()
    headers = re.findall(r"<th(?: class=\"num\")?>([^<]+)</th>", body)
    assert headers == ["Name", "Country"]
    assert "cols@example.test" not in body


def test_list_owners_follow_renames_and_outlive_their_membership(ui, ui_login):
    from insidesales.orgs.models import Membership

    lead = ui.lead(by=ui.rep, last_name="Owned")
    client = ui_login(ui.admin)
    owner_cell = re.compile(rf'href="/leads/{lead.pk}/".*?</tr>', re.S)

    def row() -> str:
        return owner_cell.search(client.get("/leads/?cols=name&cols=owner").content.decode()).group(0)

    assert f"<td>{ui.rep.user.full_name}</td>" in row()
    ui.rep.user.full_name = "Renamed Rep"
    ui.rep.user.save()
    assert "<td>Renamed Rep</td>" in row()
    Membership.objects.filter(pk=ui.rep.pk).delete()  # left the organization, still owns the lead
    assert "<td>Renamed Rep</td>" in row()


@pytest.mark.parametrize(
    ("zone", "language", "shown"),
    [("Asia/Tokyo", "en", "03/02/2026 8:05 a.m."), ("America/Los_Angeles", "ru", "01.03.2026 15:05")],
)
def test_list_times_are_in_the_readers_zone_and_language(ui, ui_login, zone, language, shown):
    import datetime as dt

    lead = ui.lead(last_name="Zoned")
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=dt.datetime(2026, 3, 1, 23, 5, tzinfo=dt.UTC))
    ui.admin.user.time_zone, ui.admin.user.language = zone, language
    ui.admin.user.save(update_fields=["time_zone", "language"])
    body = ui_login(ui.admin).get("/leads/?cols=name&cols=last_activity_at").content.decode()
    assert f'<span class="nowrap">{shown}</span>' in body


@pytest.mark.parametrize("plural", ["leads", "contacts", "companies", "deals"])
def test_list_query_count_does_not_grow_with_rows(ui, ui_login, plural, django_assert_max_num_queries):
    factory = {"leads": f.LeadFactory, "contacts": f.ContactFactory, "companies": f.CompanyFactory}.get(
        plural, f.DealFactory
    )
    tag = f.TagFactory(organization=ui.org)
    factory.create_batch(3, owned_by=ui.rep, tags=[tag])
    client = ui_login(ui.manager)
    client.get(f"/{plural}/")  # warm up session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/{plural}/").status_code == 200
    factory.create_batch(32, owned_by=ui.rep, tags=[tag])
    factory.create_batch(5, owned_by=ui.other_rep)
    assert len(few.captured_queries) <= 16  # session, membership, the page, its tags, the form choices
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/{plural}/?cols=name&cols=owner&cols=tags&cols=last_activity_at")
    assert response.status_code == 200
    assert response.content.decode().count('name="ids"') == 40


# --- saved views ------------------------------------------------------------------------------


def test_save_view_stores_state_and_view_param_applies_it(ui, ui_login):
    mine = ui.lead(by=ui.rep, last_name="Mine")
    ui.lead(last_name="Pool")
    client = ui_login(ui.rep)
    response = client.post(
        "/views/save/",
        {"record_type": "lead", "name": "My new", "state": "owner=me&status=new&cols=name&cols=email&sort=created_at"},
    )
    view = SavedView.objects.get(name="My new")
    assert response.status_code == 302 and response["Location"] == f"/leads/?view={view.pk}"
    assert view.filters == {"owner": "me", "status": ["new"]}
    assert view.columns == ["name", "email"] and view.sort == "created_at"
    page = client.get(f"/leads/?view={view.pk}")
    assert lead_links(page) == {mine.pk}
    assert "My new" in page.content.decode()


def test_someone_elses_private_view_is_not_found(ui, ui_login):
    view = f.SavedViewFactory(organization=ui.org, owner=ui.other_rep.user, filters={"status": ["new"]})
    assert ui_login(ui.rep).get(f"/leads/?view={view.pk}").status_code == 404
    assert ui_login(ui.rep).post(f"/views/{view.pk}/delete/").status_code == 404
    assert ui_login(ui.other_rep).post(f"/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


# --- detail -----------------------------------------------------------------------------------


def test_detail_shows_fields_timeline_and_tasks(ui, ui_login):
    lead = ui.lead(first_name="Tim", last_name="Line", phone="+44 20 7946 0958", company_name="Line Co")
    services.note_add(membership=ui.admin, record_type=Lead, record_id=lead.pk, body="First call went well")
    services.task_create(membership=ui.admin, title="Send the deck", record_type=Lead, record_id=lead.pk)
    body = ui_login(ui.admin).get(f"/leads/{lead.pk}/").content.decode()
    assert "First call went well" in body
    assert "Created" in body
    assert "Send the deck" in body
    assert 'href="tel:+442079460958"' in body and "+44 20 7946 0958" in body
    # newest first: the note comes before the creation entry
    assert body.index("First call went well") < body.index("crm-event-created")


def test_timeline_load_more_returns_the_older_entries(ui, ui_login):
    lead = ui.lead(last_name="Busy")
    for n in range(30):
        f.ActivityFactory(organization=ui.org, lead=lead, body=f"entry-{n:02d}")
    client = ui_login(ui.admin)
    first = client.get(f"/leads/{lead.pk}/").content.decode()
    more = re.search(r'hx-get="(/leads/\d+/timeline/\?cursor=[^"]+)"', first).group(1)
    partial = client.get(more, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    shown = set(re.findall(r"entry-\d\d", first)) | set(re.findall(r"entry-\d\d", partial))
    assert len(shown) == 30
    assert "<html" in client.get(more).content.decode()  # works without JavaScript too


def test_company_and_contact_pages_list_related_records(ui, ui_login):
    company = f.CompanyFactory(owned_by=ui.rep, name="Parent Inc")
    contact = f.ContactFactory(owned_by=ui.rep, company=company, last_name="Childperson")
    deal = f.DealFactory(owned_by=ui.rep, company=company, contact=contact, name="Big deal")
    client = ui_login(ui.rep)
    company_page = client.get(f"/companies/{company.pk}/").content.decode()
    assert f'href="/contacts/{contact.pk}/"' in company_page and f'href="/deals/{deal.pk}/"' in company_page
    contact_page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert f'href="/deals/{deal.pk}/"' in contact_page


def test_note_added_through_htmx_returns_the_timeline(ui, ui_login):
    lead = ui.lead(last_name="Noted")
    client = ui_login(ui.admin)
    response = client.post(
        f"/leads/{lead.pk}/notes/", {"body": "Left a voicemail"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline"
    )
    assert response.status_code == 200
    assert "Left a voicemail" in response.content.decode() and "<html" not in response.content.decode()
    assert client.post(f"/leads/{lead.pk}/notes/", {"body": "Plain post"}).status_code == 302
    assert Activity.objects.filter(lead=lead, kind="note").count() == 2


def test_assign_form_gives_the_record_to_another_member(ui, ui_login):
    lead = ui.lead(last_name="Handover")
    response = ui_login(ui.manager).post(f"/leads/{lead.pk}/assign/", {"target": f"user:{ui.rep.user_id}"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner_id == ui.rep.user_id and lead.team_id == ui.team.pk


def test_task_added_on_a_record_through_htmx(ui, ui_login):
    lead = ui.lead(last_name="Tasked")
    response = ui_login(ui.admin).post(
        f"/leads/{lead.pk}/tasks/",
        {"title": "Call back", "due_at": "2030-01-02T10:00"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="tasks-card",
    )
    assert response.status_code == 200 and "Call back" in response.content.decode()
    assert lead.tasks.get().title == "Call back"


# --- create and edit --------------------------------------------------------------------------


def test_create_lead_with_invalid_email_shows_field_error_and_keeps_input(ui, ui_login):
    response = ui_login(ui.admin).post(
        "/leads/new/",
        {
            "first_name": "Keep",
            "last_name": "Me",
            "company_name": "Kept Co",
            "email": "not-an-email",
            "source": "event",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["email"] == ["Enter a valid email address."]
    body = response.content.decode()
    assert 'value="Keep"' in body and 'value="Kept Co"' in body and 'value="not-an-email"' in body
    assert '<option value="event" selected>' in body
    assert not Lead.objects.exists()


def test_create_lead_with_typed_custom_fields_and_tags(ui, ui_login):
    f.CustomFieldFactory(organization=ui.org, key="budget", label="Budget", field_type=CustomFieldType.NUMBER)
    f.CustomFieldFactory(organization=ui.org, key="tier", label="Tier", field_type=CustomFieldType.CHOICE)
    f.CustomFieldFactory(organization=ui.org, key="opted_in", label="Opted in", field_type=CustomFieldType.BOOLEAN)
    f.CustomFieldFactory(organization=ui.org, key="decided", label="Decided", field_type=CustomFieldType.DATE)
    tag = f.TagFactory(organization=ui.org, name="vip")
    client = ui_login(ui.admin)
    form_page = client.get("/leads/new/").content.decode()
    assert 'name="custom_opted_in"' in form_page and 'type="checkbox"' in form_page
    assert 'type="date" name="custom_decided"' in form_page and '<option value="gold">' in form_page

    bad = client.post("/leads/new/", {"last_name": "Typed", "source": "other", "custom_budget": "lots"})
    assert bad.context["form"].errors["custom_budget"] == ["Enter a number."]
    assert 'value="lots"' in bad.content.decode()

    response = client.post(
        "/leads/new/",
        {
            "last_name": "Typed",
            "source": "other",
            "custom_budget": "1500",
            "custom_tier": "gold",
            "custom_opted_in": "on",
            "custom_decided": "2030-05-01",
            "tags": [str(tag.pk)],
            "owner": str(ui.rep.user_id),
        },
    )
    lead = Lead.objects.get(last_name="Typed")
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    assert lead.custom == {"budget": 1500, "tier": "gold", "opted_in": True, "decided": "2030-05-01"}
    assert list(lead.tags.all()) == [tag] and lead.owner_id == ui.rep.user_id


def test_rep_does_not_get_an_owner_select_and_owns_what_they_create(ui, ui_login):
    client = ui_login(ui.rep)
    assert 'name="owner"' not in client.get("/leads/new/").content.decode()
    client.post("/leads/new/", {"last_name": "Own", "source": "other", "owner": str(ui.other_rep.user_id)})
    assert Lead.objects.get(last_name="Own").owner_id == ui.rep.user_id


@pytest.mark.parametrize(
    "plural,model,data",
    [
        ("companies", Company, {"name": "Made Co", "domain": "https://www.made.example/", "employees": "12"}),
        ("contacts", Contact, {"first_name": "Con", "last_name": "Tact", "email": "CON@Tact.example"}),
        ("deals", Deal, {"name": "Made deal", "amount": "1 000,50", "currency": "eur"}),
    ],
)
def test_create_other_record_types(ui, ui_login, plural, model, data):
    response = ui_login(ui.manager).post(f"/{plural}/new/", {**data, "owner": str(ui.manager.user_id)})
    record = model.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/{plural}/{record.pk}/"
    assert record.owner_id == ui.manager.user_id


def test_required_field_error_on_contact(ui, ui_login):
    response = ui_login(ui.admin).post("/contacts/new/", {"first_name": "No", "email": "x@y.example"})
    assert "last_name" in response.context["form"].errors
    assert 'value="x@y.example"' in response.content.decode()


def test_inline_edit_swaps_form_in_and_card_back(ui, ui_login):
    lead = ui.lead(first_name="Old", last_name="Name", email="old@example.test")
    client = ui_login(ui.admin)
    inline = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "fields-card"}
    form = client.get(f"/leads/{lead.pk}/edit/", **inline).content.decode()
    assert "<html" not in form and 'hx-post="/leads/' in form and 'value="old@example.test"' in form
    data = {"first_name": "New", "last_name": "Name", "email": "bad", "source": "other"}
    error = client.post(f"/leads/{lead.pk}/edit/", data, **inline).content.decode()
    assert "Enter a valid email address." in error and 'value="New"' in error
    data["email"] = "new@example.test"
    card = client.post(f"/leads/{lead.pk}/edit/", data, **inline).content.decode()
    assert 'id="fields-card"' in card and "new@example.test" in card and "<form" not in card
    assert '<div id="record-title" hx-swap-oob="true">' in card and "New Name" in card
    lead.refresh_from_db()
    assert lead.first_name == "New" and lead.email == "new@example.test"


def test_plain_edit_page_saves_and_redirects(ui, ui_login):
    lead = ui.lead(last_name="Plain")
    response = ui_login(ui.admin).post(f"/leads/{lead.pk}/edit/", {"last_name": "Plainer", "source": "referral"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.last_name == "Plainer" and lead.source == "referral"


def test_delete_from_detail_page(ui, ui_login):
    lead = ui.lead(by=ui.rep, last_name="Gone")
    assert ui_login(ui.other_rep).post(f"/leads/{lead.pk}/delete/").status_code == 404
    response = ui_login(ui.rep).post(f"/leads/{lead.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/leads/"
    assert not Lead.objects.filter(pk=lead.pk).exists()


# --- scope ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "edit/", "timeline/", "convert/"])
def test_inside_rep_cannot_open_another_reps_lead(ui, ui_login, suffix):
    lead = ui.lead(by=ui.other_rep, last_name="Private")
    assert ui_login(ui.rep).get(f"/leads/{lead.pk}/{suffix}").status_code == 404
    assert ui_login(ui.other_rep).get(f"/leads/{lead.pk}/{suffix}").status_code == 200


@pytest.mark.parametrize("suffix", ["notes/", "assign/", "delete/", "tasks/", "qualify/"])
def test_inside_rep_cannot_post_to_another_reps_lead(ui, ui_login, suffix):
    lead = ui.lead(by=ui.other_rep, last_name="Private")
    data = {"body": "x", "target": f"user:{ui.rep.user_id}", "title": "x", "due_at": "2030-01-01T10:00"}
    assert ui_login(ui.rep).post(f"/leads/{lead.pk}/{suffix}", data).status_code == 404
    lead.refresh_from_db()
    assert lead.owner_id == ui.other_rep.user_id and lead.status == "new"
    assert not Activity.objects.filter(lead=lead, kind="note").exists()


def test_agency_rep_cannot_open_an_unassigned_lead(ui, ui_login):
    pool = ui.lead(last_name="Pool")
    theirs = ui.lead(last_name="Agency's")
    services.lead_assign(membership=ui.admin, lead_id=theirs.pk, agency_id=ui.agency.pk)
    client = ui_login(ui.agency_rep)
    assert client.get(f"/leads/{pool.pk}/").status_code == 404
    assert client.get(f"/leads/{theirs.pk}/").status_code == 200
    assert lead_links(client.get("/leads/")) == {theirs.pk}


def test_anonymous_user_is_sent_to_login(db, client):
    response = client.get("/leads/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_pages_speak_the_users_language(ui, ui_login):
    ui.admin.user.language = "ru"
    ui.admin.user.save()
    lead = ui.lead(last_name="Petrov")
    client = ui_login(ui.admin)
    assert "Применить фильтры" in client.get("/leads/").content.decode()
    assert "Конвертировать" in client.get(f"/leads/{lead.pk}/").content.decode()


def test_editing_a_contact_keeps_a_company_link_the_user_cannot_see(ui, ui_login):
    hidden_company = f.CompanyFactory(owned_by=ui.other_rep, name="Hidden Inc")
    contact = f.ContactFactory(owned_by=ui.rep, company=hidden_company, last_name="Linked")
    client = ui_login(ui.rep)
    form = client.get(f"/contacts/{contact.pk}/edit/").content.decode()
    assert f'<option value="{hidden_company.pk}" selected>Hidden Inc</option>' in form
    response = client.post(
        f"/contacts/{contact.pk}/edit/", {"last_name": "Relinked", "company": str(hidden_company.pk)}
    )
    assert response.status_code == 302, response.context["form"].errors
    contact.refresh_from_db()
    assert contact.last_name == "Relinked" and contact.company_id == hidden_company.pk
