from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        from auditlog.registry import auditlog

        from . import queue_tasks, ticket_receivers  # noqa: F401  (tasks and receivers register on import)
        from .models import AccessRequest, Approval, Grant, OutboxMessage, QueueConnection, SigningKey, TicketLink

        auditlog.register(AccessRequest)
        auditlog.register(Approval)
        auditlog.register(Grant)
        auditlog.register(SigningKey, exclude_fields=["private_key_encrypted"])
        # Secret references are not secrets, but the error text may quote a vendor's answer;
        # the fields that change on every poll would only add noise.
        auditlog.register(QueueConnection, exclude_fields=["last_polled_at", "last_success_at", "updated_at"])
        auditlog.register(TicketLink, exclude_fields=["last_checked_at", "updated_at"])
        auditlog.register(OutboxMessage, exclude_fields=["next_attempt_at", "lease_until"])
