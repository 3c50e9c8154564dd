"""Ticket-queue adapters: approvals travel through the queue the organisation already uses.

This package never imports approval models. Services and tasks build a `ConnectionConfig`
and a `TicketContent`, call `get_adapter(config)`, and act on the plain values it returns.
"""

from .base import (
    APPROVE,
    DENY,
    PENDING,
    Actor,
    CheckResult,
    ConnectionConfig,
    TicketAdapter,
    TicketRef,
    TicketState,
    WebhookEvent,
)
from .content import ChangeTicketContent, ReviewTicketContent, TicketContent
from .errors import TicketError
from .registry import ADAPTERS, adapter_class, get_adapter
from .secrets import is_valid_reference, resolve_secret

__all__ = [
    "ADAPTERS",
    "APPROVE",
    "DENY",
    "PENDING",
    "ReviewTicketContent",
    "ChangeTicketContent",
    "Actor",
    "CheckResult",
    "ConnectionConfig",
    "TicketAdapter",
    "TicketContent",
    "TicketError",
    "TicketRef",
    "TicketState",
    "WebhookEvent",
    "adapter_class",
    "get_adapter",
    "is_valid_reference",
    "resolve_secret",
]
