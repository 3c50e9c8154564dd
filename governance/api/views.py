"""API of the workflow registry: workflows, entitlements, policies."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from governance import permissions as rules
from governance import services
from governance.filtersets import EntitlementFilterSet, PolicyFilterSet, WorkflowFilterSet
from governance.mcp_tools import workflow_tool_mapping
from governance.models import Workflow
from governance.permissions import require

from .changes import RegistryChangeSerializer
from .serializers import EntitlementSerializer, PolicySerializer, ToolMappingSerializer, WorkflowSerializer
from .viewsets import RegistryViewSet


@extend_schema_view(
    list=extend_schema(summary="List the workflows the caller may see"),
    retrieve=extend_schema(summary="A workflow"),
    create=extend_schema(
        summary="Register a workflow (the caller becomes its control owner); activating it waits for the security "
        "team (202 with the registry change)"
    ),
    partial_update=extend_schema(
        summary="Change a workflow (its owners and administrators); what widens access answers 202 with the change"
    ),
)
class WorkflowViewSet(RegistryViewSet):
    change_serializer_class = RegistryChangeSerializer
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "slug", "risk_tier", "status", "next_review_due", "created_at"]
    ordering = ["name"]
    create_denied = "Auditors and workloads may not register workflows."
    change_denied = "Only the workflow's control owner, backup owner or the security team may change it."

    def visible(self, user):
        return rules.visible_workflows(user).select_related("control_owner", "backup_owner", "identity_source")

    def can_create(self, user):
        return rules.can_register_workflow(user)

    def can_change(self, user, workflow):
        return rules.can_change_workflow(user, workflow)

    def create_object(self, data):
        return services.register_workflow(by=self.request.user, **data)

    def update_object(self, workflow, data):
        return services.update_workflow(workflow, by=self.request.user, **data)

    @extend_schema(
        summary="The workflow's MCP tool → scope mapping (its workloads, owners, auditors)",
        responses={200: ToolMappingSerializer},
        description="Entries in precedence order; a tool no entry matches is not covered by any entitlement.",
    )
    @action(detail=True, methods=["get"])
    def tools(self, request, slug=None):
        workflow = self.get_object()
        return Response({"workflow": workflow.slug, "tools": workflow_tool_mapping(workflow)})


@extend_schema_view(
    list=extend_schema(summary="List entitlements (a workload: those of its workflow)"),
    retrieve=extend_schema(summary="An entitlement"),
    create=extend_schema(summary="Add an entitlement (workflow owners and administrators)"),
    partial_update=extend_schema(summary="Change an entitlement (administrators: it is shared by workflows)"),
)
class EntitlementViewSet(RegistryViewSet):
    change_serializer_class = RegistryChangeSerializer
    serializer_class = EntitlementSerializer
    filterset_class = EntitlementFilterSet
    ordering_fields = ["scope", "target_system", "access_level", "sensitivity", "created_at"]
    ordering = ["scope"]
    create_denied = "Only workflow owners and the security team may add entitlements."
    change_denied = "Entitlements are shared by workflows: only the security team may change one."

    def visible(self, user):
        return rules.visible_entitlements(user)

    def can_create(self, user):
        return rules.can_create_entitlement(user)

    def can_change(self, user, entitlement):
        return rules.can_change_entitlement(user, entitlement)

    def create_object(self, data):
        return services.create_entitlement(by=self.request.user, **data)

    def update_object(self, entitlement, data):
        return services.update_entitlement(entitlement, by=self.request.user, **data)


@extend_schema_view(
    list=extend_schema(summary="List the policies of the workflows the caller may see"),
    retrieve=extend_schema(summary="A policy"),
    create=extend_schema(summary="Add an entitlement to a workflow: 202 with the change its resource owner approves"),
    partial_update=extend_schema(
        summary="Change a policy; what widens access answers 202 with the change its resource owner approves"
    ),
)
class PolicyViewSet(RegistryViewSet):
    change_serializer_class = RegistryChangeSerializer
    serializer_class = PolicySerializer
    filterset_class = PolicyFilterSet
    ordering_fields = ["workflow__name", "entitlement__scope", "approval_mode", "max_ttl_seconds", "created_at"]
    ordering = ["workflow__name", "entitlement__scope"]
    create_denied = "Only a workflow's owners and the security team may add its policies."
    change_denied = "Only the workflow's owners and the security team may change its policies."

    def visible(self, user):
        return rules.visible_policies(user).select_related("workflow", "entitlement")

    def can_create(self, user):
        # Which workflow is only known after validation: checked again in create_object.
        return rules.is_person(user) and not rules.is_read_only(user)

    def can_change(self, user, policy):
        return rules.can_manage_policy(user, policy.workflow)

    def create_object(self, data):
        workflow: Workflow = data["workflow"]
        require(rules.can_manage_policy(self.request.user, workflow), self.create_denied)
        return services.create_policy(by=self.request.user, **data)

    def update_object(self, policy, data):
        return services.update_policy(policy, by=self.request.user, **data)
