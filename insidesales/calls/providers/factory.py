"""The provider an organization's settings describe, built for the dialer worker.

Settings are read (and secrets decrypted) once per organization and kept until what the adapter is
built from changes (`provider_version`); the simulated carrier is one shared instance (it has no account)."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from insidesales.calls.models import ProviderKind, TelephonySettings
from insidesales.calls.providers.base import EventSink, Provider, ProviderError
from insidesales.calls.secrets import CredentialsUnreadable, decrypt_credentials

if TYPE_CHECKING:
    from insidesales.calls.providers.sip.incoming import IncomingHandler


def provider_version(settings: TelephonySettings) -> str:
    """What an adapter is built from: when it changes, the worker builds a new one (other settings, such as
    calling windows, change nothing for calls in progress)."""
    import hashlib
    import json

    try:
        secrets = decrypt_credentials(settings.credentials_encrypted)
    except CredentialsUnreadable:
        secrets = {"unreadable": settings.credentials_encrypted}
    # The secrets themselves, not their ciphertext: re-encrypting them with a new key changes nothing here.
    described = json.dumps([settings.provider, settings.provider_config, secrets], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()


def build_provider(
    settings: TelephonySettings, sink: EventSink, *, on_incoming: IncomingHandler | None = None
) -> Provider:
    """A new adapter for `settings` (SIP or Twilio). ProviderError when the settings are incomplete.
    `on_incoming` routes the calls a SIP trunk sends (Twilio's come over HTTP, see webhooks.py)."""
    config = settings.provider_config or {}
    try:
        secrets = decrypt_credentials(settings.credentials_encrypted)
    except CredentialsUnreadable as exc:
        raise ProviderError(str(exc)) from exc
    if settings.provider == ProviderKind.SIP:
        from insidesales.calls.providers.sip.provider import SipProvider

        host = config.get("trunk_host")
        if not host or not config.get("from_domain"):
            raise ProviderError("the SIP trunk is not configured (host and domain)")
        try:
            address = socket.gethostbyname(host)
        except OSError as exc:
            raise ProviderError(f"cannot resolve the SIP trunk {host}: {exc}") from exc
        return SipProvider(
            trunk=(address, int(config.get("trunk_port") or 5060)),
            sink=sink,
            from_domain=config["from_domain"],
            bind=(config.get("bind_host") or "0.0.0.0", int(config.get("bind_port") or 5060)),
            username=config.get("sip_username", ""),
            password=secrets.get("sip_password", ""),
            announcement_uri=config.get("announcement_uri", ""),
            on_incoming=on_incoming,
        )
    if settings.provider == ProviderKind.TWILIO:
        from insidesales.calls.providers.twilio import TwilioProvider
        from insidesales.calls.webhooks import url_secret

        if not config.get("account_sid") or not secrets.get("auth_token") or not config.get("public_url"):
            raise ProviderError("Twilio is not configured (Account SID, Auth Token and this server's public URL)")
        from insidesales.calls.models import CallerId

        default = (
            CallerId.objects.filter(organization_id=settings.organization_id).order_by("-is_default", "id").first()
        )
        return TwilioProvider(
            agent_caller_id=default.number if default else "",
            account_sid=config["account_sid"],
            auth_token=secrets["auth_token"],
            public_base_url=config["public_url"],
            url_secret=url_secret(settings.organization_id),
            sink=sink,
        )
    raise ProviderError(f"{settings.provider} is not a provider with an account")
