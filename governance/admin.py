from django.contrib import admin

from .models import Entitlement, Heartbeat, Policy, Workflow


class PolicyInline(admin.TabularInline):
    model = Policy
    extra = 0
    autocomplete_fields = ("entitlement",)


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "business_process",
        "control_owner",
        "backup_owner",
        "risk_tier",
        "status",
        "next_review_due",
    )
    list_filter = ("status", "risk_tier", "identity_source")
    search_fields = ("name", "slug", "business_process", "control_owner__username", "control_owner__email")
    list_select_related = ("control_owner", "backup_owner")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("control_owner", "backup_owner")
    inlines = [PolicyInline]


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = ("scope", "target_system", "access_level", "sensitivity", "max_lifetime_seconds")
    list_filter = ("access_level", "sensitivity", "target_system")
    search_fields = ("scope", "name", "target_system", "description")


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("workflow", "entitlement", "approval_mode", "max_ttl_seconds", "task_ref_required")
    list_filter = ("approval_mode", "task_ref_required", "workflow")
    search_fields = ("workflow__name", "entitlement__scope")
    list_select_related = ("workflow", "entitlement")
    autocomplete_fields = ("workflow", "entitlement")


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "seen_at")
    readonly_fields = ("name", "seen_at")
