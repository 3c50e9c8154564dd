"""Make sure a grant exists before a tool call: check, and when there is none, ask.

`ensure_access` is what the guard and the MCP gateway run before every call: the
authorization check; on a deny, the task's pending request is reused or one is filed
(at most one per workflow, scope and task, also across retries: the Idempotency-Key is
derived from them and from the newest earlier request); an auto-approved request allows
the call at once; a pending one raises `AccessPending` (naming the request, approvers
and ticket) or, with `wait`, is waited for; a denial raises `AccessDenied` with its reasons.
A task whose newest request was denied is not asked again: the denial stands for that task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import AccessDenied, AccessPending, DecisionTimeout, PermissionDenied
from .models import AccessRequest, Decision

if TYPE_CHECKING:
    from .client import Mandate


def ensure_access(
    client: Mandate,
    scope: str,
    *,
    workflow: str,
    task_ref: str,
    duration_seconds: int,
    justification: str = "",
    on_behalf_of: str | None = None,
    resource: str = "",
    action: str = "",
    wait: float | None = None,
    offline: bool = False,
    confirm: Callable[[str], str | None] | None = None,
) -> Decision:
    """An allowing Decision, or AccessPending / AccessDenied (see the module docstring).

    `confirm`, when given, is asked before a new request is filed, with a sentence saying
    what would be asked for; it answers the justification to send, or None when the person
    declines (then AccessDenied, and nothing is filed)."""
    decision = client.authorize(
        scope, workflow=workflow, task_ref=task_ref, resource=resource, action=action, offline=offline
    )
    if decision.allow:
        return decision
    try:
        request = _request_for_task(
            client, scope, workflow, task_ref, duration_seconds, justification, on_behalf_of, confirm
        )
    except PermissionDenied as exc:
        # A suspended workload may ask for nothing: the check's reasons say why.
        raise AccessDenied([*decision.reasons, exc.message], scope=scope) from exc
    if request.pending and wait:
        try:
            request = client.wait_for_decision(request, wait)
        except DecisionTimeout as exc:
            raise AccessPending(exc.request) from exc
    if request.pending:
        raise AccessPending(request)
    if request.active and request.grant is not None:
        return Decision(
            allow=True, reasons=request.reasons, grant=request.grant.id, expires_at=request.grant.expires_at
        )
    raise AccessDenied(request.reasons or decision.reasons, request=request, scope=scope)


def _request_for_task(
    client: Mandate,
    scope: str,
    workflow: str,
    task_ref: str,
    duration_seconds: int,
    justification: str,
    on_behalf_of: str | None,
    confirm: Callable[[str], str | None] | None,
) -> AccessRequest:
    recent = client.find_requests(scope, workflow=workflow, task_ref=task_ref, limit=1)
    newest = recent[0] if recent else None
    if newest is not None and (newest.pending or newest.state == "denied"):
        return newest
    if confirm is not None:
        task = f" for task “{task_ref}”" if task_ref else ""
        answer = confirm(f"Ask Mandate for “{scope}” in “{workflow}”{task}, for {duration_seconds} seconds?")
        if answer is None:
            raise AccessDenied([f"The person declined to ask for “{scope}”."], scope=scope)
        justification = answer or justification
    after = newest.id if newest is not None else 0
    digest = hashlib.sha256(f"{workflow}\n{scope}\n{task_ref}\n{after}".encode()).hexdigest()[:40]
    return client.request_access(
        scope,
        workflow=workflow,
        task_ref=task_ref,
        duration_seconds=duration_seconds,
        justification=justification,
        on_behalf_of=on_behalf_of,
        idempotency_key=f"task-{digest}",
    )
