"""The three ways to put a form on a site, as the code an admin copies: a link to the hosted page, a script
that frames the form (sized to fit, UTM parameters passed on), and a plain HTML form that posts here."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from insidesales.inbound import spam
from insidesales.inbound.models import WebForm
from insidesales.inbound.views_public import INPUT_TYPES, field_label


def snippets(form: WebForm, request: HttpRequest) -> dict[str, str]:
    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name, args=[form.public_key]))

    hosted, script, submit, start = (
        url("inbound_form_page"),
        url("inbound_form_embed"),
        url("inbound_form_submit"),
        url("inbound_form_start"),
    )
    iframe = (
        f'<iframe src="{escape(hosted)}?embed=1" title="{escape(form.title or form.name)}" '
        'style="width:100%;max-width:640px;min-height:520px;border:0" loading="lazy"></iframe>'
    )
    return {
        "hosted_url": hosted,
        "script": f'<script src="{escape(script)}" async></script>',
        "iframe": iframe,
        "html": _plain_html(form, submit, start),
    }


def _plain_html(form: WebForm, submit: str, start: str) -> str:
    with translation.override(form.language or "en"):
        lines = [f'<form action="{escape(submit)}" method="post" accept-charset="utf-8">']
        for spec in form.fields or []:
            key = escape(str(spec.get("key", "")))
            label = escape(field_label(form, spec))
            required = " required" if spec.get("required") else ""
            if INPUT_TYPES.get(spec.get("key", "")) == "textarea":
                control = f'<textarea name="{key}"{required}></textarea>'
            else:
                control = f'<input name="{key}" type="{INPUT_TYPES.get(spec.get("key", ""), "text")}"{required}>'
            lines.append(f"  <p><label>{label}<br>{control}</label></p>")
        if form.consent_text:
            required = " required" if form.consent_required else ""
            box = f'<input type="checkbox" name="consent" value="1"{required}>'
            lines.append(f"  <p><label>{box} {escape(form.consent_text)}</label></p>")
        lines += [
            '  <div style="position:absolute;left:-10000px" aria-hidden="true">'
            f'<input name="{spam.HONEYPOT}" tabindex="-1" autocomplete="off"></div>',
            f'  <input type="hidden" name="{spam.TOKEN_FIELD}" value="">',
            f'  <button type="submit">{escape(form.submit_label or _("Send"))}</button>',
            "</form>",
            "<script>",
            "(function (form) {",
            f'  fetch("{escape(start)}").then(function (r) {{ return r.json(); }})',
            f"    .then(function (d) {{ form.elements.{spam.TOKEN_FIELD}.value = d.token; }});",
            '  [["_page", location.href], ["_ref", document.referrer]].concat(',
            '    ["source", "medium", "campaign", "term", "content"].map(function (k) {',
            '      return ["_utm_" + k, new URLSearchParams(location.search).get("utm_" + k) || ""]; })',
            "  ).forEach(function (pair) {",
            '    var input = document.createElement("input");',
            '    input.type = "hidden"; input.name = pair[0]; input.value = pair[1]; form.appendChild(input);',
            "  });",
            "})(document.currentScript.previousElementSibling);",
            "</script>",
        ]
    return "\n".join(lines)
