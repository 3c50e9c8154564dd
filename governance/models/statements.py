"""The hot path's hand-written statements, prepared once per connection on PostgreSQL.

The authorization check sends the same few statements (the key, the check, the
decision's record) thousands of times a minute. Sent the Django way, with the values
bound client-side, PostgreSQL parses and plans each one afresh, which cost more than
running it (docs/performance.md). `hot_cursor()` sends them with server-side binding as
prepared statements instead: parsed and planned once per pooled connection. Every other
query keeps Django's cursor. Set `DATABASE_PREPARED_STATEMENTS=false` behind a pooler
that cannot keep them (PgBouncer in transaction mode before 1.21).
"""

from django.conf import settings
from django.db import connection

_PREPARED = None


def _cursor_class():
    global _PREPARED
    if _PREPARED is None:
        # Imported on first use: the psycopg backend module exists only with PostgreSQL.
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparedCursor(ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=None, binary=None):
                return super().execute(query, params, prepare=True, binary=binary)

        _PREPARED = PreparedCursor
    return _PREPARED


def hot_cursor():
    """A cursor (Django's wrapper: logged, counted) whose statements are prepared on PostgreSQL."""
    if (
        connection.vendor != "postgresql"
        or not getattr(settings, "DATABASE_PREPARED_STATEMENTS", False)
        # While queries are logged (DEBUG, a test counting them), Django's cursor: the
        # log reads the query text, which psycopg keeps only for unprepared statements.
        or connection.queries_logged
    ):
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns preparation off for the connection; only this cursor class asks for it
        # (its client-binding cursors never prepare), so the threshold itself is never reached.
        raw.prepare_threshold = 1_000_000
    return connection._prepare_cursor(_cursor_class()(raw))
