"""Nobody grants themselves access through the registry: what widens access waits for a
second person (the walk-arounds of the four-eyes issue, through the API)."""

import pytest

from approvals.models import Grant
from governance.changes.decisions import decide_change
from governance.exceptions import NotAllowed
from governance.findings.services import recompute_findings
from governance.models import Finding, Policy, RegistryChange, Workflow
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(db, identity_source):
    """A member of the security team (registry administrator)."""
    return factories.UserFactory(username="sec", identity_source=identity_source, is_superuser=True, is_staff=True)


@pytest.fixture
def repo_write(db, owner):
    """github:repo:write, whose resource owner is `owner` (who answers for GitHub)."""
    return factories.EntitlementFactory(scope="github:repo:write", access_level="write", resource_owner=owner)


@pytest.fixture
def finance_read(db, backup_owner):
    return factories.EntitlementFactory(
        scope="finance-warehouse:reports:read",
        target_system="finance-warehouse",
        access_level="read",
        sensitivity="restricted",
        resource_owner=backup_owner,
    )


def own_workflow(api, identity_source, slug="rachels-flow"):
    created = api.post(
        "/api/v1/workflows/",
        {
            "slug": slug,
            "name": "Rachel's flow",
            "business_process": "Anything",
            "identity_source": identity_source.slug,
            "risk_tier": "low",
            "status": "active",
        },
    )
    return created


class TestARequesterCannotGrantHerselfAnything:
    """Walk-around 1: register a workflow, activate it, add a policy with auto-approval, ask."""

    @pytest.mark.parametrize("scope_fixture", ["repo_write", "finance_read"])
    def test_register_activate_auto_policy_and_request_leaves_her_without_a_grant(
        self, request, api_as, requester, identity_source, security, scope_fixture
    ):
        entitlement = request.getfixturevalue(scope_fixture)
        rachel = api_as(requester)
        created = own_workflow(rachel, identity_source)
        # Registering works, but activation is filed for the security team: still a draft.
        assert created.status_code == 202, created.json()
        assert created.json()["kind"] == "activate" and created.json()["state"] == "pending"
        assert Workflow.objects.get(slug="rachels-flow").status == "draft"
        activation = rachel.patch("/api/v1/workflows/rachels-flow/", {"status": "active"})
        assert activation.status_code == 202
        assert activation.json()["id"] == created.json()["id"]  # the same change, not a second one
        # She cannot approve her own activation.
        own = rachel.post(f"/api/v1/registry-changes/{created.json()['id']}/approve/", {})
        assert own.status_code == 403 and "own registry change" in own.json()["message"]

        policy = rachel.post(
            "/api/v1/policies/",
            {"workflow": "rachels-flow", "entitlement": entitlement.scope, "approval_mode": "auto"},
        )
        assert policy.status_code == 202, policy.json()
        assert policy.json()["kind"] == "add_policy"
        assert str(entitlement.resource_owner) in policy.json()["decided_by_whom"]
        assert not Policy.objects.filter(workflow__slug="rachels-flow").exists()

        asked = rachel.post(
            "/api/v1/access-requests/",
            {
                "workflow": "rachels-flow",
                "entitlement": entitlement.scope,
                "duration_seconds": 600,
                "task_ref": "T-1",
                "justification": "Because.",
            },
        )
        assert asked.status_code == 201 and asked.json()["state"] == "denied"
        assert not Grant.objects.filter(requested_by=requester).exists()
        allowed = rachel.post(
            "/api/v1/authorize", {"workflow": "rachels-flow", "scope": entitlement.scope, "task_ref": "T-1"}
        )
        assert allowed.status_code == 200 and allowed.json()["allow"] is False

    def test_the_resource_owner_decides_the_policy_and_the_security_team_the_activation(
        self, api_as, requester, identity_source, security, repo_write, owner
    ):
        rachel = api_as(requester)
        activation = own_workflow(rachel, identity_source).json()
        policy = rachel.post(
            "/api/v1/policies/", {"workflow": "rachels-flow", "entitlement": repo_write.scope, "approval_mode": "owner"}
        ).json()
        # The security team may not decide the resource owner's change; the resource owner does not
        # even see the activation of a workflow that is not hers.
        assert api_as(security).post(f"/api/v1/registry-changes/{policy['id']}/approve/", {}).status_code == 403
        assert api_as(owner).post(f"/api/v1/registry-changes/{activation['id']}/approve/", {}).status_code == 404
        assert api_as(owner).get(f"/api/v1/registry-changes/{policy['id']}/").json()["can_decide"] is True
        approved = api_as(owner).post(f"/api/v1/registry-changes/{policy['id']}/approve/", {"comment": "ok"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
        assert Policy.objects.get(workflow__slug="rachels-flow").approval_mode == "owner"
        assert api_as(security).post(f"/api/v1/registry-changes/{activation['id']}/approve/", {}).status_code == 200
        assert Workflow.objects.get(slug="rachels-flow").status == "active"

    def test_widening_a_policy_waits_and_narrowing_applies_at_once(self, api_as, owner, workflow, repo_write):
        policy = factories.PolicyFactory(workflow=workflow, entitlement=repo_write, approval_mode="owner")
        # The owner is the resource owner too: her widening goes to the security team.
        wider = api_as(owner).patch(
            f"/api/v1/policies/{policy.pk}/", {"approval_mode": "auto", "max_ttl_seconds": 1800}
        )
        assert wider.status_code == 202
        assert wider.json()["changes"] == {"approval_mode": "auto"}
        assert wider.json()["decided_by_whom"] == "the security team"
        policy.refresh_from_db()
        assert policy.approval_mode == "owner" and policy.max_ttl_seconds == 1800  # the shorter maximum applied
        narrower = api_as(owner).patch(f"/api/v1/policies/{policy.pk}/", {"approval_mode": "two_person"})
        assert narrower.status_code == 200 and narrower.json()["approval_mode"] == "two_person"

    @pytest.mark.parametrize(
        "change",
        [
            {"max_ttl_seconds": 7200},
            {"task_ref_required": False},
            {"justification_required": False},
            {"approval_mode": "owner"},
        ],
    )
    def test_each_kind_of_widening_waits(self, api_as, owner, workflow, repo_write, change):
        policy = factories.PolicyFactory(
            workflow=workflow, entitlement=repo_write, approval_mode="two_person", max_ttl_seconds=3600
        )
        answer = api_as(owner).patch(f"/api/v1/policies/{policy.pk}/", change)
        assert answer.status_code == 202, answer.json()
        assert RegistryChange.objects.get(pk=answer.json()["id"]).changes == change

    def test_naming_an_owner_of_an_active_workflow_waits_for_the_security_team(
        self, api_as, owner, workflow, outsider, security
    ):
        answer = api_as(owner).patch(f"/api/v1/workflows/{workflow.slug}/", {"backup_owner": outsider.username})
        assert answer.status_code == 202 and answer.json()["kind"] == "owners"
        workflow.refresh_from_db()
        assert workflow.backup_owner != outsider
        change = RegistryChange.objects.get(pk=answer.json()["id"])
        with pytest.raises(NotAllowed, match="names you"):
            decide_change(change, by=outsider, decision="approve")
        decide_change(change, by=security, decision="approve")
        workflow.refresh_from_db()
        assert workflow.backup_owner == outsider

    def test_a_denial_needs_a_reason_and_changes_nothing(self, api_as, requester, identity_source, security):
        change = own_workflow(api_as(requester), identity_source).json()
        assert api_as(security).post(f"/api/v1/registry-changes/{change['id']}/deny/", {}).status_code == 400
        denied = api_as(security).post(f"/api/v1/registry-changes/{change['id']}/deny/", {"comment": "Who is this?"})
        assert denied.status_code == 200 and denied.json()["state"] == "denied"
        assert Workflow.objects.get(slug="rachels-flow").status == "draft"
        again = api_as(security).post(f"/api/v1/registry-changes/{change['id']}/approve/", {})
        assert again.status_code == 409


class TestRolesThatCannotMix:
    """Walk-around 3: an auditor named backup owner."""

    def test_an_auditor_cannot_be_named_backup_owner(self, api_as, owner, auditor, identity_source):
        answer = api_as(owner).post(
            "/api/v1/workflows/",
            {
                "slug": "crit",
                "name": "Critical",
                "business_process": "Payments",
                "identity_source": identity_source.slug,
                "risk_tier": "critical",
                "backup_owner": auditor.username,
            },
        )
        assert answer.status_code == 400
        assert "auditor" in answer.json()["fields"]["backup_owner"][0]

    def test_an_auditor_already_backing_up_is_never_listed_as_an_approver_and_shows_as_a_finding(
        self, api_as, owner, auditor, identity_source, requester
    ):
        workflow = factories.WorkflowFactory(control_owner=owner, backup_owner=auditor, risk_tier="critical")
        entitlement = factories.EntitlementFactory(scope="pay:run:write", target_system="pay", access_level="write")
        factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
        asked = api_as(requester).post(
            "/api/v1/access-requests/",
            {
                "workflow": workflow.slug,
                "entitlement": entitlement.scope,
                "duration_seconds": 600,
                "task_ref": "T",
                "justification": "j",
            },
        )
        # Two approvers are needed; the auditor is not one, so the request is refused at once
        # with the reason instead of waiting to time out.
        assert asked.json()["state"] == "denied", asked.json()
        assert "only 1 eligible owner" in " ".join(asked.json()["decision"]["reasons"])
        recompute_findings()
        finding = Finding.objects.get(kind="role_conflict", workflow=workflow, resolved_at__isnull=True)
        assert "Auditor" in finding.title and "backup owner" in finding.title
