"""Serializers for workload identities and API keys. Key secrets appear once, on issue."""

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from governance import permissions as rules
from governance.api.fields import IdentitySourceField, UsernameField, VisibleSlugField
from governance.api.strict import StrictModelSerializer, StrictSerializer
from identities.models import ApiKey, WorkloadIdentity


class WorkloadIdentitySerializer(StrictModelSerializer):
    owner = UsernameField(required=False, help_text="Username of the accountable person; defaults to the caller.")
    workflow = VisibleSlugField(
        rules.visible_workflows, "workflow", help_text="Slug of the one workflow it is bound to."
    )
    identity_source = IdentitySourceField(
        required=False, allow_null=True, help_text="Slug of the source authoritative for this workload."
    )

    class Meta:
        model = WorkloadIdentity
        fields = [
            "id",
            "slug",
            "name",
            "kind",
            "description",
            "owner",
            "workflow",
            "identity_source",
            "external_principal",
            "status",
            "status_reason",
            "created_at",
            "updated_at",
            "last_used_at",
        ]
        read_only_fields = ["id", "status", "status_reason", "created_at", "updated_at", "last_used_at"]


class ApiKeySerializer(StrictModelSerializer):
    workload = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    usable = serializers.SerializerMethodField(help_text="Neither revoked nor past its grace period.")

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "prefix",
            "name",
            "workload",
            "user",
            "created_at",
            "created_by",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "usable",
        ]
        read_only_fields = fields

    def get_usable(self, key) -> bool:
        return key.is_usable(timezone.now())


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The secret. Shown in this answer only: store it now, it cannot be read again."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyRequestSerializer(StrictSerializer):
    workload = VisibleSlugField(
        rules.visible_workloads,
        "workload identity",
        required=False,
        allow_null=True,
        help_text="Slug of the workload to issue a key for; omit for a personal access token for yourself.",
    )
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class RotateApiKeySerializer(StrictSerializer):
    grace_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="How long the old key keeps working beside the new one (default: one day).",
    )

    def validate_grace_seconds(self, value):
        if value > settings.API_KEY_ROTATION_MAX_GRACE_SECONDS:
            raise serializers.ValidationError(
                f"At most {settings.API_KEY_ROTATION_MAX_GRACE_SECONDS} seconds: a rotated key must stop soon."
            )
        return value


class SuspendWorkloadSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why; recorded in the audit trail.")


class ReactivateWorkloadSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why it may act again; recorded in the audit trail.")


class SuspendedWorkloadSerializer(StrictSerializer):
    workload = WorkloadIdentitySerializer()
    revoked_grants = serializers.IntegerField(help_text="Active grants this call ended.")
    cancelled_requests = serializers.IntegerField(help_text="Pending requests this call cancelled.")
