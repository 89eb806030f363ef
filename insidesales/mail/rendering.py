"""Merge-field rendering of email templates: `{{ lead.first_name | default("there") }}`, sandboxed.

A template is a plain-text subject and body written in a small part of Jinja: merge fields, filters from a short
list, and `{% if %}`/`{% elif %}`/`{% else %}`. Loops, macros, `set`/`with`, `include`/`import`/`extends` and
function calls are refused when the template is compiled, with a message naming the line. Fields come only
from `merge_context()` (plain dicts of strings and numbers, never model objects) and attribute access
reaches nothing but dict keys, so a template cannot walk to Python internals. A field that does not
exist renders empty. `default` falls back on empty text too (Jinja's `default(..., true)`), because
"a lead whose first name is blank" is what people mean by a missing name.

Bodies are plain text: the HTML part is the rendered text escaped, with paragraphs, line breaks and
links for bare http(s) URLs. Markup typed into a template is therefore shown as typed, never interpreted,
and a merge value cannot inject HTML.
"""

from __future__ import annotations

import functools
import re
import types
from typing import Any, NamedTuple

from django.utils.translation import gettext as _
from jinja2 import ChainableUndefined, nodes
from jinja2 import filters as jinja_filters
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

from insidesales.core.errors import ValidationError

MAX_SOURCE_CHARS = 50_000
MAX_OUTPUT_CHARS = 200_000
# One merge value, and one repeated string ("-" * 40), at most this long: with joins (`~`) and a source
# of MAX_SOURCE_CHARS, no single expression can build more than a few megabytes before the output cap.
MAX_VALUE_CHARS = 2_000


class MergeTemplateError(ValidationError):
    """A template that cannot be compiled or rendered; `fields` names the part ("subject" or "body")."""

    def __init__(self, message: str, *, field: str = "body", line: int | None = None) -> None:
        super().__init__(message, fields={field: [message]})
        self.field = field
        self.line = line


class Rendered(NamedTuple):
    """A rendered email: a one-line subject, the plain-text body and its HTML version."""

    subject: str
    text: str
    html: str


# ---- the sandbox -------------------------------------------------------------------------------------


class BlankUndefined(ChainableUndefined):
    """A missing field: renders empty, chains (`lead.x.y`), and compares as false instead of failing."""

    __slots__ = ()

    def _false(self, other: Any) -> bool:
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _false  # type: ignore[assignment]


def _is_blank(value: Any) -> bool:
    return value is None or isinstance(value, BlankUndefined) or (isinstance(value, str) and not value.strip())


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """Jinja's `default`, always in its `boolean=True` spirit for text: missing, None or blank → the fallback.
    (0 and False stay: a number field that is zero is not missing.)"""
    return default_value if _is_blank(value) else value


def _limited(text: str) -> str:
    if len(text) > MAX_OUTPUT_CHARS:
        raise OverflowError("output too large")
    return text


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    return _limited(jinja_filters.do_replace(_EVAL, str(value), str(old), str(new), count))  # type: ignore[arg-type]


def _truncate(value: Any, length: int = 255, killwords: bool = False, end: str = "...", leeway: int | None = None):
    return jinja_filters.do_truncate(_ENV, str(value), int(length), killwords, str(end), leeway)


# Filters that cannot grow text beyond what goes in (`center`, `indent`, `format`, `join`... could).
ALLOWED_FILTERS = {
    "default": _default,
    "d": _default,
    "upper": jinja_filters.do_upper,
    "lower": jinja_filters.do_lower,
    "title": jinja_filters.do_title,
    "capitalize": jinja_filters.do_capitalize,
    "trim": jinja_filters.do_trim,
    "striptags": jinja_filters.do_striptags,
    "truncate": _truncate,
    "replace": _replace,
    "first": jinja_filters.do_first,
    "last": jinja_filters.do_last,
    "length": len,
    "count": len,
    "wordcount": jinja_filters.do_wordcount,
    "string": jinja_filters.soft_str,
    "int": jinja_filters.do_int,
    "float": jinja_filters.do_float,
    "round": jinja_filters.do_round,
    "abs": abs,
    "urlencode": jinja_filters.do_urlencode,
}
# Tags other than if/elif/else/raw (and filter blocks) and expressions other than plain values.
FORBIDDEN_NODES: dict[type, str] = {
    nodes.For: "for",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.Scope: "with",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
}
RESERVED_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs"})
SIZE_OPERATORS = frozenset({"*", "**", "%", "/", "//"})


class MergeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox: dict keys are the only attributes, calls are refused, and operators that can make
    huge values (`"x" * 10**9`, `9 ** 9 ** 9`, `"%999999999s" % x`) are checked."""

    intercepted_binops = SIZE_OPERATORS

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict):
            value = obj.get(attribute, _MISSING)
            if value is not _MISSING:
                return value[:MAX_VALUE_CHARS] if isinstance(value, str) else value
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict) and isinstance(argument, str):
            return self.getattr(obj, argument)
        if isinstance(obj, str) and isinstance(argument, int | slice):
            try:
                return obj[argument]
            except IndexError:
                pass
        return self.undefined(obj=obj, name=argument)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("calls are not allowed in merge templates")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise TypeError("string formatting is not allowed")
        if operator == "**" and (
            not isinstance(right, int | float)
            or abs(right) > 64
            or (isinstance(left, int) and left.bit_length() * abs(right) > 10_000)
        ):
            raise OverflowError("number too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_VALUE_CHARS:
                        raise OverflowError("output too large")
        return self.binop_table[operator](left, right)


_MISSING = object()
_ENV = MergeEnvironment(autoescape=False, undefined=BlankUndefined, keep_trailing_newline=True, cache_size=0)
_ENV.globals.clear()  # no range, cycler, joiner, namespace, lipsum, dict
_ENV.filters = dict(ALLOWED_FILTERS)
_EVAL = types.SimpleNamespace(autoescape=False, environment=_ENV)


def _problem(line: int | None, text: str) -> str:
    if line:
        return _("Line %(line)s: %(problem)s") % {"line": line, "problem": text}
    return text


def _check_tree(tree: nodes.Template, field: str) -> None:
    for node in tree.find_all((nodes.Node,)):
        tag = FORBIDDEN_NODES.get(type(node))
        if tag is not None:
            message = _("“%(tag)s” is not allowed in email templates: use merge fields and if/else only.") % {
                "tag": tag
            }
            raise MergeTemplateError(_problem(node.lineno, message), field=field, line=node.lineno)
        if isinstance(node, nodes.Call):
            message = _("Function calls are not allowed in email templates; use filters, e.g. {{ x | upper }}.")
            raise MergeTemplateError(_problem(node.lineno, message), field=field, line=node.lineno)
        if isinstance(node, nodes.Name) and node.name in RESERVED_NAMES:
            message = _("“%(name)s” is not a merge field.") % {"name": node.name}
            raise MergeTemplateError(_problem(node.lineno, message), field=field, line=node.lineno)


def _syntax_message(exc: TemplateSyntaxError) -> str:
    text = str(exc.message or "")
    unknown_filter = re.match(r"No filter named '([^']*)'", text)
    if unknown_filter:
        return _("unknown filter “%(name)s”. Available: %(names)s.") % {
            "name": unknown_filter.group(1),
            "names": ", ".join(sorted(ALLOWED_FILTERS)),
        }
    unknown_tag = re.match(r"Encountered unknown tag '([^']*)'", text)
    if unknown_tag:
        return _("“%(tag)s” is not allowed in email templates: use merge fields and if/else only.") % {
            "tag": unknown_tag.group(1)
        }
    if "No test named" in text:
        return _("unknown test (%(detail)s).") % {"detail": text}
    return _("the template has a syntax error (%(detail)s).") % {"detail": text}


@functools.lru_cache(maxsize=1024)
def compile_merge_template(source: str, field: str = "body") -> Any:
    """The compiled template for `source` (kept: a sequence renders the same few templates thousands of times)."""
    if len(source) > MAX_SOURCE_CHARS:
        raise MergeTemplateError(_("The template is too long."), field=field)
    try:
        tree = _ENV.parse(source)
        _check_tree(tree, field)
        return _ENV.from_string(tree)
    except TemplateSyntaxError as exc:
        raise MergeTemplateError(_problem(exc.lineno, _syntax_message(exc)), field=field, line=exc.lineno) from None
    except MergeTemplateError:
        raise
    except Exception as exc:  # nesting too deep, a number too long to read...
        raise MergeTemplateError(_("The template cannot be read: %(detail)s") % {"detail": exc}, field=field) from None


def _template_line(exc: BaseException) -> int | None:
    """The template line of a render failure (Jinja rewrites frames to point at the template source)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _generate(template: Any, context: dict[str, Any]) -> str:
    """Render piece by piece, stopping as soon as the output passes the cap (not after building it)."""
    parts: list[str] = []
    total = 0
    for part in template.generate(context):
        total += len(part)
        if total > MAX_OUTPUT_CHARS:
            raise OverflowError("output too large")
        parts.append(part)
    return "".join(parts)


def render_part(source: str, context: dict[str, Any], *, field: str = "body") -> str:
    """Render one template (subject or body) against a merge context; errors are MergeTemplateError."""
    template = compile_merge_template(source, field)
    try:
        return _limited(_generate(template, context))
    except MergeTemplateError:
        raise
    except OverflowError:
        raise MergeTemplateError(_("The email would be too long."), field=field) from None
    except Exception as exc:  # anything a user's template does wrong at render time is the template's fault
        line = _template_line(exc)
        message = _problem(line, _("the template cannot be filled in (%(detail)s).") % {"detail": exc})
        raise MergeTemplateError(message, field=field, line=line) from None


# ---- text → HTML --------------------------------------------------------------------------------------

URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
PARAGRAPH_RE = re.compile(r"\n[ \t]*\n\s*")
LINE_BREAKS_RE = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
TRAILING_PUNCTUATION = ".,;:!?)]}'\""


def _linked(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in URL_RE.finditer(text):
        url = match.group(0)
        stripped = url.rstrip(TRAILING_PUNCTUATION)
        if stripped.count("(") > stripped.count(")") and url[len(stripped) : len(stripped) + 1] == ")":
            stripped += ")"  # a URL with parentheses in it, e.g. a Wikipedia link
        start, end = match.start(), match.start() + len(stripped)
        out.append(str(escape(text[last:start])))
        safe_url = escape(stripped)
        out.append(f'<a href="{safe_url}">{safe_url}</a>')
        last = end
    out.append(str(escape(text[last:])))
    return "".join(out)


def text_to_html(text: str) -> str:
    """Escaped HTML for a plain-text body: blank lines make paragraphs, single newlines `<br>`, bare URLs links."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text:
        return ""
    paragraphs = []
    for block in PARAGRAPH_RE.split(text):
        if block.strip():
            paragraphs.append("<p>" + _linked(block).replace("\n", "<br>\n") + "</p>")
    return "\n".join(paragraphs)


def single_line(text: str) -> str:
    """A header-safe one-line version: every kind of line break becomes a space."""
    return " ".join(LINE_BREAKS_RE.sub(" ", text).split())


def render_email(*, subject: str, body: str, context: dict[str, Any]) -> Rendered:
    """Render a template's subject (on one line) and body (text and HTML) against `context`."""
    rendered_subject = single_line(render_part(subject, context, field="subject"))
    text = render_part(body, context, field="body")
    return Rendered(rendered_subject, text, text_to_html(text))


def template_check(*, subject: str, body: str) -> None:
    """Compile both parts (the save-time check); raises MergeTemplateError naming the part and the line."""
    errors: dict[str, list[str]] = {}
    first: MergeTemplateError | None = None
    for field, source in (("subject", subject), ("body", body)):
        try:
            render_part(source, SAMPLE_CONTEXT, field=field)
        except MergeTemplateError as exc:
            errors.update(exc.fields)
            first = first or exc
    if first is not None:
        error = MergeTemplateError(first.message, field=first.field, line=first.line)
        error.fields.update(errors)
        raise error


# Languages and merge fields live in `merge_fields`; imported here so callers have one module to use.
from insidesales.mail.merge_fields import (  # noqa: E402
    CONTACT_FIELDS,
    LEAD_FIELDS,
    SAMPLE_CONTEXT,
    language_for,
    merge_context,
    template_variant_for,
)

__all__ = [
    "CONTACT_FIELDS",
    "LEAD_FIELDS",
    "MergeTemplateError",
    "Rendered",
    "SAMPLE_CONTEXT",
    "language_for",
    "merge_context",
    "render_email",
    "render_part",
    "template_check",
    "template_variant_for",
    "text_to_html",
]
