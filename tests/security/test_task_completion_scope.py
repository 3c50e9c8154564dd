"""`POST /api/v1/tasks/complete` reaches only what the caller may end.

A task reference is guessable (a ticket number, a run id), so naming one must never end
somebody else's access: a workload ends its own grants, a person the grants they hold,
the workflow's owners any; the revocation names the person who ended it.
"""

import pytest

from approvals.models import Grant
from approvals.services import submit_request
from tests import factories

pytestmark = pytest.mark.django_db

TASK = "INC-4711"


@pytest.fixture
def read_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


@pytest.fixture
def other_agent(workflow, owner):
    return factories.WorkloadIdentityFactory(workflow=workflow, owner=owner, slug="other-agent")


def grant_for(policy, *, workload=None, person):
    holder = {"workload": workload, "on_behalf_of": person} if workload else {"requested_by": person}
    request = submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=600,
        task_ref=TASK,
        justification="on call",
        **holder,
    )
    return request.grant


@pytest.fixture
def grants(read_policy, agent, other_agent, requester, backup_owner):
    """One task, four holders: two workloads of the workflow and two people."""
    return {
        "agent": grant_for(read_policy, workload=agent, person=requester),
        "other_agent": grant_for(read_policy, workload=other_agent, person=requester),
        "requester": grant_for(read_policy, person=requester),
        "backup_owner": grant_for(read_policy, person=backup_owner),
    }


def complete(client, workflow):
    return client.post("/api/v1/tasks/complete", {"workflow": workflow.slug, "task_ref": TASK})


def still_active(grants):
    active = set(Grant.objects.filter(status="active").values_list("pk", flat=True))
    return {name for name, grant in grants.items() if grant.pk in active}


def test_a_workload_ends_only_its_own_grants(api_as, workflow, agent, grants):
    response = complete(api_as(agent), workflow)
    assert response.status_code == 200 and response.json()["revoked_grants"] == 1
    assert still_active(grants) == {"other_agent", "requester", "backup_owner"}


def test_a_workload_cannot_end_another_workloads_grants_by_naming_their_task(api_as, workflow, grants):
    # A third workload of the same workflow, holding nothing of this task.
    complete(api_as(factories.WorkloadIdentityFactory(workflow=workflow, owner=workflow.control_owner)), workflow)
    assert still_active(grants) == set(grants)


def test_a_workload_cannot_end_a_persons_grants(api_as, workflow, agent, grants):
    Grant.objects.filter(pk=grants["agent"].pk).update(status="revoked")  # nothing of its own left
    response = complete(api_as(agent), workflow)
    assert response.status_code == 200 and response.json()["revoked_grants"] == 0
    assert {"requester", "backup_owner", "other_agent"} <= still_active(grants)


def test_a_workload_of_another_workflow_reaches_nothing(api_as, workflow, owner, grants):
    stranger = factories.WorkloadIdentityFactory(owner=owner)
    response = complete(api_as(stranger), workflow)
    assert response.status_code in (400, 403)
    assert still_active(grants) == set(grants)


def test_a_person_ends_only_the_grants_they_hold(api_as, workflow, requester, grants):
    response = complete(api_as(requester), workflow)
    assert response.json()["revoked_grants"] == 1
    assert still_active(grants) == {"agent", "other_agent", "backup_owner"}
    grants["requester"].refresh_from_db()
    assert grants["requester"].revoked_by == requester


def test_a_person_cannot_end_a_workloads_grants_made_for_them(api_as, workflow, requester, grants):
    # The agents act for the requester, but their grants are the agents' to end (or an owner's).
    complete(api_as(requester), workflow)
    assert {"agent", "other_agent"} <= still_active(grants)


def test_an_owner_ends_every_grant_of_the_task_and_is_named(api_as, workflow, owner, grants):
    response = complete(api_as(owner), workflow)
    assert response.json()["revoked_grants"] == 4
    assert still_active(grants) == set()
    assert set(Grant.objects.filter(task_ref=TASK).values_list("revoked_by", flat=True)) == {owner.pk}


def test_a_workload_ending_its_own_grant_is_the_grants_subject_in_the_evidence(api_as, workflow, agent, grants):
    complete(api_as(agent), workflow)
    ended = Grant.objects.get(pk=grants["agent"].pk)
    record = ended.evidence.filter(kind="grant", outcome="revoked").get()
    assert ended.revoked_by is None and record.workload_id == agent.pk
