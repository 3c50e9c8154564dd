"""The contract every ticket-queue adapter keeps, and the plain data it speaks.

Adapters never see a model: services hand them a `ConnectionConfig` and a
`TicketContent`, and get back `TicketRef`, `TicketState` and `WebhookEvent` values. Every
failure to talk to the remote system is a `TicketError` that says whether a retry can help.
"""

import hashlib
import json
from dataclasses import dataclass, field

from .content import TicketContent
from .errors import TicketError
from .secrets import resolve_secret

APPROVE = "approve"
DENY = "deny"
PENDING = "pending"


@dataclass(frozen=True)
class ConnectionConfig:
    """One queue connection, as plain data. Secrets are references, resolved when used."""

    kind: str
    name: str = ""
    base_url: str = ""
    project: str = ""
    ticket_type: str = ""
    status_mapping: dict = field(default_factory=dict)
    credential_ref: str = ""
    webhook_secret_ref: str = ""
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TicketRef:
    """Where a ticket lives: its key in the remote system and a URL a person can open."""

    key: str
    url: str = ""
    created: bool = False  # False when an existing ticket for the request was found


@dataclass(frozen=True)
class Actor:
    """Who changed a ticket, as the remote system names them (any field may be empty)."""

    username: str = ""
    email: str = ""
    display_name: str = ""
    external_id: str = ""
    is_bot: bool = False

    def __str__(self):
        return self.display_name or self.username or self.email or self.external_id or "unknown"


@dataclass(frozen=True)
class TicketState:
    """A ticket as last read from the remote system.

    `decision` is the connection's mapping of `status` (approve / deny / pending);
    `actor` is who put the ticket into that status, read from the system's own history,
    never from a webhook body. `marker` changes whenever status or actor change, so a
    caller can tell a new event from one it has already handled.
    """

    key: str
    status: str
    decision: str = PENDING
    actor: Actor | None = None
    url: str = ""
    closed: bool = False
    changed_at: str = ""

    @property
    def marker(self):
        who = self.actor.external_id or self.actor.username or self.actor.email if self.actor else ""
        return f"{self.status}|{who}|{self.changed_at}"[:250]


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook, reduced to a hint: which ticket to re-read.

    `event_id` is stable for a replayed delivery (the vendor's delivery id, or a hash of the
    body), so replays are recognised. `ticket_key` is empty for events about no ticket
    (pings, other issues); those are acknowledged and ignored.
    """

    event_id: str
    ticket_key: str = ""
    event_type: str = ""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a configuration check: ok, and lines a person can read."""

    ok: bool
    messages: tuple = ()


def body_digest(body: bytes) -> str:
    """A stable id for a webhook whose sender gives none: the same body, the same id."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def webhook_object(body: bytes) -> dict:
    """A webhook body as a JSON object; anything else (not JSON, a list, a string) is a
    permanent TicketError, which the endpoint answers with a 400."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise TicketError("The webhook body is not JSON.", permanent=True)
    if not isinstance(data, dict):
        raise TicketError("The webhook body must be a JSON object.", permanent=True)
    return data


def member(data: dict, name: str) -> dict:
    """`data[name]` if it is an object, else an empty one: a field of the wrong type names nothing."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def scalar(value) -> str:
    """A ticket key or event id from a JSON value: text or a number, else nothing."""
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


class TicketAdapter:
    """Base class: one subclass per ticket system, registered by `kind`.

    Subclasses implement `find_ticket`, `create_ticket`, `fetch_ticket`, `add_comment`,
    `close_ticket`, `verify_webhook`, `parse_webhook` and `check_configuration`. Every
    method that talks to the remote system raises `TicketError` on failure:
    `permanent=False` for timeouts, 5xx and rate limits (retry with backoff), `True` for
    anything a retry cannot fix (refused credentials, unknown project, bad mapping).
    """

    kind = ""
    label = ""
    #: False for the built-in portal queue: nothing leaves Mandate.
    remote = True
    #: Default mapping of the system's statuses or labels to decisions.
    default_status_mapping: dict = {}
    #: Configuration fields a connection of this kind must fill in.
    required_fields: tuple = ()
    #: Seconds to wait for the remote system (connect, read); `options.timeout` overrides.
    timeout = (5, 20)

    def __init__(self, config: ConnectionConfig, *, session=None):
        self.config = config
        self._session = session

    # ------------------------------------------------------------------ the contract
    def open_ticket(self, content: TicketContent) -> TicketRef:
        """Return the ticket of this request (or review), creating it only if none carries its tag.

        Looking first is what makes a retry after a lost response (timeout, crash between
        the remote create and our commit) find the ticket instead of opening a second one.
        `content` is a `TicketContent` or a `ReviewTicketContent`.
        """
        existing = self.find_ticket(self.tag_for(content))
        if existing is not None:
            return existing
        return self.create_ticket(content)

    def find_ticket(self, tag: str) -> TicketRef | None:
        """The ticket carrying this tag (see `tag_for`), or None."""
        raise NotImplementedError

    def create_ticket(self, content: TicketContent) -> TicketRef:
        """Create a ticket unconditionally (callers use `open_ticket`)."""
        raise NotImplementedError

    def fetch_ticket(self, key: str) -> TicketState:
        """Read the ticket's status and, from the system's history, who set it."""
        raise NotImplementedError

    def add_comment(self, key: str, text: str) -> None:
        """Add a comment (internal note where the system has them) to the ticket."""
        raise NotImplementedError

    def close_ticket(self, key: str, *, outcome: str, comment: str = "") -> None:
        """Resolve or close the ticket. `outcome` is "approved" or "denied"; idempotent."""
        raise NotImplementedError

    def reopen_ticket(self, key: str, *, comment: str) -> None:
        """Put the ticket back before its approvers after Mandate refused the decision its
        status carried (the person may not decide it): `comment` says why. Each system does
        what it allows (reopen, set the status back to open or requested); at the least the
        comment is added. Idempotent."""
        self.add_comment(key, comment)

    def verify_webhook(self, headers: dict, body: bytes) -> bool:
        """True only when the delivery is signed with the connection's webhook secret."""
        return False

    def parse_webhook(self, headers: dict, body: bytes) -> WebhookEvent:
        """Reduce a verified delivery to a `WebhookEvent` (raises TicketError if unreadable)."""
        raise TicketError("This queue does not accept webhooks.", permanent=True)

    def check_configuration(self) -> CheckResult:
        """Check settings, credentials and the target project/queue without changing anything."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared helpers
    @property
    def mapping(self) -> dict:
        merged = {**self.default_status_mapping}
        merged.update({k: v for k, v in (self.config.status_mapping or {}).items() if v not in (None, "", [])})
        return merged

    def statuses_for(self, decision: str) -> list:
        value = self.mapping.get(decision) or []
        return [value] if isinstance(value, str) else list(value)

    def decision_for(self, status: str) -> str:
        """Map a remote status (or label) to approve / deny / pending, case-insensitively."""
        wanted = (status or "").strip().lower()
        for decision in (APPROVE, DENY):
            if wanted in {s.lower() for s in self.statuses_for(decision)}:
                return decision
        return PENDING

    def secret(self) -> str:
        return resolve_secret(self.config.credential_ref, what="credential")

    def webhook_secret(self) -> str:
        """The webhook secret, or "" when none is configured (webhooks are then refused)."""
        if not self.config.webhook_secret_ref:
            return ""
        try:
            return resolve_secret(self.config.webhook_secret_ref, what="webhook secret")
        except TicketError:
            return ""

    def missing_fields(self) -> list:
        return [name for name in self.required_fields if not getattr(self.config, name)]

    def request_timeout(self):
        value = self.config.options.get("timeout") if self.config.options else None
        return (float(value), float(value)) if value else self.timeout

    def tag(self, kind: str, ident) -> str:
        """The tag (label, custom field value, correlation id) that marks a ticket as Mandate's.

        `options.request_tag_prefix` / `options.review_tag_prefix` / `options.change_tag_prefix`
        override the default
        `mandate-request-` / `mandate-review-` / `mandate-change-`.
        """
        prefix = (self.config.options or {}).get(f"{kind}_tag_prefix", f"mandate-{kind}-")
        return f"{prefix}{ident}"

    def tag_for(self, content) -> str:
        return self.tag(content.kind, content.tag_id)
