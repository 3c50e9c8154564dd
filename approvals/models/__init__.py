"""The models of the approvals app.

Django reads an app's models from this one module, so every model of the app is named
here; each is defined with its feature (access requests and grants in `access`, the
ticket queues and the outbox in `approvals.queues.models`).
"""

from approvals.queues.models import OutboxMessage, QueueConnection, TicketLink

from .access import AccessRequest, Approval, Grant, SigningKey

__all__ = ["AccessRequest", "Approval", "Grant", "OutboxMessage", "QueueConnection", "SigningKey", "TicketLink"]
