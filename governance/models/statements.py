"""Cursors that send values as parameters (server-side binding) on PostgreSQL.

Django binds values client-side: psycopg quotes each into the SQL text. Two places pay
for that (docs/performance.md):

- `hot_cursor()`: the authorization check's statements (the key when it is read; the
  check, which also records the decision on PostgreSQL), thousands a minute. Sent as text, PostgreSQL parses and plans
  each afresh, which cost more than running it; these are prepared statements instead,
  parsed and planned once per pooled connection. `DATABASE_PREPARED_STATEMENTS=false`
  turns that off behind a pooler that cannot keep them (PgBouncer in transaction mode
  before 1.21).
- `bound_cursor()`: the sweeper's statements over a batch's 5,000 ids, one array
  parameter that psycopg otherwise spells out in Python as a literal.

Every other query keeps Django's cursor. Elsewhere than PostgreSQL both are Django's.
"""

from django.conf import settings
from django.db import connection

_CLASSES = {}


def _cursor_class(prepare):
    if not _CLASSES:
        # Imported on first use: the psycopg backend module exists only with PostgreSQL.
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparedCursor(ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=None, binary=None):
                return super().execute(query, params, prepare=True, binary=binary)

        _CLASSES.update({False: ServerBindingCursor, True: PreparedCursor})
    return _CLASSES[prepare]


def _server_binding(prepare):
    connection.ensure_connection()
    raw = connection.connection
    if prepare and raw.prepare_threshold is None:
        # Django turns preparation off for the connection; only PreparedCursor asks for it
        # (client-binding cursors never prepare), so the threshold itself is never reached.
        raw.prepare_threshold = 1_000_000
    # Django's wrapper around it: statements are still logged, counted and error-mapped.
    return connection._prepare_cursor(_cursor_class(prepare)(raw))


def hot_cursor():
    """A cursor whose statements are prepared once per connection on PostgreSQL."""
    if (
        connection.vendor != "postgresql"
        or not getattr(settings, "DATABASE_PREPARED_STATEMENTS", False)
        # A connection that closes after each request would prepare every statement anew:
        # one round trip more each, for nothing. Only pooled or persistent ones prepare.
        or not (connection.settings_dict.get("CONN_MAX_AGE") or connection.settings_dict["OPTIONS"].get("pool"))
        # While queries are logged (DEBUG, a test counting them), Django's cursor: the
        # log reads the query text, which psycopg keeps only for unprepared statements.
        or connection.queries_logged
    ):
        return connection.cursor()
    return _server_binding(prepare=True)


def bound_cursor():
    """A cursor that sends values as parameters on PostgreSQL (large arrays: no quoting in Python)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    return _server_binding(prepare=False)
