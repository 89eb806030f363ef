"""Writes of email templates: create, update and delete, with a subject and body per language.

Saving checks each variant by compiling and rendering it against a sample context, so a syntax error,
an unknown filter or a forbidden tag shows when the template is saved, not when a sequence sends it.
Errors name the field as `subject_<language>` / `body_<language>` (what the form and the API show)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from insidesales.core.errors import PermissionDenied, ValidationError
from insidesales.mail.models import LANGUAGES, EmailTemplate, EmailTemplateVariant
from insidesales.mail.rendering import SAMPLE_CONTEXT, MergeTemplateError, render_part
from insidesales.mail.selectors.templates import template_can_edit
from insidesales.orgs.models import Membership
from insidesales.orgs.services import audit_record

LANGUAGE_CODES = tuple(code for code, _label in LANGUAGES)
NAME_MAX = EmailTemplate._meta.get_field("name").max_length
SUBJECT_MAX = EmailTemplateVariant._meta.get_field("subject").max_length
BODY_MAX = 100_000


def _clean_variants(variants: Mapping[str, Mapping[str, str]], errors: dict[str, list[str]]) -> dict[str, tuple]:
    """{language: (subject, body)} for the languages given with text; a language with both parts blank is
    dropped (removed on update)."""
    cleaned: dict[str, tuple[str, str]] = {}
    for language, parts in variants.items():
        if language not in LANGUAGE_CODES:
            errors.setdefault("variants", []).append(_("Unknown language “%(code)s”.") % {"code": language})
            continue
        subject = (parts.get("subject") or "").strip()
        body = (parts.get("body") or "").replace("\r\n", "\n")
        if not subject and not body.strip():
            continue
        if not subject:
            errors.setdefault(f"subject_{language}", []).append(_("Write a subject (or leave the body empty too)."))
        elif len(subject) > SUBJECT_MAX:
            errors.setdefault(f"subject_{language}", []).append(_("At most %(n)s characters.") % {"n": SUBJECT_MAX})
        if not body.strip():
            errors.setdefault(f"body_{language}", []).append(_("Write the body (or leave the subject empty too)."))
        elif len(body) > BODY_MAX:
            errors.setdefault(f"body_{language}", []).append(_("At most %(n)s characters.") % {"n": BODY_MAX})
        for part, source in (("subject", subject), ("body", body)):
            if not source or f"{part}_{language}" in errors:
                continue
            try:
                render_part(source, SAMPLE_CONTEXT, field=part)
            except MergeTemplateError as exc:
                errors.setdefault(f"{part}_{language}", []).append(exc.message)
        cleaned[language] = (subject, body)
    return cleaned


def _validate(
    *, name: str, default_language: str, variants: Mapping[str, Mapping[str, str]]
) -> tuple[str, dict[str, tuple[str, str]]]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the template a name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("At most %(n)s characters.") % {"n": NAME_MAX}]
    if default_language not in LANGUAGE_CODES:
        errors["default_language"] = [_("Choose English or Russian.")]
    cleaned = _clean_variants(variants, errors)
    if not cleaned and not any(key.startswith(("subject_", "body_")) for key in errors):
        errors["variants"] = [_("Write the subject and body in at least one language.")]
    elif cleaned and default_language in LANGUAGE_CODES and default_language not in cleaned:
        errors.setdefault("default_language", []).append(
            _("The default language needs a subject and a body: it is what leads in other languages get.")
        )
    if errors:
        raise ValidationError(_("The template has errors."), fields=errors)
    return name, cleaned


def _write_variants(template: EmailTemplate, cleaned: dict[str, tuple[str, str]]) -> None:
    existing = {variant.language: variant for variant in template.variants.all()}
    for language, (subject, body) in cleaned.items():
        variant = existing.pop(language, None)
        if variant is None:
            EmailTemplateVariant.objects.create(template=template, language=language, subject=subject, body=body)
        elif (variant.subject, variant.body) != (subject, body):
            variant.subject, variant.body = subject, body
            variant.save(update_fields=["subject", "body"])
    for variant in existing.values():
        variant.delete()


@transaction.atomic
def email_template_create(
    *,
    actor: Membership,
    name: str,
    variants: Mapping[str, Mapping[str, str]],
    default_language: str = "en",
    is_shared: bool = False,
) -> EmailTemplate:
    """A new template owned by the actor; `variants` maps a language ("en", "ru") to {"subject", "body"}."""
    name, cleaned = _validate(name=name, default_language=default_language, variants=variants)
    template = EmailTemplate.objects.create(
        organization_id=actor.organization_id,
        name=name,
        owner=actor.user,
        is_shared=bool(is_shared),
        default_language=default_language,
    )
    _write_variants(template, cleaned)
    audit_record(
        organization_id=actor.organization_id,
        actor=actor.user,
        action="email_template.create",
        instance=template,
        changes={"name": [None, name], "languages": [None, sorted(cleaned)]},
    )
    return template


@transaction.atomic
def _used_by_active_sequence(template: EmailTemplate) -> bool:
    from insidesales.mail.models import SequenceStatus, SequenceStep

    return SequenceStep.objects.filter(template=template, sequence__status=SequenceStatus.ACTIVE).exists()


def email_template_update(
    *,
    actor: Membership,
    template: EmailTemplate,
    name: str | None = None,
    variants: Mapping[str, Mapping[str, str]] | None = None,
    default_language: str | None = None,
    is_shared: bool | None = None,
) -> EmailTemplate:
    """Change what is given (None keeps it). `variants` replaces the languages: one left out is removed."""
    if not template_can_edit(membership=actor, template=template):
        raise PermissionDenied(_("Only the template's owner or an admin can change it."))
    if actor.role not in ("admin", "manager") and _used_by_active_sequence(template):
        # What an active sequence sends from everyone's mailboxes is for those who edit sequences.
        raise PermissionDenied(
            _("An active sequence sends this template: only an admin or a manager can change it now.")
        )
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk, organization_id=actor.organization_id)
    current: dict[str, Any] = {v.language: {"subject": v.subject, "body": v.body} for v in template.variants.all()}
    new_name, cleaned = _validate(
        name=template.name if name is None else name,
        default_language=template.default_language if default_language is None else default_language,
        variants=current if variants is None else variants,
    )
    changes: dict[str, list[Any]] = {}
    if new_name != template.name:
        changes["name"] = [template.name, new_name]
        template.name = new_name
    if default_language is not None and default_language != template.default_language:
        changes["default_language"] = [template.default_language, default_language]
        template.default_language = default_language
    if is_shared is not None and bool(is_shared) != template.is_shared:
        changes["is_shared"] = [template.is_shared, bool(is_shared)]
        template.is_shared = bool(is_shared)
    template.save()
    if variants is not None:
        if sorted(cleaned) != sorted(current):
            changes["languages"] = [sorted(current), sorted(cleaned)]
        _write_variants(template, cleaned)
    audit_record(
        organization_id=actor.organization_id,
        actor=actor.user,
        action="email_template.update",
        instance=template,
        changes=changes,
    )
    return template


@transaction.atomic
def email_template_delete(*, actor: Membership, template: EmailTemplate) -> None:
    """Delete a template. Emails sent with it keep their text; a sequence step using it refuses the delete."""
    from django.db.models import ProtectedError

    if not template_can_edit(membership=actor, template=template):
        raise PermissionDenied(_("Only the template's owner or an admin can delete it."))
    audit_record(
        organization_id=actor.organization_id,
        actor=actor.user,
        action="email_template.delete",
        instance=template,
        changes={"name": [template.name, None]},
    )
    try:
        with transaction.atomic():
            template.delete()
    except ProtectedError:
        from insidesales.core.errors import Conflict

        raise Conflict(_("A sequence step uses this template: change the step first.")) from None
