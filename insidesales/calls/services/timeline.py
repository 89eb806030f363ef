"""A call's entry on the timeline of the lead or contact called: created when the call is placed or
arrives, kept up to date as the provider reports, with the disposition and the rep's note."""

from __future__ import annotations

from django.utils.translation import gettext as _

from insidesales.calls.models import Call, CallDirection
from insidesales.crm.models import Activity, ActivityKind, Company, Contact, Lead


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def call_summary(call: Call) -> dict:
    """What the timeline (and the API) shows of a call."""
    return {
        "call_id": call.pk,
        "direction": call.direction,
        "status": call.status,
        "from": call.from_number,
        "to": call.to_number,
        "provider": call.provider,
        "provider_call_id": call.provider_call_id,
        "started_at": _iso(call.started_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "duration_s": call.duration_s,
        "recording_url": call.recording_url,
        "agent_id": call.agent_id,
        "campaign_id": call.campaign_id,
        "disposition": call.disposition.key if call.disposition_id else "",
        "disposition_label": call.disposition.label if call.disposition_id else "",
        "abandoned": call.abandoned,
    }


def _subject(call: Call) -> str:
    if call.direction == CallDirection.INBOUND:
        return _("Call from %(number)s") % {"number": call.from_number}
    return _("Call to %(number)s") % {"number": call.to_number}


def call_timeline_sync(call: Call) -> Activity | None:
    """Create or refresh the call's timeline entry (no entry for a call not tied to a record)."""
    if not (call.lead_id or call.contact_id or call.company_id):
        return None
    data = call_summary(call)
    if call.activity_id:
        Activity.objects.filter(pk=call.activity_id).update(
            data=data, body=call.note, subject=_subject(call)[:255], actor_id=call.agent_id
        )
        return None
    activity = Activity.objects.create(
        organization_id=call.organization_id,
        kind=ActivityKind.CALL,
        actor_id=call.agent_id,
        occurred_at=call.queued_at,
        subject=_subject(call)[:255],
        body=call.note,
        data=data,
        lead_id=call.lead_id,
        contact_id=call.contact_id,
        company_id=None if (call.lead_id or call.contact_id) else call.company_id,
    )
    Call.objects.filter(pk=call.pk).update(activity=activity)
    call.activity_id = activity.pk
    if call.agent_id and (call.lead_id or call.contact_id):
        from insidesales.inbound.speed import first_touch_record

        first_touch_record(
            lead_ids=[call.lead_id] if call.lead_id else [],
            contact_ids=[call.contact_id] if call.contact_id else [],
            user_id=call.agent_id,
            kind="call",
            at=call.queued_at,
        )
    record_model = Lead if call.lead_id else Contact if call.contact_id else Company
    record_id = call.lead_id or call.contact_id or call.company_id
    record_model.objects.filter(pk=record_id, last_activity_at__lt=call.queued_at).update(
        last_activity_at=call.queued_at
    )
    return activity
