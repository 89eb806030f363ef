"""Recurring background work without a separate scheduler: each run queues the next one.

The worker calls `schedule_next` for every recurring task when it starts, and each run calls it again
at its end; a run already waiting means nothing is queued, so restarts never start a second chain.
This needs the database task backend (whose waiting tasks can be seen); with another backend nothing
is queued and False is returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def schedule_next(task: Any, every: dt.timedelta) -> bool:
    """Queue `task` to run `every` from now unless a run of it is already waiting."""
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(task.get_backend(), DatabaseBackend):
        return False
    if DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY).exists():
        return False
    task.using(run_after=timezone.now() + every).enqueue()
    return True
