"""Evidence records and the head of each workflow's hash chain."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.choices import EvidenceKind, EvidenceOutcome, Sensitivity
from governance.exceptions import IllegalTransition
from governance.verify_export import GENESIS_HASH

APPEND_ONLY = "Evidence records are append-only: they can be neither changed nor deleted."


class EvidenceQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes; inserts only through the evidence service."""

    def update(self, **kwargs):
        raise IllegalTransition(APPEND_ONLY)

    def delete(self):
        raise IllegalTransition(APPEND_ONLY)

    def _raw_delete(self, using):
        raise IllegalTransition(APPEND_ONLY)

    def bulk_create(self, objs, *args, chained=False, **kwargs):
        # Only `record_evidence`/`ingest_evidence_batch` know the chain head; an insert
        # anywhere else would leave a record without a valid place in its chain.
        if not chained:
            raise IllegalTransition("Evidence is written only through governance.evidence.services.record_evidence.")
        return super().bulk_create(objs, *args, **kwargs)


class EvidenceRecord(models.Model):
    """An append-only, hash-chained record of one runtime event in one workflow.

    `sequence` numbers the records of a workflow 1, 2, 3…; `prev_hash` is the previous
    record's `record_hash`; `record_hash` is the SHA-256 of the canonical encoding of the
    hashed fields (see `governance.verify_export`). The full payload (a prompt, tool
    arguments…) is represented by its SHA-256; the payload itself is kept only when
    `EVIDENCE_STORE_RAW_PAYLOADS` is on, and only up to `EVIDENCE_MAX_PAYLOAD_BYTES`.

    The model refuses updates and deletes; on PostgreSQL a trigger refuses them too.
    """

    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="evidence")
    sequence = models.PositiveBigIntegerField(help_text="Position in the workflow's chain, from 1.")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    occurred_at = models.DateTimeField(help_text="When the event happened (as reported).")
    recorded_at = models.DateTimeField(help_text="When Mandate recorded it; never decreases along a chain.")
    workload = models.ForeignKey(
        "identities.WorkloadIdentity", on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person the workload acted for.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person who acted (approver, revoker, requester).",
    )
    access_request = models.ForeignKey(
        "approvals.AccessRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    grant = models.ForeignKey(
        "approvals.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    task_ref = models.CharField(max_length=200, blank=True)
    ticket_ref = models.CharField(max_length=200, blank=True)
    tool_name = models.CharField(max_length=200, blank=True)
    target_resource = models.CharField(max_length=500, blank=True)
    data_classification = models.CharField(max_length=20, choices=Sensitivity.choices, blank=True)
    outcome = models.CharField(max_length=16, choices=EvidenceOutcome.choices, blank=True)
    summary = models.TextField(blank=True, help_text="Short, redacted description.")
    payload_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the full payload.")
    raw_payload = models.TextField(
        null=True, blank=True, help_text="The payload's canonical JSON, kept only when raw payloads are enabled."
    )
    prev_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["workflow_id", "sequence"]
        verbose_name = "evidence record"
        constraints = [
            models.UniqueConstraint(fields=["workflow", "sequence"], name="evidence_unique_sequence"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="evidence_sequence_positive"),
        ]
        indexes = [
            models.Index(fields=["workflow", "occurred_at", "id"], name="evidence_timeline_idx"),
            models.Index(fields=["workflow", "recorded_at"], name="evidence_recorded_idx"),
            models.Index(fields=["workflow", "kind", "occurred_at"], name="evidence_kind_idx"),
            models.Index(fields=["workflow", "task_ref"], name="evidence_task_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.sequence} in workflow {self.workflow_id}"

    def save(self, *args, **kwargs):
        raise IllegalTransition(
            APPEND_ONLY if self.pk else "Evidence is written only through governance.evidence.services."
        )

    def delete(self, *args, **kwargs):
        raise IllegalTransition(APPEND_ONLY)

    @property
    def subject_label(self):
        if self.workload_id:
            return f"{self.workload} for {self.on_behalf_of}" if self.on_behalf_of_id else str(self.workload)
        return str(self.actor or self.on_behalf_of or "Mandate")


class EvidenceChainHead(models.Model):
    """The last link of a workflow's chain, locked to append (one writer at a time).

    Also remembers the last verification, so reports and findings can say whether the
    chain was verified and what broke. Derived state: `verify_evidence` checks it against
    the records, so a truncated chain is detected too.
    """

    workflow = models.OneToOneField(
        "governance.Workflow", on_delete=models.CASCADE, primary_key=True, related_name="evidence_head"
    )
    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    last_recorded_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_ok = models.BooleanField(null=True, blank=True)
    verified_sequence = models.PositiveBigIntegerField(default=0)
    verification_problem = models.TextField(blank=True)

    class Meta:
        verbose_name = "evidence chain head"

    def __str__(self):
        return f"Chain of workflow {self.workflow_id} at #{self.last_sequence}"


class EvidenceStreamPosition(models.Model):
    """How far an outbound stream has delivered one workflow's chain.

    `last_sequence` is the last chain position the destination has accepted; the stream
    sends what comes after it and moves it forward only after a batch was delivered, so a
    crash or an outage resends (at least once) rather than skips. Each stream has its own
    name, so a second destination starts from the beginning of every chain.
    """

    stream = models.CharField(max_length=100)
    workflow = models.ForeignKey("governance.Workflow", on_delete=models.CASCADE, related_name="+")
    last_sequence = models.PositiveBigIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "evidence stream position"
        constraints = [models.UniqueConstraint(fields=["stream", "workflow"], name="evidence_stream_one_position")]

    def __str__(self):
        return f"{self.stream}: workflow {self.workflow_id} sent to #{self.last_sequence}"


def unchecked_reference(to, **options):
    """A reference the database neither checks nor indexes (why: `EvidenceIntake`)."""
    return models.ForeignKey(
        to, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+", **options
    )


class EvidenceIntake(models.Model):
    """A runtime event recorded durably but not yet chained: the unsequenced intake.

    High-volume events (authorization decisions) land here with one plain INSERT and no
    lock, so deciding never queues behind a workflow's chain head. The sequencer
    (`governance.evidence.intake.seal_intake`) moves rows into the workflow's hash chain
    in batches, in intake order (`id`), under the head lock, and deletes them in the same
    transaction: a row is either here or in the chain, never lost and never in both.
    Rows are written only by `governance.evidence.intake` (`record_decision`, and
    `record_grants_ended` for the sweeper's batch), with ids just read or written by the
    same transaction. The references carry no database constraint: checking them
    would take a key-share lock on the grant, workflow and workload rows on every decision
    (and wait for whoever holds them); the chained `EvidenceRecord` checks them when the
    sequencer moves the row.
    """

    workflow = unchecked_reference("governance.Workflow")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    occurred_at = models.DateTimeField()
    workload = unchecked_reference("identities.WorkloadIdentity", null=True, blank=True)
    on_behalf_of = unchecked_reference(settings.AUTH_USER_MODEL, null=True, blank=True)
    actor = unchecked_reference(settings.AUTH_USER_MODEL, null=True, blank=True)
    access_request = unchecked_reference("approvals.AccessRequest", null=True, blank=True)
    grant = unchecked_reference("approvals.Grant", null=True, blank=True)
    task_ref = models.CharField(max_length=200, blank=True)
    ticket_ref = models.CharField(max_length=200, blank=True)
    tool_name = models.CharField(max_length=200, blank=True)
    target_resource = models.CharField(max_length=500, blank=True)
    data_classification = models.CharField(max_length=20, choices=Sensitivity.choices, blank=True)
    outcome = models.CharField(max_length=16, choices=EvidenceOutcome.choices, blank=True)
    summary = models.TextField(blank=True)
    payload_sha256 = models.CharField(max_length=64, blank=True)
    raw_payload = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "evidence awaiting its chain"
        indexes = [models.Index(fields=["workflow", "id"], name="evidence_intake_order_idx")]

    def __str__(self):
        return f"Unsealed {self.kind} #{self.pk} in workflow {self.workflow_id}"


class EvidenceCheckpoint(models.Model):
    """A signed statement of a chain's head: "workflow W's chain had hash H at position N".

    Signed with an Ed25519 key kept outside the database (`governance.evidence.keys`),
    and copied to a file and the SIEM stream, where the database cannot reach: whoever
    rewrites the records and re-hashes the rest cannot make the chain match a checkpoint
    signed before. Written by `governance.evidence.checkpoints`; the message signed is
    defined in `governance.verify_export.checkpoint_message`. The app's database role may
    only insert and read checkpoints (`grant_app_role`).
    """

    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveBigIntegerField(help_text="The chain position the checkpoint covers.")
    head_hash = models.CharField(max_length=64, help_text="The record hash at that position.")
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64, help_text="Which published key signed it.")
    signature = models.CharField(max_length=128, help_text="Ed25519 signature, base64.")

    class Meta:
        ordering = ["workflow_id", "sequence"]
        verbose_name = "evidence checkpoint"
        constraints = [
            models.UniqueConstraint(fields=["workflow", "sequence"], name="evidence_checkpoint_one_per_position")
        ]

    def __str__(self):
        return f"Checkpoint of workflow {self.workflow_id} at #{self.sequence}"


class EvidenceBatch(models.Model):
    """A reported batch sent with an `Idempotency-Key`: a retry of it returns these records.

    Agents retry a POST whose answer they did not get (a 502, a cut connection); without
    the key the retry would record the same events twice in the trail, which can never be
    undone. One row per keyed batch: which records it became (`first_sequence`, `count` in
    the workflow's chain) and the SHA-256 of the events sent, so the same key with other
    events is refused rather than answered with the wrong records. Written in the same
    transaction as the records, under the chain head's lock; like them, insert and read only.
    """

    workload = models.ForeignKey("identities.WorkloadIdentity", on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=200)
    events_sha256 = models.CharField(max_length=64)
    workflow = models.ForeignKey("governance.Workflow", on_delete=models.PROTECT, related_name="+")
    first_sequence = models.PositiveBigIntegerField()
    count = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "reported evidence batch"
        constraints = [
            models.UniqueConstraint(fields=["workload", "idempotency_key"], name="evidence_batch_one_per_key")
        ]

    def __str__(self):
        return f"Batch {self.idempotency_key!r} of workload {self.workload_id}"
