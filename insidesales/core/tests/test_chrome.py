"""`{% main_nav %}` writes exactly what the navigation template wrote, for every section, role and
language, and reuses it only for the same content."""

# ruff: noqa: E501 (the old templates, copied as they were)
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

from insidesales.core.testing import factories as f
from insidesales.orgs.models import Role

pytestmark = pytest.mark.django_db

# The navigation as it was written in base.html before it moved to Python (since then: field reps' Duplicates
# link goes to the contacts, as they review contacts and companies, not leads; Emails, Sequences and the
# email sending settings were added).
TEMPLATE = """{% load i18n %}{% with path=request.path %}
      <nav class="mainnav" aria-label="{% translate 'Main' %}">
        <a href="{% url 'home' %}" {% if path == '/' %}aria-current="page"{% endif %}>{% translate "Home" %}</a>
        <a href="/leads/" {% if path|slice:':7' == '/leads/' %}aria-current="page"{% endif %}>{% translate "Leads" %}</a>
        <a href="/contacts/" {% if path|slice:':10' == '/contacts/' %}aria-current="page"{% endif %}>{% translate "Contacts" %}</a>
        <a href="/companies/" {% if path|slice:':11' == '/companies/' %}aria-current="page"{% endif %}>{% translate "Companies" %}</a>
        <a href="/deals/" {% if path|slice:':7' == '/deals/' %}aria-current="page"{% endif %}>{% translate "Deals" %}</a>
        <a href="/tasks/" {% if path|slice:':7' == '/tasks/' %}aria-current="page"{% endif %}>{% translate "Tasks" %}</a>
        <a href="{% url 'call_list' %}" {% if path|slice:':7' == '/calls/' %}aria-current="page"{% endif %}>{% translate "Calls" %}</a>
        <a href="{% url 'email_list' %}" {% if path|slice:':8' == '/emails/' %}aria-current="page"{% endif %}>{% translate "Emails" %}</a>
        <a href="{% url 'sequence_list' %}" {% if path|slice:':11' == '/sequences/' %}aria-current="page"{% endif %}>{% translate "Sequences" %}</a>
        <a href="{% url 'import_list' %}" {% if path|slice:':9' == '/imports/' %}aria-current="page"{% endif %}>{% translate "Imports" %}</a>
        {% if membership and membership.role != "field_rep" %}<a href="{% url 'duplicate_list' %}" {% if path|slice:':12' == '/duplicates/' %}aria-current="page"{% endif %}>{% translate "Duplicates" %}</a>{% elif membership %}<a href="{% url 'contact_duplicate_list' %}" {% if path|slice:':12' == '/duplicates/' %}aria-current="page"{% endif %}>{% translate "Duplicates" %}</a>{% endif %}
        {% if membership.is_admin %}
          <details class="dropdown navmenu">
            <summary {% if path|slice:':7' == '/audit/' or path|slice:':10' == '/agencies/' or path|slice:':20' == '/settings/telephony/' or path|slice:':15' == '/settings/mail/' %}aria-current="page"{% endif %}>{% translate "Administration" %}</summary>
            <div class="menu">
              <a href="{% url 'audit_log' %}" {% if path|slice:':7' == '/audit/' %}aria-current="page"{% endif %}>{% translate "Audit log" %}</a>
              <a href="{% url 'agency_list' %}" {% if path|slice:':10' == '/agencies/' %}aria-current="page"{% endif %}>{% translate "Agencies" %}</a>
              <a href="{% url 'telephony_settings' %}" {% if path|slice:':20' == '/settings/telephony/' %}aria-current="page"{% endif %}>{% translate "Telephony" %}</a>
              <a href="{% url 'mail_settings' %}" {% if path|slice:':15' == '/settings/mail/' %}aria-current="page"{% endif %}>{% translate "Email sending" %}</a>
              {% if user.is_staff %}<a href="{% url 'admin:index' %}">{% translate "Django admin" %}</a>{% endif %}
            </div>
          </details>
        {% endif %}
      </nav>
      {% endwith %}"""

PATHS = [
    "/",
    "/leads/",
    "/leads/12/",
    "/contacts/",
    "/companies/x/",
    "/deals/",
    "/tasks/",
    "/calls/",
    "/calls/12/",
    "/imports/3/",
    "/duplicates/",
    "/audit/",
    "/agencies/1/",
    "/settings/",
    "/settings/telephony/",
    "/settings/telephony/caller-ids/3/edit/",
    "/emails/",
    "/emails/3/",
    "/sequences/4/",
    "/settings/mail/",
    "/settings/mail/suppressions/",
    "/settings/mailboxes/",
    "/email-templates/",
    "/search/",
    "/leadsx",
]


class Events(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, sorted(attrs)))

    def handle_endtag(self, tag):
        self.events.append(("end", tag))

    def handle_data(self, data):
        if data.strip():
            self.events.append(("text", data.strip()))


def events(html: str) -> list:
    parser = Events()
    parser.feed(html)
    return parser.events


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_navigation_is_what_the_template_wrote(language, role):
    factory = f.AgencyRepMembershipFactory if role == Role.AGENCY_REP else f.MembershipFactory
    membership = factory(role=role)
    engine = engines["django"]
    old = engine.from_string(TEMPLATE)
    new = engine.from_string("{% load chrome %}{% main_nav %}")
    for staff in (False, True):
        membership.user.is_staff = staff
        for path in PATHS:
            request = RequestFactory().get(path)
            context = {"request": request, "membership": membership, "user": membership.user}
            with translation.override(language):
                expected, got = old.render(context), new.render(context)
            assert events(got) == events(expected), (path, staff)
            assert ("Leads" if language == "en" else "Лиды") in got


def test_each_section_is_marked_once_and_text_is_escaped():
    membership = f.MembershipFactory(role=Role.ADMIN)
    new = engines["django"].from_string("{% load chrome %}{% main_nav %}")
    html = new.render(
        {"request": RequestFactory().get("/agencies/"), "membership": membership, "user": membership.user}
    )
    assert html.count('aria-current="page"') == 2  # the Agencies link and the Administration menu
    assert "<script" not in html
