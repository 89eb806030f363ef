"""Per-key rate limits: a fixed one-minute window, 429 with Retry-After, headers on every answer."""

from __future__ import annotations

import pytest

from insidesales.api import ratelimit
from insidesales.api.tests.conftest import assert_problem


@pytest.fixture
def frozen_clock(monkeypatch):
    """Stop time 45 seconds into a window, so the test never straddles two windows."""
    now = [1_800_000_000.0 + 45]
    monkeypatch.setattr(ratelimit, "clock", lambda: now[0])
    return now


def test_over_the_limit_is_a_429_with_retry_after(admin_api, settings, frozen_clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    answers = [admin_api.get("/me") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    refused = admin_api.get("/me")
    assert_problem(refused, 429, "rate_limited")
    assert refused["Retry-After"] == "15"
    assert refused["X-RateLimit-Limit"] == "3"


def test_the_next_window_starts_afresh(admin_api, settings, frozen_clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    assert admin_api.get("/me").status_code == 200
    assert admin_api.get("/me").status_code == 429
    frozen_clock[0] += 20
    assert admin_api.get("/me").status_code == 200


def test_each_key_has_its_own_budget(world, api_as, settings, frozen_clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    first, second = api_as(world.rep1), api_as(world.rep1)
    assert first.get("/me").status_code == 200
    assert first.get("/me").status_code == 429
    assert second.get("/me").status_code == 200


def test_headers_are_on_errors_too(admin_api, frozen_clock):
    response = admin_api.get("/leads/424242")
    assert response.status_code == 404
    assert response["X-RateLimit-Limit"] == "600"
    assert response["X-RateLimit-Remaining"] == "599"


def test_zero_switches_limits_off(admin_api, settings, frozen_clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    assert all(admin_api.get("/me").status_code == 200 for _ in range(5))
