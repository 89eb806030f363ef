"""Select and checkbox-list widgets that write their HTML in Python instead of one template per option.

Django renders every `<option>` through two nested templates; a list page with two selects of every
assignable user spends more time there than on its rows. These classes produce the same markup as
Django's own templates (a test compares them), escaping every value, label and attribute.

`use_fast_widgets(form)` switches a form's Select / SelectMultiple / CheckboxSelectMultiple widgets
to these subclasses; they only override `render`, so the widgets' state and behaviour are unchanged.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html writes: ` name="value"`, ` name` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(parts)


class FastSelect(forms.Select):
    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
                    f"{conditional_escape(option['label'])}</option>\n"  # the option template ends with a newline
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # every piece above is escaped


class FastSelectMultiple(forms.SelectMultiple):
    render = FastSelect.render


class FastCheckboxSelectMultiple(forms.CheckboxSelectMultiple):
    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        own = widget["attrs"]
        parts = ["<div"]
        if own.get("id"):
            parts.append(f' id="{conditional_escape(own["id"])}"')
        if own.get("class"):
            parts.append(f' class="{conditional_escape(own["class"])}"')
        parts.append(">")
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(format_html("\n  <div><label>{}</label>", group))
            for option in options:
                parts.append("<div>\n    ")
                option_attrs = option["attrs"]
                if option["wrap_label"]:
                    label_for = f' for="{conditional_escape(option_attrs["id"])}"' if option_attrs.get("id") else ""
                    parts.append(f"<label{label_for}>")
                value_attr = (
                    f' value="{conditional_escape(str(option["value"]))}"' if option["value"] is not None else ""
                )
                parts.append(
                    f'<input type="{conditional_escape(option["type"])}" name="{conditional_escape(option["name"])}"'
                    f"{value_attr}{_attrs(option_attrs)}>\n"
                )
                if option["wrap_label"]:
                    parts.append(f" {conditional_escape(option['label'])}</label>")
                # input_option.html and checkbox_option.html each end with a newline.
                parts.append("\n\n</div>")
            if group:
                parts.append("\n  </div>")
        parts.append("\n</div>")
        return mark_safe("".join(parts))  # every piece above is escaped


FAST_WIDGETS = {
    forms.Select: FastSelect,
    forms.SelectMultiple: FastSelectMultiple,
    forms.CheckboxSelectMultiple: FastCheckboxSelectMultiple,
}


def use_fast_widgets(form: forms.BaseForm) -> None:
    """Give the form's plain choice widgets the Python-rendered subclasses (same markup, less time)."""
    for field in form.fields.values():
        fast = FAST_WIDGETS.get(type(field.widget))
        if fast is not None:
            field.widget.__class__ = fast
