"""Findings are recomputed from the data, each with a link to fix it, and resolve once fixed."""

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from approvals.services import authorize, complete_task, submit_request
from governance.findings.models import Finding
from governance.findings.services import recompute_findings
from governance.schedule import PERIODIC_JOBS
from governance.tasks import recompute_findings as recompute_task
from governance.tasks import verify_evidence_chains
from identities.models import WorkloadIdentity
from tests import factories
from tests.evidence.helpers import record_events, tamper

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def open_findings(kind):
    return list(Finding.objects.filter(kind=kind, resolved_at__isnull=True).order_by("pk"))


def grant_for(workflow, entitlement, *, agent, person, task_ref="run-1", seconds=600):
    return submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=seconds,
        workload=agent,
        on_behalf_of=person,
        task_ref=task_ref,
        justification="Do the task",
    ).grant


@pytest.fixture
def month_long(workflow):
    entitlement = factories.EntitlementFactory(
        scope="github:repo0:read", access_level="read", max_lifetime_seconds=30 * DAY
    )
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=30 * DAY)


def test_a_policy_and_a_grant_far_beyond_just_in_time_are_standing_privilege(month_long, workflow, agent, requester):
    grant = grant_for(workflow, month_long.entitlement, agent=agent, person=requester, seconds=30 * DAY)
    recompute_findings()
    findings = {f.subject_type: f for f in open_findings("standing_privilege")}
    assert set(findings) == {"policy", "grant"}
    assert findings["policy"].fix_url == reverse("admin:governance_policy_change", args=[month_long.pk])
    assert findings["grant"].subject_id == str(grant.pk) and "30 days" in findings["grant"].title
    assert findings["grant"].workflow == workflow and findings["grant"].fix_url


def test_grants_that_outlive_their_use_flag_their_policy(workflow, agent, requester):
    entitlement = factories.EntitlementFactory(scope="jira:incident:read", access_level="read")
    policy = factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=8 * 3600)
    start = timezone.now()
    for n in range(3):
        grant_for(workflow, entitlement, agent=agent, person=requester, task_ref=f"run-{n}", seconds=8 * 3600)
        with time_machine.travel(start + timedelta(minutes=5)):
            assert authorize(workflow=workflow, scope=entitlement.scope, workload=agent, task_ref=f"run-{n}").allow
    recompute_findings()
    (finding,) = open_findings("standing_privilege")
    assert finding.fingerprint == f"standing_privilege:beyond_use:{policy.pk}"
    assert "median of 8 hours" in finding.detail and "at most 5 minutes" in finding.detail


def test_grants_used_through_their_lifetime_raise_nothing(workflow, agent, requester):
    entitlement = factories.EntitlementFactory(scope="jira:incident:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=2 * 3600)
    start = timezone.now()
    for n in range(3):
        grant_for(workflow, entitlement, agent=agent, person=requester, task_ref=f"run-{n}", seconds=2 * 3600)
        with time_machine.travel(start + timedelta(minutes=100)):
            authorize(workflow=workflow, scope=entitlement.scope, workload=agent, task_ref=f"run-{n}")
    recompute_findings()
    assert open_findings("standing_privilege") == []


def test_one_external_principal_in_two_workflows_is_found_in_both(agent, owner, identity_source):
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    principal = "arn:aws:iam::1:role/agent"
    WorkloadIdentity.objects.filter(pk=agent.pk).update(external_principal=principal)
    twin = factories.WorkloadIdentityFactory(workflow=other, owner=owner, external_principal=principal)
    same_workflow = factories.WorkloadIdentityFactory(
        workflow=other, owner=owner, external_principal="arn:aws:iam::1:role/other"
    )
    recompute_findings()
    findings = open_findings("shared_principal")
    assert {f.subject_id for f in findings} == {str(agent.pk), str(twin.pk)}
    assert {f.workflow_id for f in findings} == {agent.workflow_id, other.pk}
    assert str(same_workflow.pk) not in {f.subject_id for f in findings}


def test_a_workflow_whose_owner_left_is_found(workflow, owner):
    owner.is_active = False
    owner.save()
    recompute_findings()
    (finding,) = open_findings("no_active_owner")
    assert finding.workflow == workflow and finding.severity == "medium"  # the backup owner is still there
    assert "only the backup owner" in finding.detail
    assert finding.fix_url == reverse("admin:governance_workflow_change", args=[workflow.pk])


def test_an_ownerless_draft_is_critical(identity_source):
    factories.WorkflowFactory(control_owner=None, status="draft", identity_source=identity_source)
    recompute_findings()
    (finding,) = open_findings("no_active_owner")
    assert finding.severity == "critical"


def test_a_review_past_its_grace_period_is_overdue(workflow, identity_source, owner):
    workflow.next_review_due = timezone.now() - timedelta(days=workflow.review_grace_days - 1)
    workflow.save()
    recompute_findings()
    assert open_findings("overdue_review") == []  # still within the grace period
    workflow.next_review_due = timezone.now() - timedelta(days=workflow.review_grace_days + 3)
    workflow.save()
    recompute_findings()
    (finding,) = open_findings("overdue_review")
    assert "10 days overdue" in finding.title and finding.severity == "high"


def test_workloads_unused_for_90_days_are_found(workflow, owner, agent):
    long_ago = timezone.now() - timedelta(days=91)
    idle = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)
    never = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)
    WorkloadIdentity.objects.filter(pk=idle.pk).update(last_used_at=long_ago)
    WorkloadIdentity.objects.filter(pk=never.pk).update(created_at=long_ago)
    WorkloadIdentity.objects.filter(pk=agent.pk).update(last_used_at=timezone.now() - timedelta(days=3))
    recompute_findings()
    found = {f.subject_id: f for f in open_findings("unused_workload")}
    assert set(found) == {str(idle.pk), str(never.pk)}
    assert "never used" in found[str(never.pk)].detail


def test_a_grant_checked_after_its_task_was_completed_is_found(workflow, agent, requester, owner):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    grant = grant_for(workflow, entitlement, agent=agent, person=requester, task_ref="run-1")
    assert authorize(workflow=workflow, scope=entitlement.scope, workload=agent, task_ref="run-1").allow
    complete_task(workflow, "run-1", by=owner)
    recompute_findings()
    assert open_findings("used_after_task") == []  # used only while the task ran
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert not authorize(workflow=workflow, scope=entitlement.scope, workload=agent, task_ref="run-1").allow
    recompute_findings()
    (finding,) = open_findings("used_after_task")
    assert finding.subject_id == str(grant.pk) and "1 authorization checks" in finding.detail
    assert finding.severity == "medium"  # refused, but the agent kept going


def test_a_broken_evidence_chain_is_a_critical_finding(workflow, agent):
    records = record_events(workflow, 3, workload=agent)
    verify_evidence_chains()
    assert open_findings("broken_evidence_chain") == []
    tamper("UPDATE governance_evidencerecord SET summary = 'x' WHERE id = %s", [records[1].pk])
    verify_evidence_chains()
    (finding,) = open_findings("broken_evidence_chain")
    assert finding.severity == "critical" and "sequence 2" in finding.detail


def test_fixed_problems_resolve_and_returning_ones_open_anew(workflow):
    workflow.next_review_due = timezone.now() - timedelta(days=30)
    workflow.save()
    assert recompute_findings() == {"opened": 1, "resolved": 0, "open": 1}
    assert recompute_findings() == {"opened": 0, "resolved": 0, "open": 1}  # still there, same row
    first = Finding.objects.get()
    # Opening is in the change log (and the timeline); "still there" is not.
    assert LogEntry.objects.get_for_object(first).count() == 1
    workflow.next_review_due = timezone.now() + timedelta(days=60)
    workflow.save()
    assert recompute_findings()["resolved"] == 1
    first.refresh_from_db()
    assert first.resolved_at is not None and LogEntry.objects.get_for_object(first).count() == 2
    workflow.next_review_due = timezone.now() - timedelta(days=30)
    workflow.save()
    recompute_task()
    assert Finding.objects.count() == 2 and len(open_findings("overdue_review")) == 1


def test_findings_are_recomputed_on_a_schedule():
    tasks = {job.task for job in PERIODIC_JOBS}
    assert {"governance.recompute_findings", "governance.verify_evidence_chains"} <= tasks


def test_owners_see_their_findings_and_auditors_all(client, workflow, owner, auditor, outsider, identity_source):
    stranger = factories.UserFactory(username="stranger", identity_source=identity_source)
    elsewhere = factories.WorkflowFactory(control_owner=stranger, identity_source=identity_source, name="Elsewhere")
    for wf in (workflow, elsewhere):
        wf.next_review_due = timezone.now() - timedelta(days=30)
        wf.save()
    recompute_findings()
    url = reverse("audit:findings")
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert workflow.name in page and "Elsewhere" not in page and "Review the workflow" in page
    client.force_login(auditor)
    page = client.get(url).content.decode()
    assert workflow.name in page and "Elsewhere" in page
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_findings_are_recomputed_on_demand(client, workflow, owner, outsider):
    workflow.next_review_due = timezone.now() - timedelta(days=30)
    workflow.save()
    client.force_login(outsider)
    assert client.post(reverse("audit:findings_recompute")).status_code == 403
    assert not Finding.objects.exists()
    client.force_login(owner)
    assert client.get(reverse("audit:findings_recompute")).status_code == 405
    response = client.post(reverse("audit:findings_recompute"), follow=True)
    assert "1 open, 1 new" in response.content.decode()
    assert Finding.objects.filter(workflow=workflow).exists()
