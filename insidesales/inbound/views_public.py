"""Public form pages (no sign-in): the hosted form, its embed script, the start token, and the endpoint
every way of using a form posts to (the hosted page, the embedded frame, a plain HTML form on the
organization's own site, a script's fetch).

Cross-site posts carry no CSRF token (they cannot: the page is someone else's); nothing here acts for a
signed-in user, and what protects the endpoint is the form's list of sites (checked against Origin), the
spam checks and the rate limits. JSON is answered to clients that ask for it, HTML otherwise.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from insidesales.core.compiled import CompiledQuery
from insidesales.core.errors import ValidationError
from insidesales.inbound import spam
from insidesales.inbound.models import Channel, RejectReason, WebForm
from insidesales.inbound.services.forms import redirect_problem
from insidesales.inbound.services.submissions import UTM_KEYS, KeyReused, Visit, submission_accept

CORS_MAX_AGE = "600"


def _active_form(public_key: str) -> QuerySet:
    return WebForm.objects.select_related("organization").filter(public_key=public_key, is_active=True)[:1]


_ACTIVE_FORM = CompiledQuery(_active_form, public_key="\x01sentinel-form-key")


def _form(key: str) -> WebForm:
    if len(key) > 32:
        raise Http404
    form = next(iter(_ACTIVE_FORM.run(public_key=key)), None)
    if form is None:
        raise Http404
    return form


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _cors(request: HttpRequest, form: WebForm, response: HttpResponse) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    response["Vary"] = "Origin"
    if origin and spam.origin_allowed(form, origin, request.get_host()):
        response["Access-Control-Allow-Origin"] = origin
    return response


def _frame_ancestors(form: WebForm) -> str:
    sources = ["'self'"]
    for domain in form.allowed_domains or []:
        domain = str(domain).strip().lower()
        if domain:
            sources += [f"https://{domain}", f"https://*.{domain}"]
    return "frame-ancestors " + " ".join(sources)


def _visit_from_page(request: HttpRequest, source: Any) -> dict[str, Any]:
    """Landing page, referrer and UTM parameters as carried by the page (hidden fields or query string)."""
    page = str(source.get("page") or source.get("_page") or "")[:1000]
    ref = str(source.get("ref") or source.get("_ref") or "")[:1000]
    utm = {k: str(source.get(f"utm_{k}") or source.get(f"_utm_{k}") or "")[:200] for k in UTM_KEYS}
    if page and not any(utm.values()):
        query = dict(parse_qsl(urlsplit(page).query))
        utm = {k: query.get(f"utm_{k}", "")[:200] for k in UTM_KEYS}
    return {"page": page, "ref": ref, "utm": {k: v for k, v in utm.items() if v}}


def _render_form(
    request: HttpRequest,
    form: WebForm,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    message: str = "",
    status: int = 200,
    visit: dict[str, Any] | None = None,
    consent: bool = False,
) -> HttpResponse:
    embed = (request.GET.get("embed") or request.POST.get("_embed")) == "1"
    visit = visit or _visit_from_page(request, request.GET)
    if not visit["page"] and not embed:
        visit["page"] = request.build_absolute_uri()
    if not visit["ref"] and not embed and request.method == "GET":
        visit["ref"] = request.headers.get("Referer", "")[:1000]
    with translation.override(form.language or "en"):
        response = render(
            request,
            "inbound/public/form.html",
            {
                "form": form,
                "fields": _field_rows(form, values or {}, errors or {}),
                "errors": errors or {},
                "message": message,
                "token": spam.start_token(form),
                "honeypot": spam.HONEYPOT,
                "embed": embed,
                "visit": visit,
                "utm_items": sorted(visit["utm"].items()),
                "consent_checked": consent,
                "action": reverse("inbound_form_submit", args=[form.public_key]),
            },
            status=status,
        )
    response["Content-Security-Policy"] = _frame_ancestors(form)
    return response


def field_label(form: WebForm, spec: dict) -> str:
    from insidesales.crm.models import CustomField, Lead

    if spec.get("label"):
        return str(spec["label"])
    key = str(spec.get("key", ""))
    if key.startswith("custom:"):
        custom = CustomField.objects.filter(
            organization_id=form.organization_id, record_type="lead", key=key.removeprefix("custom:")
        ).first()
        return custom.label if custom else key.removeprefix("custom:")
    try:
        return str(Lead._meta.get_field(key).verbose_name).capitalize()
    except Exception:  # noqa: BLE001 - an unknown key shows as itself
        return key


INPUT_TYPES = {"email": "email", "phone": "tel", "notes": "textarea"}
AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "phone": "tel",
    "company_name": "organization",
    "title": "organization-title",
    "country": "country",
}


def _field_rows(form: WebForm, values: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    rows = []
    for index, spec in enumerate(form.fields or []):
        key = str(spec.get("key", ""))
        rows.append(
            {
                "key": key,
                "id": f"f{index}",
                "label": field_label(form, spec),
                "required": bool(spec.get("required")),
                "type": INPUT_TYPES.get(key, "text"),
                "autocomplete": AUTOCOMPLETE.get(key, "off"),
                "value": values.get(key, ""),
                "errors": errors.get(key, []),
            }
        )
    return rows


@xframe_options_exempt
@never_cache
@require_GET
def form_page(request: HttpRequest, key: str) -> HttpResponse:
    """The hosted form (also what the embed script frames, with ?embed=1)."""
    return _render_form(request, _form(key))


@never_cache
@require_GET
def form_start(request: HttpRequest, key: str) -> HttpResponse:
    """A start token for a form on another page (the plain HTML snippet fetches it when the page loads)."""
    form = _form(key)
    return _cors(request, form, JsonResponse({"token": spam.start_token(form)}))


@require_GET
def form_embed_script(request: HttpRequest, key: str) -> HttpResponse:
    form = _form(key)
    frame = request.build_absolute_uri(reverse("inbound_form_page", args=[form.public_key]))
    with translation.override(form.language or "en"):
        title = form.title or form.name
    script = EMBED_SCRIPT.replace("__FRAME__", json.dumps(frame)).replace("__TITLE__", json.dumps(title))
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


EMBED_SCRIPT = """(function () {
  var script = document.currentScript, frameUrl = new URL(__FRAME__);
  frameUrl.searchParams.set("embed", "1");
  frameUrl.searchParams.set("page", location.href);
  if (document.referrer) frameUrl.searchParams.set("ref", document.referrer);
  var query = new URLSearchParams(location.search);
  ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (name) {
    if (query.get(name)) frameUrl.searchParams.set(name, query.get(name));
  });
  var frame = document.createElement("iframe");
  frame.src = frameUrl.toString();
  frame.title = __TITLE__;
  frame.style.cssText = "width:100%;max-width:640px;min-height:420px;border:0;display:block";
  var target = script.getAttribute("data-target") && document.getElementById(script.getAttribute("data-target"));
  if (target) target.appendChild(frame); else script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== frameUrl.origin || event.source !== frame.contentWindow) return;
    if (event.data && typeof event.data.insidesalesFormHeight === "number") {
      frame.style.height = Math.ceil(event.data.insidesalesFormHeight) + "px";
    }
  });
})();
"""


def _refused(request: HttpRequest, form: WebForm, refusal: spam.Refusal, values: dict, visit: dict, consent: bool):
    """Turn a refusal into the answer a person would understand (a bot learns nothing useful)."""
    as_json = _wants_json(request)
    with translation.override(form.language or "en"):
        if refusal.reason == RejectReason.HONEYPOT:
            return _thanks(request, form, as_json)
        if refusal.reason == RejectReason.TOO_FAST:
            message = _("Please check your details and press the button again.")
            if as_json:
                return JsonResponse(
                    {"ok": False, "retry": True, "message": message, "token": spam.start_token(form)}, status=422
                )
            return _render_form(request, form, values=values, message=message, status=422, visit=visit, consent=consent)
        if refusal.reason in (RejectReason.IP_RATE, RejectReason.FORM_RATE):
            minutes = max(1, round(refusal.retry_after / 60))
            message = _("Too many messages were sent just now. Please try again in %(n)d minutes.") % {"n": minutes}
            if as_json:
                response = JsonResponse({"ok": False, "message": message}, status=429)
            else:
                response = _render_form(
                    request, form, values=values, message=message, status=429, visit=visit, consent=consent
                )
            response["Retry-After"] = str(refusal.retry_after)
            return response
        message = _("This form cannot be sent from this site.")
        if as_json:
            return JsonResponse({"ok": False, "message": message}, status=403)
        return _render_form(request, form, values=values, message=message, status=403, visit=visit, consent=consent)


def _thanks(request: HttpRequest, form: WebForm, as_json: bool) -> HttpResponse:
    # Checked when saved, and again here: only http(s), only to the form's own sites.
    redirect = (
        form.redirect_url
        if form.redirect_url and redirect_problem(form.redirect_url, form.allowed_domains) is None
        else ""
    )
    with translation.override(form.language or "en"):
        message = form.thank_you_message or _("Thank you! We will get back to you shortly.")
        if as_json:
            return JsonResponse({"ok": True, "message": message, "redirect": redirect or None})
        embed = request.POST.get("_embed") == "1"
        if redirect and not embed:
            return HttpResponseRedirect(redirect, status=303)
        response = render(
            request,
            "inbound/public/thanks.html",
            {"form": form, "message": message, "redirect": redirect, "embed": embed},
        )
    response["Content-Security-Policy"] = _frame_ancestors(form)
    return response


@xframe_options_exempt
@csrf_exempt
@never_cache
def form_submit(request: HttpRequest, key: str) -> HttpResponse:
    form = _form(key)
    if request.method == "OPTIONS":
        response = _cors(request, form, HttpResponse(status=204))
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response["Access-Control-Max-Age"] = CORS_MAX_AGE
        return response
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    return _cors(request, form, _submit(request, form))


def _submit(request: HttpRequest, form: WebForm) -> HttpResponse:
    post = request.POST
    keys = [str(spec.get("key", "")) for spec in form.fields or []]
    values = {k: post.get(k, "").strip() for k in keys if k in post}
    consent = post.get("consent", "").lower() in ("1", "on", "true", "yes")
    visit = _visit_from_page(request, post)
    if not visit["page"]:
        visit["page"] = request.headers.get("Referer", "")[:1000]
    ip = request.META.get("REMOTE_ADDR") or None
    origin = request.headers.get("Origin", "")
    refusal: spam.Refusal | None = None
    started = spam.read_token(form, post.get(spam.TOKEN_FIELD, ""))  # (seconds since shown, nonce) or None
    if origin and not spam.origin_allowed(form, origin, request.get_host()):
        refusal = spam.Refusal(RejectReason.ORIGIN, detail=origin[:200])
    elif post.get(spam.HONEYPOT):
        refusal = spam.Refusal(RejectReason.HONEYPOT)
    else:
        if started is None and form.min_fill_seconds:
            refusal = spam.Refusal(RejectReason.TOO_FAST, detail="no start token")
        elif started is not None and started[0] < form.min_fill_seconds:
            refusal = spam.Refusal(RejectReason.TOO_FAST, detail=f"{started[0]:.1f} s")
        else:
            refusal = spam.over_limits(form, ip, nonce=started[1] if started else "")
    if refusal is not None:
        spam.record_refusal(form, refusal, ip=ip, data=values)
        return _refused(request, form, refusal, values, visit, consent)
    try:
        submission_accept(
            organization=form.organization,
            form=form,
            channel=Channel.FORM,
            values=values,
            visit=Visit(
                ip=ip,
                user_agent=request.headers.get("User-Agent", ""),
                referrer=visit["ref"],
                landing_page=visit["page"],
                utm=visit["utm"],
            ),
            consent_given=consent,
            dedupe_key=f"form:{form.pk}:{started[1]}" if started and started[1] else "",
        )
    except KeyReused:
        # Someone already sent this showing of the form with other details: a fresh showing, values kept.
        return _refused(
            request, form, spam.Refusal(RejectReason.TOO_FAST, detail="token reused"), values, visit, consent
        )
    except ValidationError as exc:
        with translation.override(form.language or "en"):
            errors = {k: [str(m) for m in v] for k, v in (exc.fields or {}).items()}
            message = _("Please correct the errors below.")
            known = set(keys) | {"consent"}
            stray = [m for k, v in errors.items() if k not in known for m in v]
            if stray:
                message = " ".join([message, *stray])
            if _wants_json(request):
                return JsonResponse({"ok": False, "message": message, "errors": errors}, status=422)
            return _render_form(
                request, form, values=values, errors=errors, message=message, status=422, visit=visit, consent=consent
            )
    return _thanks(request, form, _wants_json(request))
