"""Django's SQLite backend with a small per-process pool of open connections.

Under ASGI, Django runs each request's synchronous code in a thread of its own, and database
connections belong to threads: without a pool every request opens the file again, re-reads the
schema and starts with an empty page cache (`PRAGMA cache_size`), which costs more than the queries
of a typical page. Here a request takes an idle connection from the pool and gives it back when
Django closes it at the end of the request (`CONN_MAX_AGE = 0`, as for Django's PostgreSQL pool).

A connection goes back only in a clean state (no open transaction); the connection PRAGMAs are
applied again whenever one is taken, so a command that changed one (foreign keys off during a bulk
load, say) never leaks that setting into a later request. In-memory databases are never pooled.

OPTIONS["pool"]: how many idle connections to keep (default 8; 0 turns pooling off).
"""

from __future__ import annotations

import os
import threading
from collections import deque

from django.db.backends.sqlite3 import base as sqlite3_base

Database = sqlite3_base.Database

DEFAULT_POOL_SIZE = 8

_pools: dict[tuple[str, str], deque] = {}
_lock = threading.Lock()


def idle_connections(alias: str, name: str) -> int:
    """How many connections sit idle in the pool of `alias` for database file `name` (for tests)."""
    with _lock:
        return len(_pools.get((alias, str(name)), ()))


def _forget_pools_after_fork() -> None:
    """A forked child must not use its parent's open connections (nor close them under it)."""
    global _lock
    _pools.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def clear_pools() -> None:
    """Close every idle connection (after tests, or when the database file is replaced)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        while pool:
            pool.pop().close()


class DatabaseWrapper(sqlite3_base.DatabaseWrapper):
    pool_size = DEFAULT_POOL_SIZE

    def get_connection_params(self):
        params = super().get_connection_params()
        size = params.pop("pool", DEFAULT_POOL_SIZE)
        self.pool_size = 0 if size in (None, False) else DEFAULT_POOL_SIZE if size is True else int(size)
        return params

    def _pool_key(self) -> tuple[str, str] | None:
        if self.pool_size <= 0 or self.is_in_memory_db():
            return None
        return (self.alias, str(self.settings_dict["NAME"]))

    def get_new_connection(self, conn_params):
        key = self._pool_key()
        if key is not None:
            with _lock:
                pool = _pools.get(key)
                conn = pool.pop() if pool else None
            if conn is not None:
                for command in ("PRAGMA foreign_keys = ON", *self.init_commands):
                    if command := command.strip():
                        conn.execute(command)
                return conn
        return super().get_new_connection(conn_params)

    def _close(self):
        key = self._pool_key()
        conn = self.connection
        if key is None or conn is None or self.in_atomic_block:
            # Closed inside atomic(): Django keeps referring to this connection until the block ends.
            return super()._close()
        try:
            if conn.in_transaction:
                conn.rollback()  # never hand an open transaction to the next request
        except Database.Error:
            return conn.close()
        with _lock:
            pool = _pools.setdefault(key, deque())
            if len(pool) < self.pool_size:
                pool.append(conn)  # LIFO: the most recently used connection has the warmest cache
                return None
        return conn.close()
