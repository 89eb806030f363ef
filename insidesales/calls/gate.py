"""The one check every outbound call passes before it leaves: the do-not-call lists and the callee's
calling window (`calls.compliance`). Click-to-call, preview, power and predictive dialing all call
`outbound_refusal`; a refusal carries a reason code, a message for the rep, and when the window opens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import phonenumbers

from insidesales.calls import compliance
from insidesales.calls.services.dnc import blocked_numbers


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    next_allowed_at: dt.datetime | None = None

    @property
    def next_iso(self) -> str | None:
        return self.next_allowed_at.isoformat() if self.next_allowed_at else None


def outbound_refusal(
    *,
    organization_id: int,
    rules: dict,
    number: str,
    country: str,
    time_zone: str,
    campaign_id: int | None,
    now: dt.datetime,
    dnc: set[str] | None = None,
) -> Refusal | None:
    """None when the call may be placed now; else why not. `dnc`: the blocked numbers, when the caller
    has looked a batch up already."""
    blocked = dnc if dnc is not None else blocked_numbers(organization_id, campaign_id, [number])
    decision = compliance.check_call(
        lead_phone=number,
        lead_country=country,
        lead_time_zone=time_zone,
        now_utc=now,
        rules=compliance.WindowRules.from_json(rules or {}),
        dnc=blocked,
    )
    if decision.allowed:
        return None
    return Refusal(str(decision.reason), str(decision.message), decision.next_allowed_at)


def local_presence(to_number: str, owned: list[tuple[str, str]]) -> str | None:
    """A number of ours whose region matches the callee's: "US-415" (country and national prefix) first,
    then the country alone ("US")."""
    try:
        parsed = phonenumbers.parse(to_number, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed) or ""
    national = phonenumbers.national_significant_number(parsed)
    best: tuple[int, str] | None = None
    for number, wanted in owned:
        wanted = (wanted or "").upper().strip()
        if not wanted:
            continue
        country, _, prefix = wanted.partition("-")
        if country != region or (prefix and not national.startswith(prefix)):
            continue
        score = len(prefix)
        if best is None or score > best[0]:
            best = (score, number)
    return best[1] if best else None
