from django.contrib import admin

from .models import (
    Entitlement,
    EvidenceChainHead,
    EvidenceRecord,
    Finding,
    Heartbeat,
    Policy,
    RegistryApplication,
    RegistryChange,
    ReminderDigest,
    ReminderLog,
    ReviewCampaign,
    ReviewItem,
    Workflow,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Governed state: visible to staff, changed only through the services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PolicyInline(admin.TabularInline):
    model = Policy
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The registry is read-only here: what widens access is a registry change that someone other
# than its author approves (portal, API), which an admin form would walk around.
@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "business_process",
        "control_owner",
        "backup_owner",
        "risk_tier",
        "status",
        "next_review_due",
        "missed_review_action",
    )
    list_filter = ("status", "risk_tier", "missed_review_action", "identity_source")
    search_fields = ("name", "slug", "business_process", "control_owner__username", "control_owner__email")
    list_select_related = ("control_owner", "backup_owner")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("control_owner", "backup_owner")
    inlines = [PolicyInline]


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = ("scope", "target_system", "access_level", "sensitivity", "max_lifetime_seconds")
    list_filter = ("access_level", "sensitivity", "target_system")
    search_fields = ("scope", "name", "target_system", "description")


@admin.register(Policy)
class PolicyAdmin(ReadOnlyAdmin):
    list_display = ("workflow", "entitlement", "approval_mode", "max_ttl_seconds", "task_ref_required")
    list_filter = ("approval_mode", "task_ref_required", "workflow")
    search_fields = ("workflow__name", "entitlement__scope")
    list_select_related = ("workflow", "entitlement")
    autocomplete_fields = ("workflow", "entitlement")


@admin.register(RegistryChange)
class RegistryChangeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "state", "summary", "author", "decided_by", "created_at")
    list_filter = ("state", "kind")
    search_fields = ("summary", "author__username")


@admin.register(RegistryApplication)
class RegistryApplicationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "applied_by", "applied_at", "prune", "fingerprint_after")
    search_fields = ("applied_by__username",)


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "seen_at")
    readonly_fields = ("name", "seen_at")


class ReviewItemInline(admin.TabularInline):
    model = ReviewItem
    fields = ("kind", "label", "outcome", "decided_by", "decided_at", "comment")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReviewCampaign)
class ReviewCampaignAdmin(ReadOnlyAdmin):
    list_display = ("workflow", "status", "opened_at", "due_at", "closed_at", "deadline_action")
    list_filter = ("status", "deadline_action", "workflow")
    search_fields = ("workflow__name", "workflow__slug", "close_note")
    list_select_related = ("workflow",)
    date_hierarchy = "due_at"
    inlines = [ReviewItemInline]


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("label", "kind", "campaign", "outcome", "decided_by", "decided_at")
    list_filter = ("kind", "outcome")
    search_fields = ("label", "comment", "campaign__workflow__name")
    list_select_related = ("campaign__workflow", "decided_by")


class ReminderLogInline(admin.TabularInline):
    model = ReminderLog
    fields = ("campaign", "stage", "repeat", "access_request", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReminderDigest)
class ReminderDigestAdmin(ReadOnlyAdmin):
    list_display = ("recipient_email", "day", "status", "attempts", "sent_at")
    list_filter = ("status", "day")
    search_fields = ("recipient_email", "user__username")
    date_hierarchy = "day"
    inlines = [ReminderLogInline]


@admin.register(ReminderLog)
class ReminderLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "channel", "recipient_email", "campaign", "stage", "repeat", "access_request")
    list_filter = ("channel", "stage")
    search_fields = ("recipient_email", "campaign__workflow__name")
    list_select_related = ("campaign__workflow", "access_request")


@admin.register(EvidenceRecord)
class EvidenceRecordAdmin(ReadOnlyAdmin):
    list_display = ("workflow", "sequence", "kind", "outcome", "occurred_at", "workload", "on_behalf_of", "tool_name")
    list_filter = ("kind", "outcome", "data_classification", "workflow")
    search_fields = ("task_ref", "ticket_ref", "tool_name", "target_resource", "summary", "record_hash")
    list_select_related = ("workflow", "workload", "on_behalf_of")
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # counting millions of rows on every page is slow


@admin.register(EvidenceChainHead)
class EvidenceChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("workflow", "last_sequence", "last_recorded_at", "verified_at", "verified_ok")
    list_filter = ("verified_ok",)
    search_fields = ("workflow__name", "workflow__slug")
    list_select_related = ("workflow",)


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("title", "kind", "severity", "workflow", "first_seen_at", "last_seen_at", "resolved_at")
    list_filter = ("kind", "severity", ("resolved_at", admin.EmptyFieldListFilter), "workflow")
    search_fields = ("title", "detail", "fingerprint")
    list_select_related = ("workflow",)
