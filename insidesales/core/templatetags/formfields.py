"""`{% field_block form.field %}`: a form field with its label, help text and errors.

The markup the `partials/field.html` include wrote, written in Python: an include costs a template
lookup, a new context and a dozen nodes (~70 µs each time here), and a detail page has seven.
"""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def field_block(field) -> SafeString:
    """`<div class="field">` with the label, the widget, the help text and the errors of a BoundField."""
    if not isinstance(field, BoundField):  # a name the form does not have: an empty block, as the include wrote
        return mark_safe('<div class="field">\n</div>')
    errors = field.errors
    parts = ['<div class="field has-error">' if errors else '<div class="field">']
    label = field.label
    if label:
        parts.append(f'<label for="{conditional_escape(field.id_for_label)}">{conditional_escape(label)}</label>')
    parts.append(conditional_escape(field))
    help_text = field.help_text
    if help_text:
        help_id = f"{conditional_escape(field.auto_id)}_helptext"
        parts.append(f'<span class="help" id="{help_id}">{conditional_escape(help_text)}</span>')
    if errors:
        items = "".join(f"<li>{conditional_escape(error)}</li>" for error in errors)
        parts.append(f'<ul class="errorlist">{items}</ul>')
    parts.append("</div>")
    return mark_safe("\n  ".join(parts[:-1]) + "\n" + parts[-1])  # every part escaped above
