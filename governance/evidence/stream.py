"""The outbound OCSF stream: every sealed evidence record, in chain order, at least once.

For each workflow the stream remembers the last chain position the destination accepted
(`EvidenceStreamPosition`); a run sends the records after it in batches and moves it on
only once `transport.send` has returned. A failure leaves the position where it was, so
the next run resends from there: nothing is skipped, and a batch may arrive twice (its
events carry `metadata.uid` = workflow/sequence, for the receiver to de-duplicate).

The position row is locked while its batch is on the wire, so two runs (two workers, or
the task and the command) never send the same workflow at once; the lock holds only that
stream's row, never evidence or chain heads.

The signed checkpoints of each chain follow the same way, with a position of their own
(stream name + `.checkpoints`): one OCSF event each (`ocsf.checkpoint_event`), carrying
the checkpoint as published, so the SIEM holds a copy the database cannot reach.
"""

import json
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import ocsf
from .checkpoints import as_dict
from .models import EvidenceChainHead, EvidenceCheckpoint, EvidenceRecord, EvidenceStreamPosition
from .transports import DeliveryError, open_transport

logger = logging.getLogger(__name__)


def sealed_records():
    """Records that have their place in a chain (a sequence and a hash): the ones to send."""
    return EvidenceRecord.objects.filter(sequence__isnull=False).exclude(record_hash="")


def ocsf_rows(records):
    return records.values(*ocsf.FIELDS)


def ocsf_lines(records, chunk_size=2000):
    """Each record of `records` as one line of OCSF JSON (no newline), streamed."""
    for row in ocsf_rows(records).iterator(chunk_size=chunk_size):
        yield json.dumps(ocsf.event(row), ensure_ascii=False, separators=(",", ":"))


def behind(stream):
    """Ids of workflows whose chain has records the stream has not delivered."""
    sent = EvidenceStreamPosition.objects.filter(stream=stream, workflow=OuterRef("workflow_id"))
    return (
        EvidenceChainHead.objects.annotate(sent=Coalesce(Subquery(sent.values("last_sequence")[:1]), Value(0)))
        .filter(last_sequence__gt=F("sent"))
        .order_by("workflow_id")
        .values_list("workflow_id", flat=True)
    )


def send_next_batch(stream, workflow_id, transport, batch_size):
    """Deliver the next batch of one workflow's chain; return how many records went."""
    EvidenceStreamPosition.objects.get_or_create(stream=stream, workflow_id=workflow_id)
    with transaction.atomic():
        position = EvidenceStreamPosition.objects.select_for_update().get(stream=stream, workflow_id=workflow_id)
        records = sealed_records().filter(workflow_id=workflow_id, sequence__gt=position.last_sequence)
        rows = list(ocsf_rows(records.order_by("sequence"))[:batch_size])
        if not rows:
            return 0
        # Sequences must follow on from the position: a gap means records not sealed yet
        # below a sealed one, and the stream waits rather than skip them.
        expected = position.last_sequence + 1
        contiguous = []
        for row in rows:
            if row["sequence"] != expected:
                break
            contiguous.append(row)
            expected += 1
        if not contiguous:
            return 0
        transport.send([json.dumps(ocsf.event(row), ensure_ascii=False, separators=(",", ":")) for row in contiguous])
        position.last_sequence = contiguous[-1]["sequence"]
        position.sent_at = timezone.now()
        position.save(update_fields=["last_sequence", "sent_at"])
    return len(contiguous)


def _dumps(event):
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def checkpoints_behind(stream):
    """Ids of workflows with signed checkpoints the stream has not delivered."""
    sent = EvidenceStreamPosition.objects.filter(stream=f"{stream}.checkpoints", workflow=OuterRef("workflow_id"))
    return (
        EvidenceCheckpoint.objects.values("workflow_id")
        .annotate(top=Max("sequence"), sent=Coalesce(Subquery(sent.values("last_sequence")[:1]), Value(0)))
        .filter(top__gt=F("sent"))
        .order_by("workflow_id")
        .values_list("workflow_id", flat=True)
    )


def send_checkpoints(stream, workflow_id, transport, batch_size):
    """Deliver the next signed checkpoints of one workflow; return how many went."""
    name = f"{stream}.checkpoints"
    EvidenceStreamPosition.objects.get_or_create(stream=name, workflow_id=workflow_id)
    with transaction.atomic():
        position = EvidenceStreamPosition.objects.select_for_update().get(stream=name, workflow_id=workflow_id)
        checkpoints = EvidenceCheckpoint.objects.filter(workflow_id=workflow_id, sequence__gt=position.last_sequence)
        batch = [as_dict(checkpoint) for checkpoint in checkpoints.order_by("sequence")[:batch_size]]
        if not batch:
            return 0
        slug = checkpoints.values_list("workflow__slug", flat=True).first()
        transport.send([_dumps(ocsf.checkpoint_event(checkpoint, slug)) for checkpoint in batch])
        position.last_sequence = batch[-1]["sequence"]
        position.sent_at = timezone.now()
        position.save(update_fields=["last_sequence", "sent_at"])
    return len(batch)


def stream_events(transport, *, stream, batch_size=500, max_batches=None):
    """Send everything not yet delivered to `transport`; return a summary.

    Stops at the first delivery error (the destination is down: the next run resumes).
    """
    summary = {"sent": 0, "batches": 0, "workflows": 0, "checkpoints": 0, "error": None}
    for workflow_id in list(behind(stream)):
        summary["workflows"] += 1
        while max_batches is None or summary["batches"] < max_batches:
            try:
                count = send_next_batch(stream, workflow_id, transport, batch_size)
            except DeliveryError as exc:
                logger.warning("OCSF stream %s: delivery failed (%s); it resumes on the next run.", stream, exc)
                summary["error"] = exc.message
                return summary
            if not count:
                break
            summary["sent"] += count
            summary["batches"] += 1
    for workflow_id in list(checkpoints_behind(stream)):
        try:
            while count := send_checkpoints(stream, workflow_id, transport, batch_size):
                summary["checkpoints"] += count
        except DeliveryError as exc:
            logger.warning("OCSF stream %s: checkpoint delivery failed (%s); it resumes on the next run.", stream, exc)
            summary["error"] = exc.message
            return summary
    return summary


def stream_to_configured_destination(max_batches=None):
    """The periodic job: stream to `OCSF_STREAM_URL` if one is set."""
    if not settings.OCSF_STREAM_URL:
        return {"sent": 0, "batches": 0, "workflows": 0, "checkpoints": 0, "error": None, "configured": False}
    transport = open_transport(
        settings.OCSF_STREAM_URL,
        ca_file=settings.OCSF_STREAM_CA_FILE,
        token=settings.OCSF_STREAM_TOKEN,
        timeout=settings.OCSF_STREAM_TIMEOUT,
    )
    return stream_events(
        transport, stream=settings.OCSF_STREAM_NAME, batch_size=settings.OCSF_STREAM_BATCH, max_batches=max_batches
    )
