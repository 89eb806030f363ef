"""Reads of email templates (and what the compose page offers), scoped to the acting member: one's own
templates and the shared ones; admins see every template of the organization. Another member's personal
template answers 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from insidesales.core.errors import NotFound
from insidesales.crm.models import Company, Contact, CustomField, Lead
from insidesales.crm.selectors import record_queryset
from insidesales.mail.models import EmailTemplate, EmailTemplateVariant, Mailbox
from insidesales.orgs.models import Membership, Role


def template_scope(membership: Membership) -> Q | None:
    if membership is None or not membership.is_active:
        return None
    if membership.role == Role.ADMIN:
        return Q()
    return Q(owner_id=membership.user_id) | Q(is_shared=True)


def template_list(*, membership: Membership, search: str = "") -> QuerySet[EmailTemplate]:
    """Visible templates by name, with their variants and owner loaded."""
    qs = EmailTemplate.objects.filter(organization_id=membership.organization_id)
    scope = template_scope(membership)
    if scope is None:
        return qs.none()
    qs = qs.filter(scope)
    if search.strip():
        qs = qs.filter(name__icontains=search.strip())
    variants = Prefetch("variants", queryset=EmailTemplateVariant.objects.order_by("language"))
    return qs.select_related("owner").prefetch_related(variants).order_by("name", "id")


def template_get(*, membership: Membership, template_id: Any) -> EmailTemplate:
    try:
        pk = int(template_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    found = template_list(membership=membership).filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def template_can_edit(*, membership: Membership, template: EmailTemplate) -> bool:
    """The owner edits a template; admins edit any; a shared template is only used by the others."""
    return membership.role == Role.ADMIN or template.owner_id == membership.user_id


def preview_leads(*, membership: Membership, search: str = "", limit: int = 20) -> list[Lead]:
    """Leads to preview a template against: the most recently active visible ones, or those matching `search`
    (name, company or email)."""
    qs = record_queryset(membership=membership, model=Lead)
    text = search.strip()[:100]
    if text:
        words = Q()
        for word in text.split()[:4]:
            words &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company_name__icontains=word)
                | Q(email__icontains=word)
            )
        qs = qs.filter(words)
    return list(qs.order_by("-last_activity_at", "-id")[:limit])


def merge_field_names(*, membership: Membership) -> dict[str, list[str]]:
    """The merge fields offered in the editor: built-in ones and the organization's custom fields."""
    fields = {
        "lead": ["first_name", "last_name", "full_name", "title", "company", "email", "phone", "country"],
        "contact": ["first_name", "last_name", "full_name", "title", "company", "email", "phone"],
        "company": ["name", "domain", "industry", "city", "country"],
        "owner": ["first_name", "last_name", "full_name", "email"],
        "sender": ["first_name", "last_name", "full_name", "name", "email"],
        "organization": ["name"],
    }
    custom = CustomField.objects.filter(
        organization_id=membership.organization_id, record_type__in=("lead", "contact", "company")
    ).values_list("record_type", "key")
    for record_type, key in custom:
        fields[record_type].append(f"custom.{key}")
    return fields


# ---- what the compose page offers -------------------------------------------------------------------------


def own_mailboxes(*, membership: Membership) -> QuerySet[Mailbox]:
    """The member's own active mailboxes: the only ones they may send from."""
    return Mailbox.objects.filter(
        organization_id=membership.organization_id, user_id=membership.user_id, is_active=True
    ).order_by("email", "id")


def company_recipients(*, membership: Membership, company: Company) -> list[Contact]:
    """The company's contacts with an address that the member may see, by name."""
    return list(
        record_queryset(membership=membership, model=Contact)
        .filter(company_id=company.pk)
        .exclude(email="")
        .order_by("last_name", "first_name", "id")[:200]
    )
