"""Signed checkpoints of the evidence chains, copied where the database cannot reach.

A checkpoint states "workflow W's chain had hash H at position N", signed with the key
in `EVIDENCE_SIGNING_KEY_DIR` (`keys.py`). One is written whenever a chain's head has
moved since its last checkpoint: in each sequencer batch (`intake.seal_intake`), every
`CHECKPOINT_EVERY` positions and at its end, and every minute for every chain (`governance.sign_evidence_
checkpoints`, from beat). Each is stored in the database (`EvidenceCheckpoint`), appended
to `EVIDENCE_CHECKPOINT_FILE` (JSON Lines, once the transaction commits) and streamed to
the SIEM with the records (`stream.py`). Verification (`verification.py`, the offline
`verify_export.py`) reads the checkpoints of the database and of the file, so deleting or
altering the database's copies hides nothing.
"""

import base64
import json
import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance.verify_export import checkpoint_message, format_timestamp

from .keys import CheckpointKeyError, signing_key
from .models import EvidenceChainHead, EvidenceCheckpoint

logger = logging.getLogger(__name__)


def as_dict(checkpoint):
    """A checkpoint as it is published (file sink, exports, the SIEM) and verified."""
    signed_at = checkpoint.signed_at
    return {
        "type": "evidence_checkpoint",
        "workflow_id": checkpoint.workflow_id,
        "sequence": checkpoint.sequence,
        "head_hash": checkpoint.head_hash,
        "signed_at": signed_at if isinstance(signed_at, str) else format_timestamp(signed_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def _append_to_file(*lines):
    path = settings.EVIDENCE_CHECKPOINT_FILE
    if not path:
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: each line lands whole at the end, whichever process writes it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, "".join(line + "\n" for line in lines).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        # The database copy and the SIEM stream still hold it; the next one is written anyway.
        logger.error("evidence checkpoint not appended to %s: %s", path, exc)


# Within a sequencer batch, a checkpoint every this many positions as well as at its end:
# verification locates a rewritten record between two checkpoints, so this bounds the
# stretch it can name (a sweep chains tens of thousands of records at once).
CHECKPOINT_EVERY = 500


def sign_head(head):
    """Sign the chain head `head` (an EvidenceChainHead) unless it is already checkpointed.

    Returns the new checkpoint, or None when the head has not moved since the last one.
    """
    if not head.last_sequence:
        return None
    return sign_position(head.workflow_id, head.last_sequence, head.last_hash)


def sign_chained(workflow_id, records):
    """Checkpoints of records just chained (field values, in chain order), in their transaction:
    one every `CHECKPOINT_EVERY` positions and one at the end. A missing key is logged, never
    raised: it must not stop evidence being chained (the minute job fails loudly instead)."""
    lines = []
    try:
        for index, record in enumerate(records, start=1):
            if record["sequence"] % CHECKPOINT_EVERY == 0 or index == len(records):
                sign_position(workflow_id, record["sequence"], record["record_hash"], file_lines=lines)
    except (CheckpointKeyError, OSError) as exc:
        logger.error("evidence checkpoints not signed after sealing: %s", exc)
    if lines:  # one write and one fsync for the batch's checkpoints
        transaction.on_commit(lambda: _append_to_file(*lines))


def sign_position(workflow_id, sequence, head_hash, *, file_lines=None):
    """Sign "the chain of `workflow_id` has `head_hash` at `sequence`"; None if signed already.

    Its line for the file is appended once the transaction commits, or put in `file_lines`
    for the caller to append with others."""
    key_id, private = signing_key()
    checkpoint = EvidenceCheckpoint(
        workflow_id=workflow_id,
        sequence=sequence,
        head_hash=head_hash,
        signed_at=timezone.now(),
        key_id=key_id,
    )
    published = as_dict(checkpoint)
    checkpoint.signature = base64.b64encode(private.sign(checkpoint_message(published))).decode()
    # Two signers racing for one position agree on its hash; the first one's row stays.
    EvidenceCheckpoint.objects.bulk_create([checkpoint], ignore_conflicts=True)
    stored = EvidenceCheckpoint.objects.filter(workflow_id=workflow_id, sequence=sequence)
    if not stored.filter(signature=checkpoint.signature).exists():
        return None
    published["signature"] = checkpoint.signature
    line = json.dumps(published, separators=(",", ":"))
    # Only a committed checkpoint goes to the file: a rolled-back head never existed.
    if file_lines is None:
        transaction.on_commit(lambda: _append_to_file(line))
    else:
        file_lines.append(line)
    return checkpoint


def heads_to_sign(workflow_ids=None):
    """Chain heads that moved past their workflow's last checkpoint."""
    last = EvidenceCheckpoint.objects.filter(workflow_id=OuterRef("workflow_id")).values("workflow_id")
    last = last.annotate(top=Max("sequence")).values("top")
    heads = EvidenceChainHead.objects.annotate(signed=Coalesce(Subquery(last[:1]), Value(0))).filter(
        last_sequence__gt=F("signed")
    )
    if workflow_ids is not None:
        heads = heads.filter(workflow_id__in=workflow_ids)
    return heads.order_by("workflow_id")


def sign_checkpoints(workflow_ids=None):
    """Checkpoint every head that moved (of `workflow_ids`, or all); return how many were signed."""
    signed = 0
    for head in heads_to_sign(workflow_ids):
        if sign_head(head):
            signed += 1
    return signed


def file_checkpoints(workflow_ids=None):
    """The checkpoints in `EVIDENCE_CHECKPOINT_FILE` (of `workflow_ids`), as published dicts."""
    path = settings.EVIDENCE_CHECKPOINT_FILE
    if not path or not Path(path).exists():
        return []
    wanted = None if workflow_ids is None else set(workflow_ids)
    found = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                checkpoint = json.loads(line)
                workflow_id = int(checkpoint["workflow_id"])
            except (ValueError, KeyError, TypeError):
                # A torn or altered line is itself a finding; it is reported, not skipped.
                found.append({"malformed": f"{path}, line {number}"})
                continue
            if wanted is None or workflow_id in wanted:
                found.append(checkpoint)
    return found


def stored_checkpoints(workflow_ids):
    """The checkpoints the database holds for `workflow_ids`, as published dicts."""
    rows = EvidenceCheckpoint.objects.filter(workflow_id__in=workflow_ids).order_by("workflow_id", "sequence")
    return [as_dict(checkpoint) for checkpoint in rows.iterator()]
