"""The web server's garbage collection: between requests, not in the middle of them.

CPython collects its young generation every 700 net allocations of container objects. A list page
allocates several times that, so collections ran inside requests, and each one walked everything the
request still held (the page's rows, the template context): measured on the 1,000,000-lead list page,
~1.6 ms of collector time per request on average, a middle-generation collection of up to 13 ms in one
request of ten, and a full collection of the whole heap (~150,000 objects, most of them the code and
data loaded at start) of 140–190 ms every few hundred requests.

With `BetweenRequests` installed by the server process:

- what exists once the application is loaded (modules, URL patterns, templates, phone metadata) is
  moved out of the collector's sight (`gc.freeze()`): it lives as long as the process anyway;
- the automatic young-generation threshold is raised to `YOUNG_THRESHOLD`, so an ordinary request is
  not interrupted; a request that allocates more than that (an export, an import preview) still gets
  the automatic collections, so memory stays bounded whatever a request does;
- when the last request in flight has been answered, the collector runs on what is left: the
  request's objects are gone by then (reference counting), so a young collection takes a few tenths of
  a millisecond and happens after the client has its response. Every `MIDDLE_EVERY`-th such pause
  collects the middle generation too and every `FULL_EVERY`-th the whole (unfrozen) heap, which is
  what CPython's own thresholds would have done, only at quiet moments.

A server that is never idle (requests always overlapping) falls back to the automatic thresholds.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

YOUNG_THRESHOLD = 50_000
MIDDLE_EVERY = 10
FULL_EVERY = 1_000


@dataclass
class BetweenRequests:
    """Counts the requests in flight and collects when none is left. Used from the event loop's thread
    only (the ASGI application), so the counters need no lock."""

    in_flight: int = 0
    pauses: int = 0
    installed: bool = False

    def install(self) -> None:
        """Freeze what is loaded and raise the young threshold; once per process."""
        if self.installed:
            return
        gc.collect()  # what start-up left as garbage is freed, not frozen
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
        self.installed = True

    def started(self) -> None:
        self.in_flight += 1

    def finished(self, *, install: bool = False) -> int | None:
        """A response has been sent; collects when no other request is in flight (installing first
        when `install` and not yet installed). Returns the generation collected (None when others
        are still being served or the policy is not installed)."""
        self.in_flight -= 1
        if self.in_flight:
            return None
        if not self.installed:
            if not install:
                return None
            # Only now: freezing while other requests are being served would make their objects
            # (and any cycles among them) permanent.
            self.install()
        self.pauses += 1
        generation = 2 if self.pauses % FULL_EVERY == 0 else 1 if self.pauses % MIDDLE_EVERY == 0 else 0
        gc.collect(generation)
        return generation
