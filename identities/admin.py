from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import ApiKey, IdentitySource, User, WorkloadIdentity


@admin.register(IdentitySource)
class IdentitySourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "authoritative", "updated_at")
    list_filter = ("kind", "authoritative")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "display_name", "identity_source", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser", "identity_source", "groups")
    search_fields = ("username", "email", "display_name", "first_name", "last_name", "external_id")
    list_select_related = ("identity_source",)
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Identity source", {"fields": ("display_name", "identity_source", "external_id")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        ("Identity", {"fields": ("email", "display_name", "identity_source")}),
    )


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fk_name = "workload"
    extra = 0
    can_delete = False
    fields = ("prefix", "name", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        # Keys are issued through the service (shown once), never typed into the admin.
        return False


@admin.register(WorkloadIdentity)
class WorkloadIdentityAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "workflow", "owner", "status", "external_principal", "last_used_at")
    list_filter = ("kind", "status", "identity_source", "workflow")
    search_fields = ("name", "slug", "external_principal", "owner__username", "owner__email", "workflow__name")
    list_select_related = ("workflow", "owner")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner", "workflow")
    readonly_fields = ("status", "status_reason", "created_at", "updated_at", "last_used_at")
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "workload", "user", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "workload__slug", "user__username")
    list_select_related = ("workload", "user")
    exclude = ("key_hash",)
    readonly_fields = ("prefix", "workload", "user", "created_at", "created_by", "last_used_at")

    def has_add_permission(self, request):
        return False
