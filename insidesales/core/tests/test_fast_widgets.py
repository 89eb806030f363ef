"""The form renderer writes exactly what Django's widget templates write, escaped, and nothing else."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.translation import gettext_lazy

from insidesales.core import widgets
from insidesales.core.widgets import (
    FastRenderer,
    PreparedChoices,
    RememberedCheckboxSelectMultiple,
    RememberedSelect,
)

EVIL = "<script>alert(\"x\")</script> & 'q'"
CHOICES = [
    ("", "Any"),
    ("me", gettext_lazy("Me")),
    (EVIL, EVIL),
    ("Group <b>", [("user:1", "Ann & Bob"), ("user:2", "Zoë")]),
    (3, "three"),
]


class DateWidget(forms.DateInput):
    input_type = "date"


class Sample(forms.Form):
    one = forms.ChoiceField(choices=CHOICES, required=False)
    req = forms.ChoiceField(choices=CHOICES, widget=forms.Select(attrs={"class": "x", "data-a": EVIL}))
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    boxes = forms.MultipleChoiceField(
        choices=CHOICES, required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "c"})
    )
    flat = forms.MultipleChoiceField(choices=[("a", "A"), ("b", EVIL)], widget=forms.CheckboxSelectMultiple)
    text = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": EVIL, "data-x": True}))
    search = forms.CharField(required=False, widget=forms.TextInput(attrs={"type": "search", "size": 8}))
    email = forms.EmailField(required=False)
    number = forms.IntegerField(required=False)
    when = forms.DateField(required=False, widget=DateWidget(format="%Y-%m-%d"))
    stamp = forms.DateTimeField(required=False)
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    flag = forms.BooleanField(required=False)
    radio = forms.ChoiceField(choices=CHOICES, required=False, widget=forms.RadioSelect)
    upload = forms.FileField(required=False)
    split = forms.SplitDateTimeField(required=False)


FILLED = {
    "one": "me",
    "req": EVIL,
    "many": ["user:1", "3"],
    "boxes": [EVIL, "user:2"],
    "flat": ["b"],
    "text": EVIL,
    "search": "a&b",
    "email": EVIL,
    "number": "12",
    "when": "2026-11-28",
    "stamp": "2026-11-28 10:00",
    "hidden": EVIL,
    "secret": EVIL,
    "notes": EVIL + "\nline",
    "flag": "on",
    "radio": "me",
}


@pytest.mark.parametrize("data", [None, FILLED, {"one": "nope", "many": ["zzz"], "number": "x", "when": "y"}])
@pytest.mark.parametrize("auto_id", ["id_%s", "filter_%s", False])
def test_fast_renderer_writes_what_django_templates_write(data, auto_id):
    initial = {"text": "initial <b>", "flag": True, "boxes": ["user:1"]}
    slow = Sample(data, auto_id=auto_id, initial=initial, renderer=DjangoTemplates())
    fast = Sample(data, auto_id=auto_id, initial=initial, renderer=FastRenderer())
    for name in slow.fields:
        assert str(fast[name]) == str(slow[name]), name
    assert str(fast) == str(slow)
    assert "<script>" not in str(fast)


def test_fast_renderer_writes_the_common_widgets_itself(monkeypatch):
    """The Python writers are really used (not the templates) for inputs, textareas and choice lists."""
    seen = []
    original = DjangoTemplates.render

    def spy(self, template_name, context, request=None):
        seen.append(template_name)
        return original(self, template_name, context, request=request)

    monkeypatch.setattr(DjangoTemplates, "render", spy)
    form = Sample(FILLED, renderer=FastRenderer())
    for name in ("one", "many", "boxes", "text", "email", "when", "hidden", "notes", "flag"):
        str(form[name])
    assert not [t for t in seen if t.startswith("django/forms/widgets/")]
    str(form["radio"])  # not one of ours: Django's template
    assert "django/forms/widgets/radio.html" in seen


def test_the_project_uses_the_fast_renderer(settings):
    from django.forms.renderers import get_default_renderer

    assert settings.FORM_RENDERER == "insidesales.core.widgets.FastRenderer"
    get_default_renderer.cache_clear()
    assert isinstance(get_default_renderer(), FastRenderer)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_safe_strings_dates_and_numbers_render_like_django(language):
    """A safe string is written as it is (as `stringformat` keeps it safe); labels that are dates or
    numbers are localized, as `{{ label }}` would."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import translation
    from django.utils.safestring import mark_safe

    choices = [(1, dt.date(2024, 1, 2)), (2, Decimal("1.5")), (3, 7), (dt.date(2024, 3, 4), "by date")]

    class Odd(forms.Form):
        pick = forms.ChoiceField(choices=choices, required=False)
        boxes = forms.MultipleChoiceField(choices=choices, required=False, widget=forms.CheckboxSelectMultiple)
        text = forms.CharField(required=False, widget=forms.TextInput(attrs={"data-x": mark_safe("a &amp; b")}))
        amount = forms.DecimalField(required=False)

    initial = {"text": mark_safe("Tom &amp; Jerry"), "amount": Decimal("1234.5")}
    with translation.override(language):
        slow = Odd(initial=initial, renderer=DjangoTemplates())
        fast = Odd(initial=initial, renderer=FastRenderer())
        for name in slow.fields:
            assert str(fast[name]) == str(slow[name]), name


def test_fast_renderer_keeps_initial_values():
    slow = Sample(initial={"one": "me", "boxes": ["user:1"]}, renderer=DjangoTemplates())
    fast = Sample(initial={"one": "me", "boxes": ["user:1"]}, renderer=FastRenderer())
    assert str(fast["one"]) == str(slow["one"]) and " selected" in str(fast["one"])
    assert str(fast["boxes"]) == str(slow["boxes"]) and " checked" in str(fast["boxes"])


def test_every_field_is_written_by_a_different_renderer_than_djangos_templates(monkeypatch):
    """Each of the common widgets is written by FastRenderer's Python writers, not by a template."""
    from insidesales.core import widgets

    used = []
    for template_name, writer in list(widgets.WRITERS.items()):

        def spy(widget, _writer=writer, _name=template_name):
            used.append(_name)
            return _writer(widget)

        monkeypatch.setitem(widgets.WRITERS, template_name, spy)
    form = Sample(FILLED, renderer=FastRenderer())
    for name in ("one", "req", "many", "boxes", "flat", "text", "search", "email", "number", "when", "hidden"):
        before = len(used)
        str(form[name])
        assert len(used) > before, name


class PreparedSample(forms.Form):
    """Sample's choice fields with their choices handed over already normalized."""

    one = forms.ChoiceField(choices=PreparedChoices(CHOICES), required=False)
    req = forms.ChoiceField(choices=PreparedChoices(CHOICES), widget=forms.Select(attrs={"class": "x", "data-a": EVIL}))
    many = forms.MultipleChoiceField(choices=PreparedChoices(CHOICES), required=False)
    boxes = forms.MultipleChoiceField(
        choices=PreparedChoices(CHOICES), required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "c"})
    )
    radio = forms.ChoiceField(choices=PreparedChoices(CHOICES), required=False, widget=forms.RadioSelect)


@pytest.mark.parametrize("data", [None, FILLED, {"one": "nope", "req": "", "many": ["user:9"], "boxes": ["3", "x"]}])
def test_prepared_choices_validate_and_render_like_plain_lists(data):
    fields = list(PreparedSample.base_fields)
    plain = Sample(data={k: v for k, v in (data or {}).items() if k in fields} if data else None)
    prepared = PreparedSample(data={k: v for k, v in (data or {}).items() if k in fields} if data else None)
    if data is not None:
        plain.is_valid()
        prepared.is_valid()
        assert {k: v for k, v in plain.errors.items() if k in fields} == prepared.errors
        assert {k: v for k, v in plain.cleaned_data.items() if k in fields} == prepared.cleaned_data
    for name in fields:
        assert str(prepared[name]) == str(plain[name]), name
    assert list(PreparedChoices(CHOICES)) == list(forms.ChoiceField(choices=CHOICES).choices)
    assert len(PreparedChoices(CHOICES)) == len(CHOICES) and not PreparedChoices([])


class RememberedSample(forms.Form):
    """Sample's choice fields with remembered widgets."""

    one = forms.ChoiceField(choices=CHOICES, required=False, widget=RememberedSelect)
    req = forms.ChoiceField(
        choices=PreparedChoices(CHOICES), widget=RememberedSelect(attrs={"class": "x", "data-a": EVIL})
    )
    boxes = forms.MultipleChoiceField(
        choices=CHOICES, required=False, widget=RememberedCheckboxSelectMultiple(attrs={"class": "c"})
    )
    flat = forms.MultipleChoiceField(choices=[("a", "A"), ("b", EVIL)], widget=RememberedCheckboxSelectMultiple)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_remembered_widgets_write_what_django_writes_every_time(language):
    """Rendered twice (the second time from memory), with other values and ids, and again with other
    choices and labels: always what Django's own widgets write for the same form."""
    from django.utils import translation

    widgets._RENDERED.clear()
    cases = [
        (None, "id_%s"),
        (FILLED, "id_%s"),
        ({"one": EVIL, "boxes": ["me"], "flat": ["a", "b"]}, "id_%s"),
        (FILLED, "filter_%s"),
        (None, False),
    ]
    with translation.override(language):
        for _round in range(2):
            for data, auto_id in cases:
                plain = Sample(data, auto_id=auto_id)
                remembered = RememberedSample(data, auto_id=auto_id)
                for name in RememberedSample.base_fields:
                    assert str(remembered[name]) == str(plain[name]), (name, data, auto_id)
        assert widgets._RENDERED, "nothing was remembered"


def test_remembered_widgets_see_changed_choices_safe_labels_and_languages():
    from django.utils import translation
    from django.utils.safestring import mark_safe

    widgets._RENDERED.clear()

    def pick(choices, value=""):
        field = forms.ChoiceField(choices=choices, required=False, widget=RememberedSelect)
        return str(field.widget.render("pick", value, attrs={"id": "id_pick"}))

    assert "Ann" in pick([("1", "Ann")]) and "Anna" in pick([("1", "Anna")])  # a renamed user
    assert "&lt;b&gt;" in pick([("1", "<b>")]) and "<b>" in pick([("1", mark_safe("<b>"))])
    assert " selected" in pick([("1", "Ann")], "1") and " selected" not in pick([("1", "Ann")], "")
    with translation.override("en"):
        english = pick([("me", gettext_lazy("Me"))])
    with translation.override("ru"):
        russian = pick([("me", gettext_lazy("Me"))])
    assert ">Me<" in english and ">Me<" not in russian


def test_lazy_translations_are_keyed_by_their_message_without_being_translated(monkeypatch):
    """Lazy (p)gettext labels stand in the key as their message and context; others are translated."""
    from django.utils import translation
    from django.utils.functional import lazy
    from django.utils.translation import pgettext_lazy

    assert widgets._plain_key(gettext_lazy("Me")) != widgets._plain_key(gettext_lazy("Me "))
    assert widgets._plain_key(pgettext_lazy("a\x00b", "c")) != widgets._plain_key(pgettext_lazy("a", "b\x00c"))
    assert widgets._plain_key(gettext_lazy("Me")) != widgets._plain_key(pgettext_lazy("", "Me"))
    assert widgets._plain_key(gettext_lazy("Me")) != widgets._plain_key("Me")
    other = lazy(lambda text: text.upper(), str)("me")  # not a translation: its text is what counts
    assert widgets._plain_key(other) == widgets._plain_key("ME")

    def fail(*args, **kwargs):
        raise AssertionError("translated for the key")

    widgets._RENDERED.clear()
    field = forms.ChoiceField(choices=[("new", gettext_lazy("New")), ("ctx", pgettext_lazy("stage", "Won"))])
    field.widget = RememberedSelect(choices=field.choices)
    for language in ("en", "ru", "en"):
        with translation.override(language):
            plain = forms.ChoiceField(choices=[("new", gettext_lazy("New")), ("ctx", pgettext_lazy("stage", "Won"))])
            assert str(field.widget.render("s", "new")) == str(plain.widget.render("s", "new"))
    assert len(widgets._RENDERED) == 2  # one entry per language
    with translation.override("ru"):
        expected = field.widget._remember_key("s", "new", None, None)
        monkeypatch.setattr(translation._trans, "gettext", fail)  # what the lazy proxies call
        monkeypatch.setattr(translation._trans, "pgettext", fail)
        assert field.widget._remember_key("s", "new", None, None) == expected


def test_choices_that_are_not_plain_text_are_not_remembered():
    import datetime as dt

    widgets._RENDERED.clear()
    field = forms.ChoiceField(choices=[(1, dt.date(2024, 1, 2))], required=False, widget=RememberedSelect)
    plain = forms.ChoiceField(choices=[(1, dt.date(2024, 1, 2))], required=False)
    assert str(field.widget.render("d", "1")) == str(plain.widget.render("d", "1"))
    assert not widgets._RENDERED


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(widgets, "RENDERED_LIMIT", 5)
    widgets._RENDERED.clear()
    for i in range(23):
        field = forms.ChoiceField(choices=[(str(i), f"user {i}")], required=False, widget=RememberedSelect)
        assert f"user {i}" in str(field.widget.render("u", ""))
        assert len(widgets._RENDERED) <= 5


def test_values_not_among_the_choices_share_the_entry_of_no_selection(monkeypatch):
    """Whatever a URL carries (`?owner=<anything>`) does not add entries."""
    widgets._RENDERED.clear()
    field = forms.ChoiceField(choices=[("1", "Ann"), ("2", "Bob")], required=False, widget=RememberedSelect)
    plain = forms.ChoiceField(choices=[("1", "Ann"), ("2", "Bob")], required=False)
    empty = str(field.widget.render("owner", ""))
    for junk in ("999", "<x>", "1 ", "'"):
        assert str(field.widget.render("owner", junk)) == empty == str(plain.widget.render("owner", junk))
    assert len(widgets._RENDERED) == 1
    assert " selected" in str(field.widget.render("owner", "2"))
    assert len(widgets._RENDERED) == 2


def test_the_memory_is_bounded_in_characters_too(monkeypatch):
    monkeypatch.setattr(widgets, "RENDERED_BYTES", 2_000)
    widgets._RENDERED.clear()
    monkeypatch.setattr(widgets, "_rendered_size", 0)
    for i in range(30):
        choices = [(str(n), f"user {i}-{n}") for n in range(10)]
        field = forms.ChoiceField(choices=choices, required=False, widget=RememberedSelect)
        assert f"user {i}-9" in str(field.widget.render("u", ""))
        assert sum(len(v) for v in widgets._RENDERED.values()) <= 2_000
