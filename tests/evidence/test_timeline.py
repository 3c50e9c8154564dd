"""A workflow's timeline merges its change log and its evidence, in order, paged."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from approvals.services import authorize, revoke_grant, submit_request
from governance.evidence.services import record_evidence
from governance.exceptions import InvalidInput
from governance.timeline import workflow_timeline
from tests import factories

pytestmark = pytest.mark.django_db


def all_entries(workflow, **kwargs):
    entries, cursor = [], None
    while True:
        page = workflow_timeline(workflow, cursor=cursor, **kwargs)
        entries += page.entries
        if not page.next_cursor:
            return entries
        cursor = page.next_cursor


def test_the_story_of_a_workflow_from_registration_to_revocation(owner, requester, agent, identity_source):
    workflow = agent.workflow
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    grant = submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=600,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-1",
        justification="Read the repo",
    ).grant
    authorize(workflow=workflow, scope="github:repo:read", workload=agent, task_ref="run-1")
    record_evidence(workflow=workflow, kind="tool_call", workload=agent, tool_name="git.clone", outcome="success")
    revoke_grant(grant, by=owner, reason="done early")
    titles = [entry.summary for entry in all_entries(workflow, limit=3, newest_first=False)]
    assert titles[0] == f"Workflow “{workflow}” created"
    expected_in_order = [
        f"Workflow “{workflow}” created",
        "Access request: submitted",
        "Approval decision: approved",
        "Grant: issued",
        "Authorization decision: allowed",
        "Tool call: success",
        "Grant: revoked",
    ]
    positions = [titles.index(title) for title in expected_in_order]
    assert positions == sorted(positions)
    assert any(title.startswith("Policy ") and title.endswith("created") for title in titles)
    assert any(title.startswith("Workload identity ") for title in titles)
    assert any(title.startswith("Grant “") and title.endswith("changed") for title in titles)


def test_pages_follow_each_other_without_gaps_or_repeats_at_equal_timestamps(workflow, agent):
    moment = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(moment, tick=False):
        for n in range(7):
            record_evidence(workflow=workflow, kind="action", workload=agent, summary=f"same instant {n}")
        workflow.description = "changed at the same instant"
        workflow.save()
    every = all_entries(workflow, limit=2, newest_first=False)
    keys = [(e.source, e.pk) for e in every]
    assert len(keys) == len(set(keys))
    assert [e.sort_key for e in every] == sorted(e.sort_key for e in every)
    same = [e for e in every if e.at == moment]
    assert len(same) == 8 and not same[0].is_evidence  # the change log first at a tie
    newest = all_entries(workflow, limit=3)
    assert [(e.source, e.pk) for e in newest] == list(reversed(keys))


def test_a_bad_cursor_is_refused(workflow):
    with pytest.raises(InvalidInput, match="cursor"):
        workflow_timeline(workflow, cursor="not-a-cursor")


def test_other_workflows_do_not_leak_into_the_timeline(workflow, owner, identity_source):
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source, name="Elsewhere")
    record_evidence(workflow=other, kind="action", summary="somewhere else")
    titles = " ".join(e.summary + e.detail for e in all_entries(workflow))
    assert "Elsewhere" not in titles and "somewhere else" not in titles


def timeline_url(slug):
    return reverse("governance:workflow_tab", args=[slug, "timeline"])


def test_the_timeline_tab_is_for_owners_and_auditors(client, workflow, agent, owner, auditor, outsider):
    record_evidence(workflow=workflow, kind="tool_call", workload=agent, tool_name="jira.comment", summary="hello")
    url = timeline_url(workflow.slug)
    assert client.get(url).status_code == 302
    for person in (owner, auditor):
        client.force_login(person)
        response = client.get(url)
        assert response.status_code == 200 and "jira.comment" in response.content.decode()
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(timeline_url("nope")).status_code == 404


def test_the_timeline_tab_pages_on_and_shows_the_chain(client, workflow, owner):
    for n in range(60):
        record_evidence(workflow=workflow, kind="action", summary=f"step {n}")
    client.force_login(owner)
    first = client.get(timeline_url(workflow.slug))
    cursor = first.context["older_cursor"]
    assert cursor and len(first.context["entries"]) == 50 and "step 59" in first.content.decode()
    assert "Evidence chain: 60 records" in first.content.decode()
    second = client.get(timeline_url(workflow.slug), {"cursor": cursor})
    assert second.status_code == 200 and "step 0" in second.content.decode()
    assert client.get(timeline_url(workflow.slug), {"cursor": "x"}).status_code == 400
