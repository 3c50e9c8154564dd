"""Streamed exports for auditors' tools, with an API key or a browser session.

DRF views (so a Bearer key authenticates exactly as everywhere in the API, and a bad key
is a 401 in the API's error shape, never a redirect to the login page) that answer with a
streamed body. `?format=` picks the body's format here, not DRF's renderer.

- `GET /api/v1/workload-inventory/?format=csv|json`: every workload the caller may see,
  with the dossier's answers (`governance.dossier.inventory`).
- `GET /api/v1/evidence/ocsf/`: evidence as OCSF events, one JSON object a line;
  `?workflow=&after=<sequence>` resumes one chain after a position.
- `GET /api/v1/evidence/export/`: the verifiable evidence export of the audit pages
  (`governance.evidence.exports`), for scripts.
"""

import json

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from governance import permissions as rules
from governance.api.schema import errors
from governance.api.strict import refuse_unknown_parameters
from governance.dossier.inventory import CSV_COLUMNS, csv_row, inventory_entries, inventory_queryset
from governance.evidence.exports import export_queryset, export_response, parse_range, render_csv
from governance.evidence.stream import ocsf_lines, sealed_records
from governance.exceptions import InvalidInput
from governance.permissions import require

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
}


# What each export reads from its query: documented in the schema from these lists, and
# anything else is refused (`refuse_unknown_parameters`), so the two never drift apart.
INVENTORY_PARAMETERS = [OpenApiParameter("format", str, enum=["json", "csv"], description="json (default) or csv.")]
OCSF_PARAMETERS = [
    OpenApiParameter("workflow", str, description="Only this workflow's chain."),
    OpenApiParameter("after", int, description="Only records after this chain position (needs workflow)."),
    OpenApiParameter("since", str, description="Recorded at or after (ISO 8601)."),
    OpenApiParameter("until", str, description="Recorded before (ISO 8601)."),
]
EXPORT_PARAMETERS = [
    OpenApiParameter("workflow", str, description="Only this workflow's chain (default: all you may audit)."),
    OpenApiParameter("format", str, enum=["jsonl", "json", "csv"], description="Default jsonl."),
    OpenApiParameter("since", str, description="Recorded at or after (ISO 8601)."),
    OpenApiParameter("until", str, description="Recorded before (ISO 8601)."),
]


def _format(request, allowed, default):
    fmt = request.query_params.get("format", default)
    if fmt not in allowed:
        raise InvalidInput(f"Unknown format “{fmt}”.", field_errors={"format": [f"Use {' or '.join(allowed)}."]})
    return fmt


def streamed(content, fmt, filename):
    response = StreamingHttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


class StreamedExportView(APIView):
    def perform_content_negotiation(self, request, force=False):
        # `?format=csv` names the export's format; DRF would look for a renderer by it.
        return super().perform_content_negotiation(request, force=True)


def _json_document(meta, items, key):
    yield "{" + json.dumps("export") + ": " + json.dumps(meta) + ", " + json.dumps(key) + ": ["
    separator = "\n"
    for item in items:
        yield separator + json.dumps(item, ensure_ascii=False)
        separator = ",\n"
    yield "\n]}\n"


class WorkloadInventoryView(StreamedExportView):
    @extend_schema(
        summary="Inventory of every workload the caller may see, with owners, access, why and activity",
        parameters=INVENTORY_PARAMETERS,
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            **errors(400),
        },
        operation_id="workload_inventory",
    )
    def get(self, request):
        user = request.user
        require(rules.is_person(user), "The inventory is for people: auditors and owners.")
        refuse_unknown_parameters(request, INVENTORY_PARAMETERS)
        fmt = _format(request, ("json", "csv"), "json")
        entries = inventory_entries(inventory_queryset(user))
        if fmt == "csv":
            return streamed(render_csv((csv_row(entry) for entry in entries), CSV_COLUMNS), fmt, "workload-inventory")
        meta = {
            "scope": "all workloads" if rules.is_auditor(user) else "workloads you own or whose workflow you own",
            "exported_at": timezone.now().isoformat(),
            "exported_by": user.get_username(),
        }
        return streamed(_json_document(meta, entries, "workloads"), fmt, "workload-inventory")


class OcsfExportView(StreamedExportView):
    @extend_schema(
        summary="Evidence as OCSF 1.7.0 events (JSON Lines), in chain order",
        parameters=OCSF_PARAMETERS,
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **errors(400, 404)},
        operation_id="evidence_ocsf_export",
    )
    def get(self, request):
        user = request.user
        workflows = rules.audit_workflows(user)
        require(rules.is_auditor(user) or workflows.exists(), "Only auditors and workflow owners can export evidence.")
        refuse_unknown_parameters(request, OCSF_PARAMETERS)
        params = request.query_params
        since, until = parse_range(params.get("since"), params.get("until"))
        records = sealed_records().filter(workflow__in=workflows)
        slug = params.get("workflow")
        if slug:
            records = records.filter(workflow=get_object_or_404(workflows, slug=slug))
        after = params.get("after")
        if after not in (None, ""):
            if not slug:
                raise InvalidInput("“after” is a position in one chain.", field_errors={"after": ["Name a workflow."]})
            if not after.isdigit():
                raise InvalidInput("“after” is a chain position.", field_errors={"after": ["A whole number ≥ 0."]})
            records = records.filter(sequence__gt=int(after))
        if since:
            records = records.filter(recorded_at__gte=since)
        if until:
            records = records.filter(recorded_at__lt=until)
        lines = (line + "\n" for line in ocsf_lines(records.order_by("workflow_id", "sequence")))
        return streamed(lines, "jsonl", f"evidence-ocsf-{slug or 'portfolio'}")


class EvidenceExportView(StreamedExportView):
    @extend_schema(
        summary="The evidence export (JSON Lines, JSON or CSV) that verifies offline, as on the audit pages",
        parameters=EXPORT_PARAMETERS,
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            **errors(400, 404),
        },
        operation_id="evidence_export",
    )
    def get(self, request):
        user = request.user
        workflows = rules.audit_workflows(user)
        require(rules.is_auditor(user) or workflows.exists(), "Only auditors and workflow owners can export evidence.")
        refuse_unknown_parameters(request, EXPORT_PARAMETERS)
        params = request.query_params
        since, until = parse_range(params.get("since"), params.get("until"))
        slug = params.get("workflow")
        scope = get_object_or_404(workflows, slug=slug) if slug else None
        meta = {
            "scope": scope.slug if scope else "portfolio",
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "exported_at": timezone.now().isoformat(),
            "exported_by": user.get_username(),
            "verify_with": "python verify_export.py <file> --keys evidence-keys.json (governance/verify_export.py)",
        }
        chains = [scope.pk] if scope else workflows.values("pk")
        return export_response(
            export_queryset(chains, since=since, until=until),
            params.get("format", "jsonl"),
            filename=f"evidence-{meta['scope']}",
            meta=meta,
        )
