"""A workflow's page: its tabs for owners and auditors, the catalogue view for everyone else."""

import pytest
from django.urls import reverse

from .conftest import ask

pytestmark = pytest.mark.django_db


def tab(client, workflow, name, **headers):
    return client.get(reverse("governance:workflow_tab", args=[workflow.slug, name]), **headers)


def test_owners_see_every_tab(as_owner, workflow):
    response = as_owner.get(workflow.get_absolute_url())
    assert [key for key, _ in response.context["tabs"]] == ["workloads", "policies", "grants", "reviews", "timeline"]


def test_others_see_what_they_may_request_only(as_outsider, workflow, read_policy):
    response = as_outsider.get(workflow.get_absolute_url())
    assert [key for key, _ in response.context["tabs"]] == ["policies"]
    assert b"github:repo:read" in response.content
    page = response.content.decode()
    for private in ("timeline", "grants", "workloads", "reviews"):  # no link to what they may not open
        assert f'href="/workflows/{workflow.slug}/{private}/"' not in page, private


def test_a_requester_opening_the_timeline_is_told_it_is_not_permitted(as_requester, workflow):
    for private in ("timeline", "grants", "workloads", "reviews"):
        response = tab(as_requester, workflow, private)
        assert response.status_code == 403, private
        assert "owners and auditors see this tab" in response.content.decode()


def test_the_policies_tab_names_the_mcp_tools_an_entitlement_covers(as_outsider, workflow, read_policy):
    read_policy.entitlement.mcp_tools = ["github.get_file", "github.search_*"]
    read_policy.entitlement.save(update_fields=["mcp_tools"])
    body = tab(as_outsider, workflow, "policies").content.decode()
    assert 'MCP tools: <span class="mono">github.get_file, github.search_*</span>' in body


def test_the_grants_tab_shows_active_and_past_grants(as_owner, agent_read_grant, owner):
    from approvals.services import revoke_grant

    ended = ask(
        agent_read_grant.request.workflow.policies.get(),
        agent=agent_read_grant.workload,
        for_whom=agent_read_grant.on_behalf_of,
        task_ref="PLAT-3",
    ).grant
    revoke_grant(ended, by=owner, reason="Done")
    response = tab(as_owner, agent_read_grant.workflow, "grants")
    assert [g.pk for g in response.context["active_grants"]] == [agent_read_grant.pk]
    assert [g.pk for g in response.context["past_grants"]] == [ended.pk]


def test_a_tab_fetched_by_htmx_is_the_tab_strip_and_panel_only(as_owner, workflow):
    response = tab(as_owner, workflow, "policies", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="workflow-tabs">') and "<html" not in body
    assert 'aria-current="page">Entitlements and policies' in body


def test_the_timeline_shows_changes_newest_first(as_owner, workflow, agent_read_grant, owner):
    from approvals.services import revoke_grant

    revoke_grant(agent_read_grant, by=owner, reason="Done")
    entries = tab(as_owner, workflow, "timeline").context["entries"]
    # The revocation's evidence is written just after the grant's change-log entry.
    assert entries[0].summary == "Grant: revoked" and entries[0].is_evidence
    change = next(e for e in entries if not e.is_evidence)
    assert change.summary.startswith("Grant “Grant #")
    assert ("status", "active", "revoked") in change.changes
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert any(e.summary.startswith("Workflow “") for e in entries)


def test_unknown_tabs_and_workflows_are_not_found(as_owner, workflow):
    assert tab(as_owner, workflow, "secrets").status_code == 404
    assert as_owner.get(reverse("governance:workflow_detail", args=["nope"])).status_code == 404
