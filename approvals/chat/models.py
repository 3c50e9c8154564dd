"""Chat: the Slack installations, where each workflow's approvals go in chat, who is who in
Slack, the messages Mandate posted (to update them in place), per-person notification
preferences and the daily direct-message digests.

Imported by `approvals.models`, so these are ordinary models of the approvals app. Every
secret (bot token, signing secret, Teams webhook address) is sealed with
`governance.secret_box`; the clear value never reaches a column, the change log or a log line.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from governance.secret_box import seal, unseal

BOT_TOKEN, SIGNING_SECRET, TEAMS_WEBHOOK = "slack-bot-token", "slack-signing-secret", "teams-webhook"


class SlackConnection(models.Model):
    """One installation of the Mandate app in a Slack workspace."""

    name = models.CharField(max_length=100, unique=True)
    team_id = models.CharField(max_length=32, unique=True, help_text="The workspace id (T…), from the app's settings.")
    bot_token_sealed = models.TextField(editable=False)
    signing_secret_sealed = models.TextField(editable=False)
    enabled = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} (Slack {self.team_id})"

    @property
    def bot_token(self):
        return unseal(self.bot_token_sealed, purpose=BOT_TOKEN)

    @bot_token.setter
    def bot_token(self, value):
        self.bot_token_sealed = seal(value, purpose=BOT_TOKEN)

    @property
    def signing_secret(self):
        return unseal(self.signing_secret_sealed, purpose=SIGNING_SECRET)

    @signing_secret.setter
    def signing_secret(self, value):
        self.signing_secret_sealed = seal(value, purpose=SIGNING_SECRET)


class WorkflowChat(models.Model):
    """Where one workflow's pending requests and notices go in chat."""

    workflow = models.OneToOneField("governance.Workflow", on_delete=models.CASCADE, related_name="chat")
    slack = models.ForeignKey(
        SlackConnection, on_delete=models.PROTECT, null=True, blank=True, related_name="workflows"
    )
    slack_channel = models.CharField(
        max_length=32, blank=True, help_text="Channel id (C…) to post pending requests in; the app must be a member."
    )
    slack_dm_approvers = models.BooleanField(
        default=False, help_text="Also send each eligible approver a direct message (those with a linked Slack user)."
    )
    teams_webhook_sealed = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "workflow chat route"

    def __str__(self):
        return f"Chat of {self.workflow}"

    @property
    def teams_webhook(self):
        return unseal(self.teams_webhook_sealed, purpose=TEAMS_WEBHOOK)

    @teams_webhook.setter
    def teams_webhook(self, value):
        self.teams_webhook_sealed = seal(value, purpose=TEAMS_WEBHOOK)

    def clean(self):
        if (self.slack_channel or self.slack_dm_approvers) and not self.slack_id:
            raise ValidationError({"slack": "Choose the Slack installation the channel or messages belong to."})


class SlackAccount(models.Model):
    """A Slack user known to be a Mandate person: linked by an administrator, or by the
    verified e-mail address Slack's `users.info` returned the first time they acted."""

    class LinkedBy(models.TextChoices):
        ADMIN = "admin", "An administrator"
        EMAIL = "email", "Verified e-mail address"

    connection = models.ForeignKey(SlackConnection, on_delete=models.CASCADE, related_name="accounts")
    slack_user_id = models.CharField(max_length=32)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_accounts")
    linked_by = models.CharField(max_length=8, choices=LinkedBy.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "slack_user_id"], name="slackaccount_one_per_slack_user"),
            models.UniqueConstraint(fields=["connection", "user"], name="slackaccount_one_per_person"),
        ]

    def __str__(self):
        return f"{self.slack_user_id} → {self.user}"


class ChatMessage(models.Model):
    """A Slack message Mandate posted about a request, kept to update it in place."""

    request = models.ForeignKey("approvals.AccessRequest", on_delete=models.CASCADE, related_name="chat_messages")
    connection = models.ForeignKey(SlackConnection, on_delete=models.CASCADE, related_name="messages")
    recipient = models.CharField(max_length=32, help_text="The channel or user id Mandate posted to.")
    channel = models.CharField(max_length=32, help_text="The conversation Slack put it in (D… for a direct message).")
    ts = models.CharField(max_length=32)
    shows = models.CharField(max_length=64, blank=True, help_text="The request's state the message last showed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "connection", "recipient"], name="chatmessage_one_per_recipient"
            ),
        ]

    def __str__(self):
        return f"request #{self.request_id} in {self.channel} at {self.ts}"


class NotificationPreference(models.Model):
    """How one person wants to hear from Mandate. Without a row: everything on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(default=True, help_text="Reminders and review notices by e-mail.")
    slack_dm = models.BooleanField(default=True, help_text="Approval requests and daily notices as Slack messages.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Notifications of {self.user}"


class ChatDigest(models.Model):
    """One person's Slack direct message of the day: expiring access, reviews due, requests
    waiting. Claimed (unique per person and day) before it is queued, so it goes once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_digests")
    connection = models.ForeignKey(SlackConnection, on_delete=models.CASCADE, related_name="digests")
    day = models.DateField()
    items = models.JSONField(default=list)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="chatdigest_one_per_person_day")]

    def __str__(self):
        return f"Slack notices for {self.user} on {self.day}"


class SlackActionReceipt(models.Model):
    """A signed Slack request already acted on: the same signature again is a replay."""

    signature = models.CharField(max_length=80, unique=True)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(signature=""), name="slackreceipt_signature_set")]

    def __str__(self):
        return f"Slack request received {self.received_at:%Y-%m-%d %H:%M:%S}"
