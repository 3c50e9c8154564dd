"""The writers of the evidence chains: `record_evidence`, `ingest_evidence_batch`, `append_events`.

Appending locks the workflow's chain head (`EvidenceChainHead`, one row per workflow,
`SELECT … FOR UPDATE`), so concurrent writers to one workflow queue up and each record
links to the one really before it; writers to different workflows do not wait for each
other. The head is always the last row a transaction locks for evidence, and evidence is
written at the end of the service transactions that produce it, which keeps lock order
simple. Everything runs in the caller's transaction when there is one: evidence of a
state change commits or rolls back with the change.

Inserting a record takes a key-share lock on the rows it references (workflow, workload,
people, grant) after the head. Services therefore lock those rows with
`select_for_update(no_key=True)`, which a key-share lock does not wait for; a plain
`FOR UPDATE` on them, taken before the head, deadlocks with any writer that holds the
head and references the row (the sequencer does, every second).

High-volume events that must not wait for the head (authorization decisions) go to the
unsequenced intake instead (`governance.evidence.intake`), which chains them through
`lock_chain_head` and `chain_onto` in batches.
"""

from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from governance.exceptions import IllegalTransition, InvalidInput
from governance.models.bulk import COPY_FROM, insert_rows
from governance.verify_export import FORMAT_VERSION, canonical_json, format_timestamp, record_hash, sha256_hex

from .models import EvidenceBatch, EvidenceChainHead, EvidenceRecord
from .validation import KINDS, NO_PAYLOAD, OUTCOMES, clean_agent_item, clean_common, grants_named_in

MAX_BATCH = 1000
REFERENCE_FIELDS = ("workload", "on_behalf_of", "actor", "access_request", "grant")


def chain_content(values: dict) -> dict:
    """The hashed fields of a record, from model field values (`*_id` for references)."""
    content = {"v": FORMAT_VERSION}
    for name in ("workflow_id", "sequence", *(f"{ref}_id" for ref in REFERENCE_FIELDS)):
        content[name] = values.get(name)
    for name in ("occurred_at", "recorded_at"):
        content[name] = format_timestamp(values[name])
    for name in (
        "kind",
        "task_ref",
        "ticket_ref",
        "tool_name",
        "target_resource",
        "data_classification",
        "outcome",
        "summary",
        "payload_sha256",
        "prev_hash",
    ):
        content[name] = values.get(name) or ""
    return content


def _pk(value):
    return getattr(value, "pk", value)


def lock_chain_head(workflow_id):
    """Lock (creating it if need be) the workflow's chain head; call inside a transaction."""
    head = EvidenceChainHead.objects.select_for_update().filter(pk=workflow_id).first()
    if head is None:
        # First record of the workflow: ON CONFLICT DO NOTHING lets racing first writers agree.
        EvidenceChainHead.objects.bulk_create([EvidenceChainHead(workflow_id=workflow_id)], ignore_conflicts=True)
        head = EvidenceChainHead.objects.select_for_update().get(pk=workflow_id)
    return head


def chain_onto(head, events, *, bulk=False):
    """Chain `events` (dicts of model field values) after the locked `head`.

    Returns the records; with `bulk` (the sweeper and the sequencer: thousands of rows
    whose ids nobody reads) it returns their field values instead and streams them with
    COPY on PostgreSQL.
    """
    # recorded_at never goes backwards along a chain (web servers' clocks differ), so
    # a recorded_at range is always a contiguous piece of the chain.
    recorded_at = timezone.now()
    if head.last_recorded_at and head.last_recorded_at > recorded_at:
        recorded_at = head.last_recorded_at
    sequence, prev_hash = head.last_sequence, head.last_hash
    records = []
    for event in events:
        sequence += 1
        values = {
            **event,
            "workflow_id": head.workflow_id,
            "sequence": sequence,
            "recorded_at": recorded_at,
            "prev_hash": prev_hash,
        }
        values["record_hash"] = prev_hash = record_hash(chain_content(values))
        records.append(values)
    if bulk:
        insert_rows(EvidenceRecord, records, bulk_create=partial(EvidenceRecord.objects.bulk_create, chained=True))
    elif connection.vendor == "postgresql" and len(records) >= COPY_FROM:
        # An agent's batch (up to 1,000): streamed with COPY like the sequencer's, then
        # the ids read back by (workflow, sequence). Django's bulk_create prepared each of
        # the 21 fields of every row in Python and quoted them into arrays client-side,
        # which cost more than the insert.
        insert_rows(EvidenceRecord, records, bulk_create=partial(EvidenceRecord.objects.bulk_create, chained=True))
        ids = dict(
            EvidenceRecord.objects.filter(
                workflow_id=head.workflow_id, sequence__gt=head.last_sequence, sequence__lte=sequence
            ).values_list("sequence", "pk")
        )
        records = [EvidenceRecord(id=ids[values["sequence"]], **values) for values in records]
    else:
        records = [EvidenceRecord(**values) for values in records]
        EvidenceRecord.objects.bulk_create(records, chained=True)
    head.last_sequence, head.last_hash, head.last_recorded_at = sequence, prev_hash, recorded_at
    head.save(update_fields=["last_sequence", "last_hash", "last_recorded_at"])
    return records


def _append(workflow_id, events):
    """Chain `events` (dicts of model field values) onto the workflow's chain; return the records."""
    # Inside the caller's transaction no savepoint is needed: an error here fails the
    # caller's change anyway. Outside one, this opens the transaction that holds the lock.
    with transaction.atomic(savepoint=False):
        return chain_onto(lock_chain_head(workflow_id), events)


def append_events(events_by_workflow):
    """Chain many events at once: {workflow_id: [event dicts]}; one head lock per workflow.

    Heads are locked in workflow order, so two bulk writers never wait for each other in
    a circle. Used by the batch sweeper, which ends thousands of grants in one statement.
    """
    records = []
    with transaction.atomic(savepoint=False):
        for workflow_id in sorted(events_by_workflow):
            records += chain_onto(lock_chain_head(workflow_id), events_by_workflow[workflow_id], bulk=True)
    return records


def clean_event(
    *,
    kind,
    outcome="",
    summary="",
    occurred_at=None,
    workload=None,
    on_behalf_of=None,
    actor=None,
    access_request=None,
    grant=None,
    task_ref="",
    ticket_ref="",
    tool_name="",
    target_resource="",
    data_classification="",
    payload=NO_PAYLOAD,
    payload_sha256="",
):
    """One event as model field values, checked and redacted; raises InvalidInput on bad input."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown evidence kind “{kind}”.", field_errors={"kind": ["Unknown kind."]})
    if outcome and outcome not in OUTCOMES:
        raise InvalidInput(f"Unknown evidence outcome “{outcome}”.", field_errors={"outcome": ["Unknown outcome."]})
    if occurred_at is not None and timezone.is_naive(occurred_at):
        raise InvalidInput("occurred_at needs a time zone.", field_errors={"occurred_at": ["Include a time zone."]})
    errors = {}
    cleaned = clean_common(
        {
            "summary": summary,
            "task_ref": task_ref,
            "ticket_ref": ticket_ref,
            "tool_name": tool_name,
            "target_resource": target_resource,
            "data_classification": data_classification,
            "payload": payload,
            "payload_sha256": payload_sha256,
        },
        errors,
        truncate_summary=True,
    )
    if errors:
        raise InvalidInput("The evidence record is invalid.", field_errors=errors)
    return {
        "kind": kind,
        "outcome": outcome,
        "occurred_at": occurred_at or timezone.now(),
        "workload_id": _pk(workload),
        "on_behalf_of_id": _pk(on_behalf_of),
        "actor_id": _pk(actor),
        "access_request_id": _pk(access_request),
        "grant_id": _pk(grant),
        **cleaned,
    }


def record_evidence(*, workflow, **fields):
    """Append one evidence record to `workflow`'s chain and return it.

    References (`workflow`, `workload`, `on_behalf_of`, `actor`, `access_request`,
    `grant`) may be objects or primary keys. `payload` is any JSON value: its SHA-256 is
    recorded, and the payload itself only when raw payloads are enabled; a payload over
    `EVIDENCE_MAX_PAYLOAD_BYTES` is refused. The summary is redacted and cut to 1,000
    characters. Raises InvalidInput on bad input. The keyword arguments are those of
    `clean_event`.
    """
    (record,) = _append(_pk(workflow), [clean_event(**fields)])
    return record


def record_evidence_in_each(workflows, **fields):
    """Append the same event to each of `workflows`' chains (ids or objects); return the records.

    For what concerns every workflow that holds something shared, such as a change of an
    entitlement. Heads are locked in workflow order, as `append_events` does, so two such
    writers never wait for each other in a circle.
    """
    event = clean_event(**fields)
    records = []
    with transaction.atomic(savepoint=False):
        for workflow_id in sorted({_pk(workflow) for workflow in workflows}):
            records += chain_onto(lock_chain_head(workflow_id), [event])
    return records


def validate_evidence_item(workload, item):
    """Field errors of one reported event (empty when valid), exactly as the batch ingest judges it."""
    _, errors = clean_agent_item(item, workload, grants_named_in(workload, [item]), timezone.now())
    return errors


def ingest_evidence_batch(workload, items, *, idempotency_key=""):
    """Record up to 1,000 events reported by `workload`, all or none; return the records.

    Each item is validated; if any is invalid nothing is recorded and InvalidInput is
    raised with `field_errors` mapping each bad item's index to its field errors. The
    records are chained onto the workload's workflow in the order given.

    With an `idempotency_key`, a retry of the same events returns the records the first
    call made (`replayed` is set on the list) and records nothing; the same key with other
    events is an IllegalTransition (409).
    """
    if not isinstance(items, list) or not items:
        raise InvalidInput("Send a non-empty list of events.", field_errors={"items": ["Expected a non-empty list."]})
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            f"At most {MAX_BATCH} events per call ({len(items)} sent).",
            field_errors={"items": [f"At most {MAX_BATCH} events per call."]},
        )
    now = timezone.now()
    grants = grants_named_in(workload, items)
    events, item_errors = [], {}
    for index, item in enumerate(items):
        event, errors = clean_agent_item(item, workload, grants, now)
        if errors:
            item_errors[index] = errors
        events.append(event)
    if item_errors:
        raise InvalidInput(
            f"{len(item_errors)} of {len(items)} events are invalid; nothing was recorded.", field_errors=item_errors
        )
    if not idempotency_key:
        return RecordedBatch(_append(workload.workflow_id, events))
    return _append_once(workload, idempotency_key, sha256_hex(canonical_json(items)), events)


class RecordedBatch(list):
    """The records of an ingested batch; `replayed` when a retry got the first call's records."""

    replayed = False


def _append_once(workload, key, events_sha256, events):
    # The chain head's lock orders every writer of the workflow, so two retries of one
    # batch never both pass the check; the unique constraint stands behind it.
    with transaction.atomic():
        head = lock_chain_head(workload.workflow_id)
        earlier = EvidenceBatch.objects.filter(workload=workload, idempotency_key=key).first()
        if earlier is None:
            records = RecordedBatch(chain_onto(head, events))
            EvidenceBatch.objects.create(
                workload=workload,
                idempotency_key=key,
                events_sha256=events_sha256,
                workflow_id=workload.workflow_id,
                first_sequence=records[0].sequence,
                count=len(records),
                created_at=records[0].recorded_at,
            )
            return records
    if earlier.events_sha256 != events_sha256:
        raise IllegalTransition(
            "This Idempotency-Key was used for a different batch of events; use a new key for new events.",
            code="idempotency_key_reused",
        )
    records = RecordedBatch(
        EvidenceRecord.objects.filter(
            workflow_id=earlier.workflow_id,
            sequence__gte=earlier.first_sequence,
            sequence__lt=earlier.first_sequence + earlier.count,
        ).order_by("sequence")
    )
    records.replayed = True
    return records
