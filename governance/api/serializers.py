"""Serializers of the workflow registry. Validation of shape only; rules live in services."""

from rest_framework import serializers

from governance import permissions as rules
from governance.api.strict import StrictModelSerializer, StrictSerializer
from governance.models import Entitlement, Policy, Workflow

from .fields import IdentitySourceField, UsernameField, VisibleSlugField


class WorkflowSerializer(StrictModelSerializer):
    control_owner = UsernameField(
        required=False, allow_null=True, help_text="Username; defaults to the caller (others: admins only)."
    )
    backup_owner = UsernameField(required=False, allow_null=True, help_text="Username of the backup owner.")
    identity_source = IdentitySourceField(help_text="Slug of the authoritative identity source.")

    class Meta:
        model = Workflow
        fields = [
            "id",
            "slug",
            "name",
            "business_process",
            "description",
            "control_owner",
            "backup_owner",
            "identity_source",
            "risk_tier",
            "review_cycle_days",
            "review_grace_days",
            "next_review_due",
            "missed_review_action",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "next_review_due", "created_at", "updated_at"]
        extra_kwargs = {"review_cycle_days": {"min_value": 1, "max_value": 366}}


class EntitlementSerializer(StrictModelSerializer):
    resource_owner = UsernameField(
        required=False,
        allow_null=True,
        help_text="Username of who answers for the target system; empty: the security team. Naming one waits "
        "for the security team's approval.",
    )

    class Meta:
        model = Entitlement
        fields = [
            "id",
            "scope",
            "target_system",
            "name",
            "description",
            "access_level",
            "sensitivity",
            "max_lifetime_seconds",
            "resource_owner",
            "mcp_tools",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"max_lifetime_seconds": {"min_value": 1}}

    mcp_tools = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=100,
        help_text="MCP tool names or patterns (* ? [...]) this entitlement covers.",
    )


class ToolEntrySerializer(StrictSerializer):
    pattern = serializers.CharField(help_text="An MCP tool name, or a pattern with * ? [...].")
    exact = serializers.BooleanField(help_text="True for a tool name, false for a pattern.")
    scope = serializers.CharField(help_text="The entitlement to ask for before calling a matching tool.")
    access_level = serializers.CharField()


class ToolMappingSerializer(StrictSerializer):
    workflow = serializers.CharField()
    tools = ToolEntrySerializer(
        many=True, help_text="In precedence order: the first entry matching a tool name decides its scope."
    )


class PolicySerializer(StrictModelSerializer):
    workflow = VisibleSlugField(rules.visible_workflows, "workflow", help_text="Workflow slug.")
    entitlement = VisibleSlugField(
        rules.visible_entitlements, "entitlement", slug_field="scope", help_text="Entitlement scope."
    )

    class Meta:
        model = Policy
        fields = [
            "id",
            "workflow",
            "entitlement",
            "approval_mode",
            "max_ttl_seconds",
            "pending_ttl_seconds",
            "reminder_interval_seconds",
            "task_ref_required",
            "justification_required",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "max_ttl_seconds": {"min_value": 1},
            "pending_ttl_seconds": {"min_value": 1},
        }
        # One policy per (workflow, entitlement) is checked by the service, with its message.
        validators = []
