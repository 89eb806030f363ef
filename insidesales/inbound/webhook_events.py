"""What each webhook event says: plain descriptions of leads, deals, calls, emails and meetings, and the
one-line hooks the services call (`emit_lead`, `emit_deal_won`, ...). The descriptions are built only
when the organization has a subscriber to the event (see `webhook_emit`). The format is documented in
docs/webhooks.md: add fields freely, never rename or remove one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.urls import reverse

from insidesales.inbound.services.webhooks import webhook_emit


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _url(name: str, pk: int) -> str:
    return settings.PUBLIC_URL + reverse(name, args=[pk])


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "email": user.email, "name": user.full_name or user.email}


def _named(obj: Any) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def describe_lead(lead: Any) -> dict[str, Any]:
    return {
        "id": lead.pk,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "name": lead.full_name,
        "title": lead.title,
        "email": lead.email,
        "phone": lead.phone,
        "company": lead.company_name,
        "country": lead.country,
        "source": lead.source,
        "status": lead.status,
        "owner": _person(lead.owner) if lead.owner_id else None,
        "team": _named(lead.team) if lead.team_id else None,
        "agency": _named(lead.agency) if lead.agency_id else None,
        "created_at": _time(lead.created_at),
        "converted": (
            {
                "contact_id": lead.converted_contact_id,
                "company_id": lead.converted_company_id,
                "deal_id": lead.converted_deal_id,
                "at": _time(lead.converted_at),
            }
            if lead.status == "converted"
            else None
        ),
        "url": _url("lead_detail", lead.pk),
    }


def _record_ref(record: Any, kind: str) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"id": record.pk, "name": str(record), "url": _url(f"{kind}_detail", record.pk)}


def describe_deal(deal: Any) -> dict[str, Any]:
    return {
        "id": deal.pk,
        "name": deal.name,
        "amount": f"{deal.amount:.2f}",  # a string: exact, as money must be
        "currency": deal.currency,
        "stage": {"id": deal.stage_id, "name": deal.stage.name, "kind": deal.stage.kind},
        "pipeline": {"id": deal.pipeline_id, "name": deal.pipeline.name},
        "company": _record_ref(deal.company, "company") if deal.company_id else None,
        "contact": _record_ref(deal.contact, "contact") if deal.contact_id else None,
        "owner": _person(deal.owner) if deal.owner_id else None,
        "team": _named(deal.team) if deal.team_id else None,
        "agency": _named(deal.agency) if deal.agency_id else None,
        "closed_at": _time(deal.closed_at),
        "url": _url("deal_detail", deal.pk),
    }


def describe_call(call: Any) -> dict[str, Any]:
    return {
        "id": call.pk,
        "direction": call.direction,
        "status": call.status,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "started_at": _time(call.started_at),
        "answered_at": _time(call.answered_at),
        "ended_at": _time(call.ended_at),
        "duration_seconds": call.duration_s,
        "answered_by": call.answered_by,
        "agent": _person(call.agent) if call.agent_id else None,
        "lead": _record_ref(call.lead, "lead") if call.lead_id else None,
        "contact": _record_ref(call.contact, "contact") if call.contact_id else None,
        "company": _record_ref(call.company, "company") if call.company_id else None,
        "campaign_id": call.campaign_id,
        "url": _url("call_detail", call.pk),
    }


def describe_reply(message: Any) -> dict[str, Any]:
    return {
        "id": message.pk,
        "from": message.from_address,
        "from_name": message.from_name,
        "subject": message.subject,
        "received_at": _time(message.received_at),
        "message_id": message.message_id,
        "in_reply_to": message.in_reply_to,
        "lead": _record_ref(message.lead, "lead") if message.lead_id else None,
        "contact": _record_ref(message.contact, "contact") if message.contact_id else None,
    }


def describe_meeting(activity: Any) -> dict[str, Any]:
    record = {"lead": activity.lead_id, "contact": activity.contact_id, "company": activity.company_id}
    record.update(deal=activity.deal_id)
    kind = next((k for k, v in record.items() if v), None)
    return {
        "id": activity.pk,
        "subject": activity.subject,
        "notes": activity.body,
        "occurred_at": _time(activity.occurred_at),
        "details": activity.data or {},
        "booked_by": _person(activity.actor) if activity.actor_id else None,
        "record": (
            {"type": kind, **_record_ref(getattr(activity, kind), kind)}  # type: ignore[dict-item]
            if kind
            else None
        ),
    }


# --- the hooks -------------------------------------------------------------------------------------------


def emit_lead(event_type: str, lead: Any, **extra: Any) -> None:
    """lead.created / lead.assigned / lead.status_changed, with `extra` (e.g. the previous status)."""
    webhook_emit(
        organization_id=lead.organization_id,
        event_type=event_type,
        data=lambda: {"lead": describe_lead(lead), **extra},
    )


def emit_deal_won(deal: Any) -> None:
    webhook_emit(
        organization_id=deal.organization_id, event_type="deal.won", data=lambda: {"deal": describe_deal(deal)}
    )


def emit_call_completed(call: Any) -> None:
    webhook_emit(
        organization_id=call.organization_id, event_type="call.completed", data=lambda: {"call": describe_call(call)}
    )


def emit_email_replied(message: Any) -> None:
    webhook_emit(
        organization_id=message.organization_id,
        event_type="email.replied",
        data=lambda: {"email": describe_reply(message)},
    )


def emit_meeting_booked(activity: Any) -> None:
    webhook_emit(
        organization_id=activity.organization_id,
        event_type="meeting.booked",
        data=lambda: {"meeting": describe_meeting(activity)},
    )
