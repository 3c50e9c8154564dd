"""The unsequenced intake and its sequencer: evidence off the chain-head lock.

A transparency log's shape: each high-volume event (an authorization decision, the
sweeper's batch of ended grants) is appended durably with one plain INSERT, with no
lock, by `record_decision` (or `record_grants_ended`), or by the statement that decides
or ends them (`decisions.decision_insert`, `ended_grants_insert`); the
sequencer `seal_intake` then chains waiting rows into their workflow's hash chain in
batches, in intake order, under the head lock, and deletes them in the same transaction.

- Durability: the INSERT commits before the caller answers (the authorization view runs
  in autocommit), so a process killed after answering has lost nothing.
- No loss between intake and chain: moving a batch is one transaction; a crash before
  its commit leaves the rows in the intake for the next run.
- Order: rows are chained by `id`. A row whose INSERT commits late (a lower id than one
  already sealed) is chained in the next batch, so the chain holds decisions in the
  order the sequencer saw them committed; `occurred_at` keeps the moment of each.
- Readers that must see everything (verification, exports, the timeline, findings) call
  `seal_intake` first; verification reports what is still waiting as pending.

The sequencer runs every second from beat (`governance.seal_evidence_intake`); each batch
signs checkpoints of what it chained, in its own transaction (`checkpoints.sign_chained`).
"""

import logging

from django.conf import settings
from django.db import connection, transaction

from approvals.models import Grant
from governance.choices import EvidenceKind, EvidenceOutcome
from governance.models import Entitlement
from governance.models.statements import bound_cursor, hot_cursor
from governance.verify_export import canonical_json

from .checkpoints import sign_chained
from .models import EvidenceIntake
from .services import chain_onto, clean_event, lock_chain_head

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# The columns of an intake row, in the order the hand-written INSERT sends them.
INTAKE_FIELDS = tuple(f.attname for f in EvidenceIntake._meta.concrete_fields if not f.primary_key)
_INSERT = None


def _insert_sql():
    global _INSERT
    if _INSERT is None:
        table = connection.ops.quote_name(EvidenceIntake._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(name) for name in INTAKE_FIELDS)
        _INSERT = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(INTAKE_FIELDS))})"  # noqa: S608
    return _INSERT


def record_decision(*, workflow, **fields):
    """Record one event in the intake with a single INSERT; it is chained later.

    Takes the same keyword arguments as `services.record_evidence` and cleans them the
    same way. Outside a transaction the row is committed when this returns.
    """
    event = clean_event(**fields)
    event["workflow_id"] = getattr(workflow, "pk", workflow)
    # A hand-written INSERT: this runs on every authorization check, where the ORM's
    # model instantiation and SQL compilation cost more than the round trip itself.
    params = [event.get(name) for name in INTAKE_FIELDS]
    params[INTAKE_FIELDS.index("occurred_at")] = connection.ops.adapt_datetimefield_value(event["occurred_at"])
    with hot_cursor() as cursor:
        cursor.execute(_insert_sql(), params)


def _ended_rows(status, reason, now, scope):
    """(SELECT list, its parameters): the intake rows of grants `g` that ended, built by the database.

    The records `receivers.on_grant_ended` writes one at a time: the payload is
    {"grant": id, "reason": …, "status": …} in canonical form, where only the id varies,
    hashed in SQL. `scope` is the SQL of the grant's scope.
    """
    sample = canonical_json({"grant": 0, "reason": reason, "status": status}).decode("utf-8")
    prefix, _, suffix = sample.partition("0")
    payload = "(%s || g.id || %s)"
    values = {
        "workflow_id": "g.workflow_id",
        "kind": "%s",
        "occurred_at": "%s",
        "workload_id": "g.workload_id",
        "on_behalf_of_id": "g.on_behalf_of_id",
        "actor_id": "NULL",
        "access_request_id": "g.request_id",
        "grant_id": "g.id",
        "task_ref": "g.task_ref",
        "ticket_ref": "''",
        "tool_name": "''",
        "target_resource": scope,
        "data_classification": "''",
        "outcome": "%s",
        "summary": "('Grant #' || g.id || %s)",
        "payload_sha256": f"encode(sha256(convert_to({payload}, 'UTF8')), 'hex')",
        "raw_payload": payload if settings.EVIDENCE_STORE_RAW_PAYLOADS else "NULL",
    }
    params = {
        "kind": [EvidenceKind.GRANT],
        "occurred_at": [now],
        "outcome": [EvidenceOutcome(status)],
        "summary": [f" {EvidenceOutcome(status).label.lower()}: {reason}"],
        "payload_sha256": [prefix, suffix],
        "raw_payload": [prefix, suffix] if settings.EVIDENCE_STORE_RAW_PAYLOADS else [],
    }
    return (
        ", ".join(values[name] for name in INTAKE_FIELDS),
        [value for name in INTAKE_FIELDS for value in params.get(name, [])],
    )


def _intake_columns():
    return ", ".join(connection.ops.quote_name(name) for name in INTAKE_FIELDS)


def record_grants_ended(grants, *, now):
    """Record the end of many grants in the intake; PostgreSQL only.

    One `INSERT … SELECT` per distinct (status, reason), the ids as one array parameter,
    the payload's canonical JSON and its SHA-256 computed in SQL (`_ended_rows`). Nothing
    passes through Python row by row; the sequencer chains the rows within a second.
    The sweeper writes its batches' records in its own statement (`ended_grants_insert`).
    """
    groups = {}
    for grant in grants:
        groups.setdefault((grant.status, grant.reason), []).append(grant.pk)
    for (status, reason), ids in groups.items():
        rows, params = _ended_rows(status, reason, now, "e.scope")
        with bound_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {EvidenceIntake._meta.db_table} ({_intake_columns()}) "  # noqa: S608 (names from the models)
                f"SELECT {rows} "
                f"FROM {Grant._meta.db_table} g JOIN {Entitlement._meta.db_table} e ON e.id = g.entitlement_id "
                "WHERE g.id = ANY(%s) ORDER BY g.id",
                [*params, ids],
            )


def ended_grants_insert(*, source, status, reason, now):
    """The INSERT of the intake records of the grants in CTE `source` (with a `scope` column), and its parameters.

    The sweeper puts it in the statement that ends a batch (`approvals.services.expiry`),
    so the batch's evidence costs no round trip of its own and no second read of the grants.
    """
    rows, params = _ended_rows(status, reason, now, "g.scope")
    return (
        f"INSERT INTO {EvidenceIntake._meta.db_table} ({_intake_columns()}) "  # noqa: S608 (names from the models)
        f"SELECT {rows} FROM {source} g ORDER BY g.id",
        params,
    )


def pending_count(workflow_id):
    """How many events of the workflow wait in the intake to be chained."""
    return EvidenceIntake.objects.filter(workflow_id=workflow_id).count()


def _seal_batch(workflow_id, batch_size):
    with transaction.atomic():
        # The head lock first: a second sequencer of this workflow waits here, then finds
        # the rows this one moved already gone (each statement sees the latest commits).
        head = lock_chain_head(workflow_id)
        rows = list(
            EvidenceIntake.objects.filter(workflow_id=workflow_id)
            .order_by("id")
            .values("id", *(name for name in INTAKE_FIELDS if name != "workflow_id"))[:batch_size]
        )
        if not rows:
            return 0
        ids = [row.pop("id") for row in rows]
        sign_chained(workflow_id, chain_onto(head, rows, bulk=True))
        EvidenceIntake.objects.filter(id__in=ids).delete()
    return len(ids)


def seal_intake(workflow_id=None, *, batch_size=BATCH_SIZE):
    """Chain the waiting intake rows (of one workflow, or all); return how many were sealed."""
    if workflow_id is not None:
        workflow_ids = [workflow_id]
    else:
        workflow_ids = sorted(set(EvidenceIntake.objects.values_list("workflow_id", flat=True).distinct()))
    total = 0
    for current in workflow_ids:
        while True:
            sealed = _seal_batch(current, batch_size)
            total += sealed
            if sealed < batch_size:
                break
    if total:
        logger.debug("sealed %s evidence records from the intake", total)
    return total


def seal_workflows(workflows):
    """Seal the intake of each workflow (objects, ids or `{"pk": id}` rows) before reading their chains."""
    waiting = set(EvidenceIntake.objects.values_list("workflow_id", flat=True).distinct())
    if not waiting:
        return
    for workflow in workflows:
        workflow_id = workflow["pk"] if isinstance(workflow, dict) else getattr(workflow, "pk", workflow)
        if workflow_id in waiting:
            seal_intake(workflow_id)
