"""API of the configured ticket queues: read for administrators and auditors, checked by
administrators.

A connection holds references to its secrets (`env:NAME`, `file:/path`); those are shown,
the secrets never are: nothing here resolves a reference. Configuration is changed in the
admin, where it is validated and audited.
"""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from approvals.filtersets import QueueConnectionFilterSet
from approvals.models import QueueConnection
from approvals.queues.connections import test_connection
from approvals.tickets import TicketError
from governance import permissions as rules
from governance.api.viewsets import ReadOnlyViewSet
from governance.permissions import require


class QueueConnectionSerializer(serializers.ModelSerializer):
    base_url = serializers.CharField(
        read_only=True, help_text="The system's address; empty for the built-in inbox and for github.com."
    )
    credential_ref = serializers.CharField(
        read_only=True, help_text="Where the credential is (env:NAME or file:/path); never the credential."
    )
    webhook_secret_ref = serializers.CharField(
        read_only=True, help_text="Where the webhook secret is; never the secret. Empty: webhooks are refused."
    )
    effective_status_mapping = serializers.SerializerMethodField(
        help_text="Statuses (or labels) that approve and deny: the configured ones over the system's defaults."
    )
    webhook_url = serializers.SerializerMethodField(help_text="Where the ticket system sends its webhooks.")
    workflows = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text="Workflows whose approvals use this queue."
    )

    class Meta:
        model = QueueConnection
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "base_url",
            "project",
            "ticket_type",
            "status_mapping",
            "effective_status_mapping",
            "options",
            "credential_ref",
            "webhook_secret_ref",
            "webhook_url",
            "poll_interval_seconds",
            "workflows",
            "last_success_at",
            "last_error",
            "last_error_at",
            "last_polled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.JSONField(), allow_null=True))
    def get_effective_status_mapping(self, connection):
        try:
            return connection.effective_mapping
        except TicketError:
            return None  # an unknown kind (its adapter was removed): the admin shows the error

    def get_webhook_url(self, connection) -> str:
        return settings.SITE_URL + reverse("ticket_hooks:ticket_webhook", args=[connection.pk])


class ConnectionCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="The address, credential and project answered as expected.")
    messages = serializers.ListField(child=serializers.CharField(), help_text="What was checked, in words.")
    connection = QueueConnectionSerializer(help_text="The connection, with its health as just recorded.")


@extend_schema_view(
    list=extend_schema(summary="List the ticket queues (administrators and auditors)"),
    retrieve=extend_schema(summary="A ticket queue's configuration and health (secrets by reference only)"),
)
class QueueConnectionViewSet(ReadOnlyViewSet):
    serializer_class = QueueConnectionSerializer
    filterset_class = QueueConnectionFilterSet
    ordering_fields = ["name", "kind", "last_success_at", "last_error_at", "created_at"]
    ordering = ["name"]

    def visible(self, user):
        return rules.visible_queue_connections(user).prefetch_related("workflows")

    @extend_schema(
        summary="Check the queue's configuration against the ticket system (administrators); changes nothing there",
        request=None,
        responses={200: ConnectionCheckSerializer},
        description="Calls the ticket system with the configured credential; the outcome is also recorded as the "
        "connection's last success or last error. A failed check is `ok: false`, not an error status.",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        connection = self.get_object()
        require(rules.can_test_queue_connection(request.user), "Only administrators check a ticket queue.")
        # No transaction is open here: the remote call may take the adapter's whole timeout.
        result = test_connection(connection)
        connection = self.visible(request.user).get(pk=connection.pk)
        return Response(
            {
                "ok": result.ok,
                "messages": list(result.messages),
                "connection": QueueConnectionSerializer(connection, context=self.get_serializer_context()).data,
            }
        )
