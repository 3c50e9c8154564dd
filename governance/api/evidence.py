"""`POST /api/v1/evidence/`: agents report prompt, tool, data and action events in batches.

Thin: the caller must be a workload; `ingest_evidence_batch` validates every event and
records all of them or none. A refused batch answers 400 with `fields.events` mapping each
bad event's index to its field errors.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import permissions as rules
from governance.api.exceptions import error_response
from governance.api.schema import errors
from governance.api.viewsets import require
from governance.evidence.serializers import EvidenceItemSerializer
from governance.evidence.services import MAX_BATCH, ingest_evidence_batch
from governance.exceptions import InvalidInput


class EvidenceBatchSerializer(serializers.Serializer):
    """For the schema: the body is `{"events": [...]}` (a bare list is accepted too)."""

    events = EvidenceItemSerializer(many=True, help_text=f"1 to {MAX_BATCH} events, recorded in this order.")


class RecordedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="Position in the workflow's evidence chain.")
    record_hash = serializers.CharField()


class EvidenceBatchResultSerializer(serializers.Serializer):
    workflow = serializers.CharField()
    recorded = serializers.IntegerField()
    records = RecordedSerializer(many=True)


class EvidenceBatchView(APIView):
    """Record a batch of the calling workload's events in its workflow's evidence chain."""

    @extend_schema(
        summary=f"Report up to {MAX_BATCH} prompt / tool call / data access / action events (all or none)",
        request=EvidenceBatchSerializer,
        responses={201: EvidenceBatchResultSerializer, **errors(400)},
        operation_id="evidence_ingest",
    )
    def post(self, request):
        require(rules.is_workload(request.user), "Only workloads report evidence; people's actions are recorded.")
        workload = request.user.workload
        events = request.data.get("events") if isinstance(request.data, dict) else request.data
        try:
            records = ingest_evidence_batch(workload, events)
        except InvalidInput as exc:
            fields = exc.field_errors
            if all(isinstance(key, int) for key in fields):
                fields = {"events": {str(index): errors for index, errors in fields.items()}}
            else:
                fields = {"events": fields.get("items", [exc.message])}
            return error_response(status.HTTP_400_BAD_REQUEST, exc.code, exc.message, fields)
        body = {
            "workflow": workload.workflow.slug,
            "recorded": len(records),
            "records": [{"id": r.pk, "sequence": r.sequence, "record_hash": r.record_hash} for r in records],
        }
        return Response(body, status=status.HTTP_201_CREATED)
