"""Admin of the chat configuration: Slack installations, workflow routes, Slack users.

Secrets are typed into write-only fields and stored sealed; a blank field on change keeps
the stored value. The interactivity URL to paste into the Slack app is shown once saved.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from approvals.models import ChatMessage, SlackAccount, SlackConnection, WorkflowChat

KEEP = "Leave blank to keep the stored value."


class SlackConnectionForm(forms.ModelForm):
    bot_token = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False), help_text=f"xoxb-… {KEEP}"
    )
    signing_secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text=f"From the app's Basic Information page. {KEEP}",
    )  # fmt: skip

    class Meta:
        model = SlackConnection
        fields = ("name", "team_id", "enabled")

    def clean(self):
        data = super().clean()
        for name in ("bot_token", "signing_secret"):
            if not data.get(name) and not getattr(self.instance, f"{name}_sealed"):
                self.add_error(name, "Required for a new installation.")
        if data.get("bot_token") and not data["bot_token"].startswith("xoxb-"):
            self.add_error("bot_token", "A bot token starts with xoxb-.")
        return data

    def save(self, commit=True):
        for name in ("bot_token", "signing_secret"):
            if self.cleaned_data.get(name):
                setattr(self.instance, name, self.cleaned_data[name])
        return super().save(commit)


@admin.register(SlackConnection)
class SlackConnectionAdmin(admin.ModelAdmin):
    form = SlackConnectionForm
    list_display = ("name", "team_id", "enabled", "last_success_at", "health")
    readonly_fields = ("interactivity_url", "last_success_at", "last_error", "last_error_at")
    fields = ("name", "team_id", "enabled", "bot_token", "signing_secret", "interactivity_url", *readonly_fields[1:])

    @admin.display(description="health")
    def health(self, obj):
        if obj.last_error:
            return format_html('<span title="{}">⚠ error</span>', obj.last_error[:300])
        return "ok" if obj.last_success_at else "untested"

    @admin.display(description="interactivity request URL (paste into the Slack app)")
    def interactivity_url(self, obj):
        if not obj.pk:
            return "Shown once the installation is saved."
        return settings.SITE_URL + reverse("chat_hooks:slack_interactivity", args=[obj.pk])


class WorkflowChatForm(forms.ModelForm):
    teams_webhook = forms.URLField(
        required=False, assume_scheme="https", widget=forms.PasswordInput(render_value=False),
        label="Teams workflow webhook URL", help_text=f"The address holds its own signature: a secret. {KEEP}",
    )  # fmt: skip
    forget_teams_webhook = forms.BooleanField(required=False, label="Stop posting to Teams")

    class Meta:
        model = WorkflowChat
        fields = ("workflow", "slack", "slack_channel", "slack_dm_approvers")

    def save(self, commit=True):
        if self.cleaned_data.get("forget_teams_webhook"):
            self.instance.teams_webhook = ""
        elif self.cleaned_data.get("teams_webhook"):
            self.instance.teams_webhook = self.cleaned_data["teams_webhook"]
        return super().save(commit)


@admin.register(WorkflowChat)
class WorkflowChatAdmin(admin.ModelAdmin):
    form = WorkflowChatForm
    list_display = ("workflow", "slack", "slack_channel", "slack_dm_approvers", "posts_to_teams")
    autocomplete_fields = ("workflow",)

    @admin.display(boolean=True, description="Teams")
    def posts_to_teams(self, obj):
        return bool(obj.teams_webhook_sealed)


@admin.register(SlackAccount)
class SlackAccountAdmin(admin.ModelAdmin):
    list_display = ("slack_user_id", "user", "connection", "linked_by", "created_at")
    list_filter = ("connection", "linked_by")
    search_fields = ("slack_user_id", "user__username", "user__email")
    autocomplete_fields = ("user",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.linked_by = SlackAccount.LinkedBy.ADMIN
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        return ("linked_by",)


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("request", "connection", "recipient", "channel", "ts", "shows", "updated_at")
    readonly_fields = [f.name for f in ChatMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
