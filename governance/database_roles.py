"""What the application's database role may do: everything it needs, and on evidence no more
than to add and read.

Two roles share a PostgreSQL database (docs/operations.md): the owner, who runs the
migrations and owns every table, and the app role the processes connect as. The app role
owns nothing, so it cannot `ALTER` a table, switch off the append-only trigger or
`TRUNCATE`; on the evidence tables it may only `INSERT` and `SELECT`, except where the
trail's machinery needs one more verb, named below. `manage.py grant_app_role` (run by
`make migrate` after every migration, as the owner) brings the grants up to date.
"""

from django.apps import apps
from django.db import connection, transaction

from governance.evidence.models import (
    EvidenceBatch,
    EvidenceChainHead,
    EvidenceCheckpoint,
    EvidenceIntake,
    EvidenceRecord,
    EvidenceStreamPosition,
)

ORDINARY = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Tables the app role may not use the ordinary way, and what it may do with them.
RESTRICTED = {
    EvidenceRecord._meta.db_table: ("SELECT", "INSERT"),
    EvidenceCheckpoint._meta.db_table: ("SELECT", "INSERT"),
    # Which records a keyed batch became: a retry reads it, nothing rewrites it.
    EvidenceBatch._meta.db_table: ("SELECT", "INSERT"),
    # The sequencer deletes the rows it has just chained, in the same transaction.
    EvidenceIntake._meta.db_table: ("SELECT", "INSERT", "DELETE"),
    # Derived state that moves on every append (and remembers the last verification);
    # checkpoints anchor it, so changing it unseen is not possible.
    EvidenceChainHead._meta.db_table: ("SELECT", "INSERT", "UPDATE"),
    # How far the SIEM stream got: moves forward after each delivered batch.
    EvidenceStreamPosition._meta.db_table: ("SELECT", "INSERT", "UPDATE"),
    # Read by `migrate --check` and health checks; written only by the owner's migrate.
    "django_migrations": ("SELECT",),
}
APPEND_ONLY_TABLES = (EvidenceRecord._meta.db_table, EvidenceCheckpoint._meta.db_table)


class RoleError(Exception):
    pass


def privileges():
    """{table: (privilege, …)} for every table of the database."""
    tables = set(connection.introspection.table_names())
    for model in apps.get_models(include_auto_created=True):
        tables.add(model._meta.db_table)
    return {table: RESTRICTED.get(table, ORDINARY) for table in sorted(tables)}


def role_facts(role):
    """(exists, is superuser, tables it owns) of `role` in the current schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = %s", [role]
        )
        owned = [name for (name,) in cursor.fetchall()]
    return row is not None, bool(row and row[0]), owned


def grant_app_role(role):
    """Reset `role`'s grants on every table and sequence to `privileges()`; return them.

    Run as the tables' owner. Raises RoleError when the role cannot be the app's: it does
    not exist, is the current (owning) user, is a superuser or owns tables.
    """
    if connection.vendor != "postgresql":
        raise RoleError("Database roles are a PostgreSQL feature; SQLite has none.")
    exists, superuser, owned = role_facts(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
    if not exists:
        raise RoleError(f"The role {role} does not exist (bin/ci-database-roles shows how to make it).")
    if role == current:
        raise RoleError(f"The app role {role} is the role running this command: set MIGRATE_DATABASE_URL to the owner.")
    if superuser:
        raise RoleError(f"The app role {role} is a superuser: it could do anything; use a plain login role.")
    if owned:
        raise RoleError(f"The app role {role} owns tables ({', '.join(owned[:5])}…): the owner must own them.")
    quote = connection.ops.quote_name
    grants = privileges()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {quote(role)}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM {quote(role)}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}")
        for table, allowed in grants.items():
            cursor.execute(f"GRANT {', '.join(allowed)} ON TABLE {quote(table)} TO {quote(role)}")
        # Inserting takes ids from the tables' sequences.
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {quote(role)}")
    return grants
