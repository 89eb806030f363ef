"""Querysets compiled to SQL once and run many times with new values.

Django turns a queryset into SQL on every evaluation. For a `select_related` query over four tables
that costs more than a millisecond here, paid on every page for queries whose shape never changes
(the signed-in user's memberships). `CompiledQuery` builds the queryset once per database with
sentinel values, keeps the SQL and the compiler's column map, and on each run swaps the sentinels'
parameters for the real values; rows then go through Django's own iterable (converters,
`select_related` population, `from_db`), so the instances are those the plain queryset gives
(tests compare them).

On PostgreSQL (with server-side binding, the default) the kept statements are also prepared on each
connection the first time they run there (`prepared_statements`): their plans are made once per
connection instead of once per request (the four-table membership query took ~1 ms to plan). Only
these statements are prepared; PostgreSQL's generic plans would make some searches slower.

Only integer and text values can be bound: Django passes those to the driver unchanged, so the
parameter found for a sentinel is exactly the value to replace. A sentinel that Django transformed,
dropped or repeated makes the first run fail loudly instead of binding the wrong slot.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import QuerySet


@contextmanager
def prepared_statements(connection: Any) -> Iterator[None]:
    """Statements run inside are prepared on the server at their first run on this connection and
    reused after (PostgreSQL with server-side binding; elsewhere nothing changes). For fixed SQL only:
    every distinct statement text takes a slot of psycopg's per-connection cache."""
    if connection.vendor != "postgresql" or not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        yield
    finally:
        raw.prepare_threshold = previous


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet
    compiler: Any
    sql: str
    params: tuple
    slots: dict[str, int]


class CompiledQuery:
    """`CompiledQuery(lambda user_id: Model.objects.filter(user_id=user_id), user_id=-7_301_915)`,
    then `.run(user_id=5)` → a list of instances, as `list(Model.objects.filter(user_id=5))`."""

    def __init__(self, build: Callable[..., QuerySet], **sentinels: int | str) -> None:
        for name, sentinel in sentinels.items():
            if type(sentinel) not in (int, str):
                raise TypeError(f"{name}: only int and str values can be bound, not {type(sentinel).__name__}")
        self._build = build
        self._sentinels = sentinels
        self._by_alias: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        queryset = self._build(**self._sentinels).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {}
        for name, sentinel in self._sentinels.items():
            found = [i for i, value in enumerate(params) if type(value) is type(sentinel) and value == sentinel]
            if len(found) != 1:
                raise ImproperlyConfigured(f"{name}: its sentinel appears {len(found)} times among the SQL parameters")
            slots[name] = found[0]
        compiled = _Compiled(queryset=queryset, compiler=compiler, sql=sql, params=tuple(params), slots=slots)
        self._by_alias[alias] = compiled  # one dict store: threads racing here compile the same thing
        return compiled

    def run(self, *, using: str | None = None, **values: int | str) -> list:
        if values.keys() != self._sentinels.keys():
            raise TypeError(f"expected the values {sorted(self._sentinels)}, got {sorted(values)}")
        alias = using or router.db_for_read(self._build_model())
        compiled = self._by_alias.get(alias) or self._compile(alias)
        params = list(compiled.params)
        for name, index in compiled.slots.items():
            value = values[name]
            if type(value) is not type(self._sentinels[name]):
                raise TypeError(f"{name}: expected {type(self._sentinels[name]).__name__}, got {type(value).__name__}")
            params[index] = value
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[alias]  # this thread's connection, not the compiling one's
        sql = compiled.sql
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        query = copy.copy(compiled.queryset.query)
        query.get_compiler = lambda *args, **kwargs: compiler
        with prepared_statements(connections[alias]):
            return list(type(compiled.queryset)(model=compiled.queryset.model, query=query, using=alias))

    def _build_model(self):
        model = self.__dict__.get("_model")
        if model is None:
            model = self._model = self._build(**self._sentinels).model
        return model
