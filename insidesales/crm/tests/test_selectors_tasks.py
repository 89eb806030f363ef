"""Task selectors: "today" is today in the user's own time zone, whatever zone the request activated."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from insidesales.core.testing import factories as f
from insidesales.crm import selectors

pytestmark = pytest.mark.django_db


def _end_of_today(zone_name: str) -> dt.datetime:
    now = timezone.now().astimezone(zoneinfo.ZoneInfo(zone_name))
    return now.replace(hour=23, minute=59, second=59, microsecond=0)


@pytest.mark.parametrize("zone_name", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Vladivostok", "UTC"])
@pytest.mark.parametrize("active_zone", ["UTC", "America/Los_Angeles"])
def test_tasks_today_ends_at_midnight_in_the_users_zone(world, zone_name, active_zone):
    user = world.rep1.user
    user.time_zone = zone_name
    user.save()
    world.refresh()
    end = _end_of_today(zone_name)
    make = lambda title, due: f.TaskFactory(organization=world.org, assignee=user, title=title, due_at=due)  # noqa: E731
    tonight = make("tonight", end - dt.timedelta(minutes=1))
    tomorrow = make("tomorrow", end + dt.timedelta(minutes=2))
    overdue = make("overdue", end - dt.timedelta(days=3))
    make("no due date", None)
    done = make("done", end - dt.timedelta(hours=1))
    done.completed_at = timezone.now()
    done.save()
    with timezone.override(zoneinfo.ZoneInfo(active_zone)):
        titles = [t.title for t in selectors.tasks_today(membership=world.rep1)]
    assert tomorrow.title not in titles
    # Overdue first; the world's own task (due in an hour) may fall on either side of midnight.
    assert titles[0] == overdue.title
    assert tonight.title in titles
    assert "no due date" not in titles and "done" not in titles


def test_tasks_today_shows_only_my_tasks(world):
    titles = {t.title for t in selectors.tasks_today(membership=world.manager)}
    assert "Call Rep1" not in titles  # a team member's task is on their list, not the manager's "today"


def test_task_list_pages_in_due_order(world):
    user = world.rep2.user
    start = timezone.now()
    for i in range(7):
        f.TaskFactory(organization=world.org, assignee=user, title=f"t{i}", due_at=start + dt.timedelta(hours=i % 3))
    seen = []
    cursor = None
    while True:
        page = selectors.task_list(membership=world.rep2, cursor=cursor, limit=3)
        seen += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len({t.pk for t in seen}) == 8
    assert [t.due_at for t in seen] == sorted(t.due_at for t in seen)
