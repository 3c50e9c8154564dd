"""Read-mostly admin: requests and grants change state only through the services."""

from django.contrib import admin

from .models import AccessRequest, Approval, Grant, SigningKey

# Django discovers only `<app>.admin`; the ticket-queue and outbox admins live with their feature.
from .queues import admin as queue_admin  # noqa: F401


class ApprovalInline(admin.TabularInline):
    model = Approval
    extra = 0
    can_delete = False
    readonly_fields = ("approver", "decision", "channel", "comment", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyStateAdmin(admin.ModelAdmin):
    """Shows everything, edits nothing: transitions go through services and their checks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyStateAdmin):
    list_display = ("id", "workflow", "entitlement", "requested_by", "workload", "on_behalf_of", "state", "created_at")
    list_filter = ("state", "effect", "workflow")
    search_fields = ("task_ref", "justification", "requested_by__username", "workload__slug", "entitlement__scope")
    list_select_related = ("workflow", "entitlement", "requested_by", "workload", "on_behalf_of")
    date_hierarchy = "created_at"
    inlines = [ApprovalInline]


@admin.register(Grant)
class GrantAdmin(ReadOnlyStateAdmin):
    list_display = ("id", "workflow", "entitlement", "requested_by", "workload", "status", "starts_at", "expires_at")
    list_filter = ("status", "workflow")
    search_fields = ("task_ref", "requested_by__username", "workload__slug", "entitlement__scope")
    list_select_related = ("workflow", "entitlement", "requested_by", "workload")
    date_hierarchy = "expires_at"


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyStateAdmin):
    list_display = ("request", "approver", "decision", "channel", "created_at")
    list_filter = ("decision", "channel")
    search_fields = ("approver__username", "comment")
    list_select_related = ("request", "approver")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyStateAdmin):
    """Keys are created by `manage.py rotate_signing_key`; the private half is never shown."""

    list_display = ("kid", "algorithm", "created_at", "retired_at", "verify_until")
    exclude = ("private_key_encrypted",)
