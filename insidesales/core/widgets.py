"""A form renderer that writes the common widgets' HTML in Python instead of through their templates.

Django renders every `<input>` through two nested templates and every `<option>` through two more; a
list page with a filter form, a bulk-action bar and two selects of every assignable user spent more
time there than on its rows, and a detail page's forms cost as much as its timeline. `FastRenderer`
(settings.FORM_RENDERER) produces the same markup as Django's own widget templates (a test compares
them, escaped values included) for inputs, textareas, selects and checkbox lists, and hands every other
template (forms, labels, other widgets, any template a project overrides by another name) to Django.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.utils.choices import BaseChoiceIterator
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy

W = "django/forms/widgets/"


def conditional_escape(value: Any) -> str:
    """Django's `conditional_escape` without its lazy-string wrapper (called ~700 times a list page)."""
    if isinstance(value, SafeData):
        return str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _formatted(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: the text of the value, escaped unless it is a safe string."""
    return str(value) if isinstance(value, SafeData) else html.escape(str(value))


def _shown(value: Any) -> str:
    """`{{ value }}`: strings escaped; dates and numbers localized (and in the current time zone) first."""
    if isinstance(value, str):
        return conditional_escape(value)
    return conditional_escape(localize(template_localtime(value)))


def _attrs(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html writes: ` name="value"`, ` name` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{_formatted(value)}"')
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    """input.html (and text.html, date.html... which only include it)."""
    value = widget["value"]
    value_attr = f' value="{_formatted(value)}"' if value is not None else ""
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value_attr}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict[str, Any]) -> str:
    text = conditional_escape(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{text}</textarea>'


def _choices(
    widget: dict[str, Any], option_template: str, group_open: str, group_close: str, option: Callable[[dict], str]
) -> str | None:
    """The optgroups of a choice widget written in order (None if an option uses another template)."""
    parts = []
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(group_open.format(_shown(group_name)))
        for item in options:
            if item["template_name"] != W + option_template:
                return None
            parts.append(option(item))
        if group_name:
            parts.append(group_close)
    return "".join(parts)


def _select_option(option: dict[str, Any]) -> str:
    return (
        f'\n  <option value="{conditional_escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
        f"{_shown(option['label'])}</option>\n"  # the option template ends with a newline
    )


def _checkbox_option(option: dict[str, Any]) -> str:
    attrs = option["attrs"]
    label_for = f' for="{conditional_escape(attrs["id"])}"' if attrs.get("id") else ""
    value_attr = f' value="{conditional_escape(str(option["value"]))}"' if option["value"] is not None else ""
    tag = (
        f'<input type="{conditional_escape(option["type"])}" name="{conditional_escape(option["name"])}"'
        f"{value_attr}{_attrs(attrs)}>\n"
    )
    if option["wrap_label"]:
        tag = f"<label{label_for}>{tag} {_shown(option['label'])}</label>"
    # input_option.html and checkbox_option.html each end with a newline.
    return f"<div>\n    {tag}\n\n</div>"


def _select(widget: dict[str, Any]) -> str | None:
    options = _choices(widget, "select_option.html", '\n  <optgroup label="{}">', "\n  </optgroup>", _select_option)
    if options is None:
        return None
    return f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>{options}\n</select>'


def _checkbox_select(widget: dict[str, Any]) -> str | None:
    options = _choices(widget, "checkbox_option.html", "\n  <div><label>{}</label>", "\n  </div>", _checkbox_option)
    if options is None:
        return None
    own = widget["attrs"]
    id_attr = f' id="{conditional_escape(own["id"])}"' if own.get("id") else ""
    class_attr = f' class="{conditional_escape(own["class"])}"' if own.get("class") else ""
    return f"<div{id_attr}{class_attr}>{options}\n</div>"


INPUT_TEMPLATES = ("input", "text", "date", "datetime", "time", "email", "number", "url", "password", "hidden")
WRITERS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    **{f"{W}{name}.html": _input for name in (*INPUT_TEMPLATES, "search", "tel", "checkbox", "color")},
    W + "textarea.html": _textarea,
    W + "select.html": _select,
    W + "checkbox_select.html": _checkbox_select,
}


class FastRenderer(DjangoTemplates):
    """Django's default renderer, with the common widget templates written in Python."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        writer = WRITERS.get(template_name)
        if writer is not None and "widget" in context:
            written = writer(context["widget"])
            if written is not None:
                return written
        return super().render(template_name, context, request=request)


class PreparedChoices(BaseChoiceIterator):
    """Choices already in Django's normalized form: `(value, label)` pairs, or `(group, [pairs])`.

    A ChoiceField normalizes the choices it is given, walking every label through a `match` over
    abstract types; for the selects of every assignable user a list page rebuilds on each request that
    cost more than writing their `<option>`s. Django passes choice iterators through untouched.
    """

    def __init__(self, choices: Any) -> None:
        self.choices = [
            (value, list(label)) if isinstance(label, (list, tuple)) else (value, label) for value, label in choices
        ]

    def __iter__(self):
        return iter(self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def __bool__(self) -> bool:
        return bool(self.choices)


# --- choice widgets whose HTML is remembered -----------------------------------------------------

RENDERED_LIMIT = 2_000  # entries
RENDERED_BYTES = 16 * 1024 * 1024  # characters of HTML kept, all entries together
_RENDERED: dict[tuple, str] = {}
_rendered_size = 0


def _plain_key(value: Any) -> str | None:
    """What a choice value, label or attribute contributes to a widget's HTML, as text (with a mark
    for safe strings and for True/False/None), or None when its text depends on more than the language
    (a date, a number format...)."""
    if isinstance(value, bool) or value is None:
        return f"\x00{value}"
    if type(value) in _TRANSLATION_PROXIES and all(type(arg) is str for arg in value._args) and not value._kw:
        # A lazy (p)gettext: its text is fixed by its message (and context) in the key's language, so
        # the message stands for it without translating it again (names its kind: gettext or pgettext).
        return f"\x03{_TRANSLATION_PROXIES[type(value)]}" + "".join(f"{len(arg)}:{arg}" for arg in value._args)
    if isinstance(value, (str, int, Promise)):
        return ("\x01" if type(value) is not str and isinstance(value, SafeData) else "\x02") + str(value)
    return None


# The proxy classes of Django's lazy translations: each lazy() call makes its own class, so the
# class tells which function a proxy will call.
_PROBE = "probe"  # a variable, not a literal: nothing for translators to see
_TRANSLATION_PROXIES = {type(gettext_lazy(_PROBE)): "g", type(pgettext_lazy(_PROBE, _PROBE)): "p"}


def _choices_digest(choices: Any) -> tuple[bytes, set[str]] | None:
    """A 128-bit digest of the choices' values and labels (with their groups), and the set of values;
    None when a label is not plain text. The digest, not the choices, goes into the key, so a select
    of a thousand users costs 16 bytes of key. Every part is written with its length first, so no
    two different lists of choices read the same."""
    items = list(choices)
    if all(type(value) is str and type(label) is str for value, label in items):
        # The common case: plain text throughout; `repr` writes the list unambiguously, in C.
        return (
            hashlib.blake2b(repr(items).encode(), digest_size=16).digest(),
            {value for value, _label in items},
        )
    parts: list[str] = []
    values: set[str] = set()

    def walk(items: Any) -> bool:
        for value, label in items:
            if type(value) is str and type(label) is str:  # the common case, without the general checks
                parts.append(f"{len(value)}:{value}{len(label)}:{label}")
                values.add(value)
                continue
            value_key = _plain_key(value)
            if value_key is None:
                return False
            if isinstance(label, (list, tuple)):
                parts.append(f"[{len(value_key)}:{value_key}")
                if not walk(label):
                    return False
                parts.append("]")
                continue
            label_key = _plain_key(label)
            if label_key is None:
                return False
            parts.append(f"*{len(value_key)}:{value_key}{len(label_key)}:{label_key}")
            values.add(str(value))
        return True

    if not walk(items):
        return None
    return hashlib.blake2b(("*" + "".join(parts)).encode(), digest_size=16).digest(), values


class RememberedChoicesMixin:
    """A choice widget that writes each distinct (choices, value, attributes, language) once per process.

    The selects of every assignable user, team and tag appear several times on every list and detail
    page, identical from one request to the next except for what is selected; Django builds a dict per
    `<option>` before writing it. The key is the full content (its digest, not an object's identity),
    so a changed name, a new user or another language is a new entry. Selected values that are not
    among the choices (anything a URL may carry) do not change the HTML and are left out of the key.
    Entries are dropped in bulk past `RENDERED_LIMIT` entries or `RENDERED_BYTES` of HTML. Choices with
    labels that are not plain text (dates, numbers) are not remembered.
    """

    def render(self, name, value, attrs=None, renderer=None):
        global _rendered_size
        key = self._remember_key(name, value, attrs, renderer)
        if key is None:
            return super().render(name, value, attrs, renderer)
        written = _RENDERED.get(key)
        if written is None:
            written = super().render(name, value, attrs, renderer)
            if len(_RENDERED) >= RENDERED_LIMIT or _rendered_size + len(written) > RENDERED_BYTES:
                _RENDERED.clear()
                _rendered_size = 0
            _RENDERED[key] = written
            _rendered_size += len(written)
        return written

    def _remember_key(self, name: str, value: Any, attrs: dict | None, renderer: Any) -> tuple | None:
        if isinstance(self.choices, ModelChoiceIterator):  # a query per iteration: not for these
            return None
        described = _choices_digest(self.choices)
        if described is None:
            return None
        digest, values = described
        merged = []
        for attr, attr_value in sorted({**self.attrs, **(attrs or {})}.items()):
            attr_key = _plain_key(attr_value)
            if attr_key is None:
                return None
            merged.append((attr, attr_key))
        selected = tuple(v for v in self.format_value(value) if v in values)
        return (
            type(self),
            type(renderer),
            get_language(),
            name,
            selected,
            tuple(merged),
            self.is_required,
            self.is_localized,
            digest,
        )


class RememberedSelect(RememberedChoicesMixin, forms.Select):
    pass


class RememberedCheckboxSelectMultiple(RememberedChoicesMixin, forms.CheckboxSelectMultiple):
    pass
