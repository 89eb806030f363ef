"""The `sip` adapter: SIP signalling to a trunk or PBX over UDP (see provider.py and docs/telephony.md)."""

from .endpoint import SipTimers
from .message import SipParseError
from .provider import SipProvider

__all__ = ["SipParseError", "SipProvider", "SipTimers"]
