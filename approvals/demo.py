"""Demo requests and grants in every state, for `load_demo`. Idempotent by idempotency key."""

from datetime import timedelta

from django.utils import timezone

from governance.models import Entitlement, Workflow
from identities.models import WorkloadIdentity

from .choices import GrantStatus, RequestState
from .models import AccessRequest, Grant
from .services import cancel_request, decide, expire_grant, revoke_grant, submit_request, time_out_pending_requests


def _ask(key, workflow, scope, *, person=None, workload=None, for_whom=None, seconds, task, why):
    return submit_request(
        workflow=Workflow.objects.get(slug=workflow),
        entitlement=Entitlement.objects.get(scope=scope),
        duration_seconds=seconds,
        requested_by=person,
        workload=WorkloadIdentity.objects.get(slug=workload) if workload else None,
        on_behalf_of=for_whom,
        task_ref=task,
        justification=why,
        idempotency_key=f"demo-{key}",
    )


def load_requests_and_grants(command, people):
    olivia, fiona, bruno, rachel = (people[u] for u in ("olivia", "fiona", "bruno", "rachel"))
    # Active grant, auto-approved: the support summariser reads tickets.
    _ask(
        "support-read",
        "support-ticket-summarisation",
        "zendesk:tickets:read",
        workload="support-summariser",
        for_whom=rachel,
        seconds=4 * 3600,
        task="zendesk-run-2291",
        why="Summarise the overnight queue.",
    )
    # Pending: the PR coding agent wants to push a branch (write: needs the owner).
    _ask(
        "pr-write",
        "pr-coding-agent",
        "github:repo:write",
        workload="pr-coding-agent",
        for_whom=rachel,
        seconds=3600,
        task="PLAT-1432",
        why="Push the fix branch for the flaky checkout test.",
    )
    # Pending: a person asks for finance read access (policy says owner approval).
    _ask(
        "finance-read",
        "finance-report-drafting",
        "finance-warehouse:reports:read",
        person=rachel,
        seconds=2 * 3600,
        task="FIN-NOV-CLOSE",
        why="Check the November variance commentary.",
    )
    # Approved by the owner: incident enricher comments on an incident.
    approved = _ask(
        "incident-write",
        "incident-enrichment",
        "jira:incident:write",
        workload="incident-enricher",
        for_whom=rachel,
        seconds=2 * 3600,
        task="INC-5120",
        why="Add deploy history to the incident.",
    )
    if approved.state == RequestState.PENDING:
        decide(approved, approver=bruno, decision="approve", channel="browser", comment="Scoped to INC-5120.")
    # Denied by policy: asks for longer than the maximum.
    _ask(
        "too-long",
        "pr-coding-agent",
        "github:repo:read",
        workload="pr-coding-agent",
        for_whom=rachel,
        seconds=24 * 3600,
        task="PLAT-1400",
        why="Read the monorepo for a day.",
    )
    # Denied by the owner.
    denied = _ask(
        "denied-pr",
        "pr-coding-agent",
        "github:pull_request:write",
        person=rachel,
        seconds=3600,
        task="PLAT-1399",
        why="Open a PR from my laptop session.",
    )
    if denied.state == RequestState.PENDING:
        decide(denied, approver=olivia, decision="deny", comment="Use the coding agent for PRs.")
    # Cancelled by the requester.
    cancelled = _ask(
        "cancelled",
        "incident-enrichment",
        "jira:incident:write",
        person=rachel,
        seconds=1800,
        task="INC-5099",
        why="Update the incident summary.",
    )
    if cancelled.state == RequestState.PENDING:
        cancel_request(cancelled, by=rachel, reason="Incident closed before I needed it.")
    # Timed out: nobody decided within the pending TTL.
    stale = _ask(
        "timed-out",
        "finance-report-drafting",
        "finance-warehouse:reports:read",
        person=bruno,
        seconds=3600,
        task="FIN-OCT-CLOSE",
        why="Reconcile October accruals.",
    )
    if stale.state == RequestState.PENDING:
        AccessRequest.objects.filter(pk=stale.pk).update(pending_until=timezone.now() - timedelta(minutes=1))
        time_out_pending_requests()
    # Expired and revoked grants, so history has something to show.
    expired = _ask(
        "expired",
        "support-ticket-summarisation",
        "zendesk:tickets:read",
        workload="support-summariser",
        for_whom=rachel,
        seconds=3600,
        task="zendesk-run-2280",
        why="Summarise yesterday's queue.",
    )
    grant = Grant.objects.get(request=expired)
    if grant.status == GrantStatus.ACTIVE:
        now = timezone.now()
        Grant.objects.filter(pk=grant.pk).update(
            starts_at=now - timedelta(hours=26), expires_at=now - timedelta(hours=25)
        )
        expire_grant(grant.pk)
    revoked = _ask(
        "revoked",
        "pr-coding-agent",
        "github:repo:read",
        workload="pr-coding-agent",
        for_whom=rachel,
        seconds=3600,
        task="PLAT-1411",
        why="Read the payment service for a refactor.",
    )
    if revoked.state == RequestState.PENDING:  # read in a high-risk workflow needs the owner
        decide(revoked, approver=bruno, decision="approve", comment="Read only, one hour.")
    grant = Grant.objects.get(request=revoked)
    if grant.status == GrantStatus.ACTIVE:
        revoke_grant(grant, by=olivia, reason="Task finished early; revoking standing read access.")
