"""Spam checks for public forms, without third-party services: a honeypot field, a minimum fill time (a
signed start token issued with the form), the form's own sites as the only cross-site origins, and rate
limits per visitor address and per form. Every refusal is counted; a few per hour are kept for review."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from insidesales.inbound.models import RejectedSample, RejectionCount, RejectReason, WebForm

HONEYPOT = "website"
TOKEN_FIELD = "_t"
TOKEN_SALT = "insidesales.inbound.form-start"
TOKEN_MAX_AGE = 24 * 3600
SAMPLES_PER_HOUR = 20
TOKEN_USES = 5  # a retried post (a timeout, a double click) may come again; a bot replaying it may not
LOCAL_COUNTERS_MAX = 200_000


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str = ""
    retry_after: int = 0


def start_token(form: WebForm) -> str:
    """A token naming this form, the moment it was shown and a one-time nonce (the submission's key)."""
    return signing.dumps(
        {"f": form.pk, "t": round(time.time(), 2), "n": secrets.token_urlsafe(9)}, salt=TOKEN_SALT, compress=False
    )


def read_token(form: WebForm, token: str) -> tuple[float, str] | None:
    """(seconds since the form was shown, nonce), or None if the token is missing, forged or not this form's."""
    if not token:
        return None
    try:
        value = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("f") != form.pk:
        return None
    return time.time() - float(value.get("t", 0)), str(value.get("n", ""))[:20]


def host_allowed(form: WebForm, host: str) -> bool:
    """Is `host` one of the form's sites (the domain itself or a subdomain of it)?"""
    host = (host or "").lower().rstrip(".")
    if not host:
        return False
    for domain in form.allowed_domains or []:
        domain = str(domain).lower().strip().rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def origin_allowed(form: WebForm, origin: str, own_host: str) -> bool:
    """A cross-site post is allowed from the form's sites and from this server's own pages."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.netloc.lower() == (own_host or "").lower():
        return True
    return host_allowed(form, parts.hostname)


_local_counts: dict[str, tuple[int, float]] = {}
_local_lock = threading.Lock()


def _shared_cache() -> bool:
    """Is the cache shared by processes and cheap to write (Redis)? The database cache is not cheap here:
    every count would be a write competing with the submissions' own (SQLite has one writer)."""
    return "DatabaseCache" not in settings.CACHES["default"]["BACKEND"]


def _bump(key: str, ttl: int) -> int:
    """Add one to a counter living `ttl` seconds: in Redis when configured (shared by every process), else
    in this process (the one-process deployment the database cache goes with)."""
    if _shared_cache():
        try:
            return int(cache.incr(key))
        except ValueError:
            if cache.add(key, 1, ttl):
                return 1
            return int(cache.incr(key))
    now = time.monotonic()
    with _local_lock:
        count, expires = _local_counts.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + ttl
            if len(_local_counts) >= LOCAL_COUNTERS_MAX:
                # Full (a flood from many addresses): drop the expired, and if that is not enough the
                # oldest half (dicts keep insertion order) — limits loosen rather than memory growing.
                for stale in [k for k, (_c, e) in _local_counts.items() if e <= now]:
                    del _local_counts[stale]
                if len(_local_counts) >= LOCAL_COUNTERS_MAX:
                    for old_key in list(_local_counts)[: LOCAL_COUNTERS_MAX // 2]:
                        del _local_counts[old_key]
        _local_counts[key] = (count + 1, expires)
        return count + 1


def address_key(ip: str | None) -> str:
    """Whose budget a request spends: its IPv4 address, or its IPv6 /64 (one home or host gets a whole /64,
    so counting single IPv6 addresses would let it rotate freely)."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address) + "/64"
    return str(address)


def over_limits(form: WebForm, ip: str | None, nonce: str = "", now: float | None = None) -> Refusal | None:
    """Count this submission against the address's per-hour budget, then (only if within it) the form's
    per-minute one — so one address over its limit cannot use up the form's budget for everyone. A start
    token sent again and again counts against the address too."""
    now = now or time.time()
    minute, hour = int(now // 60), int(now // 3600)
    who = address_key(ip)
    if who and form.per_ip_per_hour and _bump(f"inb:i:{form.public_key}:{who}:{hour}", 3700) > form.per_ip_per_hour:
        return Refusal(RejectReason.IP_RATE, retry_after=3600 - int(now % 3600))
    if nonce and _bump(f"inb:n:{form.public_key}:{nonce}", TOKEN_MAX_AGE) > TOKEN_USES:
        return Refusal(RejectReason.IP_RATE, detail="start token used too often", retry_after=60)
    if form.per_form_per_minute and _bump(f"inb:f:{form.public_key}:{minute}", 90) > form.per_form_per_minute:
        return Refusal(RejectReason.FORM_RATE, retry_after=60 - int(now % 60))
    return None


def record_refusal(
    form: WebForm, refusal: Refusal, *, ip: str | None, data: dict, now: dt.datetime | None = None
) -> None:
    """Count the refusal (always) and keep it as a sample (the first few of each hour and reason)."""
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    key = {"form_id": form.pk, "hour": hour, "reason": refusal.reason}
    with transaction.atomic():
        updated = RejectionCount.objects.filter(**key).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RejectionCount.objects.create(organization_id=form.organization_id, count=1, **key)
            except IntegrityError:
                RejectionCount.objects.filter(**key).update(count=F("count") + 1)
        count = RejectionCount.objects.filter(**key).values_list("count", flat=True).first() or 0
        if count <= SAMPLES_PER_HOUR:
            RejectedSample.objects.create(
                organization_id=form.organization_id,
                form=form,
                reason=refusal.reason,
                received_at=now,
                ip=ip,
                data={k: str(v)[:500] for k, v in list(data.items())[:40]},
                detail=refusal.detail[:300],
            )
