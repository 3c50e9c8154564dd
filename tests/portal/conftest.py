"""Fixtures of the portal tests: policies, requests in each state, signed-in clients."""

import pytest
from django.test import Client

from approvals.services import submit_request
from identities.models import User
from tests import factories


@pytest.fixture
def read_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read", name="Read repository")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=4 * 3600)


@pytest.fixture
def write_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write", name="Push branches")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=2 * 3600)


@pytest.fixture
def requesters_agent(workflow, requester):
    """An agent run by the requester: its owner is not an owner of the workflow."""
    return factories.WorkloadIdentityFactory(
        workflow=workflow, owner=requester, name="Coding agent", slug="coding-agent"
    )


def ask(policy, *, person=None, agent=None, for_whom=None, seconds=3600, task_ref="PLAT-1", **extra):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        requested_by=person,
        workload=agent,
        on_behalf_of=for_whom,
        task_ref=task_ref,
        justification=extra.pop("justification", "Push the fix branch"),
        **extra,
    )


@pytest.fixture
def agent_write_request(write_policy, requesters_agent, requester):
    """A pending write request made by an agent on behalf of the requester."""
    request = ask(write_policy, agent=requesters_agent, for_whom=requester)
    assert request.state == "pending"
    return request


@pytest.fixture
def agent_read_grant(read_policy, requesters_agent, requester):
    """An active grant, auto-approved (read in a medium-risk workflow)."""
    request = ask(read_policy, agent=requesters_agent, for_whom=requester, task_ref="PLAT-2")
    assert request.state == "approved"
    return request.grant


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_owner(owner):
    return signed_in(owner)


@pytest.fixture
def as_backup(backup_owner):
    return signed_in(backup_owner)


@pytest.fixture
def as_requester(requester):
    return signed_in(requester)


@pytest.fixture
def as_auditor(auditor):
    return signed_in(auditor)


@pytest.fixture
def as_outsider(outsider):
    return signed_in(outsider)
