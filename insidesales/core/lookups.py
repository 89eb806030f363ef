"""`prefix` lookup: an index-friendly "starts with" for normalized (lower-case) key columns.

Django's `startswith` becomes `LIKE ... ESCAPE` which SQLite cannot serve from a normal index while
LIKE is case-insensitive; GLOB is case-sensitive and uses the index. On PostgreSQL the columns get
a `varchar_pattern_ops` index, which serves `LIKE 'abc%'`.
"""

from django.db import models
from django.db.models import Lookup


@models.CharField.register_lookup
class Prefix(Lookup):
    lookup_name = "prefix"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        value = str(self.rhs)
        if connection.vendor == "sqlite":
            escaped = "".join(f"[{c}]" if c in "*?[" else c for c in value)
            return f"{lhs} GLOB %s", [*lhs_params, escaped + "*"]
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{lhs} LIKE %s", [*lhs_params, escaped + "%"]
