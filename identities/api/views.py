"""API of workload identities (with the kill switch) and API keys."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from approvals.services import reactivate_workload, suspend_workload
from governance import permissions as rules
from governance.api.schema import error, errors
from governance.api.strict import refuse_unknown_parameters
from governance.api.viewsets import ReadOnlyViewSet, RegistryViewSet
from governance.dossier.selectors import WORKLOAD_RELATED, EventQuery, workload_dossier, workload_events
from governance.permissions import require
from identities import services
from identities.filtersets import ApiKeyFilterSet, WorkloadIdentityFilterSet

from .dossier import dossier_answer, events_page
from .serializers import (
    ApiKeyRequestSerializer,
    ApiKeySerializer,
    IssuedApiKeySerializer,
    ReactivateWorkloadSerializer,
    RotateApiKeySerializer,
    SuspendedWorkloadSerializer,
    SuspendWorkloadSerializer,
    WorkloadIdentitySerializer,
)

EVENT_PARAMETERS = [
    OpenApiParameter("kind", str, description="Only records of this evidence kind."),
    OpenApiParameter("tool", str, description="Only records of this tool."),
    OpenApiParameter("task", str, description="Only records of this task reference."),
    OpenApiParameter("since", str, description="Occurred at or after (ISO 8601)."),
    OpenApiParameter("until", str, description="Occurred before (ISO 8601)."),
    OpenApiParameter("before", int, description="Records older than this id (the cursor of `next`)."),
    OpenApiParameter("limit", int, description="Records per page, 1 to 200 (default 50)."),
]


@extend_schema_view(
    list=extend_schema(summary="List the workload identities the caller may see"),
    retrieve=extend_schema(summary="A workload identity"),
    create=extend_schema(summary="Register a workload identity in a workflow (its owners and administrators)"),
    partial_update=extend_schema(summary="Change a workload identity (its owner, its workflow's owners, admins)"),
)
class WorkloadIdentityViewSet(RegistryViewSet):
    serializer_class = WorkloadIdentitySerializer
    filterset_class = WorkloadIdentityFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "slug", "kind", "status", "created_at", "last_used_at"]
    ordering = ["name"]
    create_denied = "Only the workflow's owners and the security team may register its workloads."
    change_denied = "Only the workload's owner, its workflow's owners or the security team may change it."

    def visible(self, user):
        return rules.visible_workloads(user).select_related("owner", "workflow", "identity_source")

    def can_create(self, user):
        # The workflow is only known after validation: checked again in create_object.
        return rules.is_person(user) and not rules.is_read_only(user)

    def can_change(self, user, workload):
        return rules.can_change_workload(user, workload)

    def create_object(self, data):
        require(rules.can_register_workload(self.request.user, data["workflow"]), self.create_denied)
        data = {**data, "owner": data.get("owner") or self.request.user}
        return services.register_workload(by=self.request.user, **data)

    def update_object(self, workload, data):
        return services.update_workload(workload, by=self.request.user, **data)

    @extend_schema(
        summary="Kill switch: suspend the workload, revoke its grants, cancel its pending requests",
        request=SuspendWorkloadSerializer,
        responses={200: SuspendedWorkloadSerializer},
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, slug=None):
        workload = self.get_object()
        require(
            rules.can_manage_workload(request.user, workload),
            "Only the workload's owner, its workflow's owners or an administrator may suspend it.",
        )
        serializer = SuspendWorkloadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        summary = suspend_workload(workload, by=request.user, reason=serializer.validated_data["reason"])
        workload.refresh_from_db()
        return Response(
            {"workload": WorkloadIdentitySerializer(workload, context=self.get_serializer_context()).data, **summary}
        )

    @extend_schema(
        summary="Lift a suspension (the workflow's owners); nothing is restored, access is asked for again",
        request=ReactivateWorkloadSerializer,
        responses={200: WorkloadIdentitySerializer, 409: error(409, "Not suspended, or its owner is deactivated.")},
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, slug=None):
        workload = self.get_object()
        require(
            rules.can_reactivate_workload(request.user, workload),
            "Only the workflow's control owner, backup owner or an administrator may reactivate its workloads.",
        )
        serializer = ReactivateWorkloadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workload = reactivate_workload(workload, by=request.user, reason=serializer.validated_data["reason"])
        return self.answer(self.visible(request.user).get(pk=workload.pk))

    def _dossier_workload(self, slug):
        # Not get_object(): the list's filters (`kind` of workload…) must not read the
        # timeline's parameters (`kind` of event).
        workload = get_object_or_404(
            rules.visible_workloads(self.request.user).select_related(*WORKLOAD_RELATED), slug=slug
        )
        self.check_object_permissions(self.request, workload)
        return workload

    @extend_schema(
        summary="The dossier: who owns it, what it can do and may ask for, why, what it did, how to stop it",
        parameters=EVENT_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **errors(400)},
    )
    @action(detail=True, methods=["get"])
    def dossier(self, request, slug=None):
        workload = self._dossier_workload(slug)
        refuse_unknown_parameters(request, EVENT_PARAMETERS)
        query = EventQuery.from_params(request.query_params)
        return Response(dossier_answer(request, workload_dossier(workload, request.user, query)))

    @extend_schema(
        summary="The workload's own evidence, newest first, one page at a time (`next` pages on)",
        parameters=EVENT_PARAMETERS,
        responses={200: OpenApiTypes.OBJECT, **errors(400)},
    )
    @action(detail=True, methods=["get"])
    def events(self, request, slug=None):
        workload = self._dossier_workload(slug)
        refuse_unknown_parameters(request, EVENT_PARAMETERS)
        query = EventQuery.from_params(request.query_params)
        records, next_before = workload_events(workload, query)
        return Response(events_page(request, workload, records, next_before, query))


def key_answer(key, plaintext=None, status_code=status.HTTP_200_OK):
    data = (IssuedApiKeySerializer if plaintext else ApiKeySerializer)(key).data
    if plaintext:
        data["key"] = plaintext
    return Response(data, status=status_code)


@extend_schema_view(
    list=extend_schema(summary="List API keys the caller may see (never their secrets)"),
    retrieve=extend_schema(summary="An API key (never its secret)"),
)
class ApiKeyViewSet(ReadOnlyViewSet):
    """Workload keys and personal access tokens: issue (shown once), rotate, revoke."""

    serializer_class = ApiKeySerializer
    filterset_class = ApiKeyFilterSet
    ordering_fields = ["created_at", "expires_at", "last_used_at", "prefix"]
    ordering = ["-created_at"]

    def visible(self, user):
        return rules.visible_api_keys(user).select_related("workload", "user", "created_by")

    def get_serializer_class(self):
        if self.action == "create":
            return ApiKeyRequestSerializer
        if self.action == "rotate":
            return RotateApiKeySerializer
        return ApiKeySerializer

    @extend_schema(
        summary="Issue an API key: for a workload you manage, or a personal access token for yourself",
        request=ApiKeyRequestSerializer,
        responses={201: IssuedApiKeySerializer},
    )
    def create(self, request):
        require(rules.is_person(request.user), "Workloads may not issue API keys.")
        serializer = ApiKeyRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        workload = serializer.validated_data.get("workload")
        require(
            rules.can_issue_api_key(request.user, workload),
            "Only the workload's owner, its workflow's owners or an administrator may issue its keys.",
        )
        holder = {"workload": workload} if workload else {"user": request.user}
        key, plaintext = services.issue_api_key(
            **holder, name=serializer.validated_data["name"], created_by=request.user
        )
        return key_answer(key, plaintext, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rotate an API key: a new key now, the old one stops after the grace period",
        request=RotateApiKeySerializer,
        responses={201: IssuedApiKeySerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        key = self.get_object()
        require(rules.can_manage_api_key(request.user, key), "You may not rotate this key.")
        serializer = RotateApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grace = serializer.validated_data.get("grace_seconds", settings.API_KEY_ROTATION_GRACE_SECONDS)
        new_key, plaintext = services.rotate_api_key(key, grace=timedelta(seconds=grace), rotated_by=request.user)
        return key_answer(new_key, plaintext, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke an API key at once (revoking twice is a no-op)", request=None, responses={200: ApiKeySerializer}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = self.get_object()
        require(rules.can_manage_api_key(request.user, key), "You may not revoke this key.")
        return key_answer(services.revoke_api_key(key))
