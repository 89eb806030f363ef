"""Do-not-call lists: organization-wide and per campaign, numbers stored in E.164.

Anyone who can call may add a number (the caller asked not to be called); only admins and managers
remove one or import lists. Every change is in the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from insidesales.calls.dnc import normalize_for_dnc
from insidesales.calls.models import Campaign, DncEntry, DncSource
from insidesales.core.errors import NotFound, PermissionDenied, ValidationError
from insidesales.orgs.models import Membership, Role
from insidesales.orgs.services import audit_record

MANAGERS = (Role.ADMIN, Role.MANAGER)


def dnc_normalize(raw: str, region: str) -> str | None:
    """The E.164 form a list stores and the call check compares (`calls.dnc`: "0044…" read as
    international in any region)."""
    return normalize_for_dnc(raw, region)


def blocked_numbers(organization_id: int, campaign_id: int | None, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` (E.164) are on the organization's list or the campaign's."""
    wanted = [n for n in set(numbers) if n]
    if not wanted:
        return set()
    qs = DncEntry.objects.filter(organization_id=organization_id, number__in=wanted)
    if campaign_id is None:
        qs = qs.filter(campaign__isnull=True)
    else:
        from django.db.models import Q

        qs = qs.filter(Q(campaign__isnull=True) | Q(campaign_id=campaign_id))
    return set(qs.values_list("number", flat=True))


def _campaign(membership: Membership, campaign_id: int | None) -> Campaign | None:
    if campaign_id is None:
        return None
    from insidesales.calls.selectors import campaign_get

    return campaign_get(membership=membership, campaign_id=campaign_id)


@transaction.atomic
def dnc_add(
    *,
    membership: Membership,
    number: str,
    campaign_id: int | None = None,
    source: str = DncSource.MANUAL,
    reason: str = "",
) -> DncEntry:
    """Put a number on the list (a no-op returning the entry when it is there already)."""
    campaign = _campaign(membership, campaign_id)
    e164 = dnc_normalize(number, membership.organization.default_region)
    if e164 is None:
        raise ValidationError(fields={"number": [_("This does not look like a phone number.")]})
    try:
        with transaction.atomic():
            entry = DncEntry.objects.create(
                organization_id=membership.organization_id,
                number=e164,
                campaign=campaign,
                source=source,
                reason=reason[:255],
                added_by=membership.user,
            )
    except IntegrityError:
        return DncEntry.objects.get(organization_id=membership.organization_id, number=e164, campaign=campaign)
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="dnc.add",
        instance=entry,
        changes={"number": [None, e164], "campaign": [None, campaign_id]},
    )
    return entry


@transaction.atomic
def dnc_remove(*, membership: Membership, entry_id: int) -> None:
    # The entry is looked up first: one that is not the organization's (or of a campaign out of sight) answers
    # 404 to every role, as a missing one does; a rep asking to remove one of its entries is refused (403).
    entry = DncEntry.objects.filter(organization_id=membership.organization_id, pk=entry_id).first()
    if entry is None or (entry.campaign_id and _campaign(membership, entry.campaign_id) is None):
        raise NotFound()
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers can take numbers off the do-not-call list."))
    audit_record(
        organization_id=membership.organization_id,
        actor=membership.user,
        action="dnc.remove",
        instance=entry,
        changes={"number": [entry.number, None]},
    )
    entry.delete()


@dataclass
class DncImportReport:
    added: int = 0
    already: int = 0
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)  # (line, text, message)


def dnc_import(
    *, membership: Membership, lines: Iterable[str], campaign_id: int | None = None, reason: str = ""
) -> DncImportReport:
    """Add one number per line (a CSV's first column is taken); bad lines are reported, good ones kept."""
    if membership.role not in MANAGERS:
        raise PermissionDenied(_("Only admins and managers can import do-not-call lists."))
    campaign = _campaign(membership, campaign_id)
    region = membership.organization.default_region
    report = DncImportReport()
    numbers: dict[str, int] = {}
    for line_no, line in enumerate(lines, start=1):
        text = line.strip().split(",")[0].split(";")[0].strip().strip('"')
        if not text or (line_no == 1 and not any(ch.isdigit() for ch in text)):
            continue  # blank line or a header
        e164 = dnc_normalize(text, region)
        if e164 is None:
            report.bad_rows.append((line_no, text[:64], _("This does not look like a phone number.")))
            continue
        numbers.setdefault(e164, line_no)
    with transaction.atomic():
        existing = set(
            DncEntry.objects.filter(
                organization_id=membership.organization_id, campaign=campaign, number__in=list(numbers)
            ).values_list("number", flat=True)
        )
        new = [
            DncEntry(
                organization_id=membership.organization_id,
                number=n,
                campaign=campaign,
                source=DncSource.IMPORT,
                reason=reason[:255],
                added_by=membership.user,
            )
            for n in numbers
            if n not in existing
        ]
        DncEntry.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        report.added, report.already = len(new), len(existing)
        audit_record(
            organization_id=membership.organization_id,
            actor=membership.user,
            action="dnc.import",
            instance=None,
            changes={"added": [None, len(new)], "campaign": [None, campaign_id]},
        )
    return report
