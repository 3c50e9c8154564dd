"""Who may do what through the API: every persona × every endpoint × every verb.

404 where the caller may not see the object, 403 where it may see but not do, 400 where a
body names an object the caller cannot see (the same answer as a typo).
"""

import pytest
from django.utils import timezone

from approvals.models import QueueConnection
from governance.models import Finding
from governance.reviews.services import open_campaign
from identities.services import issue_api_key
from tests.factories import (
    EntitlementFactory,
    PolicyFactory,
    UserFactory,
    WorkflowFactory,
    WorkloadIdentityFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ["owner", "backup_owner", "requester", "auditor", "outsider", "agent"]
READ, WRITE = "github:repo:read", "github:repo:write"


def expect(owner, backup_owner, requester, auditor, outsider, agent):
    return dict(zip(ROLES, (owner, backup_owner, requester, auditor, outsider, agent), strict=True))


@pytest.fixture
def world(workflow, agent, owner, requester, identity_source):
    """One active workflow with an agent, a pending request, and an active agent grant."""
    from approvals.services import submit_request
    from governance.services import create_policy

    read = PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=READ, access_level="read"))
    write = PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope=WRITE, access_level="write"))
    common = {"workflow": workflow, "task_ref": "T-1", "justification": "For T-1.", "duration_seconds": 600}
    pending = submit_request(entitlement=write.entitlement, requested_by=requester, **common)
    agent_request = submit_request(entitlement=read.entitlement, workload=agent, on_behalf_of=requester, **common)
    assert pending.state == "pending" and agent_request.state == "approved"
    agent_key, _ = issue_api_key(workload=agent)
    hidden = WorkflowFactory(status="draft", control_owner=UserFactory(), identity_source=identity_source)
    hidden_policy = PolicyFactory(workflow=hidden, entitlement=EntitlementFactory(scope="vault:secret:read"))
    parked = WorkloadIdentityFactory(workflow=workflow, owner=owner, status="suspended", slug="parked-agent")
    campaign = open_campaign(workflow)
    extra = EntitlementFactory(scope="jira:issue:write", target_system="jira", resource_owner=workflow.backup_owner)
    change = create_policy(by=owner, workflow=workflow, entitlement=extra, approval_mode="owner")
    return {
        "change": change,
        "workflow": workflow,
        "hidden": hidden,
        "hidden_policy": hidden_policy,
        "agent": agent,
        "read_policy": read,
        "entitlement": read.entitlement,
        "pending": pending,
        "grant": agent_request.grant,
        "agent_key": agent_key,
        "identity_source": identity_source,
        "parked": parked,
        "campaign": campaign,
        "workload_item": campaign.items.get(kind="workload", workload=agent),
        "ownership_item": campaign.items.get(kind="ownership"),
        "queue": QueueConnection.objects.create(name="Inbox", kind="portal"),
        "finding": Finding.objects.create(
            kind="standing_privilege",
            workflow=workflow,
            fingerprint=f"standing_privilege:policy:{read.pk}",
            subject_type="policy",
            subject_id=str(read.pk),
            title="Standing privilege",
            first_seen_at=timezone.now(),
            last_seen_at=timezone.now(),
        ),
    }


def new_workflow(w):
    return {"name": "New", "slug": "new-flow", "business_process": "Ops", "identity_source": w["identity_source"].slug}


def new_workload(w):
    return {"name": "New agent", "slug": "new-agent", "workflow": w["workflow"].slug}


CASES = {
    "list workflows": ("get", lambda w: "/api/v1/workflows/", None, expect(200, 200, 200, 200, 200, 200)),
    "read a workflow": (
        "get",
        lambda w: f"/api/v1/workflows/{w['workflow'].slug}/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "read a draft workflow of someone else": (
        "get",
        lambda w: f"/api/v1/workflows/{w['hidden'].slug}/",
        None,
        expect(404, 404, 404, 200, 404, 404),
    ),
    "read a workflow's MCP tool mapping": (
        "get",
        lambda w: f"/api/v1/workflows/{w['workflow'].slug}/tools/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "read the MCP tool mapping of someone else's draft workflow": (
        "get",
        lambda w: f"/api/v1/workflows/{w['hidden'].slug}/tools/",
        None,
        expect(404, 404, 404, 200, 404, 404),
    ),
    "register a workflow": ("post", lambda w: "/api/v1/workflows/", new_workflow, expect(201, 201, 201, 403, 201, 403)),
    "change a workflow": (
        "patch",
        lambda w: f"/api/v1/workflows/{w['workflow'].slug}/",
        lambda w: {"description": "Changed."},
        expect(200, 200, 403, 403, 403, 403),
    ),
    "list entitlements": ("get", lambda w: "/api/v1/entitlements/", None, expect(200, 200, 200, 200, 200, 200)),
    "read an entitlement of the workflow": (
        "get",
        lambda w: f"/api/v1/entitlements/{w['entitlement'].pk}/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "read an entitlement of another workflow": (
        "get",
        lambda w: f"/api/v1/entitlements/{w['hidden_policy'].entitlement.pk}/",
        None,
        expect(200, 200, 200, 200, 200, 404),
    ),
    "add an entitlement": (
        "post",
        lambda w: "/api/v1/entitlements/",
        lambda w: {"scope": "jira:issue:read", "target_system": "jira"},
        expect(201, 201, 403, 403, 403, 403),
    ),
    "change an entitlement": (
        "patch",
        lambda w: f"/api/v1/entitlements/{w['entitlement'].pk}/",
        lambda w: {"name": "Renamed"},
        expect(403, 403, 403, 403, 403, 403),
    ),
    "list policies": ("get", lambda w: "/api/v1/policies/", None, expect(200, 200, 200, 200, 200, 200)),
    "read a policy": (
        "get",
        lambda w: f"/api/v1/policies/{w['read_policy'].pk}/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "read a policy of a draft workflow of someone else": (
        "get",
        lambda w: f"/api/v1/policies/{w['hidden_policy'].pk}/",
        None,
        expect(404, 404, 404, 200, 404, 404),
    ),
    "add a policy": (
        "post",
        lambda w: "/api/v1/policies/",
        lambda w: {"workflow": w["workflow"].slug, "entitlement": EntitlementFactory(scope="jira:x:read").scope},
        # Adding an entitlement to a workflow is a registry change for its resource owner.
        expect(202, 202, 403, 403, 403, 403),
    ),
    "change a policy": (
        "patch",
        lambda w: f"/api/v1/policies/{w['read_policy'].pk}/",
        lambda w: {"max_ttl_seconds": 1200},
        expect(200, 200, 403, 403, 403, 403),
    ),
    "list workload identities": (
        "get",
        lambda w: "/api/v1/workload-identities/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "read a workload identity": (
        "get",
        lambda w: f"/api/v1/workload-identities/{w['agent'].slug}/",
        None,
        expect(200, 200, 404, 200, 404, 200),
    ),
    "register a workload identity": (
        "post",
        lambda w: "/api/v1/workload-identities/",
        new_workload,
        expect(201, 201, 403, 403, 403, 403),
    ),
    "change a workload identity": (
        "patch",
        lambda w: f"/api/v1/workload-identities/{w['agent'].slug}/",
        lambda w: {"description": "Changed."},
        expect(200, 200, 404, 403, 404, 403),
    ),
    "suspend a workload identity": (
        "post",
        lambda w: f"/api/v1/workload-identities/{w['agent'].slug}/suspend/",
        lambda w: {"reason": "Drill."},
        expect(200, 200, 404, 403, 404, 403),
    ),
    "reactivate a suspended workload identity": (
        "post",
        lambda w: f"/api/v1/workload-identities/{w['parked'].slug}/reactivate/",
        lambda w: {"reason": "Fixed."},
        expect(200, 200, 404, 403, 404, 404),
    ),
    "list API keys": ("get", lambda w: "/api/v1/api-keys/", None, expect(200, 200, 200, 200, 200, 200)),
    "read a workload key": (
        "get",
        lambda w: f"/api/v1/api-keys/{w['agent_key'].pk}/",
        None,
        expect(200, 200, 404, 200, 404, 404),
    ),
    "issue a workload key": (
        "post",
        lambda w: "/api/v1/api-keys/",
        lambda w: {"workload": w["agent"].slug},
        expect(201, 201, 400, 403, 400, 403),
    ),
    "issue a personal access token": (
        "post",
        lambda w: "/api/v1/api-keys/",
        lambda w: {"name": "laptop"},
        expect(201, 201, 201, 201, 201, 403),
    ),
    "rotate a workload key": (
        "post",
        lambda w: f"/api/v1/api-keys/{w['agent_key'].pk}/rotate/",
        lambda w: {"grace_seconds": 60},
        expect(201, 201, 404, 403, 404, 404),
    ),
    "revoke a workload key": (
        "post",
        lambda w: f"/api/v1/api-keys/{w['agent_key'].pk}/revoke/",
        None,
        expect(200, 200, 404, 403, 404, 404),
    ),
    "list access requests": ("get", lambda w: "/api/v1/access-requests/", None, expect(200, 200, 200, 200, 200, 200)),
    "read a pending request": (
        "get",
        lambda w: f"/api/v1/access-requests/{w['pending'].pk}/",
        None,
        expect(200, 200, 200, 200, 404, 404),
    ),
    "ask for access": (
        "post",
        lambda w: "/api/v1/access-requests/",
        lambda w: {
            "workflow": w["workflow"].slug,
            "entitlement": READ,
            "task_ref": "T-2",
            "justification": "For T-2.",
            "duration_seconds": 60,
        },
        expect(201, 201, 201, 403, 201, 201),
    ),
    "approve a request": (
        "post",
        lambda w: f"/api/v1/access-requests/{w['pending'].pk}/approve/",
        None,
        expect(200, 200, 403, 403, 404, 404),
    ),
    "deny a request": (
        "post",
        lambda w: f"/api/v1/access-requests/{w['pending'].pk}/deny/",
        lambda w: {"comment": "No."},
        expect(200, 200, 403, 403, 404, 404),
    ),
    "cancel a request": (
        "post",
        lambda w: f"/api/v1/access-requests/{w['pending'].pk}/cancel/",
        None,
        expect(403, 403, 200, 403, 404, 404),  # owners deny; only the requester withdraws
    ),
    "list grants": ("get", lambda w: "/api/v1/grants/", None, expect(200, 200, 200, 200, 200, 200)),
    "read an agent's grant": (
        "get",
        lambda w: f"/api/v1/grants/{w['grant'].pk}/",
        None,
        expect(200, 200, 200, 200, 404, 200),
    ),
    "revoke an agent's grant": (
        "post",
        lambda w: f"/api/v1/grants/{w['grant'].pk}/revoke/",
        lambda w: {"comment": "Enough."},
        expect(200, 200, 200, 403, 404, 200),
    ),
    "extend an agent's grant": (
        "post",
        lambda w: f"/api/v1/grants/{w['grant'].pk}/extend/",
        lambda w: {"duration_seconds": 300, "comment": "Still needed."},
        expect(201, 403, 201, 403, 404, 201),
    ),
    "mint an agent's grant token": (
        "post",
        lambda w: f"/api/v1/grants/{w['grant'].pk}/token/",
        None,
        expect(403, 403, 403, 403, 404, 201),
    ),
    "complete a task": (
        "post",
        lambda w: "/api/v1/tasks/complete",
        lambda w: {"workflow": w["workflow"].slug, "task_ref": "T-1"},
        # Anyone who may hold access may end their own task; what it reaches is scoped
        # (tests/security/test_task_completion_scope.py).
        expect(200, 200, 200, 403, 200, 200),
    ),
    "check authorization": (
        "post",
        lambda w: "/api/v1/authorize",
        lambda w: {"workflow": w["workflow"].slug, "scope": READ},
        expect(200, 200, 200, 200, 200, 200),
    ),
    # Lists are filtered to what the caller may see, so everyone gets 200.
    "list evidence": ("get", lambda w: "/api/v1/evidence/", None, expect(200, 200, 200, 200, 200, 200)),
    # People's actions are recorded by the services; only workloads report their own events.
    "report evidence": (
        "post",
        lambda w: "/api/v1/evidence/",
        lambda w: {"events": [{"kind": "tool_call", "tool_name": "git.clone", "outcome": "success"}]},
        expect(403, 403, 403, 403, 403, 201),
    ),
    "list access reviews": ("get", lambda w: "/api/v1/reviews/", None, expect(200, 200, 200, 200, 200, 200)),
    "read an access review": (
        "get",
        lambda w: f"/api/v1/reviews/{w['campaign'].pk}/",
        None,
        expect(200, 200, 404, 200, 404, 404),
    ),
    "decide review items in bulk": (
        "post",
        lambda w: f"/api/v1/reviews/{w['campaign'].pk}/decide/",
        lambda w: {"items": [w["workload_item"].pk], "decision": "certify"},
        # The owner owns the agent: the backup owner certifies it.
        expect(403, 200, 404, 403, 404, 404),
    ),
    "list review items": ("get", lambda w: "/api/v1/review-items/", None, expect(200, 200, 200, 200, 200, 200)),
    "read a review item": (
        "get",
        lambda w: f"/api/v1/review-items/{w['ownership_item'].pk}/",
        None,
        expect(200, 200, 404, 200, 404, 404),
    ),
    "decide a review item": (
        "post",
        lambda w: f"/api/v1/review-items/{w['ownership_item'].pk}/decide/",
        lambda w: {"decision": "certify", "comment": "Still the right owner."},
        # Nobody certifies their own assignment.
        expect(403, 200, 404, 403, 404, 404),
    ),
    "list registry changes": (
        "get",
        lambda w: "/api/v1/registry-changes/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "a registry change": (
        "get",
        lambda w: f"/api/v1/registry-changes/{w['change'].pk}/",
        None,
        expect(200, 200, 404, 200, 404, 404),
    ),
    # The owner proposed it; the backup owner is the entitlement's resource owner.
    "approve a registry change": (
        "post",
        lambda w: f"/api/v1/registry-changes/{w['change'].pk}/approve/",
        None,
        expect(403, 200, 404, 403, 404, 404),
    ),
    "deny a registry change": (
        "post",
        lambda w: f"/api/v1/registry-changes/{w['change'].pk}/deny/",
        lambda w: {"comment": "Not this one."},
        expect(403, 200, 404, 403, 404, 404),
    ),
    "withdraw a registry change": (
        "post",
        lambda w: f"/api/v1/registry-changes/{w['change'].pk}/cancel/",
        None,
        expect(200, 403, 404, 403, 404, 404),
    ),
    "read a workload's dossier": (
        "get",
        lambda w: f"/api/v1/workload-identities/{w['agent'].slug}/dossier/",
        None,
        expect(200, 200, 404, 200, 404, 200),
    ),
    "page through a workload's events": (
        "get",
        lambda w: f"/api/v1/workload-identities/{w['agent'].slug}/events/",
        None,
        expect(200, 200, 404, 200, 404, 200),
    ),
    "export the workload inventory": (
        "get",
        lambda w: "/api/v1/workload-inventory/",
        None,
        expect(200, 200, 200, 200, 200, 403),
    ),
    "export evidence as OCSF events": (
        "get",
        lambda w: "/api/v1/evidence/ocsf/",
        None,
        expect(200, 200, 403, 200, 403, 403),
    ),
    "export evidence for offline verification": (
        "get",
        lambda w: "/api/v1/evidence/export/",
        None,
        expect(200, 200, 403, 200, 403, 403),
    ),
    "list findings": ("get", lambda w: "/api/v1/findings/", None, expect(200, 200, 403, 200, 403, 403)),
    "read a finding": (
        "get",
        lambda w: f"/api/v1/findings/{w['finding'].pk}/",
        None,
        expect(200, 200, 403, 200, 403, 403),
    ),
    "list queue connections": (
        "get",
        lambda w: "/api/v1/queue-connections/",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "read a queue connection": (
        "get",
        lambda w: f"/api/v1/queue-connections/{w['queue'].pk}/",
        None,
        expect(404, 404, 404, 200, 404, 404),
    ),
    "test a queue connection": (
        "post",
        lambda w: f"/api/v1/queue-connections/{w['queue'].pk}/test/",
        None,
        expect(404, 404, 404, 403, 404, 404),
    ),
    "read the JSON Schema of registry files": (
        "get",
        lambda w: "/api/v1/registry/schema",
        None,
        expect(200, 200, 200, 200, 200, 200),
    ),
    "export the registry as a file": (
        "get",
        lambda w: "/api/v1/registry/export",
        None,
        expect(403, 403, 403, 200, 403, 403),
    ),
    "plan registry files": (
        "post",
        lambda w: "/api/v1/registry/plan",
        lambda w: {"files": [{"name": "r.yaml", "content": "version: 1\n"}]},
        expect(403, 403, 403, 200, 403, 403),
    ),
    "apply registry files": (
        "post",
        lambda w: "/api/v1/registry/apply",
        lambda w: {"files": [{"name": "r.yaml", "content": "version: 1\n"}]},
        expect(403, 403, 403, 403, 403, 403),
    ),
    "compare the registry with the applied files": (
        "get",
        lambda w: "/api/v1/registry/drift",
        None,
        expect(403, 403, 403, 200, 403, 403),
    ),
}

# The agent acts for the requester; a person asks for themselves.
ON_BEHALF = {"ask for access"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", list(CASES))
def test_permission_matrix(case, role, request, world, api_as):
    method, url, body, expected = CASES[case]
    persona = request.getfixturevalue(role)
    data = body(world) if body else {}
    if case in ON_BEHALF and role == "agent":
        data["on_behalf_of"] = request.getfixturevalue("requester").username
    response = getattr(api_as(persona), method)(url(world), data)
    assert response.status_code == expected[role], (case, role, response.json())
    if response.status_code >= 400:
        assert set(response.json()) == {"status", "code", "message", "fields"}


class Placeholder(dict):
    """Stands in for the world: every object's slug and pk render as `{x}`."""

    def __missing__(self, key):
        obj = type("Obj", (), {"slug": "{x}", "pk": "{x}"})()
        obj.entitlement = obj
        return obj


def test_every_route_and_verb_of_the_api_is_in_the_matrix():
    """A new endpoint or verb must be added to the matrix above."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (method, path.replace("{id}", "{x}").replace("{slug}", "{x}"))
        for path, item in schema["paths"].items()
        for method in item
    }
    covered = {(method, url(Placeholder())) for method, url, _, _ in CASES.values()}
    assert documented == covered
