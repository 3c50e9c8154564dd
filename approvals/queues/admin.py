"""Admin of ticket queues (configuration, editable), ticket links and the outbox (read-only)."""

from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from approvals.models import OutboxMessage, QueueConnection, TicketLink
from approvals.queues.connections import test_connection
from approvals.queues.outbox import retry_now
from approvals.tickets import adapter_class


@admin.register(QueueConnection)
class QueueConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "project", "enabled", "poll_interval_seconds", "last_success_at", "health")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "project", "base_url")
    readonly_fields = (
        "webhook_url",
        "default_mapping",
        "last_success_at",
        "last_error",
        "last_error_at",
        "last_polled_at",
    )
    actions = ["test_connections"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "base_url", "project", "ticket_type")}),
        ("Decisions", {"fields": ("status_mapping", "default_mapping", "options")}),
        (
            "Secrets (references only: env:NAME or file:/path)",
            {"fields": ("credential_ref", "webhook_secret_ref", "webhook_url")},
        ),
        (
            "Polling and health",
            {"fields": ("poll_interval_seconds", "last_polled_at", "last_success_at", "last_error", "last_error_at")},
        ),
    )

    @admin.display(description="health")
    def health(self, obj):
        if obj.last_error:
            return format_html('<span title="{}">⚠ error</span>', obj.last_error[:300])
        return "ok" if obj.last_success_at else "untested"

    @admin.display(description="webhook URL")
    def webhook_url(self, obj):
        if not obj.pk:
            return "Shown once the connection is saved."

        return settings.SITE_URL + reverse("ticket_hooks:ticket_webhook", args=[obj.pk])

    @admin.display(description="default mapping for this kind")
    def default_mapping(self, obj):
        return adapter_class(obj.kind).default_status_mapping if obj.kind else "—"

    @admin.action(description="Test connection (check settings, credential and project)")
    def test_connections(self, request, queryset):
        for connection in queryset:
            result = test_connection(connection)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{connection.name}: {' '.join(result.messages)}", level)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TicketLink)
class TicketLinkAdmin(ReadOnlyAdmin):
    list_display = (
        "external_key",
        "connection",
        "request",
        "change",
        "campaign",
        "last_seen_status",
        "last_checked_at",
        "closed_at",
    )
    list_filter = (
        "connection",
        ("campaign", admin.EmptyFieldListFilter),
        ("change", admin.EmptyFieldListFilter),
        "last_seen_status",
    )
    search_fields = ("external_key", "request__id", "change__id", "campaign__id", "url")
    list_select_related = ("request", "request__entitlement", "change", "campaign__workflow", "connection")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "topic", "state", "attempts", "next_attempt_at", "delivered_at", "failed_at", "short_error")
    list_filter = ("topic", ("failed_at", admin.EmptyFieldListFilter), ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = ("idempotency_key", "last_error")
    date_hierarchy = "created_at"
    actions = ["retry"]

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:120]

    @admin.action(description="Retry now (also failed messages)")
    def retry(self, request, queryset):
        count = retry_now(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) will be delivered on the relay's next run.")
