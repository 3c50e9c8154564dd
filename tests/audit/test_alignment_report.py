"""The framework alignment report says, per control, what evidence is held and what is missing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.services import authorize, decide, submit_request
from governance.alignment.controls import CONTROLS, SOURCES
from governance.alignment.report import alignment_report
from governance.evidence.services import ingest_evidence_batch
from governance.findings.services import recompute_findings
from governance.models import Workflow
from tests import factories

pytestmark = pytest.mark.django_db


def report_for(workflow):
    report = alignment_report(Workflow.objects.filter(pk=workflow.pk), scope=str(workflow))
    return {result.control.key: result for result in report.results}


def check(result, label):
    return next(c for c in result.checks if c.label.startswith(label))


def test_the_report_names_the_controls_with_their_published_identifiers():
    identifiers = {(c.framework, c.identifier) for c in CONTROLS}
    assert ("NIST CSF 2.0", "PR.AA-05") in identifiers and ("NIST CSF 2.0", "PR.AA-01") in identifiers
    assert ("OWASP Top 10 for Agentic Applications 2026", "ASI03") in identifiers
    assert ("OWASP Top 10 for Agentic Applications 2026", "ASI02") in identifiers
    pr_aa_05 = next(c for c in CONTROLS if c.identifier == "PR.AA-05")
    assert pr_aa_05.ancestor.startswith("CSF 1.1 PR.AC-4")
    assert all(SOURCES[c.source].url.startswith("https://") for c in CONTROLS)


def test_a_workflow_with_nothing_going_on_shows_what_is_missing(workflow):
    results = report_for(workflow)
    assert check(results["pr-aa-05"], "Access is defined in policy").ok is False
    assert results["pr-aa-05"].status in {"partial", "gap"}
    assert check(results["pr-aa-01"], "Every workflow has an accountable").ok is True


def test_a_governed_workflow_shows_the_evidence_it_holds(workflow, agent, requester, backup_owner):
    read = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    write = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    factories.PolicyFactory(workflow=workflow, entitlement=read)
    factories.PolicyFactory(workflow=workflow, entitlement=write)
    submit_request(
        workflow=workflow,
        entitlement=read,
        duration_seconds=600,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-1",
        justification="Read",
    )
    pending = submit_request(
        workflow=workflow,
        entitlement=write,
        duration_seconds=600,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-1",
        justification="Push the fix",
    )
    decide(pending, approver=backup_owner, decision="approve", channel="browser")
    authorize(workflow=workflow, scope="github:repo:read", workload=agent, task_ref="run-1")
    authorize(workflow=workflow, scope="github:repo:admin", workload=agent, task_ref="run-1")
    ingest_evidence_batch(
        agent,
        [
            {"kind": "tool_call", "tool_name": "git.push", "outcome": "success"},
            {"kind": "data_access", "target_resource": "repo", "data_classification": "internal"},
        ],
    )
    recompute_findings()
    results = report_for(workflow)
    sod = check(results["pr-aa-05"], "Separation of duties")
    assert sod.ok is True and "1 approval decisions" in sod.detail
    assert check(results["pr-aa-05"], "Least privilege: access is scoped to a task").ok is True
    assert "2 authorization decisions recorded" in check(results["pr-aa-05"], "Access is enforced").detail
    assert check(results["asi02"], "Tool calls are recorded").ok is True
    assert check(results["asi02"], "Data access is classified").ok is True
    assert check(results["asi03"], "Delegation names the person").ok is True


def test_problems_in_the_data_show_as_missing_evidence(workflow, agent):
    write = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    factories.PolicyFactory(workflow=workflow, entitlement=write, approval_mode="auto")
    workflow.next_review_due = timezone.now() - timedelta(days=40)
    workflow.save()
    ingest_evidence_batch(agent, [{"kind": "data_access", "target_resource": "customers"}])
    recompute_findings()
    results = report_for(workflow)
    missing = {c.label for c in results["pr-aa-05"].missing}
    assert "Write and admin access needs a person's approval" in missing
    assert "Access is reviewed on schedule" in missing
    assert "1 data accesses carry no data classification" in check(results["asi02"], "Data access").detail
    assert check(results["asi02"], "Tool calls are authorized").ok is False


def test_the_report_pages_cite_their_sources_and_have_a_printable_version(client, workflow, owner, auditor, outsider):
    url = reverse("audit:workflow_report", args=[workflow.slug])
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "PR.AA-05" in page and "PR.AC-4" in page and "ASI03" in page and "ASI02" in page
    assert "Agent Identity Attack" in page and "https://doi.org/10.6028/NIST.CSWP.29" in page
    assert "genai.owasp.org" in page and "cloudsecurityalliance.org" in page
    printable = client.get(url, {"print": "1"})
    assert printable.status_code == 200 and "<header>" not in printable.content.decode()
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    assert client.get(reverse("audit:portfolio_report")).status_code == 403
    client.force_login(auditor)
    portfolio = client.get(reverse("audit:portfolio_report"))
    assert portfolio.status_code == 200 and "All workflows" in portfolio.content.decode()
