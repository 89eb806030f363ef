"""Markup written in Python is the markup the templates it replaced wrote: `{% field_block %}` (was the
`partials/field.html` include) and `{% filter_fields %}` (was the list page's filter loop)."""

# ruff: noqa: E501 (the old templates, copied as they were)
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms
from django.http import QueryDict
from django.template import engines
from django.utils import translation
from django.utils.safestring import mark_safe

from insidesales.core.testing import factories as f
from insidesales.crm.forms import FilterForm
from insidesales.crm.views.kinds import RECORD_KINDS
from insidesales.crm.views.listing import list_options, read_list_state
from insidesales.orgs.models import Role

pytestmark = pytest.mark.django_db

OLD_FIELD = """<div class="field{% if field.errors %} has-error{% endif %}">
  {% if field.label %}<label for="{{ field.id_for_label }}">{{ field.label }}</label>{% endif %}
  {{ field }}
  {% if field.help_text %}<span class="help" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</span>{% endif %}
  {% if field.errors %}<ul class="errorlist">{% for error in field.errors %}<li>{{ error }}</li>{% endfor %}</ul>{% endif %}
</div>
"""
OLD_FILTERS = """{% for field in filter_form %}
      {% if field.name == "sort" or field.name == "cols" %}
      {% elif "checkboxselectmultiple" in field.widget_type %}
        <details class="crm-dropdown">
          <summary>{{ field.label }}{% if field.value %} <span class="crm-count">{{ field.value|length }}</span>{% endif %}</summary>
          <div class="crm-dropdown-body">{{ field }}</div>
        </details>
      {% else %}
        <div class="field crm-filter{% if field.name == 'q' %} crm-filter-search{% endif %}">
          <label for="{{ field.id_for_label }}">{{ field.label }}</label>
          {{ field }}
        </div>
      {% endif %}
    {% endfor %}
"""


class Events(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, attrs))

    def handle_endtag(self, tag):
        self.events.append(("end", tag))

    def handle_data(self, data):
        if data.strip():
            self.events.append(("text", " ".join(data.split())))


def events(html: str) -> list:
    parser = Events()
    parser.feed(html)
    parser.close()
    return parser.events


class Sample(forms.Form):
    name = forms.CharField(label="Name <b>", help_text="Your <i>name</i>", max_length=3)
    plain = forms.CharField(label="", required=False)
    safe = forms.CharField(
        label=mark_safe("<em>Safe</em>"), help_text=mark_safe("<a href='/x'>why</a>"), required=False
    )
    choice = forms.ChoiceField(label="Pick", choices=[("a", "A & B"), ("b", "<script>")], required=False)
    many = forms.MultipleChoiceField(
        label="Many", choices=[("1", "One")], widget=forms.CheckboxSelectMultiple, required=False
    )


@pytest.mark.parametrize("data", [None, {"name": "toolong", "choice": "zzz"}, {"name": "ab", "many": ["1"]}])
def test_field_block_is_the_include(data):
    engine = engines["django"]
    old = engine.from_string(OLD_FIELD)
    new = engine.from_string("{% load formfields %}{% field_block field %}")
    form = Sample(data) if data is not None else Sample()
    if data is not None:
        form.is_valid()
    for bound in form:
        expected, got = old.render({"field": bound}), new.render({"field": bound})
        assert events(got) == events(expected), bound.name
    assert "&lt;b&gt;" in new.render({"field": form["name"]})
    assert events(new.render({"field": ""})) == events(old.render({"field": ""}))


STATES = [
    "",
    "status=working&status=new&sort=-last_activity_at",
    "q=%3Cscript%3E&owner=me&cols=email&cols=phone",
    "tag=1&source=web&created_from=2026-01-01",
    "owner=none&created_to=not-a-date",
]


@pytest.mark.parametrize("record_type", ["lead", "contact", "company", "deal"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.INSIDE_REP])
def test_filter_fields_are_the_template_loop(record_type, role):
    membership = f.MembershipFactory(role=role)
    f.TagFactory(organization=membership.organization, name="<i>hot</i>")
    kind = RECORD_KINDS[record_type]
    engine = engines["django"]
    old = engine.from_string(OLD_FILTERS)
    new = engine.from_string("{% load crm_tags %}{% filter_fields filter_form %}")
    for language in ("en", "ru"):
        with translation.override(language):
            for query in STATES:
                state = read_list_state(QueryDict(query), kind.filterset, membership)
                options = list_options(membership, record_type)
                form = FilterForm(state=state, options=options, membership=membership)
                expected = old.render({"filter_form": form})
                got = new.render({"filter_form": form})
                assert events(got) == events(expected), (language, query)
                assert "<i>hot" not in got and "<script>" not in got
