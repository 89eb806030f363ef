"""Login throttling: too many failures for an account (or from an address) block further tries for a while."""

from __future__ import annotations

import pytest

from insidesales.orgs.services import login_is_throttled, login_record_failure, login_record_success

pytestmark = pytest.mark.django_db  # the cache is the database cache


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_THROTTLE_PER_ACCOUNT = 3
    settings.LOGIN_THROTTLE_PER_IP = 5
    settings.LOGIN_THROTTLE_WINDOW = 3600
    from django.core.cache import cache

    cache.clear()


def test_account_is_throttled_after_the_allowed_failures():
    for _ in range(2):
        login_record_failure(email="ann@x.test", ip="10.0.0.1")
        assert not login_is_throttled(email="ann@x.test", ip="10.0.0.1")
    login_record_failure(email="ann@x.test", ip="10.0.0.1")
    assert login_is_throttled(email="ann@x.test", ip="10.0.0.1")
    assert login_is_throttled(email="ANN@x.test", ip="10.0.0.1")  # emails compare case-insensitively
    # Another account from the same address is not yet blocked.
    assert not login_is_throttled(email="bob@x.test", ip="10.0.0.1")


def test_an_address_is_throttled_across_accounts():
    for i in range(5):
        login_record_failure(email=f"user{i}@x.test", ip="10.0.0.2")
    assert login_is_throttled(email="fresh@x.test", ip="10.0.0.2")
    assert not login_is_throttled(email="fresh@x.test", ip="10.0.0.3")


def test_success_clears_the_account_counter_but_not_the_address_counter():
    for _ in range(3):
        login_record_failure(email="ann@x.test", ip="10.0.0.4")
    assert login_is_throttled(email="ann@x.test", ip="10.0.0.4")
    login_record_success(email="ann@x.test", ip="10.0.0.4")
    assert not login_is_throttled(email="ann@x.test", ip="10.0.0.4")
    for i in range(2):
        login_record_failure(email=f"other{i}@x.test", ip="10.0.0.4")
    assert login_is_throttled(email="ann@x.test", ip="10.0.0.4")  # 5 failures from this address


def test_counters_expire_with_the_window(settings):
    # The database cache's `incr` resets a key's expiry to the default; the window must end regardless.
    import time

    settings.LOGIN_THROTTLE_WINDOW = 1
    time.sleep(1.02 - time.time() % 1)  # start right after a window begins, so all failures share it
    for _ in range(3):
        login_record_failure(email="ann@x.test", ip="10.0.0.5")
    assert login_is_throttled(email="ann@x.test", ip="10.0.0.5")
    time.sleep(1.2)
    assert not login_is_throttled(email="ann@x.test", ip="10.0.0.5")
