"""A local stand-in for Twilio's Calls REST API, built from Twilio's documented formats.

It listens on 127.0.0.1 (a free port) and answers the two requests the adapter makes:
`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (create, 201 with the Call resource as JSON)
and `POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` (update, 200). It checks HTTP
Basic auth (Account SID and Auth Token) and the To number, and answers errors the way Twilio
documents them: JSON with `code`, `message`, `more_info` and `status`
(https://www.twilio.com/docs/usage/twilios-response, https://www.twilio.com/docs/api/errors).
Every request is recorded, form fields in order, so tests assert exactly what was sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

_CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls(?:/(?P<call>[^/]+))?\.json$")
# E.164, a Twilio Client identity or a SIP URI (https://www.twilio.com/docs/voice/api/call-resource).
_VALID_TO = re.compile(r"^(\+[1-9]\d{1,14}|client:[A-Za-z0-9_.-]+|sip:\S+)$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.form if key == name]

    def value(self, name: str) -> str:
        (value,) = self.values(name)
        return value


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[RecordedRequest] = field(default_factory=list)
    calls: dict[str, dict] = field(default_factory=dict)
    url: str = ""

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the name http.server looks for)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
                fake.requests.append(RecordedRequest("POST", self.path, dict(self.headers.items()), form))
                status, payload = fake.handle(self.path, self.headers.get("Authorization", ""), form)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- Twilio's behaviour -------------------------------------------------------------------------

    def handle(self, path: str, authorization: str, form: list[tuple[str, str]]) -> tuple[int, dict]:
        match = _CALLS.match(path.split("?", 1)[0])
        if match is None:
            return _error(404, 20404, f"The requested resource {path} was not found")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != expected or match["account"] != self.account_sid:
            return _error(401, 20003, "Authenticate", detail="Your AccountSid or AuthToken was incorrect.")
        fields = dict(form)
        if match["call"] is None:
            return self._create(fields, path)
        return self._update(match["call"], fields, path)

    def _create(self, fields: dict[str, str], path: str) -> tuple[int, dict]:
        to = fields.get("To", "")
        if not to:
            return _error(400, 21201, "No 'To' number is specified")
        if not _VALID_TO.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not fields.get("From"):
            return _error(400, 21213, "No 'From' number is specified")
        sid = "CA" + secrets.token_hex(16)
        now = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        self.calls[sid] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": fields["From"],
            "status": "queued",
            "direction": "outbound-api",
            "answered_by": None,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "parent_call_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        return 201, self.calls[sid]

    def _update(self, sid: str, fields: dict[str, str], path: str) -> tuple[int, dict]:
        call = self.calls.get(sid)
        if call is None:
            return _error(404, 20404, f"The requested resource {path} was not found")
        if "Status" in fields:
            call["status"] = fields["Status"]
        return 200, call


def _error(status: int, code: int, message: str, *, detail: str = "") -> tuple[int, dict]:
    payload: dict = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    if detail:
        payload["detail"] = detail
    payload["status"] = status
    return status, payload
