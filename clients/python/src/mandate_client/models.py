"""What the API answers, as small typed records. `raw` keeps the full JSON answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# An approved request shows its grant's state (active, expired, revoked).
PENDING = "pending"
SETTLED_STATES = frozenset({"active", "expired", "revoked", "approved", "denied", "cancelled", "timed_out"})


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True)
class Grant:
    id: int
    state: str
    expires_at: datetime | None
    task_ref: str = ""
    token: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grant:
        return cls(
            id=int(data["id"]),
            state=str(data.get("state", "")),
            expires_at=parse_time(data.get("expires_at")),
            task_ref=str(data.get("task_ref") or ""),
            token=data.get("token"),
        )


@dataclass(frozen=True)
class Ticket:
    kind: str
    key: str
    url: str
    status: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ticket:
        return cls(
            kind=str(data.get("kind", "")),
            key=str(data.get("key", "")),
            url=str(data.get("url", "")),
            status=str(data.get("status", "")),
        )


@dataclass(frozen=True)
class AccessRequest:
    """An access request and its decision: `state` is pending, active, denied, …"""

    id: int
    state: str
    workflow: str
    scope: str
    task_ref: str
    reasons: list[str]
    approvers: list[str]
    grant: Grant | None
    ticket: Ticket | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def pending(self) -> bool:
        return self.state == PENDING

    @property
    def active(self) -> bool:
        return self.state == "active"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessRequest:
        decision = data.get("decision") or {}
        return cls(
            id=int(data["id"]),
            state=str(data["state"]),
            workflow=str(data.get("workflow") or ""),
            scope=str(data.get("entitlement") or ""),
            task_ref=str(data.get("task_ref") or ""),
            reasons=[str(r) for r in decision.get("reasons") or []],
            approvers=[str(a) for a in decision.get("approvers") or []],
            grant=Grant.from_json(data["grant"]) if data.get("grant") else None,
            ticket=Ticket.from_json(data["ticket"]) if data.get("ticket") else None,
            raw=data,
        )


@dataclass(frozen=True)
class Decision:
    """The answer of the authorization check (or of an offline token check)."""

    allow: bool
    reasons: list[str]
    grant: int | None = None
    expires_at: datetime | None = None
    offline: bool = False

    def __bool__(self) -> bool:
        return self.allow

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(
            allow=bool(data.get("allow")),
            reasons=[str(r) for r in data.get("reasons") or []],
            grant=data.get("grant"),
            expires_at=parse_time(data.get("expires_at")),
        )
