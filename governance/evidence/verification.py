"""Walk the evidence chains stored in the database and name the first broken link.

Each chain is checked against its signed checkpoints too, from the database and from the
checkpoint file (`EVIDENCE_CHECKPOINT_FILE`): every signature must verify with a published
key, and the record at each checkpoint's position must carry the signed hash, so a chain
rewritten and re-hashed by whoever controls the database is caught.
"""

from dataclasses import dataclass

from django.utils import timezone

from governance.verify_export import ChainVerifier, check_checkpoints

from .checkpoints import file_checkpoints, stored_checkpoints
from .intake import pending_count, seal_intake
from .keys import published_keys
from .models import EvidenceChainHead, EvidenceRecord
from .services import chain_content

VERIFY_FIELDS = (
    "id",
    "workflow_id",
    "sequence",
    "kind",
    "occurred_at",
    "recorded_at",
    "workload_id",
    "on_behalf_of_id",
    "actor_id",
    "access_request_id",
    "grant_id",
    "task_ref",
    "ticket_ref",
    "tool_name",
    "target_resource",
    "data_classification",
    "outcome",
    "summary",
    "payload_sha256",
    "raw_payload",
    "prev_hash",
    "record_hash",
)


@dataclass
class ChainResult:
    workflow_id: int
    workflow_slug: str
    records: int
    problem: str = ""
    # Events recorded in the intake and not chained yet: waiting, not missing.
    pending: int = 0

    @property
    def ok(self):
        return not self.problem


def export_record(values):
    """A stored record as the verifier (and the exports) see it: hashed fields + hash + payload."""
    record = chain_content(values)
    record["record_hash"] = values["record_hash"]
    if values.get("raw_payload") is not None:
        record["raw_payload"] = values["raw_payload"]
    return record


def signed_checkpoints(workflow_id, from_file=None):
    """({(workflow, sequence): [checkpoint, …]}, problem) from the database and the file.

    `from_file`: the file's checkpoints grouped by workflow, when the caller read it once
    for many chains.
    """
    keys = {key.key_id: key.raw for key in published_keys()}
    if from_file is None:
        in_file = file_checkpoints([workflow_id])
    else:
        in_file = from_file.get(None, []) + from_file.get(workflow_id, [])
    found = stored_checkpoints([workflow_id]) + in_file
    malformed = [item["malformed"] for item in found if "malformed" in item]
    if malformed:
        return {}, f"the checkpoint file has an unreadable line ({malformed[0]})"
    return check_checkpoints(found, keys)


def verify_workflow_chain(workflow, *, progress=None, chunk_size=2000, seal=True, from_file=None):
    """Verify one workflow's chain against its records, head and checkpoints; return a ChainResult.

    The intake is sealed first (unless `seal` is false); what arrives meanwhile is
    reported as `pending`.
    """
    if seal:
        seal_intake(workflow.pk)
    result = ChainResult(workflow.pk, workflow.slug, 0)
    # Checkpoints before the head: each was signed from a committed head, so none read
    # now lies beyond the head read next, unless records were taken away.
    checkpoints, problem = signed_checkpoints(workflow.pk, from_file)
    if problem:
        result.problem = problem.replace(f"workflow {workflow.pk} ", f"workflow “{workflow.slug}” ", 1)
        return result
    head = EvidenceChainHead.objects.filter(pk=workflow.pk).first()
    # Read the head first: records appended after this moment are not judged (they commit
    # together with a newer head), so a walk beside live writers raises no false alarm.
    last_sequence = head.last_sequence if head else 0
    verifier = ChainVerifier(checkpoints)
    seen_sequence, seen_hash, seen_id = 0, None, 0
    rows = (
        EvidenceRecord.objects.filter(workflow_id=workflow.pk, sequence__lte=last_sequence)
        .order_by("sequence")
        .values(*VERIFY_FIELDS)
    )
    for values in rows.iterator(chunk_size=chunk_size):
        result.records += 1
        if progress:
            progress(1)
        problem = verifier.feed(export_record(values))
        if not problem and values["id"] < seen_id:
            problem = f"sequence {values['sequence']} was stored before sequence {seen_sequence} (records reordered)"
        if problem:
            result.problem = problem.replace(f"workflow {workflow.pk},", f"workflow “{workflow.slug}”,", 1)
            return result
        seen_sequence, seen_hash, seen_id = values["sequence"], values["record_hash"], values["id"]
    result.pending = pending_count(workflow.pk)
    signed_beyond = max((sequence for _, sequence in checkpoints), default=0)
    if signed_beyond > seen_sequence:
        result.problem = (
            f"workflow “{workflow.slug}”: the chain ends at sequence {seen_sequence} but a signed checkpoint "
            f"covers sequence {signed_beyond} (the last records were deleted and the head moved back)"
        )
        return result
    if head is None:
        if EvidenceRecord.objects.filter(workflow_id=workflow.pk).exists():
            result.problem = f"workflow “{workflow.slug}”: records exist but the chain head is missing"
        return result
    if seen_sequence != last_sequence:
        result.problem = (
            f"workflow “{workflow.slug}”: the chain ends at sequence {seen_sequence} but its head says "
            f"{last_sequence} (the last records were deleted)"
        )
    elif last_sequence and seen_hash != head.last_hash:
        result.problem = f"workflow “{workflow.slug}”: the last record's hash does not match the chain head"
    return result


def verify_chains(workflows, *, progress=None, remember=True):
    """Verify each workflow's chain; remember the outcome on its head; return the results."""
    results = []
    from_file = {}  # workflow id -> checkpoints; None -> unreadable lines (every chain reports them)
    for checkpoint in file_checkpoints():
        workflow_id = None if "malformed" in checkpoint else int(checkpoint["workflow_id"])
        from_file.setdefault(workflow_id, []).append(checkpoint)
    for workflow in workflows:
        result = verify_workflow_chain(workflow, progress=progress, from_file=from_file)
        results.append(result)
        if remember:
            EvidenceChainHead.objects.filter(pk=workflow.pk).update(
                verified_at=timezone.now(),
                verified_ok=result.ok,
                verified_sequence=result.records if result.ok else 0,
                verification_problem=result.problem,
            )
    return results
