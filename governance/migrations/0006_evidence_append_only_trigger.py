"""PostgreSQL refuses UPDATE and DELETE on evidence records, whoever asks.

The model refuses too, but raw SQL, the admin of another tool or a compromised process
would not go through the model. A trigger is the database's own guard. TRUNCATE is left
to the table owner (the test runner empties tables with it); the hash chains and chain
heads make a truncation visible to `verify_evidence`. SQLite has no such guard: the
embedded default relies on the model and on verification.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION governance_evidence_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence records are append-only: % refused on governance_evidencerecord', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER IF EXISTS governance_evidence_append_only ON governance_evidencerecord;
CREATE TRIGGER governance_evidence_append_only
    BEFORE UPDATE OR DELETE ON governance_evidencerecord
    FOR EACH ROW EXECUTE FUNCTION governance_evidence_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS governance_evidence_append_only ON governance_evidencerecord;
DROP FUNCTION IF EXISTS governance_evidence_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_evidence_and_findings")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
