"""Django's database sessions, read without compiling the ORM query on every request."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from insidesales.core.compiled import prepared_statements


class SessionStore(db.SessionStore):
    """Same table, same rows, same expiry rule as `django.contrib.sessions.backends.db`; only the
    read of the current session is one fixed SQL statement (every page does it), prepared on PostgreSQL."""

    def _get_session_from_db(self):
        model = self.model
        alias = router.db_for_read(model)
        connection = connections[alias]
        expire_field = model._meta.get_field("expire_date")
        quote, column = connection.ops.quote_name, lambda name: model._meta.get_field(name).column
        sql = (
            f"SELECT {quote(column('session_data'))} FROM {quote(model._meta.db_table)}"
            f" WHERE {quote(column('session_key'))} = %s AND {quote(column('expire_date'))} > %s"
        )
        # The session key property refuses malformed keys (None); the expiry is adapted exactly as
        # the ORM adapts a DateTimeField value for this database.
        key = self.session_key
        if key:
            now = expire_field.get_db_prep_value(timezone.now(), connection)
            with prepared_statements(connection), connection.cursor() as cursor:
                cursor.execute(sql, [key, now])
                row = cursor.fetchone()
            if row is not None:
                return model(session_key=key, session_data=row[0])
        self._session_key = None
        return None
