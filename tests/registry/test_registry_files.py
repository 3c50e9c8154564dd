"""The registry as code: files are planned and applied through the registry services, what
widens access waits for a second person, a stale plan is refused, nothing secret leaves."""

import io

import pytest
from django.core.management import call_command

from approvals.models import QueueConnection
from governance.changes.decisions import APPROVE, can_decide_change, decide_change
from governance.exceptions import NotAllowed
from governance.models import Policy, RegistryApplication, RegistryChange, Workflow
from governance.outbound.services import create_subscription
from governance.registry_files.apply import StalePlan
from governance.registry_files.documents import RegistryFileError
from governance.registry_files.export import live_document, to_yaml
from governance.services import update_workflow
from identities.models import ApiKey, User, WorkloadIdentity
from identities.services import issue_api_key, issue_provisioning_token
from tests.registry.files import apply, plan_of, read, rows

pytestmark = pytest.mark.django_db


def approve_all(*people):
    """Each pending change approved by the first of `people` the rules let decide it."""
    for change in RegistryChange.objects.filter(state="pending").order_by("pk"):
        decider = next(person for person in people if can_decide_change(person, change))
        decide_change(change, by=decider, decision=APPROVE)


def test_the_demo_round_trips_export_apply_plan_is_empty(settings):
    settings.DEMO_MODE = True
    call_command("load_demo", quiet=True, stdout=io.StringIO())
    exported = io.StringIO()
    call_command("registry", "export", stdout=exported)
    document = read(exported.getvalue())
    assert document.data == live_document()
    assert plan_of(exported.getvalue(), prune=True).is_empty
    outcome = apply(User.objects.get(username="admin"), exported.getvalue(), prune=True)
    assert outcome.plan.is_empty and outcome.pending == []
    assert plan_of(exported.getvalue(), prune=True).is_empty


def test_a_new_workflow_from_a_file_waits_for_its_approvals(text, security, second, owner, backup_owner):
    outcome = apply(security, text)
    kinds = sorted(change.kind for change in outcome.filed)
    assert kinds == ["activate", "add_policy", "entitlement"]
    # Nothing that widens access took effect: a draft without policies, no resource owner yet.
    workflow = Workflow.objects.get(slug="coding")
    assert workflow.status == "draft" and not workflow.policies.exists()
    assert workflow.control_owner == owner and WorkloadIdentity.objects.get(slug="coder").workflow == workflow
    assert RegistryApplication.objects.get().applied_by == security
    # The author cannot approve their own changes …
    with pytest.raises(NotAllowed):
        decide_change(outcome.filed[0], by=security, decision=APPROVE)
    # … someone else can, and then the file is what the registry is.
    approve_all(second, backup_owner)
    assert Workflow.objects.get(slug="coding").status == "active"
    assert Policy.objects.get(workflow__slug="coding").max_ttl_seconds == 1800
    assert plan_of(text).is_empty


def test_re_applying_the_same_file_files_no_second_change(text, security, second):
    first = apply(security, text)
    again = apply(security, text)
    assert again.filed == [] and sorted(c.pk for c in again.waiting) == sorted(c.pk for c in first.filed)
    assert RegistryChange.objects.filter(state="pending").count() == 3
    # Another administrator applying the same file files nothing either.
    apply(second, text)
    assert RegistryChange.objects.filter(state="pending").count() == 3
    plan = plan_of(text)
    assert all(c.pending for c in plan.changes if c.widens)
    assert RegistryApplication.objects.count() == 3


def test_applying_an_applied_and_approved_file_changes_nothing(text, security, second, backup_owner):
    apply(security, text)
    approve_all(second, backup_owner)
    outcome = apply(security, text)
    assert outcome.plan.is_empty and outcome.pending == []


def test_a_hand_edited_file_plans_the_expected_diff(text, security, second, requester, backup_owner):
    apply(security, text)
    approve_all(second, backup_owner)
    edited = (
        text.replace("risk_tier: high", "risk_tier: low\n    description: Opens pull requests.")
        .replace("max_ttl_seconds: 1800", "max_ttl_seconds: 3600\n        task_ref_required: false")
        .replace("name: Read repositories", "name: Read repository contents")
    )
    edited = edited[: edited.index("    workloads:")]
    plan = plan_of(edited, prune=True)
    assert rows(plan) == [
        ("update", "entitlement", "github:repo:read", "name", "Read repositories", "Read repository contents", False),
        ("update", "workflow", "coding", "description", "", "Opens pull requests.", False),
        ("update", "workflow", "coding", "risk_tier", "high", "low", True),
        ("update", "policy", "coding/github:repo:read", "max_ttl_seconds", 1800, 3600, True),
        ("update", "policy", "coding/github:repo:read", "task_ref_required", True, False, True),
        ("retire", "workload", "coder", "status", "active", "retired", False),
    ]
    # Without --prune the workload is left alone and listed as unmanaged.
    assert plan_of(edited).unmanaged == [("workload", "coder")]
    outcome = apply(security, edited, prune=True)
    assert sorted(c.kind for c in outcome.filed) == ["widen_policy", "widen_workflow"]
    workflow = Workflow.objects.get(slug="coding")
    assert workflow.description == "Opens pull requests." and workflow.risk_tier == "high"
    assert WorkloadIdentity.objects.get(slug="coder").status == "retired"
    assert Policy.objects.get().max_ttl_seconds == 1800


def test_an_invalid_file_reports_every_problem_with_its_line(text, security):
    broken = (
        text.replace("risk_tier: high", "risk_tier: extreme")
        .replace("control_owner: owner", "control_owner: nobody")
        .replace("name: Coder", "name: Coder\n        api_key: mdt_secret")
    )
    second_file = "version: 1\nworkflows:\n  - slug: [unclosed\n"
    with pytest.raises(RegistryFileError) as refused:
        read(broken, second_file)
    problems = [str(p) for p in refused.value.problems]
    assert any(p.startswith("file1.yaml:17: workflows[0].risk_tier: 'extreme' is not one of") for p in problems)
    assert "file1.yaml:25: workflows[0].workloads[0].api_key: unknown field “api_key”." in problems
    assert any(p.startswith("file2.yaml:4: Not valid YAML") for p in problems), problems
    # References are checked once the files parse: every one, with its line.
    with pytest.raises(RegistryFileError) as refused:
        read(text.replace("control_owner: owner", "control_owner: nobody").replace("owner: owner", "owner: ghost"))
    assert [str(p) for p in refused.value.problems] == [
        "file1.yaml:14: coding: control_owner: no active person “nobody”.",
        "file1.yaml:25: coder: owner: no active person “ghost”.",
    ]
    assert not Workflow.objects.exists()


def test_a_file_the_services_refuse_is_refused_whole_with_each_line(text, security, auditor):
    bad = text.replace("backup_owner: backup", "backup_owner: auditor").replace(
        "target_system: github", "target_system: gitlab"
    )
    with pytest.raises(RegistryFileError) as refused:
        apply(security, bad)
    problems = [str(p) for p in refused.value.problems]
    assert (
        "file1.yaml:3: entitlement github:repo:read: scope: The scope must start with the target system, “gitlab:”."
        in problems
    )
    assert any(p.startswith("file1.yaml:15: workflow coding: backup_owner:") and "auditor" in p for p in problems)
    # What builds on them is reported too, at its own line.
    assert any(p.startswith("file1.yaml:19: policy coding/github:repo:read: ") for p in problems)
    assert not Workflow.objects.exists() and not RegistryChange.objects.exists()
    assert not RegistryApplication.objects.exists()


def test_a_portal_edit_between_plan_and_apply_makes_the_plan_stale(text, security, second, owner, backup_owner):
    apply(security, text)
    approve_all(second, backup_owner)
    edited = text.replace("risk_tier: high", "risk_tier: critical")
    plan = plan_of(edited)
    update_workflow(Workflow.objects.get(slug="coding"), by=owner, description="Edited in the portal.")
    with pytest.raises(StalePlan):
        apply(security, edited, plan_fingerprint=plan.fingerprint)
    assert Workflow.objects.get(slug="coding").risk_tier == "high"
    fresh = plan_of(edited)
    apply(security, edited, plan_fingerprint=fresh.fingerprint)
    assert Workflow.objects.get(slug="coding").risk_tier == "critical"


def test_only_a_registry_administrator_applies_files(text, owner):
    with pytest.raises(NotAllowed):
        apply(owner, text)


def test_no_secret_ever_appears_in_an_export(text, security, second, identity_source, backup_owner):
    apply(security, text)
    approve_all(second, backup_owner)
    coder = WorkloadIdentity.objects.get(slug="coder")
    key, plaintext = issue_api_key(workload=coder, name="ci")
    token, token_plaintext = issue_provisioning_token(identity_source, name="idp")
    QueueConnection.objects.create(
        name="Ops RT", kind="rt", credential_ref="env:RT_TOKEN", webhook_secret_ref="env:RT_HOOK"
    )
    Workflow.objects.filter(slug="coding").update(queue=QueueConnection.objects.get(name="Ops RT"))
    subscription, signing_secret = create_subscription(
        name="siem", url="https://siem.example.test/hook", event_types=["grant.issued"]
    )
    exported = to_yaml(live_document())
    assert "queue: Ops RT" in exported
    secrets = [plaintext, key.key_hash, key.prefix, token_plaintext, token.token_hash, "RT_TOKEN", "RT_HOOK"]
    secrets += [signing_secret, subscription.secret_sealed[:20]]
    for secret in secrets:
        assert secret not in exported
    assert "mdt_" not in exported and "mdp_" not in exported
    assert ApiKey.objects.filter(workload=coder).exists()


@pytest.mark.parametrize(
    "content",
    [
        "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        ),
        'version: 1\nworkflows:\n  - slug: x\n    name: "a\\0b"\n',
        "a: &a [*a]\n",
        "- just\n- a list\n",
        "",
    ],
)
def test_hostile_or_odd_files_are_refused_with_a_problem_not_a_crash(content):
    with pytest.raises(RegistryFileError) as refused:
        read(content)
    assert refused.value.problems and all(p.file == "file1.yaml" for p in refused.value.problems)
