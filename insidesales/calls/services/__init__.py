"""Writes of the calls app: calls and their events, dispositions, do-not-call lists, callbacks, campaigns."""
