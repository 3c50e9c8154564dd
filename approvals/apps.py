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
        from .models import AccessRequest, Approval, Grant, OutboxMessage, QueueConnection, SigningKey, TicketLink
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
