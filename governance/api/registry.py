"""The registry as code, for pipelines: the schema, export, plan, apply and drift.

Files travel in the body as `{"files": [{"name": "payments.yaml", "content": "…"}]}`. Export,
plan and drift are for the security team and auditors; apply for the security team
(registry administrators), whose plans are also checked through the services. Apply
answers 200 when everything took effect, 202 with the registry changes that wait for a
second person, 409 when the plan it names is stale.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.permissions import require
from governance.registry_files.apply import apply_document, check_document
from governance.registry_files.documents import read_files
from governance.registry_files.drift import compute_drift
from governance.registry_files.export import fingerprint, live_document, to_yaml
from governance.registry_files.plan import compute_plan
from governance.registry_files.schema import SCHEMA
from governance.roles import is_registry_admin, reads_whole_registry

from .changes import RegistryChangeSerializer
from .schema import errors
from .strict import StrictSerializer

READ_DENIED = "The registry files are for the security team and auditors."
APPLY_DENIED = "Applying registry files is for the security team (registry administrators)."
MAX_FILE = 1_000_000


class RegistryFileSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, help_text="The file's name, used in problems: payments.yaml.")
    content = serializers.CharField(max_length=MAX_FILE, trim_whitespace=False, help_text="The YAML text.")


class RegistryPlanSerializer(StrictSerializer):
    files = serializers.ListField(child=RegistryFileSerializer(), min_length=1, max_length=100)
    prune = serializers.BooleanField(default=False, help_text="Retire what the files do not describe.")


class RegistryApplySerializer(RegistryPlanSerializer):
    plan_fingerprint = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="Refuse (409) unless the registry is as planned."
    )


class ExportQuerySerializer(StrictSerializer):
    workflow = serializers.SlugField(required=False, help_text="Only this workflow and the entitlements it uses.")


class NoQuerySerializer(StrictSerializer):
    """The schema and the drift take no query parameters: any one is a 400 naming it."""


def _no_query(request):
    NoQuerySerializer(data=request.query_params).is_valid(raise_exception=True)


def _files(request, serializer_class):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return read_files([(f["name"], f["content"]) for f in data["files"]]), data


class RegistrySchemaView(APIView):
    @extend_schema(summary="The JSON Schema of registry files", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        _no_query(request)
        return Response(SCHEMA)


class RegistryExportView(APIView):
    @extend_schema(
        summary="Today's registry as a registry file (YAML in `content`, and as JSON in `document`)",
        parameters=[OpenApiParameter("workflow", str, description="Only this workflow (slug).")],
        responses={200: OpenApiTypes.OBJECT, **errors(400)},
    )
    def get(self, request):
        require(reads_whole_registry(request.user), READ_DENIED)
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        document = live_document(workflow=query.validated_data.get("workflow"))
        full = document if "workflow" not in query.validated_data else live_document()
        return Response({"fingerprint": fingerprint(full), "document": document, "content": to_yaml(document)})


class RegistryPlanView(APIView):
    @extend_schema(
        summary="What applying the files would change; each change that widens access is marked",
        description="Planned by someone who may apply, the files are also carried out through the services "
        "and rolled back (`checked_as`): what the apply would refuse is a 400 naming each `file:line`.",
        request=RegistryPlanSerializer,
        responses={200: OpenApiTypes.OBJECT, **errors(400)},
    )
    def post(self, request):
        require(reads_whole_registry(request.user), READ_DENIED)
        document, data = _files(request, RegistryPlanSerializer)
        if is_registry_admin(request.user):
            return Response(check_document(document, by=request.user, prune=data["prune"]).as_dict())
        return Response(compute_plan(document.data, prune=data["prune"]).as_dict())


class RegistryApplyView(APIView):
    @extend_schema(
        summary="Apply the files (registry administrators); 202 lists the changes that wait for approval",
        request=RegistryApplySerializer,
        responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        require(is_registry_admin(request.user), APPLY_DENIED)
        document, data = _files(request, RegistryApplySerializer)
        outcome = apply_document(
            document, by=request.user, prune=data["prune"], plan_fingerprint=data.get("plan_fingerprint") or None
        )
        context = {"request": request}
        body = {
            "application": outcome.application.pk,
            "fingerprint": outcome.application.fingerprint_after,
            "plan": outcome.plan.as_dict(),
            "pending": RegistryChangeSerializer(outcome.pending, many=True, context=context).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED if outcome.pending else status.HTTP_200_OK)


class RegistryDriftView(APIView):
    @extend_schema(
        summary="How the registry differs from the last applied files, and who changed what since",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        require(reads_whole_registry(request.user), READ_DENIED)
        _no_query(request)
        return Response(compute_drift().as_dict())
