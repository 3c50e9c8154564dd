"""When a person leaves, nothing keeps running on their authority; coming back restores nothing."""

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.urls import reverse

from approvals.models import AccessRequest, Grant
from approvals.services import submit_request
from governance.exceptions import InvalidInput
from identities import signals
from identities.models import User, WorkloadIdentity
from identities.services import deactivate_person, reactivate_person
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement)


@pytest.fixture
def write_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement)


def ask(policy, *, person=None, workload=None, for_whom=None, task="run-1"):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=600,
        requested_by=person,
        workload=workload,
        on_behalf_of=for_whom,
        task_ref=task,
        justification="work",
    )


@pytest.fixture
def owner_access(read_policy, write_policy, owner, requester, agent):
    """The owner's own grant, the agent's grants for the owner and for a requester, a pending request."""
    return {
        "own": ask(read_policy, person=owner).grant,
        "agent_for_owner": ask(read_policy, workload=agent, for_whom=owner, task="run-2").grant,
        "agent_for_requester": ask(read_policy, workload=agent, for_whom=requester, task="run-3").grant,
        "pending": ask(write_policy, person=owner, task="run-4"),
    }


def status(obj):
    obj.refresh_from_db()
    return obj.status if hasattr(obj, "status") else obj.state


def test_with_a_backup_owner_everything_passes_to_them(
    workflow, owner, backup_owner, agent, owner_access, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        summary = deactivate_person(owner, reason="Left the company")

    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert (workflow.control_owner, workflow.backup_owner, workflow.status) == (backup_owner, None, "active")
    assert (agent.owner, agent.status) == (backup_owner, "active")
    assert status(owner_access["own"]) == "revoked"
    assert status(owner_access["agent_for_owner"]) == "revoked"
    assert status(owner_access["agent_for_requester"]) == "active", "the agent keeps working for others"
    assert status(owner_access["pending"]) == "cancelled"
    assert summary["workflows_handed_over"] == [workflow.pk] and summary["workloads_handed_over"] == [agent.pk]
    assert (summary["revoked_grants"], summary["cancelled_requests"]) == (2, 1)
    assert [m.to for m in mail.outbox] == [[backup_owner.email]]
    assert workflow.name in mail.outbox[0].body and agent.name in mail.outbox[0].body


def test_without_a_backup_owner_the_workflow_is_unowned_and_security_is_told(
    workflow, owner, agent, owner_access, read_policy, requester, settings, django_capture_on_commit_callbacks
):
    workflow.backup_owner = None
    workflow.save()
    settings.SECURITY_CONTACT_EMAIL = "secops@example.test"

    with django_capture_on_commit_callbacks(execute=True):
        summary = deactivate_person(owner, reason="Left the company")

    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert (workflow.control_owner, workflow.status) == (None, "suspended")
    assert agent.status == "suspended" and "left" in agent.status_reason
    assert {status(g) for k, g in owner_access.items() if k != "pending"} == {"revoked"}
    assert summary["workflows_unowned"] == [workflow.pk] and summary["workloads_suspended"] == [agent.pk]
    assert [m.to for m in mail.outbox] == [["secops@example.test"]]
    assert workflow.name in mail.outbox[0].body
    refused = ask(read_policy, person=requester, task="run-9")
    assert refused.state == "denied" and any("control owner" in r for r in refused.decision_reasons)


def test_an_inactive_backup_owner_takes_nothing_over(workflow, owner, backup_owner, agent):
    User.objects.filter(pk=backup_owner.pk).update(is_active=False)

    deactivate_person(owner, reason="Left")

    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert workflow.control_owner is None and agent.status == "suspended"


def test_a_leaving_backup_owner_stops_being_backup(workflow, owner, backup_owner):
    summary = deactivate_person(backup_owner, reason="Moved to another team")

    workflow.refresh_from_db()
    assert (workflow.control_owner, workflow.backup_owner) == (owner, None)
    assert summary["backup_roles_ended"] == [workflow.pk]


def test_the_security_contact_hears_nothing_until_the_transaction_commits(
    workflow, owner, django_capture_on_commit_callbacks
):
    workflow.backup_owner = None
    workflow.save()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deactivate_person(owner, reason="Left")

    assert mail.outbox == [] and len(callbacks) == 1


def test_every_step_is_in_the_audit_log_and_announced(workflow, owner, agent, owner_access):
    announced = []

    def record(sender, **kwargs):
        announced.append(sender.__name__)

    for signal in (signals.person_deactivated, signals.workflow_owner_changed, signals.workload_owner_changed):
        signal.connect(record, weak=False)
    try:
        deactivate_person(owner, reason="Left")
    finally:
        for signal in (signals.person_deactivated, signals.workflow_owner_changed, signals.workload_owner_changed):
            signal.disconnect(record)

    assert sorted(announced) == ["User", "Workflow", "WorkloadIdentity"]
    assert "control_owner" in LogEntry.objects.get_for_object(workflow).first().changes_dict
    assert "owner" in LogEntry.objects.get_for_object(agent).first().changes_dict
    assert "is_active" in LogEntry.objects.get_for_object(owner).first().changes_dict
    revoked = owner_access["own"]
    assert LogEntry.objects.get_for_object(revoked).first().changes_dict["status"][1] == "revoked"


def test_deactivating_twice_changes_nothing_more(workflow, owner, django_capture_on_commit_callbacks):
    workflow.backup_owner = None
    workflow.save()
    with django_capture_on_commit_callbacks(execute=True):
        deactivate_person(owner, reason="Left")
    with django_capture_on_commit_callbacks(execute=True):
        again = deactivate_person(owner, reason="Left")

    assert again["already_inactive"] and again["workflows_unowned"] == []
    assert len(mail.outbox) == 1


def test_a_reason_is_required(owner):
    with pytest.raises(InvalidInput):
        deactivate_person(owner, reason="  ")
    owner.refresh_from_db()
    assert owner.is_active


def test_a_failure_mid_way_changes_nothing(workflow, owner, agent, owner_access, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("identities.leavers.cancel_pending_requests_of", broken)

    with pytest.raises(RuntimeError):
        deactivate_person(owner, reason="Left")

    owner.refresh_from_db()
    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert owner.is_active and workflow.control_owner == owner and agent.owner == owner
    assert status(owner_access["own"]) == "active"


def test_coming_back_restores_nothing(workflow, owner, backup_owner, agent, owner_access):
    deactivate_person(owner, reason="Left")

    reactivate_person(owner, reason="Rehired")

    owner.refresh_from_db()
    workflow.refresh_from_db()
    agent.refresh_from_db()
    assert owner.is_active and owner.deactivation_reason == ""
    assert workflow.control_owner == backup_owner and agent.owner == backup_owner
    assert status(owner_access["own"]) == "revoked" and status(owner_access["pending"]) == "cancelled"
    assert not Grant.objects.filter(requested_by=owner, status="active").exists()


# --- the three ways a person is deactivated all run the cascade ---------------------------


def test_scim_deactivation_runs_the_cascade(client, workflow, backup_owner, owner_access):
    from identities.services import issue_provisioning_token

    source = factories.IdentitySourceFactory(slug="okta", kind="scim")
    leaver = factories.UserFactory(username="lea", identity_source=source, external_id="00u-lea")
    workflow.control_owner = leaver
    workflow.save()
    _token, plaintext = issue_provisioning_token(source)

    response = client.patch(
        f"/scim/v2/Users/{leaver.pk}",
        data={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
        content_type="application/scim+json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )

    assert response.status_code == 200
    workflow.refresh_from_db()
    assert workflow.control_owner == backup_owner


def test_the_admin_action_asks_why_and_runs_the_cascade(admin_client, admin_user, workflow, owner, backup_owner):
    url = reverse("admin:identities_user_changelist")
    chosen = {"action": "deactivate_leavers", "_selected_action": [owner.pk]}

    confirm = admin_client.post(url, chosen)
    assert confirm.status_code == 200 and "reason" in confirm.content.decode()
    owner.refresh_from_db()
    assert owner.is_active, "nothing happens before a reason is given"

    done = admin_client.post(url, {**chosen, "reason": "Left the company"})

    assert done.status_code == 302
    owner.refresh_from_db()
    workflow.refresh_from_db()
    assert not owner.is_active and owner.deactivated_by == admin_user
    assert owner.deactivation_reason == "Left the company"
    assert workflow.control_owner == backup_owner


def test_the_admin_cannot_flip_is_active_around_the_cascade(admin_client, owner):
    page = admin_client.get(reverse("admin:identities_user_change", args=[owner.pk]))
    assert 'name="is_active"' not in page.content.decode()


def test_deactivating_the_demo_owner_hands_the_pr_agent_to_the_backup(settings):
    import io

    from django.core.management import call_command

    settings.DEMO_MODE = True
    call_command("load_demo", stdout=io.StringIO())
    olivia, bruno = User.objects.get(username="olivia"), User.objects.get(username="bruno")
    held = list(Grant.objects.filter(requested_by=olivia, status="active"))
    assert held, "the demo gives the owner a grant of her own"

    deactivate_person(olivia, reason="Left the company")

    workflow = olivia.controlled_workflows.model.objects.get(slug="pr-coding-agent")
    assert workflow.control_owner == bruno
    assert WorkloadIdentity.objects.get(slug="pr-coding-agent").owner == bruno
    assert {status(g) for g in held} == {"revoked"}
    assert not AccessRequest.objects.filter(requested_by=olivia, state="pending").exists()
