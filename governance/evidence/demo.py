"""Demo agent activity for `load_demo`: prompts, tool calls, data access and checks.

Runs after the approvals demo step (it needs the grants), then verifies the chains and
computes the findings. Idempotent: a workload that has already reported events gets none
again, and a second run changes nothing.
"""

from datetime import timedelta

from django.utils import timezone

from approvals.models import Grant
from approvals.services import authorize
from governance.evidence.models import EvidenceRecord
from governance.evidence.verification import verify_chains
from governance.findings.services import recompute_findings
from governance.models import Workflow
from identities.models import WorkloadIdentity

from .services import ingest_evidence_batch

ACTIVITY = {
    "support-summariser": [
        {"kind": "prompt", "summary": "Summarise the overnight support queue for the agent on duty."},
        {"kind": "tool_call", "tool_name": "zendesk.search_tickets", "target_resource": "zendesk:queue/overnight"},
        {
            "kind": "data_access",
            "target_resource": "zendesk:tickets",
            "data_classification": "confidential",
            "summary": "Read 37 tickets",
        },
        {"kind": "action", "summary": "Posted the summary to the duty channel", "outcome": "success"},
    ],
    "incident-enricher": [
        {"kind": "tool_call", "tool_name": "jira.get_issue", "target_resource": "jira:INC-5120"},
        {"kind": "action", "summary": "Added the timeline comment", "outcome": "success"},
    ],
}


def _idle_workload(people):
    """A forgotten report bot, registered four months ago and never used: the demo's finding."""
    workflow = Workflow.objects.filter(slug="finance-report-drafting").first()
    if workflow is None:
        return
    bot, created = WorkloadIdentity.objects.get_or_create(
        slug="legacy-report-bot",
        defaults={
            "name": "Legacy report bot",
            "kind": "bot",
            "owner": people["fiona"],
            "workflow": workflow,
            "description": "Exported month-end reports before the drafting agent replaced it.",
        },
    )
    if created:
        WorkloadIdentity.objects.filter(pk=bot.pk).update(created_at=timezone.now() - timedelta(days=120))


def load_agent_activity(command, people):
    _idle_workload(people)
    reported = False
    for slug, events in ACTIVITY.items():
        workload = WorkloadIdentity.objects.filter(slug=slug).select_related("workflow").first()
        if workload is None or EvidenceRecord.objects.filter(workload=workload, kind__in=["prompt", "tool_call"]):
            continue
        grant = Grant.objects.filter(workload=workload, status="active").order_by("-created_at").first()
        if grant is not None:
            authorize(
                workflow=workload.workflow, scope=grant.entitlement.scope, workload=workload, task_ref=grant.task_ref
            )
        items = [{**event, "task_ref": grant.task_ref} if grant else event for event in events]
        ingest_evidence_batch(workload, items)
        reported = True
    if not reported:
        return  # already loaded: verifying or recomputing again would only move timestamps
    verify_chains(Workflow.objects.filter(evidence_head__isnull=False))
    summary = recompute_findings()
    command.stdout.write(f"Evidence: {EvidenceRecord.objects.count()} records; findings: {summary['open']} open.")
