"""The security team applies registry files without being superusers, through the same
services as the portal, and still never grants itself anything: what widens access waits
for someone other than the applier, an applier never approves her own change, and an
auditor never applies (the walk-arounds, as tests)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from approvals.choices import Decision
from approvals.services import decide, submit_request, suspend_workload
from governance.changes.decisions import APPROVE, decide_change
from governance.exceptions import NotAllowed
from governance.models import Policy, RegistryChange, Workflow
from governance.registry_files.documents import RegistryFileError
from identities.models import WorkloadIdentity
from identities.services import register_workload
from tests import factories
from tests.portal.conftest import signed_in
from tests.registry.files import apply, plan_of
from tests.registry.test_registry_files import approve_all

pytestmark = pytest.mark.django_db


def security_team_member(username, identity_source, *, auditor=False):
    """A person holding `decide_registry_changes` through a group: not a superuser."""
    group, _ = Group.objects.get_or_create(name="Security team")
    group.permissions.add(Permission.objects.get(codename="decide_registry_changes"))
    make = factories.AuditorFactory if auditor else factories.UserFactory
    person = make(username=username, identity_source=identity_source)
    person.groups.add(group)
    return person


@pytest.fixture
def sam(identity_source):
    return security_team_member("sam", identity_source)


@pytest.fixture
def tess(identity_source):
    return security_team_member("tess", identity_source)


@pytest.fixture
def live(text, sam, tess, backup_owner):
    """The file applied by sam and approved by the others: a live workflow sam does not own."""
    apply(sam, text)
    approve_all(tess, backup_owner)
    assert Workflow.objects.get(slug="coding").status == "active"
    return text


def test_a_member_of_the_security_team_applies_a_new_file_and_waits_for_someone_else(
    text, sam, tess, owner, backup_owner
):
    assert not sam.is_superuser
    outcome = apply(sam, text)
    assert sorted(change.kind for change in outcome.filed) == ["activate", "add_policy", "entitlement"]
    assert all(change.author == sam for change in outcome.filed)
    assert Workflow.objects.get(slug="coding").status == "draft" and not Policy.objects.exists()
    for change in outcome.filed:
        with pytest.raises(NotAllowed):
            decide_change(change, by=sam, decision=APPROVE)
    approve_all(tess, backup_owner)
    assert Workflow.objects.get(slug="coding").control_owner == owner
    assert plan_of(text).is_empty


def test_she_changes_a_live_workflow_she_does_not_own_narrowing_now_widening_later(live, sam, tess):
    edited = live.replace("risk_tier: high", "risk_tier: low\n    description: Opens pull requests.").replace(
        "max_ttl_seconds: 1800", "max_ttl_seconds: 3600"
    )
    outcome = apply(sam, edited)
    assert sorted(change.kind for change in outcome.filed) == ["widen_policy", "widen_workflow"]
    workflow = Workflow.objects.get(slug="coding")
    assert workflow.description == "Opens pull requests." and workflow.risk_tier == "high"
    widen_workflow = next(c for c in outcome.filed if c.kind == "widen_workflow")
    with pytest.raises(NotAllowed, match="own registry change"):
        decide_change(widen_workflow, by=sam, decision=APPROVE)
    decide_change(widen_workflow, by=tess, decision=APPROVE)
    assert Workflow.objects.get(slug="coding").risk_tier == "low"


def test_making_herself_owner_waits_for_another_and_she_never_approves_her_own_request(live, sam, tess, owner):
    outcome = apply(sam, live.replace("backup_owner: backup", "backup_owner: sam"))
    (change,) = outcome.filed
    assert change.kind == "owners" and Workflow.objects.get(slug="coding").backup_owner.username == "backup"
    with pytest.raises(NotAllowed):
        decide_change(change, by=sam, decision=APPROVE)
    decide_change(change, by=tess, decision=APPROVE)
    workflow = Workflow.objects.get(slug="coding")
    assert workflow.backup_owner == sam
    # Now an owner, she asks for access: the policy needs an owner's approval, never her own.
    request = submit_request(
        workflow=workflow,
        entitlement=Policy.objects.get(workflow=workflow).entitlement,
        duration_seconds=600,
        requested_by=sam,
        task_ref="T-1",
        justification="Testing.",
    )
    assert request.state == "pending"
    with pytest.raises(NotAllowed):
        decide(request, approver=sam, decision=Decision.APPROVE)
    # Nor does she make the policy approve her automatically: that waits for the resource owner.
    outcome = apply(sam, live.replace("backup_owner: backup", "backup_owner: sam").replace("mode: owner", "mode: auto"))
    (widening,) = outcome.filed
    assert widening.kind == "widen_policy" and Policy.objects.get().approval_mode == "owner"
    with pytest.raises(NotAllowed):
        decide_change(widening, by=sam, decision=APPROVE)


def test_she_cannot_name_herself_owner_of_a_workload_in_a_workflow_she_does_not_own(live, sam, tess, owner):
    with pytest.raises(RegistryFileError) as refused:
        apply(sam, live.replace("owner: owner\n        external", "owner: sam\n        external"))
    assert [str(p) for p in refused.value.problems] == [
        "file1.yaml:25: workload coder: owner: "
        "Only the owners of “Coding agent” may name themselves owner of its workloads."
    ]
    assert WorkloadIdentity.objects.get(slug="coder").owner == owner
    with pytest.raises(NotAllowed, match="name themselves owner"):
        register_workload(by=sam, workflow=Workflow.objects.get(slug="coding"), owner=sam, name="Mine", slug="mine")
    # Naming someone else is hers to do, as it is the workflow owners'.
    register_workload(by=sam, workflow=Workflow.objects.get(slug="coding"), owner=owner, name="Two", slug="two")


def test_she_does_not_lift_the_suspension_of_her_own_workload(live, sam, tess, owner):
    workflow = Workflow.objects.get(slug="coding")
    mine = factories.WorkloadIdentityFactory(workflow=workflow, owner=sam, slug="sams-agent")
    suspend_workload(mine, by=owner, reason="Review found it over-privileged.")
    workload = "\n      - slug: sams-agent\n        name: Sam's agent\n        owner: sam\n        status: active\n"
    with pytest.raises(RegistryFileError, match="reactivate"):
        apply(sam, live + workload)
    assert WorkloadIdentity.objects.get(slug="sams-agent").status == "suspended"
    apply(tess, live + workload)
    assert WorkloadIdentity.objects.get(slug="sams-agent").status == "active"


def test_an_auditor_holding_the_security_teams_permission_never_applies(text, identity_source, api_as):
    audrey = security_team_member("audrey", identity_source, auditor=True)
    with pytest.raises(NotAllowed):
        apply(audrey, text)
    answer = api_as(audrey).post(
        "/api/v1/registry/apply", {"files": [{"name": "a.yaml", "content": text}]}, format="json"
    )
    assert answer.status_code == 403
    assert not Workflow.objects.exists() and not RegistryChange.objects.exists()


def test_a_personal_token_applies_only_for_the_security_team(text, sam, owner, api_as):
    body = {"files": [{"name": "coding.yaml", "content": text}]}
    assert api_as(owner).post("/api/v1/registry/apply", body, format="json").status_code == 403
    assert not Workflow.objects.exists()
    answer = api_as(sam).post("/api/v1/registry/apply", body, format="json")
    assert answer.status_code == 202, answer.json()
    assert {change["author"] for change in answer.json()["pending"]} == {"sam"}


def test_the_portal_and_the_api_let_her_change_what_the_files_do(live, sam, api_as):
    page = signed_in(sam).get(reverse("governance:workflow_detail", args=["coding"]))
    assert page.status_code == 200 and reverse("governance:workflow_edit", args=["coding"]) in page.content.decode()
    answer = api_as(sam).patch("/api/v1/workflows/coding/", {"description": "Reviewed.", "backup_owner": "sam"})
    assert answer.status_code == 202 and answer.json()["kind"] == "owners" and answer.json()["author"] == "sam"
    workflow = Workflow.objects.get(slug="coding")
    assert workflow.description == "Reviewed." and workflow.backup_owner.username == "backup"


def test_made_resource_owner_she_still_never_approves_what_she_filed(live, sam, tess, backup_owner):
    named = apply(sam, live.replace("resource_owner: backup", "resource_owner: sam")).filed
    assert [c.kind for c in named] == ["entitlement"]
    with pytest.raises(NotAllowed):
        decide_change(named[0], by=sam, decision=APPROVE)
    decide_change(named[0], by=tess, decision=APPROVE)
    # Now she answers for the entitlement, but her own auto-approval goes to the security team.
    mine = live.replace("resource_owner: backup", "resource_owner: sam").replace("mode: owner", "mode: auto")
    (widening,) = apply(sam, mine).filed
    assert widening.kind == "widen_policy"
    with pytest.raises(NotAllowed):
        decide_change(widening, by=sam, decision=APPROVE)
    decide_change(widening, by=tess, decision=APPROVE)
    assert Policy.objects.get().approval_mode == "auto"
