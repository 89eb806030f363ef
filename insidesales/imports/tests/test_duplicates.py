"""Duplicate scan, review and merge through the services: what is found, who sees it, what a merge
moves and what an undo brings back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insidesales.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from insidesales.core.testing import factories as f
from insidesales.crm.models import Activity, ActivityKind, Lead, LeadStatus, Task
from insidesales.imports import duplicates, merge
from insidesales.imports.models import DuplicatePair, DuplicateScan, LeadMerge, PairStatus, ScanStatus
from insidesales.orgs.models import AuditLog

pytestmark = pytest.mark.django_db


def lead(owner=None, **fields):
    if owner is not None:
        return f.LeadFactory(owned_by=owner, **fields)
    return f.LeadFactory(**fields)


def scan(org) -> DuplicateScan:
    queued = duplicates.scan_request(organization_id=org.pk)
    return duplicates.scan_run(scan_id=queued.pk)


@pytest.fixture
def twins(world):
    """Ivan Petrov twice in rep1's leads (typo in the surname, same phone), plus an unrelated Ivanov."""
    a = lead(
        world.rep1, first_name="Ivan", last_name="Petrov", company_name="Romashka LLC", phone="+79161234567", email=""
    )
    b = lead(
        world.rep1, first_name="Ivan", last_name="Petrova", company_name="Romashka", phone="+79161234567", email=""
    )
    c = lead(world.rep1, first_name="Ivan", last_name="Ivanov", company_name="Globex", phone="+79160000000")
    return a, b, c


def test_scan_finds_the_typed_over_lead_with_its_reasons(world, twins):
    a, b, c = twins
    done = scan(world.org)
    assert done.status == ScanStatus.DONE
    assert done.leads_count == Lead.objects.filter(organization=world.org).count()
    pair = DuplicatePair.objects.get(organization=world.org, left=a, right=b)
    assert pair.score >= 0.5
    assert set(pair.reasons) == {"similar_name", "same_company", "same_phone"}
    assert pair.group == a.pk
    assert not DuplicatePair.objects.filter(left=c).exists() and not DuplicatePair.objects.filter(right=c).exists()
    assert not DuplicatePair.objects.filter(organization=world.org_b).exists()


def test_a_finished_scan_schedules_the_next_one_and_a_scan_runs_once(world, twins):
    first = duplicates.scan_request(organization_id=world.org.pk)
    again = duplicates.scan_request(organization_id=world.org.pk)
    assert again.pk == first.pk  # one waiting scan per organization
    assert duplicates.scan_run(scan_id=first.pk) is not None
    assert duplicates.scan_run(scan_id=first.pk) is None
    waiting = DuplicateScan.objects.get(organization=world.org, status=ScanStatus.SCHEDULED)
    assert waiting.run_after > timezone.now() + dt.timedelta(hours=23)
    asked = duplicates.scan_now(membership=world.manager)  # "Scan now" brings the scheduled one forward
    assert asked.pk == waiting.pk and asked.status == ScanStatus.QUEUED and asked.run_after is None


def test_dismissed_pairs_stay_dismissed_after_a_rescan(world, twins):
    a, b, _ = twins
    scan(world.org)
    pair = DuplicatePair.objects.get(left=a, right=b)
    duplicates.pair_dismiss(membership=world.rep1, pair_id=pair.pk)
    scan(world.org)
    assert list(DuplicatePair.objects.filter(left=a, right=b).values_list("status", flat=True)) == [
        PairStatus.DISMISSED
    ]
    assert not duplicates.pair_list(membership=world.rep1).filter(left=a, right=b).exists()
    assert AuditLog.objects.filter(action="duplicates.dismiss", object_id=pair.pk).exists()


@pytest.mark.parametrize("member", ["rep2", "agency_x_rep", "admin_b"])
def test_pairs_of_leads_out_of_scope_are_hidden(world, twins, member):
    a, b, _ = twins
    scan(world.org)
    pair = DuplicatePair.objects.get(left=a, right=b)
    assert not duplicates.pair_list(membership=world.members[member]).filter(pk=pair.pk).exists()
    with pytest.raises(NotFound):
        duplicates.pair_get(membership=world.members[member], pair_id=pair.pk)
    with pytest.raises(NotFound):
        duplicates.pair_dismiss(membership=world.members[member], pair_id=pair.pk)


def test_a_pair_half_in_scope_is_hidden(world):
    mine = lead(world.rep1, first_name="Olga", last_name="Smirnova", email="olga@vega.example")
    theirs = lead(world.rep2, first_name="Olga", last_name="Smirnova", email="olga@vega.example")
    scan(world.org)
    pair = DuplicatePair.objects.get(left=mine, right=theirs)
    assert not duplicates.pair_list(membership=world.rep1).filter(pk=pair.pk).exists()
    assert duplicates.pair_list(membership=world.admin).filter(pk=pair.pk).exists()


def test_field_reps_do_not_review_duplicates(world):
    with pytest.raises(PermissionDenied):
        duplicates.pair_list(membership=world.field_rep)


def test_merge_keeps_chosen_values_moves_everything_and_deletes_the_other(world, twins):
    a, b, _ = twins
    b.email, b.title, b.notes = "ivan@romashka.example", "CEO", "Met at the fair"
    b.save()
    a.notes = "Called twice"
    a.save()
    b.tags.add(world.tag)
    note = Activity.objects.create(organization=world.org, kind=ActivityKind.NOTE, lead=b, body="from b")
    task = Task.objects.create(organization=world.org, title="Call back", assignee=world.rep1.user, lead=b)
    done = merge.lead_merge(
        membership=world.rep1, survivor_id=a.pk, other_id=b.pk, choices={"last_name": "other", "notes": "both"}
    )
    a.refresh_from_db()
    assert not Lead.objects.filter(pk=b.pk).exists()
    assert (a.last_name, a.email, a.title) == ("Petrova", "ivan@romashka.example", "CEO")  # chosen; blanks filled
    assert a.company_name == "Romashka LLC"  # the survivor's own value by default
    assert a.notes == "Called twice\n\nMet at the fair"
    assert a.name_key == "ivan petrova"
    assert list(a.tags.all()) == [world.tag]
    note.refresh_from_db()
    task.refresh_from_db()
    assert note.lead_id == a.pk and task.lead_id == a.pk
    entry = Activity.objects.get(lead=a, kind=ActivityKind.MERGE)
    assert entry.data["other_id"] == b.pk and entry.data["merge_id"] == done.pk
    assert AuditLog.objects.get(action="lead.merge").changes["merged_lead"] == [b.pk, None]


def test_undo_brings_the_lead_back_with_everything_moved(world, twins):
    a, b, _ = twins
    b.email = "ivan@romashka.example"
    b.save()
    b.tags.add(world.tag)
    note = Activity.objects.create(organization=world.org, kind=ActivityKind.NOTE, lead=b, body="from b")
    done = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    restored = Lead.objects.get(pk=b.pk)
    assert (restored.last_name, restored.email, restored.owner_id) == (
        "Petrova",
        "ivan@romashka.example",
        world.rep1.user_id,
    )
    assert list(restored.tags.all()) == [world.tag]
    note.refresh_from_db()
    assert note.lead_id == b.pk
    a.refresh_from_db()
    assert a.email == "" and not a.tags.exists()
    assert Activity.objects.filter(lead=a, kind=ActivityKind.MERGE, data__event="undone").exists()
    assert Activity.objects.filter(lead=restored, kind=ActivityKind.MERGE, data__event="undone").exists()
    with pytest.raises(Conflict):
        merge.merge_undo(membership=world.rep1, merge_id=done.pk)


def test_undo_keeps_a_tag_removed_and_added_again_after_the_merge(world, twins):
    a, b, _ = twins
    second = f.TagFactory(organization=world.org, name="second")
    b.tags.add(world.tag, second)
    done = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    assert set(a.tags.all()) == {world.tag, second}
    a.tags.remove(world.tag)
    a.tags.add(world.tag)  # a person's own choice now, no longer the merge's
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    assert list(a.tags.all()) == [world.tag]
    assert set(Lead.objects.get(pk=b.pk).tags.all()) == {world.tag, second}


@pytest.mark.parametrize("order", ["later first", "earlier only", "earlier first"])
def test_chained_merges_take_back_exactly_their_tags(world, order):
    a = lead(world.rep1, first_name="Ann", last_name="Lee")
    b = lead(world.rep1, first_name="Ann", last_name="Lee")
    c = lead(world.rep1, first_name="Ann", last_name="Lee")
    own = f.TagFactory(organization=world.org, name="c-own")
    a.tags.add(world.tag, own)
    c.tags.add(own)  # C has this one itself: no undo may take it
    first = merge.lead_merge(membership=world.rep1, survivor_id=b.pk, other_id=a.pk)
    second = merge.lead_merge(membership=world.rep1, survivor_id=c.pk, other_id=b.pk)
    assert set(c.tags.all()) == {world.tag, own}

    def tags(record):
        return set(Lead.objects.get(pk=record.pk).tags.all())

    if order == "later first":
        merge.merge_undo(membership=world.rep1, merge_id=second.pk)
        assert tags(b) == {world.tag, own} and tags(c) == {own}
        merge.merge_undo(membership=world.rep1, merge_id=first.pk)
        assert tags(b) == set() and tags(a) == {world.tag, own}
    elif order == "earlier only":
        merge.merge_undo(membership=world.rep1, merge_id=first.pk)
        assert tags(c) == {own} and tags(a) == {world.tag, own}
    else:
        merge.merge_undo(membership=world.rep1, merge_id=first.pk)
        merge.merge_undo(membership=world.rep1, merge_id=second.pk)
        assert tags(c) == {own} and tags(a) == {world.tag, own}
    assert tags(c) == {own}


def test_undo_of_a_merge_recorded_without_link_rows_removes_its_tags(world, twins):
    a, b, _ = twins
    b.tags.add(world.tag)
    done = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    done.relinked.pop(merge.TAG_ROWS)  # as merges made before this change were stored
    done.save(update_fields=["relinked"])
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    assert not a.tags.exists()


def test_undo_keeps_survivor_fields_changed_after_the_merge(world, twins):
    a, b, _ = twins
    b.email, b.title = "ivan@romashka.example", "CEO"
    b.save()
    done = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    Lead.objects.filter(pk=a.pk).update(title="CTO")
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    a.refresh_from_db()
    assert (a.email, a.title) == ("", "CTO")
    assert AuditLog.objects.get(action="lead.merge_undo").changes["kept_newer"][1] == {"title": "CTO"}


def test_merge_needs_both_leads_in_scope(world, twins):
    a, _, _ = twins
    with pytest.raises(NotFound):
        merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=world.lead_rep2.pk)
    with pytest.raises(NotFound):
        merge.lead_merge(membership=world.rep2, survivor_id=world.lead_rep2.pk, other_id=a.pk)
    assert Lead.objects.filter(pk=a.pk).exists() and Lead.objects.filter(pk=world.lead_rep2.pk).exists()


def test_a_rep_merges_away_only_their_own_leads(world):
    pool = world.lead_unassigned
    mine = lead(world.rep1, first_name=pool.first_name, last_name=pool.last_name)
    with pytest.raises(PermissionDenied):
        merge.lead_merge(membership=world.rep1, survivor_id=mine.pk, other_id=pool.pk)
    merge.lead_merge(membership=world.rep1, survivor_id=pool.pk, other_id=mine.pk)
    pool.refresh_from_db()
    assert pool.owner_id == world.rep1.user_id  # the unassigned survivor takes the merged lead's owner


def test_converted_leads_are_kept_not_merged_away(world, twins):
    a, b, _ = twins
    Lead.objects.filter(pk=b.pk).update(status=LeadStatus.CONVERTED)
    with pytest.raises(ValidationError):
        merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    merge.lead_merge(membership=world.rep1, survivor_id=b.pk, other_id=a.pk)
    assert not Lead.objects.filter(pk=a.pk).exists()


def test_bad_choices_are_refused_before_anything_changes(world, twins):
    a, b, _ = twins
    with pytest.raises(ValidationError) as error:
        merge.lead_merge(
            membership=world.rep1, survivor_id=a.pk, other_id=b.pk, choices={"status": "other", "email": "mine"}
        )
    assert set(error.value.fields) == {"status", "email"}
    with pytest.raises(ValidationError):
        merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=a.pk)
    assert Lead.objects.filter(pk=b.pk).exists()


def test_undo_is_for_the_merger_or_a_manager(world, twins):
    a, b, _ = twins
    done = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    with pytest.raises(NotFound):
        merge.merge_undo(membership=world.rep2, merge_id=done.pk)
    merge.merge_undo(membership=world.manager, merge_id=done.pk)
    assert LeadMerge.objects.get(pk=done.pk).undone_by == world.manager.user


def test_chained_merges_undo_in_any_order(world, twins):
    a, b, c = twins
    first = merge.lead_merge(membership=world.rep1, survivor_id=b.pk, other_id=a.pk)  # a into b
    merge.lead_merge(membership=world.rep1, survivor_id=c.pk, other_id=b.pk)  # b (with a inside) into c
    assert LeadMerge.objects.get(pk=first.pk).survivor_id == c.pk  # the first merge followed a's data
    merge.merge_undo(membership=world.rep1, merge_id=first.pk)  # the older one first
    assert Lead.objects.filter(pk=a.pk).exists() and not Lead.objects.filter(pk=b.pk).exists()
    second = LeadMerge.objects.get(merged_id=b.pk)
    merge.merge_undo(membership=world.rep1, merge_id=second.pk)
    assert set(Lead.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("pk", flat=True)) == {a.pk, b.pk, c.pk}


def test_undoing_the_later_merge_first_hands_the_earlier_back(world, twins):
    a, b, c = twins
    first = merge.lead_merge(membership=world.rep1, survivor_id=b.pk, other_id=a.pk)
    second = merge.lead_merge(membership=world.rep1, survivor_id=c.pk, other_id=b.pk)
    merge.merge_undo(membership=world.rep1, merge_id=second.pk)
    assert LeadMerge.objects.get(pk=first.pk).survivor_id == b.pk
    merge.merge_undo(membership=world.rep1, merge_id=first.pk)
    assert Lead.objects.filter(pk=a.pk).exists()


def test_undo_that_would_bring_back_a_lead_out_of_scope_is_404(world):
    kept = lead(world.manager, first_name="Kept", last_name="Lead", email="")
    gone = lead(world.rep2, first_name="Kept", last_name="Lead", email="")
    done = merge.lead_merge(membership=world.admin, survivor_id=kept.pk, other_id=gone.pk)
    with pytest.raises(NotFound):
        merge.merge_undo(membership=world.manager, merge_id=done.pk)  # rep2 is not in the manager's team
    assert not Lead.objects.filter(pk=gone.pk).exists()
    assert LeadMerge.objects.get(pk=done.pk).undone_at is None


def test_undo_brings_back_not_duplicates_decisions(world, twins):
    a, b, c = twins
    scan(world.org)
    pair = DuplicatePair.objects.get(left=a, right=b)
    duplicates.pair_dismiss(membership=world.rep1, pair_id=pair.pk)
    done = merge.lead_merge(membership=world.rep1, survivor_id=c.pk, other_id=b.pk)
    assert not DuplicatePair.objects.filter(left=a, right=b).exists()
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    assert DuplicatePair.objects.get(left=a, right=b).status == PairStatus.DISMISSED


def test_deleting_the_kept_lead_deletes_its_merges_and_their_copies(world, twins):
    a, b, _ = twins
    merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    Lead.objects.filter(pk=a.pk).delete()
    assert not LeadMerge.objects.filter(merged_id=b.pk).exists()


def test_undo_leaves_team_and_agency_empty_when_they_are_gone(world):
    kept = lead(world.rep1, first_name="Vera", last_name="Team", email="")
    gone = lead(world.rep1, first_name="Vera", last_name="Team", email="")
    done = merge.lead_merge(membership=world.rep1, survivor_id=kept.pk, other_id=gone.pk)
    team = f.TeamFactory(organization=world.org, name="Short-lived")
    LeadMerge.objects.filter(pk=done.pk).update(
        merged=done.merged.replace(f'"team": {world.team1.pk}', f'"team": {team.pk}')
    )
    team.delete()
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    assert Lead.objects.get(pk=gone.pk).team_id is None


def test_a_second_scan_waits_while_one_runs(world, twins):
    running = DuplicateScan.objects.create(organization=world.org, status=ScanStatus.RUNNING, started_at=timezone.now())
    waiting = duplicates.scan_request(organization_id=world.org.pk)
    assert duplicates.scan_run(scan_id=waiting.pk) is None
    assert DuplicateScan.objects.get(pk=waiting.pk).status == ScanStatus.QUEUED
    DuplicateScan.objects.filter(pk=running.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    assert duplicates.scan_run(scan_id=waiting.pk).status == ScanStatus.DONE
    assert DuplicateScan.objects.get(pk=running.pk).status == ScanStatus.FAILED  # its worker was gone


def test_merge_copies_are_erased_after_the_keeping_period_and_then_not_undoable(world, twins, settings, client):
    settings.MERGE_UNDO_KEEP_DAYS = 30
    a, b, _ = twins
    b.email, b.title = "ivan@romashka.example", "CEO"
    b.save()
    old = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    assert merge.merge_copies_erase(now=old.created_at + dt.timedelta(days=29)) == 0
    assert merge.merge_copies_erase(now=old.created_at + dt.timedelta(days=31)) == 1
    old.refresh_from_db()
    assert old.erased_at is not None and old.merged == ""
    # The kept lead's values from before are gone; what it holds now (its own data) stays as "after".
    assert old.changes == {"email": [None, "ivan@romashka.example"], "title": [None, "CEO"]}
    with pytest.raises(Conflict, match="older than 30 days"):
        merge.merge_undo(membership=world.rep1, merge_id=old.pk)
    assert not Lead.objects.filter(pk=b.pk).exists()
    entry = Activity.objects.get(lead=a, kind=ActivityKind.MERGE, data__event="merged")
    assert entry.data["expired"] is True
    assert merge.merge_copies_erase(now=old.created_at + dt.timedelta(days=32)) == 0  # once

    client.force_login(world.rep1.user)
    assert "Undo merge" not in client.get(f"/leads/{a.pk}/").content.decode()
    assert "no longer undoable" in client.get("/duplicates/").content.decode()


def test_an_undone_merge_keeps_no_copy(world, twins):
    a, b, _ = twins
    done = merge.lead_merge(membership=world.rep1, survivor_id=a.pk, other_id=b.pk)
    merge.merge_undo(membership=world.rep1, merge_id=done.pk)
    assert merge.merge_copies_erase() == 1
    done.refresh_from_db()
    assert done.merged == "" and done.undone_at is not None
    assert Lead.objects.filter(pk=b.pk).exists()


def test_a_name_alone_is_not_one_person_when_something_tells_them_apart(world):
    """Rare namesakes score high on the name alone; a different company, or both a different email and
    a different phone, rule them out (a shared email or phone, or nothing to the contrary, does not)."""

    def person(**fields):
        return lead(world.rep1, first_name="Zebulon", last_name="Quackenbush", **fields)

    acme = person(company_name="Acme", email="zq@acme.example", phone="")
    globex = person(company_name="Globex", email="zq@globex.example", phone="")
    loose = person(company_name="", email="zebulon@mail.example", phone="+15035550101")
    other = person(company_name="", email="quack@home.example", phone="+15035550199")
    moved = person(company_name="Initech", email="zq@acme.example", phone="")  # changed jobs, kept the email
    bare = person(company_name="Acme Corp", email="", phone="")
    scan(world.org)

    def paired(x, y) -> bool:
        left, right = sorted((x.pk, y.pk))
        return DuplicatePair.objects.filter(left_id=left, right_id=right).exists()

    assert not paired(acme, globex)  # two companies, two emails
    assert not paired(loose, other)  # both the email and the phone differ
    assert paired(acme, moved)  # the same email
    assert paired(acme, bare)  # nothing tells them apart


def test_first_and_last_names_swapped_are_compared(world):
    a = lead(world.rep1, first_name="Anna", last_name="Sidorova", company_name="Vector", email="", phone="")
    b = lead(world.rep1, first_name="Sidorova", last_name="Anna", company_name="Vector", email="", phone="")
    scan(world.org)
    pair = DuplicatePair.objects.get(left=a, right=b)
    assert "same_company" in pair.reasons and pair.score >= 0.5
