"""Bench data: the demo, an agent key, and many grants made at SQL speed."""

from datetime import timedelta

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

WORKFLOW, WORKLOAD, SCOPE, DENIED_SCOPE = "incident-enrichment", "incident-enricher", "jira:incident:read", "x:none"


def load_demo():
    call_command("load_demo", verbosity=0)


def agent_with_grant(task_ref="bench", duration_seconds=8 * 3600):
    """(workload, plaintext API key, grant) for the demo's incident agent, reading incidents."""
    from approvals.services import submit_request
    from governance.models import Entitlement, Workflow
    from identities.models import User, WorkloadIdentity
    from identities.services import issue_api_key

    workflow = Workflow.objects.get(slug=WORKFLOW)
    workload = WorkloadIdentity.objects.get(slug=WORKLOAD)
    _, key = issue_api_key(workload=workload, name="bench")
    request = submit_request(
        workflow=workflow,
        entitlement=Entitlement.objects.get(scope=SCOPE),
        duration_seconds=duration_seconds,
        workload=workload,
        on_behalf_of=User.objects.get(username="rachel"),
        task_ref=task_ref,
        justification="Benchmark",
    )
    return workload, key, request.grant


def copy_grants(template, count, *, expires_at, status="active"):
    """Insert `count` copies of `template` (a grant) and its request with one statement."""
    starts_at = expires_at - timedelta(hours=1)
    ended_at = timezone.now() if status != "active" else None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH reqs AS (
              INSERT INTO approvals_accessrequest (workflow_id, entitlement_id, requested_by_id, workload_id,
                on_behalf_of_id, task_ref, justification, duration_seconds, starts_at, extends_id, state, effect,
                approval_mode, required_approvals, decision_reasons, eligible_approver_ids, policy_snapshot,
                idempotency_key, pending_until, decided_at, state_reason, created_at, updated_at)
              SELECT workflow_id, entitlement_id, requested_by_id, workload_id, on_behalf_of_id, 'bench-' || n,
                justification, duration_seconds, NULL, NULL, state, effect, approval_mode, required_approvals,
                decision_reasons, eligible_approver_ids, policy_snapshot, '', NULL, decided_at, state_reason,
                now(), now()
              FROM approvals_accessrequest, generate_series(1, %s) n WHERE id = %s
              RETURNING id, task_ref)
            INSERT INTO approvals_grant (request_id, workflow_id, entitlement_id, requested_by_id, workload_id,
              on_behalf_of_id, task_ref, starts_at, expires_at, status, token_id, extension_count, ended_at,
              revoked_by_id, end_reason, created_at, updated_at)
            SELECT reqs.id, g.workflow_id, g.entitlement_id, g.requested_by_id, g.workload_id, g.on_behalf_of_id,
              reqs.task_ref, %s, %s, %s, '', 0, %s, NULL, '', now(), now()
            FROM reqs, approvals_grant g WHERE g.id = %s
            """,
            [count, template.request_id, starts_at, expires_at, status, ended_at, template.pk],
        )
        cursor.execute("ANALYZE approvals_grant")
