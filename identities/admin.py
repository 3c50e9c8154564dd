from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse

from .forms import AdminSignInForm
from .models import ApiKey, DirectoryGroup, IdentitySource, ProvisioningToken, SignInThrottle, User, WorkloadIdentity
from .services import (
    deactivate_person,
    reactivate_person,
    register_workload,
    revoke_provisioning_token,
    shared_external_principals,
)
from .signin import lift


@admin.register(IdentitySource)
class IdentitySourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "authoritative", "last_synced_at", "updated_at")
    list_filter = ("kind", "authoritative")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("last_synced_at", "last_sync_result")


class LeaverForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class EmailAddressFilter(admin.SimpleListFilter):
    """People an identity provider pushed without an e-mail address get no mail from Mandate."""

    title = "e-mail address"
    parameter_name = "email"

    def lookups(self, request, model_admin):
        return [("missing", "Missing"), ("given", "Given")]

    def queryset(self, request, queryset):
        if self.value() == "missing":
            return queryset.filter(email="")
        if self.value() == "given":
            return queryset.exclude(email="")
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "display_name", "identity_source", "is_active", "is_staff")
    list_filter = ("is_active", EmailAddressFilter, "is_staff", "is_superuser", "identity_source", "groups")
    search_fields = ("username", "email", "display_name", "first_name", "last_name", "external_id")
    list_select_related = ("identity_source",)
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Identity source", {"fields": ("display_name", "identity_source", "external_id", "manager")}),
        ("Leaving", {"fields": ("deactivated_at", "deactivated_by", "deactivation_reason")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        ("Identity", {"fields": ("email", "display_name", "identity_source")}),
    )
    autocomplete_fields = ("manager",)
    actions = ["deactivate_leavers", "reactivate_people"]

    def get_readonly_fields(self, request, obj=None):
        # Switching a person off must run the leaver cascade: the action does, a checkbox would not.
        fixed = ("deactivated_at", "deactivated_by", "deactivation_reason")
        return (*fixed, "is_active") if obj is not None else fixed

    @admin.action(description="Deactivate (leaver): hand over or stop their workflows, workloads and grants")
    def deactivate_leavers(self, request, queryset):
        people = list(queryset.filter(is_active=True).exclude(pk=request.user.pk))
        form = LeaverForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            for person in people:
                summary = deactivate_person(person, by=request.user, reason=form.cleaned_data["reason"])
                self.message_user(
                    request,
                    f"{person.label} deactivated: {len(summary['workflows_handed_over'])} workflow(s) handed over, "
                    f"{len(summary['workflows_unowned'])} left unowned, {summary['revoked_grants']} grant(s) revoked.",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Deactivate people who left",
            "people": people,
            "form": form,
            "opts": self.model._meta,
            "action": "deactivate_leavers",
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/identities/user/deactivate.html", context)

    @admin.action(description="Reactivate (restores no access)")
    def reactivate_people(self, request, queryset):
        for person in queryset.filter(is_active=False):
            reactivate_person(person, by=request.user, reason="Reactivated in the admin.")
        self.message_user(request, "Reactivated. Their access must be requested again.", messages.SUCCESS)


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


class SharedPrincipalFilter(admin.SimpleListFilter):
    title = "external principal"
    parameter_name = "principal"

    def lookups(self, request, model_admin):
        return [("shared", "Shared across workflows")]

    def queryset(self, request, queryset):
        if self.value() == "shared":
            return queryset.filter(external_principal__in=list(shared_external_principals()))
        return queryset


@admin.register(WorkloadIdentity)
class WorkloadIdentityAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "workflow", "owner", "status", "external_principal", "last_used_at")
    list_filter = ("kind", "status", SharedPrincipalFilter, "identity_source", "workflow")
    search_fields = ("name", "slug", "external_principal", "owner__username", "owner__email", "workflow__name")
    list_select_related = ("workflow", "owner")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner", "workflow")
    readonly_fields = ("status", "status_reason", "created_at", "updated_at", "last_used_at")
    inlines = [ApiKeyInline]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # New workloads go through the service: it settles races on shared principals.
        created = register_workload(
            workflow=obj.workflow,
            owner=obj.owner,
            name=obj.name,
            slug=obj.slug,
            kind=obj.kind,
            identity_source=obj.identity_source,
            external_principal=obj.external_principal,
            description=obj.description,
        )
        obj.pk = created.pk
        return None


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


@admin.register(DirectoryGroup)
class DirectoryGroupAdmin(admin.ModelAdmin):
    """Groups as the identity sources report them: read-only here, the source is authoritative."""

    list_display = ("display_name", "identity_source", "external_id", "member_count", "updated_at")
    list_filter = ("identity_source",)
    search_fields = ("display_name", "external_id", "members__username")
    list_select_related = ("identity_source",)

    @admin.display(description="members")
    def member_count(self, group):
        return group.members.count()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProvisioningToken)
class ProvisioningTokenAdmin(admin.ModelAdmin):
    """SCIM bearer tokens. Issued by `manage.py issue_scim_token` (shown once), revoked here."""

    list_display = ("prefix", "name", "identity_source", "created_at", "revoked_at", "last_used_at")
    list_filter = ("identity_source", "revoked_at")
    search_fields = ("prefix", "name")
    list_select_related = ("identity_source",)
    exclude = ("token_hash",)
    readonly_fields = ("prefix", "identity_source", "created_at", "created_by", "revoked_at", "last_used_at")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens now")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_provisioning_token(token)
        self.message_user(request, "Revoked.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False


# The admin's sign-in form tells a throttled person why, like the portal's.
admin.site.login_form = AdminSignInForm


@admin.register(SignInThrottle)
class SignInThrottleAdmin(admin.ModelAdmin):
    """Failed sign-ins per account name and address; locks are lifted here (or with
    `manage.py lift_sign_in_lock`), never edited by hand."""

    list_display = (
        "key",
        "scope",
        "failures",
        "bursts",
        "surface",
        "last_failure_at",
        "blocked_until",
        "locked_at",
        "locked_until",
    )
    list_filter = ("scope", ("locked_at", admin.EmptyFieldListFilter))
    search_fields = ("key",)
    actions = ["lift_locks"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Lift the lock or wait of the selected entries", permissions=["lift"])
    def lift_locks(self, request, queryset):
        for throttle in queryset:
            lift(throttle, by=request.user)
        self.message_user(request, f"Lifted {queryset.count()} sign-in locks.", messages.SUCCESS)

    def has_lift_permission(self, request):
        return request.user.has_perm("identities.change_signinthrottle")
