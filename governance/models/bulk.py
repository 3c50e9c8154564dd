"""Inserting thousands of rows at once: PostgreSQL's COPY, else the ORM's bulk_create.

The sweeper and the evidence sequencer write a whole batch (5,000 grants' evidence and
change-log entries) in one go. `bulk_create` binds every value as a query parameter,
which on PostgreSQL cost more Python time than the database spent on the rows; COPY
streams them. Model `save()` and signals are bypassed either way, as with bulk_create.
"""

import json

from django.db import connection

COPY_FROM = 50  # below this many rows bulk_create is as quick


def insert_rows(model, rows, *, bulk_create=None):
    """Insert `rows` (dicts of field attnames to values; a missing field takes its default).

    No model instances are built on PostgreSQL: at 5,000 rows a batch their construction
    cost more than the insert. `bulk_create` is the callable used where COPY is not
    (defaults to the default manager's).
    """
    if not rows:
        return
    if connection.vendor != "postgresql" or len(rows) < COPY_FROM:
        (bulk_create or model._default_manager.bulk_create)([model(**row) for row in rows])
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    defaults = {f.attname: f.get_default() for f in fields}
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for values in rows:
            row = []
            for field in fields:
                value = values.get(field.attname, defaults[field.attname])
                if value is not None and field.attname in json_fields:
                    value = json.dumps(value)
                row.append(value)
            copy.write_row(row)


def log_created(objects):
    """The change log's CREATE entries for rows inserted in bulk (which bypasses its signals).

    The entries django-auditlog's `post_save` receiver would have written one by one: the
    same fields (its registration's exclusions apply), representation and correlation id,
    in one insert.
    """
    # Imported here: auditlog's models need the app registry, and this module loads with the models.
    from auditlog.cid import get_cid
    from auditlog.diff import model_instance_diff
    from auditlog.models import LogEntry
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    objects = list(objects)
    if not objects:
        return
    now, cid = timezone.now(), get_cid()
    json_changes = getattr(settings, "AUDITLOG_STORE_JSON_CHANGES", False)
    insert_rows(
        LogEntry,
        [
            {
                "content_type_id": ContentType.objects.get_for_model(obj).pk,
                "object_pk": str(obj.pk),
                "object_id": obj.pk,
                "object_repr": str(obj),
                "action": LogEntry.Action.CREATE,
                "changes": model_instance_diff(None, obj, use_json_for_changes=json_changes),
                "cid": cid,
                "timestamp": now,
            }
            for obj in objects
        ],
    )
