"""The SQLite connection pool: a request's connection is reused by the next one, in a clean state."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.db.utils import ConnectionHandler

from insidesales.core.db.sqlite3.base import clear_pools, idle_connections


@pytest.fixture(autouse=True)
def own_connections(django_db_blocker):
    """These tests open their own connections to their own files, not the test database."""
    with django_db_blocker.unblock():
        yield
    clear_pools()


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "pool.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        setup.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))")
    return path


def wrapper(path, alias="pooltest", pool=2):
    """A fresh Django connection object for the file (as each ASGI request thread gets one)."""
    handler = ConnectionHandler(
        {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            alias: {
                "ENGINE": "insidesales.core.db.sqlite3",
                "NAME": str(path),
                "OPTIONS": {"pool": pool, "init_command": "PRAGMA busy_timeout=5000; PRAGMA cache_size=-2048"},
            },
        }
    )
    return handler[alias]


def test_a_closed_connection_is_reused_by_the_next_request(database):
    first = wrapper(database)
    first.ensure_connection()
    raw = first.connection
    first.close()
    assert idle_connections("pooltest", str(database)) == 1

    second = wrapper(database)
    second.ensure_connection()
    assert second.connection is raw
    assert idle_connections("pooltest", str(database)) == 0
    with second.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parent")
        assert cursor.fetchone() == (0,)
    second.close()


def test_a_connection_from_another_thread_is_reused(database):
    """Under ASGI each request runs in its own thread: the pool hands connections across threads."""
    raws = []

    def request():
        conn = wrapper(database)
        conn.ensure_connection()
        raws.append(conn.connection)
        conn.close()

    for _ in range(3):
        thread = threading.Thread(target=request)
        thread.start()
        thread.join()
    assert raws[0] is raws[1] is raws[2]


def test_an_open_transaction_is_rolled_back_before_reuse(database):
    conn = wrapper(database)
    conn.ensure_connection()
    raw = conn.connection
    raw.execute("BEGIN")
    raw.execute("INSERT INTO parent (id) VALUES (1)")
    assert raw.in_transaction
    conn.close()

    assert not raw.in_transaction
    with sqlite3.connect(database) as check:
        assert check.execute("SELECT count(*) FROM parent").fetchone() == (0,)


def test_connection_settings_are_applied_again_on_reuse(database):
    """A command that switched foreign keys off must not pass that on to the next request."""
    conn = wrapper(database)
    conn.ensure_connection()
    conn.connection.execute("PRAGMA foreign_keys = OFF")
    conn.connection.execute("PRAGMA busy_timeout = 1")
    conn.close()

    again = wrapper(database)
    again.ensure_connection()
    assert again.connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert again.connection.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    with pytest.raises(Exception, match="FOREIGN KEY"), again.cursor() as cursor:
        cursor.execute("INSERT INTO child (id, parent_id) VALUES (1, 42)")
    again.close()


def test_the_pool_keeps_at_most_its_size_and_closes_the_rest(database):
    conns = [wrapper(database, pool=1) for _ in range(2)]
    for conn in conns:
        conn.ensure_connection()
    raws = [conn.connection for conn in conns]
    for conn in conns:
        conn.close()
    assert idle_connections("pooltest", str(database)) == 1
    raws[0].execute("SELECT 1")  # kept
    with pytest.raises(sqlite3.ProgrammingError):
        raws[1].execute("SELECT 1")  # closed


def test_pool_size_zero_turns_pooling_off(database):
    conn = wrapper(database, pool=0)
    conn.ensure_connection()
    raw = conn.connection
    conn.close()
    assert idle_connections("pooltest", str(database)) == 0
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")


def test_in_memory_databases_are_never_pooled():
    conn = wrapper(":memory:")
    conn.ensure_connection()
    conn.close()
    assert idle_connections("pooltest", ":memory:") == 0


def test_a_connection_closed_inside_atomic_is_not_pooled(database):
    """Django keeps referring to a connection closed inside atomic() until the block ends: it must not
    be handed to another request meanwhile."""
    conn = wrapper(database)
    conn.ensure_connection()
    raw = conn.connection
    conn.in_atomic_block = True  # as inside transaction.atomic() on this connection
    conn.close()
    assert conn.closed_in_transaction
    assert idle_connections("pooltest", str(database)) == 0
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")
    conn.in_atomic_block = False


def test_a_forked_child_starts_with_no_pooled_connections(database):
    import os

    conn = wrapper(database)
    conn.ensure_connection()
    conn.close()
    assert idle_connections("pooltest", str(database)) == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports what it sees and leaves at once
        os.write(write, str(idle_connections("pooltest", str(database))).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"0"
    assert idle_connections("pooltest", str(database)) == 1
