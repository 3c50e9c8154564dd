"""The sweeper: ends every grant past its `expires_at`, thousands per statement.

Each batch is one transaction. On PostgreSQL one statement ends the batch and writes its
change log and its evidence: `UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR NO KEY UPDATE
SKIP LOCKED)) RETURNING …` over the partial index of active grants (the `IN (SELECT …)`
form fell back to a sequential scan when measured), with the change-log entries and the
evidence's intake rows (the evidence layer's INSERT, chained later by the sequencer)
inserted from its result, and the grants pending extension requests wait on found, in
the same statement. Then one `grants_expired` signal, whose receivers queue the ticket
closes and the `grant.ended` webhooks in bulk and count the batch in the
metrics. No row passes through Python one at a time.
Two sweepers at once take disjoint batches (SKIP LOCKED); a crash rolls a whole batch
back and the next run takes it again.

The per-grant ETA task (`grants.expire_grant`) still ends a single grant at its expiry,
with the `grant_ended` signal; the authorization check compares `expires_at` itself, so
a grant past its expiry is refused whether or not it has been swept.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from governance.models import Entitlement
from governance.models.bulk import insert_rows
from governance.models.statements import bound_cursor

from .. import signals
from ..choices import GrantStatus, RequestState
from ..models import AccessRequest, Grant
from .grants import cancel_pending_extensions

EXPIRED_REASON = "Expired at the end of its lifetime."
BATCH_SIZE = 5000
_RETURNED = ("id", "request_id", "workflow_id", "entitlement_id", "workload_id", "on_behalf_of_id", "task_ref")


@dataclass(frozen=True)
class EndedGrant:
    """One grant the sweeper ended: what its evidence, change log and ticket need."""

    pk: int
    request_id: int
    workflow_id: int
    entitlement_id: int
    workload_id: int | None
    on_behalf_of_id: int | None
    task_ref: str
    scope: str = ""
    expires_at: datetime | None = None  # for the expiry lag the metrics observe
    reason: str = EXPIRED_REASON
    status: str = GrantStatus.EXPIRED


# Set by the evidence app (`GovernanceConfig.ready`): the INSERT of a batch's evidence,
# run by the statement that ends the batch (`governance.evidence.intake.ended_grants_insert`).
_recorder = None


def record_batches_with(recorder):
    """Let `recorder(source=, status=, reason=, now=)` return the INSERT of a batch's evidence."""
    global _recorder
    _recorder = recorder


def _end_due_batch_postgresql(now, batch_size):
    """End one batch, write its change log and evidence, in one statement.

    Returns (the ended grants with their scope, the ids among them that pending extension
    requests wait on, whether the evidence was written).
    """
    table = Grant._meta.db_table
    evidence, evidence_params = ("", [])
    if _recorder is not None:
        insert, evidence_params = _recorder(source="named", status=GrantStatus.EXPIRED, reason=EXPIRED_REASON, now=now)
        evidence = f", recorded AS ({insert})"
    requests = AccessRequest._meta.db_table
    with bound_cursor() as cursor:
        cursor.execute(
            f"""
            WITH ended AS (
              UPDATE {table} SET status = %s, ended_at = %s, revoked_by_id = NULL, end_reason = %s, updated_at = %s
              WHERE status = %s AND id = ANY(ARRAY(
                SELECT id FROM {table} WHERE status = %s AND expires_at <= %s
                ORDER BY expires_at LIMIT %s FOR NO KEY UPDATE SKIP LOCKED))
              RETURNING {", ".join(_RETURNED)}, expires_at
            ), named AS MATERIALIZED (
              SELECT ended.*, e.scope FROM ended JOIN {Entitlement._meta.db_table} e ON e.id = ended.entitlement_id
            ), logged AS (
              INSERT INTO {LogEntry._meta.db_table} (content_type_id, object_pk, object_id, object_repr, action,
                changes_text, changes, timestamp)
              SELECT %s, id::text, id, 'Grant #' || id || ' · ' || scope, %s, '', %s::jsonb, %s
              FROM named ORDER BY named.id
            ){evidence}
            SELECT {", ".join(_RETURNED)}, scope, expires_at,
              id IN (SELECT extends_id FROM {requests} WHERE state = %s AND extends_id IS NOT NULL)
            FROM named
            """,  # noqa: S608 (table names from the models, values as parameters)
            [
                *(GrantStatus.EXPIRED, now, EXPIRED_REASON, now, GrantStatus.ACTIVE, GrantStatus.ACTIVE, now),
                batch_size,
                *(ContentType.objects.get_for_model(Grant).pk, LogEntry.Action.UPDATE),
                *(json.dumps(_changes(now)), now),
                *evidence_params,
                RequestState.PENDING,
            ],
        )
        rows = cursor.fetchall()
    extended = {row[0] for row in rows if row[-1]}
    return [EndedGrant(*row[:-1]) for row in rows], extended, bool(evidence)


def _end_due_batch_portable(now, batch_size):
    # SQLite: the transaction holds the database's write lock, so nobody else sweeps meanwhile.
    due = Grant.objects.filter(status=GrantStatus.ACTIVE, expires_at__lte=now).order_by("expires_at")
    ids = list(due.values_list("id", flat=True)[:batch_size])
    Grant.objects.filter(pk__in=ids, status=GrantStatus.ACTIVE).update(
        status=GrantStatus.EXPIRED, ended_at=now, revoked_by=None, end_reason=EXPIRED_REASON, updated_at=now
    )
    rows = list(Grant.objects.filter(pk__in=ids).values_list(*_RETURNED, "entitlement__scope", "expires_at"))
    ended = [EndedGrant(*row) for row in rows]
    _change_log(ended, now)
    return ended, _waited_on(ended), False


def due_batch_sql(now, batch_size=BATCH_SIZE):
    """The batch selection as sent to PostgreSQL (for `EXPLAIN` in tests and the bench)."""
    table = Grant._meta.db_table
    return (
        f"SELECT id FROM {table} WHERE id = ANY(ARRAY(SELECT id FROM {table} WHERE status = %s "  # noqa: S608
        "AND expires_at <= %s ORDER BY expires_at LIMIT %s FOR NO KEY UPDATE SKIP LOCKED))",
        [GrantStatus.ACTIVE, now, batch_size],
    )


def _changes(now):
    """What `grant.save()` would have logged as changed when a grant expires."""
    return {
        "status": [GrantStatus.ACTIVE, GrantStatus.EXPIRED],
        "ended_at": ["None", str(now)],
        "end_reason": ["", EXPIRED_REASON],
    }


def _change_log(ended, now):
    """The change-log entries `grant.save()` would have written, in one bulk insert."""
    content_type_id = ContentType.objects.get_for_model(Grant).pk
    insert_rows(
        LogEntry,
        [
            {
                "content_type_id": content_type_id,
                "object_pk": str(grant.pk),
                "object_id": grant.pk,
                "object_repr": f"Grant #{grant.pk} · {grant.scope}",
                "action": LogEntry.Action.UPDATE,
                "changes": _changes(now),
                "timestamp": now,
            }
            for grant in ended
        ],
    )


def _waited_on(ended):
    """The ids of the ended grants that pending extension requests wait on."""
    # Pending extensions are few: read them all rather than send the batch's 5,000 ids.
    waiting = AccessRequest.objects.filter(state=RequestState.PENDING, extends__isnull=False)
    return set(waiting.values_list("extends_id", flat=True)) & {grant.pk for grant in ended}


def expire_due_grants(now=None, batch_size=BATCH_SIZE):
    """End every active grant past its `expires_at`, a batch per transaction. Returns the count."""
    now = now or timezone.now()
    end_batch = _end_due_batch_postgresql if connection.vendor == "postgresql" else _end_due_batch_portable
    total = 0
    while True:
        with transaction.atomic():
            ended, extended, recorded = end_batch(now, batch_size)
            # Extension requests still waiting on a grant that just ended are cancelled (rare).
            for grant_id in sorted(extended):
                cancel_pending_extensions(grant_id, now)
            if ended:
                signals.grants_expired.send(sender=Grant, grants=ended, now=now, recorded=recorded)
        total += len(ended)
        if len(ended) < batch_size:
            return total
