"""DRF serializers for evidence: one reported event in, one stored record out.

Self-contained for the API: `EvidenceItemSerializer` documents an item's fields (for the
OpenAPI schema) and validates it with the service's own rules, so a single item and a
batch give the same messages. The batch endpoint itself should hand the raw list to
`ingest_evidence_batch(workload, items)`, which validates every item, records all or
none, and raises InvalidInput with `field_errors` keyed by item index.
"""

from rest_framework import serializers

from governance.choices import AGENT_EVIDENCE_KINDS, AGENT_EVIDENCE_OUTCOMES, Sensitivity

from .models import EvidenceRecord
from .services import validate_evidence_item


class EvidenceItemSerializer(serializers.Serializer):
    """One event reported by an agent. Needs `context={"workload": WorkloadIdentity}`."""

    kind = serializers.ChoiceField(choices=sorted(AGENT_EVIDENCE_KINDS))
    outcome = serializers.ChoiceField(choices=sorted(AGENT_EVIDENCE_OUTCOMES), required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False, help_text="ISO 8601 with a time zone; default now.")
    summary = serializers.CharField(required=False, allow_blank=True, max_length=1000, help_text="Redacted on entry.")
    task_ref = serializers.CharField(required=False, allow_blank=True, max_length=200)
    ticket_ref = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tool_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    target_resource = serializers.CharField(required=False, allow_blank=True, max_length=500)
    data_classification = serializers.ChoiceField(choices=Sensitivity.values, required=False, allow_blank=True)
    payload = serializers.JSONField(required=False, help_text="The full payload; only its SHA-256 is kept by default.")
    payload_sha256 = serializers.CharField(required=False, allow_blank=True, max_length=64)
    grant = serializers.IntegerField(required=False, allow_null=True, help_text="The grant the event used.")

    def to_internal_value(self, data):
        errors = validate_evidence_item(self.context["workload"], data)
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)


class EvidenceRecordSerializer(serializers.ModelSerializer):
    """A stored record, with its place in the chain."""

    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    workload = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = EvidenceRecord
        fields = [
            "id",
            "workflow",
            "sequence",
            "kind",
            "outcome",
            "occurred_at",
            "recorded_at",
            "workload",
            "on_behalf_of",
            "actor",
            "access_request",
            "grant",
            "task_ref",
            "ticket_ref",
            "tool_name",
            "target_resource",
            "data_classification",
            "summary",
            "payload_sha256",
            "prev_hash",
            "record_hash",
        ]
        read_only_fields = fields
