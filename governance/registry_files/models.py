"""What was applied from registry files, and by whom: the baseline of the drift view."""

from django.conf import settings
from django.db import models


class RegistryApplication(models.Model):
    """One `registry apply`: who applied which files (their content and hashes), the
    merged document they describe, and the fingerprints of the registry before and after.

    The latest one is what the drift view compares the live registry with.
    """

    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)
    files = models.JSONField(default=list, help_text="[{name, sha256, content}] as applied.")
    document = models.JSONField(default=dict, help_text="The merged document of the files, defaults filled in.")
    prune = models.BooleanField(default=False, help_text="Whether objects missing from the files were retired.")
    fingerprint_before = models.CharField(max_length=64)
    fingerprint_after = models.CharField(max_length=64)
    summary = models.JSONField(default=dict, help_text="Counts of what changed and the registry changes filed.")

    class Meta:
        ordering = ["-applied_at", "-pk"]
        get_latest_by = ["applied_at", "pk"]

    def __str__(self):
        return f"Registry files applied by {self.applied_by} at {self.applied_at:%Y-%m-%d %H:%M}"
