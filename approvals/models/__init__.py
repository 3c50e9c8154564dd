"""The models of the approvals app.

Django reads an app's models from this one module, so every model of the app is named
here; each is defined with its feature (access requests and grants in `access`, the
ticket queues and the outbox in `approvals.queues.models`, Slack and Teams in
`approvals.chat.models`).
"""

from approvals.chat.models import (
    ChatDigest,
    ChatMessage,
    NotificationPreference,
    SlackAccount,
    SlackActionReceipt,
    SlackConnection,
    WorkflowChat,
)
from approvals.queues.models import OutboxMessage, QueueConnection, TicketLink

from .access import AccessRequest, Approval, Grant, SigningKey

__all__ = [
    "AccessRequest",
    "Approval",
    "ChatDigest",
    "ChatMessage",
    "Grant",
    "NotificationPreference",
    "OutboxMessage",
    "QueueConnection",
    "SigningKey",
    "SlackAccount",
    "SlackActionReceipt",
    "SlackConnection",
    "TicketLink",
    "WorkflowChat",
]
