"""Response deadlines (speed to lead): when a rule's first-touch deadline falls."""

from __future__ import annotations

import datetime as dt

from insidesales.inbound.models import RoutingRule
from insidesales.orgs.models import Organization


def deadline(rule: RoutingRule, organization: Organization, start: dt.datetime) -> dt.datetime:
    """`rule.sla_minutes` after `start`."""
    return start + dt.timedelta(minutes=rule.sla_minutes or 0)
