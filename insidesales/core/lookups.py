"""`prefix` lookup: an index-friendly "starts with" for normalized (lower-case) key columns.

Django's `startswith` becomes `LIKE ... ESCAPE` which SQLite cannot serve from a normal index while
LIKE is case-insensitive; GLOB is case-sensitive and uses the index. On PostgreSQL the columns get
a `varchar_pattern_ops` index, which serves `LIKE 'abc%'`.
"""

from django.db import models
from django.db.models import Lookup


def prefix_operator(vendor: str) -> str:
    """The SQL operator of a prefix match on `vendor` (its right side is `prefix_pattern`)."""
    return "GLOB" if vendor == "sqlite" else "LIKE"


def prefix_pattern(value: str, vendor: str) -> str:
    """The pattern matching the values that start with `value`, its wildcards escaped."""
    if vendor == "sqlite":
        return "".join(f"[{c}]" if c in "*?[" else c for c in value) + "*"
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@models.CharField.register_lookup
class Prefix(Lookup):
    lookup_name = "prefix"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        vendor = connection.vendor
        return f"{lhs} {prefix_operator(vendor)} %s", [*lhs_params, prefix_pattern(str(self.rhs), vendor)]
