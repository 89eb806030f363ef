"""The Python-rendered choice widgets write exactly what Django's templates write, escaped."""

import pytest
from django import forms
from django.utils.translation import gettext_lazy

from insidesales.core.widgets import use_fast_widgets

EVIL = "<script>alert(\"x\")</script> & 'q'"
CHOICES = [
    ("", "Any"),
    ("me", gettext_lazy("Me")),
    (EVIL, EVIL),
    ("Group <b>", [("user:1", "Ann & Bob"), ("user:2", "Zoë")]),
    (3, "three"),
]


class Sample(forms.Form):
    one = forms.ChoiceField(choices=CHOICES, required=False)
    req = forms.ChoiceField(choices=CHOICES, widget=forms.Select(attrs={"class": "x", "data-a": EVIL}))
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    boxes = forms.MultipleChoiceField(
        choices=CHOICES, required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "c"})
    )
    flat = forms.MultipleChoiceField(choices=[("a", "A"), ("b", EVIL)], widget=forms.CheckboxSelectMultiple)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"one": "me", "req": EVIL, "many": ["user:1", "3"], "boxes": [EVIL, "user:2"], "flat": ["b"]},
        {"one": "nope", "many": ["zzz"]},
    ],
)
@pytest.mark.parametrize("auto_id", ["id_%s", "filter_%s", False])
def test_fast_widgets_render_like_django(data, auto_id):
    slow = Sample(data, auto_id=auto_id)
    fast = Sample(data, auto_id=auto_id)
    use_fast_widgets(fast)
    for name in slow.fields:
        assert type(fast.fields[name].widget) is not type(slow.fields[name].widget)
        assert str(fast[name]) == str(slow[name])
    assert "<script>" not in str(fast)


def test_fast_widgets_keep_initial_values():
    slow = Sample(initial={"one": "me", "boxes": ["user:1"]})
    fast = Sample(initial={"one": "me", "boxes": ["user:1"]})
    use_fast_widgets(fast)
    assert str(fast["one"]) == str(slow["one"]) and " selected" in str(fast["one"])
    assert str(fast["boxes"]) == str(slow["boxes"]) and " checked" in str(fast["boxes"])
