"""Fixtures every app's tests share: the "world" of roles and records, and a few conveniences.

App-specific fixtures live in `<app>/tests/conftest.py`; names here start with `world` or say what they give.
"""

from __future__ import annotations

import pytest

from insidesales.core.testing.world import World, build_world, db_state


@pytest.fixture
def world(db) -> World:
    """Two organizations, every role and records in every corner of visibility (see core/testing/world.py)."""
    return build_world()


@pytest.fixture
def world_pool_hidden(db) -> World:
    """The same world in an organization that hides the unassigned pool from inside reps."""
    return build_world(reps_see_unassigned=False)


@pytest.fixture
def world_db_state():
    """A function returning every domain row, to compare before and after a refused request."""
    return db_state


@pytest.fixture(autouse=True)
def _fresh_directory_cache():
    """Rolled-back test rows reuse ids: nothing remembered by `orgs.directory` may outlive a test."""
    from insidesales.orgs.directory import forget_all

    forget_all()
    yield
    forget_all()
