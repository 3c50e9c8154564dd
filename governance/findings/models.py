"""Stored findings: what the last recomputation found, and since when."""

from django.db import models
from django.db.models import Q

from governance.choices import FindingKind, FindingSeverity


class Finding(models.Model):
    """One governance problem found in the data, with a link to where it is fixed.

    Findings are recomputed from the live data (periodically and on demand); the rows are
    a snapshot with history: a problem that is still there keeps its row (and the date it
    was first seen), one that went away is marked resolved, and one that comes back opens
    a new row. `fingerprint` names the problem and the object it is about, so the same
    problem is recognised from one run to the next.
    """

    kind = models.CharField(max_length=32, choices=FindingKind.choices)
    severity = models.CharField(max_length=10, choices=FindingSeverity.choices, default=FindingSeverity.MEDIUM)
    workflow = models.ForeignKey(
        "governance.Workflow", on_delete=models.CASCADE, null=True, blank=True, related_name="findings"
    )
    fingerprint = models.CharField(max_length=200)
    subject_type = models.CharField(max_length=40, help_text="What the finding is about: grant, policy, workload…")
    subject_id = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    fix_url = models.CharField(max_length=500, blank=True)
    fix_label = models.CharField(max_length=100, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"], condition=Q(resolved_at__isnull=True), name="finding_one_open_per_fingerprint"
            ),
        ]
        indexes = [models.Index(fields=["workflow", "resolved_at"], name="finding_workflow_open_idx")]

    def __str__(self):
        return self.title

    @property
    def is_open(self):
        return self.resolved_at is None
