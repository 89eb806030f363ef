"""`/emails` (filled in by the email work)."""

from ninja import Router

router = Router(tags=["emails"])
