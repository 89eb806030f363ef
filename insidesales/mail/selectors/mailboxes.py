"""Reading mailboxes: a user sees and changes only their own; admins also see the organization's list
(never a password: those are not readable through any selector)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from insidesales.core.errors import NotFound
from insidesales.mail.models import Mailbox
from insidesales.orgs.models import Membership


def mailbox_list(*, membership: Membership, everyone: bool = False) -> QuerySet[Mailbox]:
    """The member's own mailboxes; with `everyone`, an admin gets the whole organization's."""
    mailboxes = Mailbox.objects.filter(organization_id=membership.organization_id).select_related("user")
    if not (everyone and membership.is_admin):
        mailboxes = mailboxes.filter(user_id=membership.user_id)
    return mailboxes.order_by("email", "id")


def mailbox_get(*, membership: Membership, mailbox_id: Any, for_update: bool = False) -> Mailbox:
    """One of the member's own mailboxes; anyone else's (or none) is NotFound, for admins too."""
    try:
        pk = int(mailbox_id)
    except (TypeError, ValueError) as exc:
        raise NotFound() from exc
    mailboxes = Mailbox.objects.filter(organization_id=membership.organization_id, user_id=membership.user_id)
    if for_update:
        mailboxes = mailboxes.select_for_update()
    mailbox = mailboxes.filter(pk=pk).first()
    if mailbox is None:
        raise NotFound()
    return mailbox


def mailboxes_for_sending(user: Any, organization_id: int | None = None) -> QuerySet[Mailbox]:
    """The active mailboxes a user may send from (theirs), oldest first, so the first is the default.
    Takes a User or a Membership (a membership also limits them to its organization)."""
    if isinstance(user, Membership):
        organization_id = organization_id or user.organization_id
        user = user.user
    mailboxes = Mailbox.objects.filter(user_id=user.pk, is_active=True)
    if organization_id is not None:
        mailboxes = mailboxes.filter(organization_id=organization_id)
    return mailboxes.order_by("id")
