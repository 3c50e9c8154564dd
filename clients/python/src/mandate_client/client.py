"""`Mandate(url, key)`: the API as Python calls, for an agent (a workload's key) or a person.

    mandate = Mandate("https://mandate.example.com", key, workflow="incident-enrichment",
                      on_behalf_of="rachel")
    mandate.request_access("jira:incident:write", task_ref="INC-4711", duration_seconds=900,
                           justification="Post the enrichment comment.")
    if mandate.authorize("jira:incident:write", task_ref="INC-4711"):
        ...
    mandate.record("tool_call", tool_name="jira.add_comment", task_ref="INC-4711", outcome="success")
    mandate.complete_task("INC-4711")

`workflow`, `on_behalf_of` and `task_ref` given to the constructor are defaults for every
call. Evidence is batched in the background and flushed at exit (see `evidence.py`).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx

from .errors import DecisionTimeout
from .evidence import EvidenceBuffer
from .http import Http
from .models import PENDING, AccessRequest, Decision
from .tokens import TokenVerifier
from .tools import ToolMapping

F = TypeVar("F", bound=Callable[..., Any])
EVIDENCE_KINDS = frozenset({"prompt", "tool_call", "data_access", "action"})


def sha256_of(value: Any) -> str:
    """SHA-256 of `value` as canonical JSON (sorted keys, no whitespace, UTF-8)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


class Mandate:
    def __init__(
        self,
        url: str,
        key: str,
        *,
        workflow: str | None = None,
        on_behalf_of: str | None = None,
        task_ref: str | None = None,
        timeout: float = 10.0,
        evidence_budget: float = 0.05,
        evidence_interval: float = 1.0,
        evidence_max_batch: int = 500,
        evidence_max_buffer: int = 10_000,
        exit_flush_timeout: float = 10.0,
        issuer: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = Http(url, key, timeout=timeout, transport=transport)
        self.workflow = workflow
        self.on_behalf_of = on_behalf_of
        self.task_ref = task_ref
        self.evidence = EvidenceBuffer(
            self.http,
            budget=evidence_budget,
            interval=evidence_interval,
            max_batch=evidence_max_batch,
            max_buffer=evidence_max_buffer,
        )
        self.tokens = TokenVerifier(self.http, issuer=issuer)
        self._grant_tokens: dict[tuple[str, str, str], str] = {}
        self._closed = False
        # Whatever was recorded is sent at a clean exit, even if this client was never closed.
        self._flush_at_exit = functools.partial(self.evidence.close, exit_flush_timeout)
        atexit.register(self._flush_at_exit)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Mandate:
        """From MANDATE_URL and MANDATE_KEY (and MANDATE_WORKFLOW, MANDATE_ON_BEHALF_OF, MANDATE_TASK_REF)."""
        env = os.environ
        defaults = {
            "workflow": env.get("MANDATE_WORKFLOW") or None,
            "on_behalf_of": env.get("MANDATE_ON_BEHALF_OF") or None,
            "task_ref": env.get("MANDATE_TASK_REF") or None,
        }
        return cls(env.get("MANDATE_URL", ""), env.get("MANDATE_KEY", ""), **{**defaults, **kwargs})

    # ------------------------------------------------------------------ access
    def request_access(
        self,
        scope: str,
        *,
        duration_seconds: int,
        workflow: str | None = None,
        task_ref: str | None = None,
        justification: str = "",
        on_behalf_of: str | None = None,
        idempotency_key: str | None = None,
    ) -> AccessRequest:
        """Ask for `scope`; decided at once: active (with a grant), pending, or denied with reasons.

        With `idempotency_key`, a retry returns the first request instead of filing another
        (and the call itself is retried on a transient failure)."""
        body = {
            "workflow": self._workflow(workflow),
            "entitlement": scope,
            "duration_seconds": duration_seconds,
            "task_ref": self._task(task_ref),
            "justification": justification,
            "on_behalf_of": on_behalf_of if on_behalf_of is not None else (self.on_behalf_of or ""),
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        data = self.http.call("POST", "/api/v1/access-requests/", json=body, headers=headers, retry=bool(headers))
        request = AccessRequest.from_json(data)
        self._remember_token(request)
        return request

    def get_request(self, request: AccessRequest | int) -> AccessRequest:
        request_id = request.id if isinstance(request, AccessRequest) else int(request)
        return AccessRequest.from_json(self.http.call("GET", f"/api/v1/access-requests/{request_id}/", retry=True))

    def find_requests(
        self,
        scope: str,
        *,
        workflow: str | None = None,
        task_ref: str | None = None,
        state: str | None = None,
        limit: int = 20,
    ) -> list[AccessRequest]:
        """The caller's requests for `scope` (and task), newest first."""
        params: dict[str, Any] = {
            "workflow": self._workflow(workflow),
            "entitlement": scope,
            "ordering": "-created_at",
            "limit": limit,
        }
        task = self._task(task_ref)
        if task:
            params["task_ref"] = task
        if state:
            params["state"] = state
        data = self.http.call("GET", "/api/v1/access-requests/", params=params, retry=True)
        return [AccessRequest.from_json(item) for item in data.get("results", [])]

    def approve(self, request: AccessRequest | int, comment: str = "") -> AccessRequest:
        """Approve a pending request (a person's key: an eligible owner, never for their own)."""
        return self._decide(request, "approve", comment)

    def deny(self, request: AccessRequest | int, comment: str = "") -> AccessRequest:
        """Deny a pending request (a person's key: an eligible owner)."""
        return self._decide(request, "deny", comment)

    def _decide(self, request: AccessRequest | int, verb: str, comment: str) -> AccessRequest:
        request_id = request.id if isinstance(request, AccessRequest) else int(request)
        data = self.http.call("POST", f"/api/v1/access-requests/{request_id}/{verb}/", json={"comment": comment})
        return AccessRequest.from_json(data)

    def wait_for_decision(
        self,
        request: AccessRequest | int,
        timeout: float = 300.0,
        *,
        interval: float = 1.0,
        max_interval: float = 15.0,
    ) -> AccessRequest:
        """Poll until the request is no longer pending; DecisionTimeout after `timeout` seconds.

        Polls back off from `interval` to `max_interval` (×1.5 each time) and a 429 waits
        for its `Retry-After`."""
        deadline = time.monotonic() + timeout
        current = request if isinstance(request, AccessRequest) else self.get_request(request)
        while current.state == PENDING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DecisionTimeout(
                    f"Request #{current.id} is still pending after {timeout:g} s "
                    f"(approvers: {', '.join(current.approvers) or 'the workflow owners'}).",
                    request=current,
                )
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, max_interval)
            data = self.http.call("GET", f"/api/v1/access-requests/{current.id}/", retry=True, deadline=deadline)
            current = AccessRequest.from_json(data)
        return current

    def authorize(
        self,
        scope: str,
        *,
        workflow: str | None = None,
        task_ref: str | None = None,
        resource: str = "",
        action: str = "",
        offline: bool = False,
    ) -> Decision:
        """May the caller do this now? Online by default (Mandate records the decision).

        `offline=True` first tries a grant token this client received for (workflow, scope,
        task), verified against the JWKS without a round trip: revocation then only takes
        effect when that token expires. Without a usable token it asks Mandate."""
        workflow, task = self._workflow(workflow), self._task(task_ref)
        if offline:
            token = self._grant_tokens.get((workflow, scope, task))
            if token:
                decision = self.check_token(token, workflow=workflow, scope=scope, task_ref=task)
                if decision.allow:
                    return decision
        body = {"workflow": workflow, "scope": scope, "task_ref": task, "resource": resource, "action": action}
        return Decision.from_json(self.http.call("POST", "/api/v1/authorize", json=body, retry=True))

    def check_token(
        self, token: str, *, workflow: str | None = None, scope: str | None = None, task_ref: str | None = None
    ) -> Decision:
        """Verify a grant token offline; a Decision with the reason either way."""
        from .errors import InvalidToken

        try:
            claims = self.tokens.verify(token, workflow=workflow, scope=scope, task_ref=task_ref)
        except InvalidToken as exc:
            return Decision(allow=False, reasons=[exc.message], offline=True)
        expires = datetime.fromtimestamp(claims["exp"]).astimezone()
        return Decision(
            allow=True,
            reasons=[
                f"Grant token of grant #{claims['grant']} verified offline; valid until {expires:%Y-%m-%d %H:%M:%S %Z}."
            ],
            grant=int(claims["grant"]),
            expires_at=expires,
            offline=True,
        )

    def complete_task(self, task_ref: str | None = None, *, workflow: str | None = None) -> int:
        """The task is over: every active grant of it ends now. Returns how many ended."""
        body = {"workflow": self._workflow(workflow), "task_ref": self._task(task_ref)}
        data = self.http.call("POST", "/api/v1/tasks/complete", json=body, retry=True)
        for key in [k for k in self._grant_tokens if k[0] == body["workflow"] and k[2] == body["task_ref"]]:
            del self._grant_tokens[key]
        return int(data["revoked_grants"])

    def tool_mapping(self, workflow: str | None = None) -> ToolMapping:
        """The workflow's MCP tool → scope mapping, kept in Mandate."""
        data = self.http.call("GET", f"/api/v1/workflows/{self._workflow(workflow)}/tools/", retry=True)
        return ToolMapping.from_json(data)

    # ------------------------------------------------------------------ evidence
    def record(
        self,
        kind: str,
        *,
        tool_name: str = "",
        target_resource: str = "",
        task_ref: str | None = None,
        outcome: str = "",
        summary: str = "",
        payload: Any = None,
        payload_sha256: str = "",
        data_classification: str = "",
        ticket_ref: str = "",
        grant: int | None = None,
        occurred_at: datetime | None = None,
    ) -> bool:
        """Queue one evidence event (prompt, tool_call, data_access, action); returns at once.

        `payload` is hashed here and only its SHA-256 leaves the process. False when the
        event had to be dropped (buffer full past the budget)."""
        if kind not in EVIDENCE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(sorted(EVIDENCE_KINDS))}, not {kind!r}")
        event: dict[str, Any] = {"kind": kind, "occurred_at": (occurred_at or _now()).isoformat()}
        task = self._task(task_ref)
        fields = {
            "tool_name": tool_name,
            "target_resource": target_resource,
            "task_ref": task,
            "outcome": outcome,
            "summary": summary,
            "data_classification": data_classification,
            "ticket_ref": ticket_ref,
            "payload_sha256": payload_sha256 or (sha256_of(payload) if payload is not None else ""),
        }
        event.update({name: value for name, value in fields.items() if value})
        if grant is not None:
            event["grant"] = grant
        return self.evidence.add(event)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the evidence recorded so far is in Mandate; False on timeout."""
        return self.evidence.flush(timeout)

    # ------------------------------------------------------------------ guard
    def guard(self, scope: str, **options: Any) -> Any:
        """`guard(scope, …)` bound to this client; see `mandate_client.guard`."""
        from .guard import Guard

        return Guard(self, scope, **options)

    # ------------------------------------------------------------------ lifecycle
    def close(self, timeout: float | None = 30.0) -> bool:
        """Send the remaining evidence and close the connection; True when nothing was lost."""
        if self._closed:
            return True
        self._closed = True
        atexit.unregister(self._flush_at_exit)
        flushed = self.evidence.close(timeout)
        self.http.close()
        return flushed

    def __enter__(self) -> Mandate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers
    def _workflow(self, workflow: str | None) -> str:
        value = workflow or self.workflow
        if not value:
            raise ValueError("Name the workflow (argument, or Mandate(..., workflow=…)).")
        return value

    def _task(self, task_ref: str | None) -> str:
        return task_ref if task_ref is not None else (self.task_ref or "")

    def _remember_token(self, request: AccessRequest) -> None:
        if request.grant is not None and request.grant.token:
            self._grant_tokens[(request.workflow, request.scope, request.task_ref)] = request.grant.token


def _now() -> datetime:
    return datetime.now().astimezone()
