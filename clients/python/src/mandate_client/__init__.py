"""Python client of Mandate: access requests, the authorization check, evidence, grant
tokens, a tool guard and (with the `mcp` extra) an MCP gateway."""

from ._version import __version__
from .client import Mandate, sha256_of
from .errors import (
    AccessDenied,
    AccessPending,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    DecisionTimeout,
    InvalidToken,
    MandateError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
)
from .guard import Guard, guard
from .models import AccessRequest, Decision, Grant, Ticket
from .tools import ToolEntry, ToolMapping

__all__ = [
    "AccessDenied",
    "AccessPending",
    "AccessRequest",
    "AuthenticationFailed",
    "BadRequest",
    "Conflict",
    "Decision",
    "DecisionTimeout",
    "Grant",
    "Guard",
    "InvalidToken",
    "Mandate",
    "MandateError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "Ticket",
    "ToolEntry",
    "ToolMapping",
    "TransportError",
    "__version__",
    "guard",
    "sha256_of",
]
