from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        # Wiring that must exist in every process (web and worker alike): Celery tasks, the
        # receivers that turn lifecycle events into outbox rows, and the outbox handlers of
        # request tickets. The outbox itself imports none of its consumers.
        from auditlog.registry import auditlog

        from . import tasks  # noqa: F401
        from .chat import delivery as chat_delivery  # noqa: F401
        from .chat import receivers as chat_receivers  # noqa: F401
        from .chat import tasks as chat_tasks  # noqa: F401
        from .models import (
            AccessRequest,
            Approval,
            Grant,
            NotificationPreference,
            OutboxMessage,
            QueueConnection,
            SigningKey,
            SlackAccount,
            SlackConnection,
            TicketLink,
            WorkflowChat,
        )
        from .queues import receivers, request_tickets  # noqa: F401
        from .queues import tasks as queue_tasks  # noqa: F401

        auditlog.register(AccessRequest)
        auditlog.register(Approval)
        auditlog.register(Grant)
        auditlog.register(SigningKey, exclude_fields=["private_key_encrypted"])
        # Secret references are not secrets, but the error text may quote a vendor's answer;
        # the fields that change on every poll would only add noise.
        auditlog.register(QueueConnection, exclude_fields=["last_polled_at", "last_success_at", "updated_at"])
        auditlog.register(TicketLink, exclude_fields=["last_checked_at", "updated_at"])
        auditlog.register(OutboxMessage, exclude_fields=["next_attempt_at", "lease_until"])
        # Chat: who may post where and who is who in Slack; the sealed secrets stay out.
        auditlog.register(
            SlackConnection,
            exclude_fields=["bot_token_sealed", "signing_secret_sealed", "last_success_at", "updated_at"],
        )
        auditlog.register(WorkflowChat, exclude_fields=["teams_webhook_sealed", "updated_at"])
        auditlog.register(SlackAccount)
        auditlog.register(NotificationPreference, exclude_fields=["updated_at"])
