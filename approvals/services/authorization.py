"""The authorization check: may this subject do this in this workflow, now?

It is on the hot path of every agent tool call, so the allow path is one indexed query
(active grants of the subject, joined to workflow, workload and entitlement, filtered by
time in SQL). Only a deny pays for a second query, to explain itself.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from governance.choices import WorkflowStatus
from identities.choices import WorkloadStatus

from .. import signals
from ..choices import GrantStatus
from ..models import Grant


@dataclass
class AuthorizationResult:
    allow: bool
    reasons: list[str] = field(default_factory=list)
    grant_id: int | None = None
    expires_at: datetime | None = None
    workflow_id: int | None = None
    on_behalf_of_id: int | None = None

    def as_dict(self):
        return {
            "allow": self.allow,
            "reasons": self.reasons,
            "grant": self.grant_id,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def _slug(workflow):
    return workflow if isinstance(workflow, str) else workflow.slug


def authorize(
    *, workflow, scope, workload=None, user=None, task_ref=None, token_claims=None, resource="", action="", now=None
):
    """Answer allow/deny with reasons from active, unexpired grants.

    `workflow` is a Workflow or its slug. With `token_claims` (a verified grant token) the
    answer also requires the token to be the grant's current one, so revoking or
    re-minting makes an old token fail at once. `resource` and `action` (what the tool
    call is about to touch and do) do not change the answer; they travel with the
    `authorization_checked` signal into the evidence record.
    """
    now = now or timezone.now()
    if (workload is None) == (user is None):
        raise ValueError("authorize needs exactly one subject: a workload or a user")
    slug = _slug(workflow)
    subject = {"workload": workload} if workload is not None else {"requested_by": user}
    grants = Grant.objects.filter(
        status=GrantStatus.ACTIVE,
        workflow__slug=slug,
        workflow__status=WorkflowStatus.ACTIVE,
        entitlement__scope=scope,
        starts_at__lte=now,
        expires_at__gt=now,
        **subject,
    )
    if workload is not None:
        grants = grants.filter(workload__status=WorkloadStatus.ACTIVE)
    if task_ref:
        grants = grants.filter(task_ref=task_ref)
    if token_claims is not None:
        grants = grants.filter(pk=token_claims.get("grant"), token_id=token_claims.get("jti"))
    # Everything the answer and its evidence need, in this one statement: the decision's
    # record must not read the grant a second time.
    grant = grants.order_by("-expires_at").values("pk", "expires_at", "workflow_id", "on_behalf_of_id").first()
    if grant is not None:
        result = AuthorizationResult(
            allow=True,
            reasons=[
                f"Grant #{grant['pk']} allows “{scope}” in “{slug}” until {grant['expires_at']:%Y-%m-%d %H:%M:%S %Z}."
            ],
            grant_id=grant["pk"],
            expires_at=grant["expires_at"],
            workflow_id=grant["workflow_id"],
            on_behalf_of_id=grant["on_behalf_of_id"],
        )
    else:
        reasons, workflow_id = _explain_deny(slug, scope, subject, task_ref, token_claims, now)
        result = AuthorizationResult(allow=False, reasons=reasons, workflow_id=workflow_id)
    signals.authorization_checked.send(
        sender=Grant,
        result=result,
        subject=workload if workload is not None else user,
        workflow=slug,
        scope=scope,
        task_ref=task_ref or "",
        resource=resource or "",
        action=action or "",
    )
    return result


def _explain_deny(slug, scope, subject, task_ref, token_claims, now):
    """Why no grant matched, the most specific reason first (never empty), and the workflow's id."""
    from governance.models import Workflow

    workflow = Workflow.objects.filter(slug=slug).values("pk", "status", "name").first()
    if workflow is None:
        return [f"Unknown workflow “{slug}”."], None
    return _deny_reasons(workflow, scope, subject, task_ref, token_claims, now), workflow["pk"]


def _deny_reasons(workflow, scope, subject, task_ref, token_claims, now):
    if workflow["status"] != WorkflowStatus.ACTIVE:
        return [f"Workflow “{workflow['name']}” is {workflow['status']}."]
    workload = subject.get("workload")
    if workload is not None and workload.status != WorkloadStatus.ACTIVE:
        return [f"Workload “{workload}” is {workload.status}."]
    candidates = Grant.objects.filter(workflow_id=workflow["pk"], entitlement__scope=scope, **subject)
    if task_ref:
        candidates = candidates.filter(task_ref=task_ref)
    latest = candidates.order_by("-created_at").first()
    if latest is None:
        task = f" for task “{task_ref}”" if task_ref else ""
        return [f"No grant of “{scope}” in “{workflow['name']}”{task}."]
    if latest.status == GrantStatus.REVOKED:
        return [f"Grant #{latest.pk} was revoked: {latest.end_reason}"]
    if latest.status == GrantStatus.EXPIRED or latest.expires_at <= now:
        return [f"Grant #{latest.pk} expired at {latest.expires_at:%Y-%m-%d %H:%M:%S %Z}."]
    if latest.starts_at > now:
        return [f"Grant #{latest.pk} starts at {latest.starts_at:%Y-%m-%d %H:%M:%S %Z}."]
    if token_claims is not None:
        return ["The token is not the current token of an active grant (revoked, replaced or for another grant)."]
    return [f"No active grant of “{scope}” in “{workflow['name']}”."]
