"""Fast row insertion for seeding: COPY on PostgreSQL, one prepared `executemany` on SQLite.

Rows are plain tuples in the order of the field names given; fields left out get their model default.
The ORM's per-object work (instances, signals, per-value preparation) is what makes `bulk_create`
slow at millions of rows, so the caller hands over values already in database form — see `db_datetime`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import connections, models
from django.utils import timezone


class BulkWriter:
    """Insert tuples of `fields` values into `model`'s table; missing fields are filled with their default."""

    def __init__(self, model: type[models.Model], fields: Sequence[str], *, using: str = "default") -> None:
        self.model = model
        self.connection = connections[using]
        self.vendor = self.connection.vendor
        given = [model._meta.get_field(name) for name in fields]
        names = {f.name for f in given}
        # Fields another part of the code may add later still get a value, so seeding keeps working.
        self.defaults = [
            f
            for f in model._meta.concrete_fields
            if f.name not in names and not f.primary_key and (f.has_default() or not f.null)
        ]
        now = timezone.now()
        self.default_values = tuple(
            self.prepare(
                f, now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
            )
            for f in self.defaults
        )
        self.columns = [f.column for f in given] + [f.column for f in self.defaults]
        self.table = model._meta.db_table

    def prepare(self, field: models.Field, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(field, models.DateTimeField):
            return self.datetime(value)
        if isinstance(field, models.JSONField):
            return json.dumps(value)
        return field.get_db_prep_save(value, self.connection)

    def datetime(self, value: dt.datetime) -> Any:
        return db_datetime(value, self.vendor)

    def write(self, rows: Iterable[tuple]) -> int:
        """Insert `rows`; returns how many. Call inside a transaction for speed."""
        extra = self.default_values
        rows = [row + extra for row in rows] if extra else list(rows)
        if not rows:
            return 0
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(c) for c in self.columns)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {quote(self.table)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({marks})", rows)
        return len(rows)


def db_datetime(value: dt.datetime, vendor: str) -> Any:
    """A datetime in the form the backend stores: naive UTC text on SQLite (as Django writes it)."""
    if vendor == "sqlite":
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return str(value)
    return value


def assign_ids(objects: Sequence[models.Model], *, using: str = "default") -> None:
    """Give unsaved instances ids after the table's current maximum, so rows can point at each other."""
    if objects:
        start = next_id(type(objects[0]), using=using)
        for offset, obj in enumerate(objects):
            obj.pk = start + offset


def insert_objects(objects: Sequence[models.Model], *, using: str = "default") -> int:
    """Insert instances exactly as they are — ids and timestamps included — without save() or pre_save.

    `bulk_create` would overwrite `created_at` (auto_now_add) with the current time; demo history needs
    records created weeks ago. Give the instances ids first (`assign_ids`).
    """
    if not objects:
        return 0
    fields = type(objects[0])._meta.concrete_fields
    writer = BulkWriter(type(objects[0]), [f.name for f in fields], using=using)
    prepare = writer.prepare
    return writer.write([tuple(prepare(f, getattr(obj, f.attname)) for f in fields) for obj in objects])


def next_id(model: type[models.Model], *, using: str = "default") -> int:
    """The first id after the table's current maximum; the seeder numbers its rows itself from here."""
    found = model._default_manager.using(using).aggregate(top=models.Max("pk"))["top"]
    return (found or 0) + 1


def reset_sequences(*model_list: type[models.Model], using: str = "default") -> None:
    """After inserting explicit ids, move PostgreSQL's id sequences past them (SQLite does this itself)."""
    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


@contextmanager
def bulk_load(*model_list: type[models.Model], using: str = "default") -> Iterator[None]:
    """Load with the tables' secondary indexes and foreign-key checks off; rebuild and re-check after.

    This is how database restores load data (rows first, then indexes and constraints): building an
    index once over all rows, and checking a foreign key with one join, is far cheaper than updating
    a dozen indexes and firing a check per inserted row. Indexes backing primary keys and unique
    constraints stay. Only for bulk loads while nothing else writes to these tables.
    """
    connection = connections[using]
    tables = [m._meta.db_table for m in model_list]
    quote = connection.ops.quote_name
    if connection.vendor not in ("sqlite", "postgresql"):
        yield
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({marks}) AND sql NOT LIKE 'CREATE UNIQUE%%'",
                tables,
            )
            indexes, constraints = cursor.fetchall(), []
            cursor.execute("PRAGMA foreign_keys = OFF")
        else:
            # Pending deferred foreign-key checks (rows written earlier in this transaction) block ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            in_schema = "relnamespace = current_schema()::regnamespace AND relname = ANY(%s)"
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                f" WHERE x.indrelid IN (SELECT oid FROM pg_class WHERE {in_schema})"
                " AND NOT x.indisunique AND NOT x.indisprimary",
                [tables],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                f" WHERE contype = 'f' AND conrelid IN (SELECT oid FROM pg_class WHERE {in_schema})",
                [tables],
            )
            constraints = cursor.fetchall()
            for table, name, _ in constraints:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, sql in indexes:
                cursor.execute(sql)
            for table, name, definition in constraints:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA foreign_keys = ON")
                for table in tables:
                    cursor.execute(f"PRAGMA foreign_key_check({quote(table)})")
                    broken = cursor.fetchone()
                    if broken:
                        raise RuntimeError(f"Bulk load left a broken foreign key in {table}: {broken}")


def allocate_ids(model: type[models.Model], count: int, *, using: str = "default") -> list[int]:
    """`count` new ids for rows about to be inserted with explicit ids, safe beside other writers.

    PostgreSQL: taken from the table's id sequence (other inserts interleave, so they may not be
    consecutive). SQLite: after the current maximum; call inside `transaction.atomic()`, whose BEGIN
    IMMEDIATE (settings) holds the write lock, so no other writer can take the same ids.
    """
    if count <= 0:
        return []
    connection = connections[using]
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
            )
            return [row[0] for row in cursor.fetchall()]
        if not connection.in_atomic_block:
            raise RuntimeError("allocate_ids needs a transaction on SQLite")
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT MAX({quote(column)}) FROM {quote(table)}")  # noqa: S608 - names from the model
        top = cursor.fetchone()[0] or 0
        # Tables Django makes on SQLite are AUTOINCREMENT: ids of deleted rows are never given out
        # again (an undo of an old import must not reach a newer import's rows). Honour and advance
        # the table's high-water mark the same way.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        top = max(top, found[0] if found else 0)
        if found:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [top + count, table])
        else:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, top + count])
        return list(range(top + 1, top + 1 + count))


def id_ranges(ids: Sequence[int]) -> list[list[int]]:
    """[[first, last], ...] runs of consecutive ids, in order (how an import remembers what it created)."""
    ranges: list[list[int]] = []
    for value in sorted(ids):
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges
