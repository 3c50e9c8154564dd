"""`/api/v1/evidence/`: agents report prompt, tool, data and action events in batches (POST);
workloads read their own events, owners their workflows' trail, auditors all (GET).

Thin: the caller must be a workload; `ingest_evidence_batch` validates every event and
records all of them or none. A refused batch answers 400 with `fields.events` mapping each
bad event's index to its field errors.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, serializers, status
from rest_framework.response import Response

from governance import permissions as rules
from governance.api.exceptions import error_response
from governance.api.schema import errors
from governance.api.strict import StrictSerializer
from governance.evidence.serializers import EvidenceItemSerializer, EvidenceRecordSerializer
from governance.evidence.services import MAX_BATCH, ingest_evidence_batch
from governance.exceptions import InvalidInput
from governance.filtersets import EvidenceRecordFilterSet
from governance.permissions import require

MAX_IDEMPOTENCY_KEY = 200


class EvidenceBatchSerializer(StrictSerializer):
    """For the schema: the body is `{"events": [...]}` (a bare list is accepted too)."""

    events = EvidenceItemSerializer(many=True, help_text=f"1 to {MAX_BATCH} events, recorded in this order.")


class RecordedSerializer(StrictSerializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="Position in the workflow's evidence chain.")
    record_hash = serializers.CharField()


class EvidenceBatchResultSerializer(StrictSerializer):
    workflow = serializers.CharField()
    recorded = serializers.IntegerField()
    records = RecordedSerializer(many=True)


class EvidenceBatchView(mixins.ListModelMixin, generics.GenericAPIView):
    """Record a batch of the calling workload's events; read the evidence the caller may see."""

    serializer_class = EvidenceRecordSerializer
    filterset_class = EvidenceRecordFilterSet
    ordering_fields = ["occurred_at", "id"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self):
        return rules.visible_evidence(self.request.user).select_related("workflow", "workload")

    @extend_schema(
        summary="List evidence records, newest first (chain hashes included)",
        responses={200: EvidenceRecordSerializer(many=True), **errors(400)},
        operation_id="evidence_list",
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        summary=f"Report up to {MAX_BATCH} prompt / tool call / data access / action events (all or none)",
        request=EvidenceBatchSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="Up to 200 characters, new for each batch and the same on its retries: a retry "
                "answers with the first call's records (`Idempotent-Replayed: true`) and records nothing; "
                "the same key with other events is a 409.",
            )
        ],
        responses={201: EvidenceBatchResultSerializer, **errors(400, 409)},
        operation_id="evidence_ingest",
    )
    def post(self, request):
        require(rules.is_workload(request.user), "Only workloads report evidence; people's actions are recorded.")
        workload = request.user.workload
        events = request.data.get("events") if isinstance(request.data, dict) else request.data
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
            message = f"The Idempotency-Key header takes up to {MAX_IDEMPOTENCY_KEY} printable characters."
            return error_response(status.HTTP_400_BAD_REQUEST, "invalid", message, {"Idempotency-Key": [message]})
        try:
            records = ingest_evidence_batch(workload, events, idempotency_key=key)
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
        headers = {"Idempotent-Replayed": "true"} if records.replayed else None
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)
