"""Entitlements name the MCP tools they cover; a workflow's workloads read its tool → scope
mapping, in the order a gateway applies it."""

import pytest

from tests.factories import EntitlementFactory, PolicyFactory, UserFactory, WorkloadIdentityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def jira_workflow(workflow):
    read = EntitlementFactory(
        target_system="jira", scope="jira:issue:read", access_level="read", mcp_tools=["jira.get_*", "jira.search"]
    )
    write = EntitlementFactory(
        target_system="jira", scope="jira:issue:write", access_level="write", mcp_tools=["jira.*", "jira.get_issue"]
    )
    banned = EntitlementFactory(
        target_system="jira", scope="jira:issue:admin", access_level="admin", mcp_tools=["jira.delete_*"]
    )
    PolicyFactory(workflow=workflow, entitlement=read)
    PolicyFactory(workflow=workflow, entitlement=write)
    PolicyFactory(workflow=workflow, entitlement=banned, approval_mode="deny")
    EntitlementFactory(target_system="jira", scope="jira:other:read", mcp_tools=["jira.other"])  # not in the workflow
    return workflow


def test_a_workload_reads_its_workflows_mapping_exact_names_first_then_narrower_patterns(api_as, jira_workflow):
    agent = WorkloadIdentityFactory(workflow=jira_workflow)
    answer = api_as(agent).get(f"/api/v1/workflows/{jira_workflow.slug}/tools/")
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "workflow": jira_workflow.slug,
        "tools": [
            {"pattern": "jira.get_issue", "exact": True, "scope": "jira:issue:write", "access_level": "write"},
            {"pattern": "jira.search", "exact": True, "scope": "jira:issue:read", "access_level": "read"},
            {"pattern": "jira.get_*", "exact": False, "scope": "jira:issue:read", "access_level": "read"},
            {"pattern": "jira.*", "exact": False, "scope": "jira:issue:write", "access_level": "write"},
        ],
    }


def test_another_workflows_workload_does_not_see_the_mapping(api_as, jira_workflow):
    stranger = WorkloadIdentityFactory()
    assert api_as(stranger).get(f"/api/v1/workflows/{jira_workflow.slug}/tools/").status_code == 404


def test_an_administrator_sets_the_tools_an_entitlement_covers(api_as, jira_workflow):
    admin = UserFactory(username="admin", is_superuser=True, is_staff=True)
    entitlement = EntitlementFactory(target_system="jira", scope="jira:board:read")
    url = f"/api/v1/entitlements/{entitlement.pk}/"
    changed = api_as(admin).patch(url, {"mcp_tools": ["jira.board_*", "jira.list_boards"]}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["mcp_tools"] == ["jira.board_*", "jira.list_boards"]

    refused = api_as(admin).patch(url, {"mcp_tools": ["jira board", "jira.x", "jira.x"]}, format="json")
    assert refused.status_code == 400
    messages = " ".join(refused.json()["fields"]["mcp_tools"])
    assert "“jira board”: tool names use letters" in messages and "“jira.x” is listed twice" in messages
    entitlement.refresh_from_db()
    assert entitlement.mcp_tools == ["jira.board_*", "jira.list_boards"]


def test_an_owner_may_not_widen_a_shared_entitlement(api_as, jira_workflow, owner):
    entitlement = jira_workflow.policies.get(entitlement__scope="jira:issue:read").entitlement
    answer = api_as(owner).patch(f"/api/v1/entitlements/{entitlement.pk}/", {"mcp_tools": ["*"]}, format="json")
    assert answer.status_code == 403
