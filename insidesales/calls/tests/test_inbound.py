"""Incoming calls: who is calling, where the call goes, the record popping on the rep's screen, and
Twilio's signed voice and dial-result requests."""

from __future__ import annotations

import pytest
from django.test import Client

from insidesales.calls.models import AgentSession, AgentState, Call, Callback, CallerId, CallStatus, ProviderKind
from insidesales.calls.providers.twilio_callbacks import signature_for
from insidesales.calls.secrets import encrypt_credentials
from insidesales.calls.services import agents, campaigns
from insidesales.calls.services.config import telephony_settings
from insidesales.calls.services.inbound import call_inbound_receive, call_inbound_simulate
from insidesales.core.models import LiveEvent
from insidesales.crm.models import Lead

TOKEN = "twilio-auth-token-for-tests"
ACCOUNT = "AC" + "0" * 32


def ready(cw, membership):
    made = campaigns.campaign_create(membership=cw.admin, data={"name": f"Desk {membership.pk}"})
    campaigns.campaign_set_status(membership=cw.admin, campaign_id=made.pk, status="active")
    agents.agent_state_set(membership=membership, state="ready", campaign_id=made.pk)


def receive(cw, number: str, sid: str = "CA100"):
    return call_inbound_receive(
        organization=cw.org, provider="twilio", provider_call_id=sid, from_number=number, to_number="+12125550143"
    )


def test_caller_is_matched_whatever_the_format_and_rings_the_owner(cw, django_capture_on_commit_callbacks):
    lead = cw.lead(by=cw.rep, first_name="Ann", phone="(415) 555-2671", owner_id=cw.rep.user_id)
    ready(cw, cw.rep)
    with django_capture_on_commit_callbacks(execute=True):
        result = receive(cw, "+1 415-555-2671")
    assert result.record == lead and not result.created_lead and result.agent_id == cw.rep.user_id
    session = AgentSession.objects.get(user=cw.rep.user)
    assert session.state == AgentState.ON_CALL and session.current_call == result.call and session.current_lead == lead
    assert result.call.direction == "inbound" and result.call.from_number == "+14155552671"
    # The record pops on the rep's screen: a live event on their topic.
    assert LiveEvent.objects.filter(topic=f"agent:{cw.rep.user_id}", payload__call=result.call.pk).exists()
    # Twilio may repeat its request: the same call, no second one.
    again = receive(cw, "+1 415-555-2671")
    assert again.call == result.call and Call.objects.count() == 1


def test_owner_away_goes_to_a_ready_rep_who_may_see_the_record_else_a_callback(cw):
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    ready(cw, cw.other_rep)  # same team, but may not see the rep's records here
    result = receive(cw, "+14155552671", sid="CA1")
    assert result.agent_id is None
    callback = Callback.objects.get(call=result.call)
    assert callback.lead == lead and callback.assignee_id == cw.rep.user_id
    ready(cw, cw.manager)  # the rep's manager may see it
    result = receive(cw, "+14155552671", sid="CA2")
    assert result.agent_id == cw.manager.user_id


def test_unknown_caller_becomes_a_lead(cw):
    ready(cw, cw.manager)
    result = receive(cw, "+44 20 7946 0958")
    lead = result.record
    assert result.created_lead and isinstance(lead, Lead)
    assert lead.phone == "+442079460958" and lead.source == "inbound_call" and lead.country == "GB"
    assert result.call.lead == lead


def test_simulated_incoming_call_from_the_calls_page(cw):
    ready(cw, cw.rep)
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    result = call_inbound_simulate(membership=cw.rep, from_number="415 555 2671")
    assert result.record == lead and result.call.status == CallStatus.BRIDGED
    from insidesales.calls.services.dialing import call_hangup

    call_hangup(membership=cw.rep, call_id=result.call.pk)
    result.call.refresh_from_db()
    assert result.call.status == CallStatus.COMPLETED
    assert AgentSession.objects.get(user=cw.rep.user).state == AgentState.WRAP_UP


# --- Twilio ---------------------------------------------------------------------------------------


@pytest.fixture
def twilio_org(cw):
    settings = telephony_settings(cw.org.pk)
    settings.provider = ProviderKind.TWILIO
    settings.provider_config = {"account_sid": ACCOUNT, "public_url": "https://crm.example.com"}
    settings.credentials_encrypted = encrypt_credentials({"auth_token": TOKEN})
    settings.save()
    CallerId.objects.create(organization=cw.org, number="+12125550143", is_default=True)
    return cw


def signed_post(path: str, params: dict, *, token: str = TOKEN):
    url = "https://crm.example.com" + path
    return Client().post(path, params, headers={"X-Twilio-Signature": signature_for(url, params, token)})


def test_twilio_incoming_call_rings_the_reps_phone_and_its_result_completes_the_call(twilio_org):
    cw = twilio_org
    lead = cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    ready(cw, cw.rep)
    AgentSession.objects.filter(user=cw.rep.user).update(endpoint="+13125550111")
    params = {
        "AccountSid": ACCOUNT,
        "CallSid": "CA" + "1" * 32,
        "From": "+14155552671",
        "To": "+12125550143",
        "CallStatus": "ringing",
    }
    response = signed_post("/telephony/twilio/voice/", params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    body = response.content.decode()
    assert "<Dial" in body and "<Number>+13125550111</Number>" in body
    call = Call.objects.get(provider_call_id=params["CallSid"])
    assert call.lead == lead and call.agent_id == cw.rep.user_id
    action = body.split('action="')[1].split('"')[0].replace("&amp;", "&")
    path = action.removeprefix("https://crm.example.com")
    done = {
        "AccountSid": ACCOUNT,
        "CallSid": params["CallSid"],
        "DialCallStatus": "completed",
        "DialCallDuration": "95",
    }
    assert signed_post(path, done).status_code == 200
    call.refresh_from_db()
    assert call.status == CallStatus.COMPLETED and call.duration_s == 95
    assert signed_post(path, done).status_code == 409  # the same request again: a replay


def test_twilio_requests_without_a_valid_signature_are_refused_and_change_nothing(twilio_org):
    params = {"AccountSid": ACCOUNT, "CallSid": "CA" + "2" * 32, "From": "+14155552671", "To": "+12125550143"}
    assert Client().post("/telephony/twilio/voice/", params).status_code == 403
    assert signed_post("/telephony/twilio/voice/", params, token="not-the-token").status_code == 403
    assert signed_post("/telephony/twilio/voice/", {**params, "To": "+19995550000"}).status_code == 403
    assert not Call.objects.exists() and not Lead.objects.exists()


def test_twilio_incoming_call_with_nobody_ready_apologises_and_schedules_a_callback(twilio_org):
    cw = twilio_org
    cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    params = {"AccountSid": ACCOUNT, "CallSid": "CA" + "3" * 32, "From": "+14155552671", "To": "+12125550143"}
    body = signed_post("/telephony/twilio/voice/", params).content.decode()
    assert "<Say" in body and "<Hangup" in body and "<Dial" not in body
    assert Callback.objects.filter(call__provider_call_id=params["CallSid"]).exists()


def test_an_existing_customer_calling_pops_their_contact_card(cw):
    from django.test import Client

    from insidesales.crm.models import Contact

    contact = Contact.objects.create(
        organization=cw.org, first_name="Carl", last_name="Customer", phone="+14155550177", owner=cw.rep.user
    )
    ready(cw, cw.rep)
    result = receive(cw, "415-555-0177", sid="CA9")
    assert result.record == contact and result.agent_id == cw.rep.user_id and result.call.contact == contact
    client = Client()
    client.force_login(cw.rep.user)
    page = client.get("/dialer/").content.decode()
    assert "Carl Customer" in page and f"/contacts/{contact.pk}/" in page


def test_a_number_two_organizations_list_goes_to_the_one_whose_twilio_account_called(twilio_org, django_user_model):
    from insidesales.core.testing import factories as f

    cw = twilio_org
    other = f.OrganizationFactory(name="Squatter", slug="squatter", default_region="US")
    CallerId.objects.create(organization=other, number="+12125550143")  # the same number, listed first or not
    other_settings = telephony_settings(other.pk)
    other_settings.provider = ProviderKind.TWILIO
    other_settings.provider_config = {"account_sid": "AC" + "9" * 32, "public_url": "https://crm.example.com"}
    other_settings.credentials_encrypted = encrypt_credentials({"auth_token": "the squatter's token"})
    other_settings.save()
    cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    params = {"AccountSid": ACCOUNT, "CallSid": "CA" + "4" * 32, "From": "+14155552671", "To": "+12125550143"}
    assert signed_post("/telephony/twilio/voice/", params).status_code == 200
    assert Call.objects.get(provider_call_id=params["CallSid"]).organization == cw.org


def test_a_callback_cannot_move_another_organizations_call(twilio_org):
    """A status callback signed with one organization's token, naming another organization's CallSid."""
    from insidesales.calls.providers.twilio_callbacks import signed_callback_url
    from insidesales.calls.webhooks import url_secret
    from insidesales.core.testing import factories as f

    cw = twilio_org
    other = f.OrganizationFactory(name="Victim", slug="victim", default_region="US")
    victim_call = Call.objects.create(
        organization=other, provider="twilio", provider_call_id="CA" + "5" * 32, status="ringing"
    )
    own_call = Call.objects.create(organization=cw.org, provider="twilio", provider_call_id="CA" + "6" * 32)
    import datetime as dt

    from django.utils import timezone

    url = signed_callback_url(
        "https://crm.example.com/telephony/twilio/status/",
        reference=str(own_call.pk),
        expires_at=timezone.now() + dt.timedelta(hours=1),
        url_secret=url_secret(cw.org.pk),
    )
    path = url.removeprefix("https://crm.example.com")
    params = {
        "AccountSid": ACCOUNT,
        "CallSid": victim_call.provider_call_id,
        "CallStatus": "completed",
        "CallDuration": "1",
        "SequenceNumber": "3",
        "RecordingUrl": "javascript:alert(1)",
    }
    assert signed_post(path, params).status_code == 400
    victim_call.refresh_from_db()
    assert victim_call.status == "ringing" and victim_call.recording_url == ""


def test_a_recorded_incoming_twilio_call_tells_the_caller_and_keeps_the_recording(twilio_org):
    cw = twilio_org
    settings = telephony_settings(cw.org.pk)
    settings.recording_enabled = True
    settings.recording_notices = {"US": "This call is recorded."}
    settings.save()
    cw.lead(by=cw.rep, phone="+14155552671", owner_id=cw.rep.user_id)
    ready(cw, cw.rep)
    AgentSession.objects.filter(user=cw.rep.user).update(endpoint="+13125550111")
    params = {"AccountSid": ACCOUNT, "CallSid": "CA" + "8" * 32, "From": "+14155552671", "To": "+12125550143"}
    body = signed_post("/telephony/twilio/voice/", params).content.decode()
    assert body.index("<Say") < body.index("<Dial") and "This call is recorded." in body
    assert 'record="record-from-answer"' in body
    action = body.split('action="')[1].split('"')[0].replace("&amp;", "&").removeprefix("https://crm.example.com")
    done = {
        "AccountSid": ACCOUNT,
        "CallSid": params["CallSid"],
        "DialCallStatus": "completed",
        "DialCallDuration": "42",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1",
    }
    assert signed_post(action, done).status_code == 200
    call = Call.objects.get(provider_call_id=params["CallSid"])
    assert call.recording_url == done["RecordingUrl"] and call.duration_s == 42
