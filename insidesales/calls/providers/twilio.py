"""The Twilio adapter: places calls through Twilio's REST API and bridges agents through conferences.

Commands are REST requests (`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` to place a call,
`POST .../Calls/{CallSid}.json` to change one); what happens to a call comes back as status
callbacks to our server, verified and parsed in `twilio_callbacks` and fed to the sink by the web
view (`TwilioProvider.handle_callback`).

How a call goes: the customer's call is placed with TwiML that, once answered, puts the customer on
silent hold in a conference of its own; with machine detection, Twilio's verdict follows a few
seconds later as a callback of its own (MACHINE, or ANSWERED with `answered_by` human). Bridging
moves the customer into a conference named after its CallSid and dials the agent (a number or
`client:name`) into the same one; both legs end the conference when they leave, so either side
hanging up ends the call. Bridging needs only the CallSid (and, for the BRIDGED event to
name our call, its reference), so any process can bridge a call another process placed.

We speak HTTP with the standard library (urllib in a worker thread) rather than the `twilio`
package: four form POSTs do not justify its dependencies (aiohttp, requests, PyJWT), and its
clients are built around api.twilio.com's host names, while tests point us at a local server.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import math
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from insidesales.calls.providers.base import AgentEndpoint, EventSink, OriginateRequest, ProviderError, ProviderEvent
from insidesales.calls.providers.twilio_callbacks import (
    AGENT_LEG,
    PROVIDER_NAME,
    Params,
    ReplayGuard,
    check_callback,
    signed_callback_url,
)

API_VERSION = "2010-04-01"
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
# Twilio ends a call after TimeLimit seconds; 4 hours is also its default.
MAX_CALL_SECONDS = 4 * 3600
# Callback URLs stay valid for the longest call plus this margin (late or delayed callbacks).
CALLBACK_MARGIN = dt.timedelta(hours=1)
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
REMEMBERED_REFERENCES = 10_000  # far more calls than one worker has in progress


class TwilioApiError(ProviderError):
    """Twilio answered with an error: its HTTP status, error code, message and documentation link."""

    def __init__(self, status: int, code: int | None, message: str, more_info: str = "") -> None:
        prefix = f"Twilio error {code} (HTTP {status})" if code else f"Twilio HTTP {status}"
        super().__init__(f"{prefix}: {message}")
        self.status = status
        self.code = code
        self.twilio_message = message
        self.more_info = more_info


# -- TwiML ------------------------------------------------------------------------------------------


def _twiml(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def conference_twiml(name: str, *, starts: bool, wait_url: str = "", notice: str = "", language: str = "") -> str:
    """Join conference `name`. The customer waits (`starts` False: held in silence, or `wait_url`'s
    music, until the agent arrives); the agent starts it. Either leaving ends it. `notice` (the
    recording notice) is said first."""
    response = ET.Element("Response")
    if notice:
        say = ET.SubElement(response, "Say", {"language": language} if language else {})
        say.text = notice
    dial = ET.SubElement(response, "Dial")
    attributes = {
        "startConferenceOnEnter": "true" if starts else "false",
        "endConferenceOnExit": "true",
        "beep": "false",
    }
    if not starts:
        attributes["waitUrl"] = wait_url
    conference = ET.SubElement(dial, "Conference", attributes)
    conference.text = name
    return _twiml(response)


def say_then_hangup_twiml(message: str, *, language: str) -> str:
    response = ET.Element("Response")
    say = ET.SubElement(response, "Say", {"language": language} if language else {})
    say.text = message
    ET.SubElement(response, "Hangup")
    return _twiml(response)


def hold_conference_name(reference: str) -> str:
    return f"insidesales-hold-{reference}"


def bridge_conference_name(call_sid: str) -> str:
    return f"insidesales-{call_sid}"


# -- the adapter ------------------------------------------------------------------------------------


class TwilioProvider:
    """A `Provider` on a Twilio account.

    `public_base_url` is where Twilio reaches our server (https in production); `callback_path` the
    status callback view under it. `url_secret` signs our callback URLs. `agent_caller_id` is the
    number shown to agents we dial (one of the account's numbers). `opener` and `clock` are for
    tests."""

    name = PROVIDER_NAME

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_base_url: str,
        url_secret: str,
        sink: EventSink,
        api_base: str = "https://api.twilio.com",
        callback_path: str = "/telephony/twilio/status/",
        agent_caller_id: str = "",
        agent_ring_timeout_s: float = 20.0,
        say_language: str = "en-US",
        hold_wait_url: str = "",
        max_call_s: int = MAX_CALL_SECONDS,
        http_timeout_s: float = 10.0,
        opener: urllib.request.OpenerDirector | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self._url_secret = url_secret
        self._sink = sink
        self._api_base = api_base.rstrip("/")
        self._callback_base = public_base_url.rstrip("/") + callback_path
        self._agent_caller_id = agent_caller_id
        self._agent_ring_timeout_s = agent_ring_timeout_s
        self._say_language = say_language
        self._hold_wait_url = hold_wait_url
        self._max_call_s = max_call_s
        self._http_timeout_s = http_timeout_s
        self._opener = opener or urllib.request.build_opener()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._authorization = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._closed = False
        self._references: dict[str, str] = {}  # CallSid -> our reference, for the calls placed here

    # -- commands ---------------------------------------------------------------------------------

    async def originate(self, request: OriginateRequest) -> str:
        callback = self._callback_url(reference=request.reference, ring_s=request.ring_timeout_s)
        hold = conference_twiml(
            hold_conference_name(request.reference),
            starts=False,
            wait_url=self._hold_wait_url,
            notice=request.notice,
            language=self._say_language,
        )
        fields: list[tuple[str, str]] = [
            ("To", request.to),
            ("From", request.caller_id),
            ("Twiml", hold),
            ("StatusCallback", callback),
            ("StatusCallbackMethod", "POST"),
            *(("StatusCallbackEvent", event) for event in STATUS_EVENTS),
            ("Timeout", str(max(1, math.ceil(request.ring_timeout_s)))),
            ("TimeLimit", str(self._max_call_s)),
        ]
        if request.record:
            fields += [
                ("Record", "true"),
                ("RecordingStatusCallback", callback),
                ("RecordingStatusCallbackMethod", "POST"),
            ]
        if request.detect_machine:
            # Asynchronous, so the verdict comes to our callback URL (synchronous detection reports it
            # only to a TwiML Url, and we hand Twilio the TwiML itself).
            fields += [
                ("MachineDetection", "Enable"),
                ("AsyncAmd", "true"),
                ("AsyncAmdStatusCallback", callback),
                ("AsyncAmdStatusCallbackMethod", "POST"),
            ]
        call = await self._post(self._calls_path(), fields)
        sid = call.get("sid")
        if not isinstance(sid, str) or not sid:
            raise ProviderError("Twilio accepted the call but returned no CallSid")
        self._references[sid] = request.reference
        while len(self._references) > REMEMBERED_REFERENCES:
            self._references.pop(next(iter(self._references)))
        return sid

    async def cancel(self, provider_call_id: str) -> None:
        await self._post(self._calls_path(provider_call_id), [("Status", "canceled")])

    async def hangup(self, provider_call_id: str) -> None:
        await self._post(self._calls_path(provider_call_id), [("Status", "completed")])

    async def bridge(self, provider_call_id: str, agent: AgentEndpoint, *, reference: str | None = None) -> None:
        """Move the customer into the call's bridge conference, then dial the agent into it. The
        agent's answer comes back as a BRIDGED event for the customer's call, carrying `reference`
        (by default the one this provider placed the call with; pass it when another process did)."""
        if reference is None:
            reference = self._references.get(provider_call_id, "")
        if not self._agent_caller_id:
            raise ProviderError("set agent_caller_id (one of the account's numbers) to dial agents")
        conference = bridge_conference_name(provider_call_id)
        customer_twiml = conference_twiml(conference, starts=False, wait_url=self._hold_wait_url)
        await self._post(self._calls_path(provider_call_id), [("Twiml", customer_twiml)])
        agent_fields = [
            ("To", agent.address),
            ("From", self._agent_caller_id),
            ("Twiml", conference_twiml(conference, starts=True)),
            ("StatusCallback", self._callback_url(reference=reference, agent_for=provider_call_id)),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "answered"),
            ("Timeout", str(max(1, math.ceil(self._agent_ring_timeout_s)))),
            ("TimeLimit", str(self._max_call_s)),
        ]
        await self._post(self._calls_path(), agent_fields)

    async def play(self, provider_call_id: str, message: str, *, language: str | None = None) -> None:
        twiml = say_then_hangup_twiml(message, language=self._say_language if language is None else language)
        await self._post(self._calls_path(provider_call_id), [("Twiml", twiml)])

    async def close(self) -> None:
        # urllib keeps no connections open between requests; refuse further commands all the same.
        self._closed = True

    # -- events -----------------------------------------------------------------------------------

    async def handle_callback(
        self,
        *,
        url: str,
        params: Params,
        headers: Mapping[str, str],
        replay_guard: ReplayGuard,
        now: dt.datetime | None = None,
    ) -> ProviderEvent | None:
        """Verify one status callback (raising `CallbackRejected`), hand its event to the sink and
        return it. See `twilio_callbacks.check_callback` for `url` and the transaction to run in."""
        event = check_callback(
            url,
            params,
            headers,
            auth_token=self._auth_token,
            url_secret=self._url_secret,
            now=now or self._clock(),
            replay_guard=replay_guard,
        )
        if event is not None:
            await self._sink(event)
        return event

    # -- plumbing ---------------------------------------------------------------------------------

    def _callback_url(self, *, reference: str, ring_s: float = 0.0, agent_for: str | None = None) -> str:
        expires_at = self._clock() + dt.timedelta(seconds=ring_s + self._max_call_s) + CALLBACK_MARGIN
        return signed_callback_url(
            self._callback_base,
            reference=reference,
            expires_at=expires_at,
            url_secret=self._url_secret,
            leg=AGENT_LEG if agent_for else None,
            bridged_call=agent_for,
        )

    def _calls_path(self, call_sid: str | None = None) -> str:
        account = quote(self.account_sid, safe="")
        if call_sid is None:
            return f"/{API_VERSION}/Accounts/{account}/Calls.json"
        if not CALL_SID.match(call_sid):
            raise ProviderError(f"{call_sid!r} is not a Twilio CallSid")
        return f"/{API_VERSION}/Accounts/{account}/Calls/{call_sid}.json"

    async def _post(self, path: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        if self._closed:
            raise ProviderError("the Twilio provider is closed")
        return await asyncio.to_thread(self._post_blocking, path, fields)

    def _post_blocking(self, path: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        request = urllib.request.Request(
            self._api_base + path,
            data=urlencode(fields).encode(),
            method="POST",
            headers={
                "Authorization": self._authorization,
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "User-Agent": "insidesales-twilio",
            },
        )
        try:
            with self._opener.open(request, timeout=self._http_timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ProviderError(f"Twilio could not be reached: {getattr(error, 'reason', error)}") from error
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            raise ProviderError("Twilio answered with something that is not JSON") from None
        return parsed if isinstance(parsed, dict) else {}


def _api_error(status: int, body: bytes) -> TwilioApiError:
    """Twilio's error JSON: {"code": 21211, "message": "...", "more_info": "...", "status": 400}."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return TwilioApiError(status, None, body.decode(errors="replace")[:200] or "no details")
    code = payload.get("code")
    return TwilioApiError(
        status,
        code if isinstance(code, int) else None,
        str(payload.get("message") or payload.get("detail") or "no details"),
        str(payload.get("more_info") or ""),
    )
