"""Refuse, in one line, to run a management command on a database that was never migrated.

Without this, `manage.py issue_api_key …` pointed at the wrong place creates an empty
SQLite file and dies with `no such table: identities_user` several frames deep.
"""

import sys
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import Error as DatabaseError

# Commands that create or inspect the schema, or never touch the database.
NEEDS_NO_TABLES = {
    "check",
    "collectstatic",
    "compilemessages",
    "createcachetable",
    "dbshell",
    "diffsettings",
    "findstatic",
    "help",
    "makemessages",
    "makemigrations",
    "migrate",
    "optimizemigration",
    "sendtestemail",
    "showmigrations",
    "spectacular",
    "sqlflush",
    "sqlmigrate",
    "sqlsequencereset",
    "squashmigrations",
    "startapp",
    "startproject",
    "test",
    "version",
}


def unmigrated_reason(command):
    """Why `command` cannot run on the configured database (one line), or None when it can."""
    if command in NEEDS_NO_TABLES or command.startswith("-"):
        return None
    database = settings.DATABASES[DEFAULT_DB_ALIAS]
    name = str(database["NAME"])
    # Asking SQLite would create an empty file: look for it instead.
    if database["ENGINE"] == "django.db.backends.sqlite3" and name != ":memory:" and not Path(name).is_file():
        return f"No database at {name}: run `make run` (or `manage.py migrate`) first, or set MANDATE_VAR_DIR."
    try:
        migrated = MigrationRecorder(connections[DEFAULT_DB_ALIAS]).has_table()
    except DatabaseError as exc:
        return f"Cannot reach the database: {str(exc).strip().splitlines()[0]}"
    if not migrated:
        return f"The database {database['NAME']} has no tables yet: run `manage.py migrate` (or `make run`) first."
    return None


def refuse_if_unmigrated(argv):
    """Exit with a one-line message when the command of `argv` needs a migrated database it lacks."""
    if len(argv) < 2:
        return
    reason = unmigrated_reason(argv[1])
    if reason:
        sys.stderr.write(f"CommandError: {reason}\n")
        sys.exit(1)
