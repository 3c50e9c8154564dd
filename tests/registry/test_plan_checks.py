"""A plan by someone who may apply runs the files through the services and rolls back, so a
plan that says nothing is wrong does not fail at apply for a reason it could have known."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from approvals.queues.models import OutboxMessage
from governance.models import EvidenceRecord, RegistryApplication, RegistryChange, Workflow
from governance.registry_files.apply import check_document
from governance.registry_files.documents import RegistryFileError
from identities.models import WorkloadIdentity
from tests.registry.files import apply, plan_of, read
from tests.registry.test_registry_files import approve_all

pytestmark = pytest.mark.django_db


def refused_by_the_services(text):
    """A file the schema and the references accept but the services refuse: a scope outside
    its target system (model validation), an auditor as backup owner (roles)."""
    return text.replace("backup_owner: backup", "backup_owner: auditor").replace(
        "target_system: github", "target_system: gitlab"
    )


def problems(refused):
    return [str(problem) for problem in refused.value.problems]


def test_the_plan_reports_what_the_apply_would_refuse_with_each_line(text, security, auditor):
    bad = refused_by_the_services(text)
    with pytest.raises(RegistryFileError) as planned:
        check_document(read(bad), by=security)
    with pytest.raises(RegistryFileError) as applied:
        apply(security, bad)
    assert problems(planned) == problems(applied)
    assert any(p.startswith("file1.yaml:3: entitlement github:repo:read: scope:") for p in problems(planned))
    assert any(p.startswith("file1.yaml:15: workflow coding: backup_owner:") for p in problems(planned))


def test_a_checked_plan_leaves_nothing_behind_and_nothing_leaves(text, security):
    plan = check_document(read(text), by=security)
    assert plan.checked_as == "sec" and plan.as_dict()["checked_as"] == "sec"
    assert [c.action for c in plan.changes] == ["create"] * 4
    assert not Workflow.objects.exists() and not WorkloadIdentity.objects.exists()
    assert not RegistryChange.objects.exists() and not RegistryApplication.objects.exists()
    assert not OutboxMessage.objects.exists() and not EvidenceRecord.objects.exists()
    assert len(apply(security, text).filed) == 3


def test_a_move_the_registry_forbids_is_found_by_the_plan(text, security, second, backup_owner):
    apply(security, text)
    approve_all(second, backup_owner)
    apply(security, text.replace("status: active", "status: retired"))
    revived = text  # the file still says active: a retired workflow never comes back
    with pytest.raises(RegistryFileError) as planned:
        check_document(read(revived), by=security)
    assert problems(planned) == ["file1.yaml:16: workflow coding: status: This change of status is not allowed."]
    # The files alone cannot tell: the unchecked plan lists the change without complaint.
    assert plan_of(revived).changes[0].fields == {"status": ("retired", "active")}


def test_the_api_plan_is_checked_for_the_security_team_and_says_so(api_as, text, security, auditor, owner):
    body = {"files": [{"name": "coding.yaml", "content": refused_by_the_services(text)}]}
    refused = api_as(security).post("/api/v1/registry/plan", body, format="json")
    assert refused.status_code == 400
    assert {"coding.yaml:3", "coding.yaml:15"} <= set(refused.json()["fields"])
    # An auditor may not apply, so her plan is the files' checks only, and says so.
    unchecked = api_as(auditor).post("/api/v1/registry/plan", body, format="json")
    assert unchecked.status_code == 200 and unchecked.json()["checked_as"] is None
    good = {"files": [{"name": "coding.yaml", "content": text}]}
    checked = api_as(security).post("/api/v1/registry/plan", good, format="json")
    assert checked.status_code == 200 and checked.json()["checked_as"] == "sec"
    assert not Workflow.objects.exists()


def test_the_command_checks_the_plan_as_the_person_named(tmp_path, text, security, auditor):
    path = tmp_path / "coding.yaml"
    path.write_text(refused_by_the_services(text))
    with pytest.raises(CommandError) as refused:
        call_command("registry", "plan", str(path), "--as", "sec", stdout=io.StringIO())
    assert f"{path}:15: workflow coding: backup_owner:" in str(refused.value)
    out = io.StringIO()
    call_command("registry", "plan", str(path), stdout=out)
    assert "Not checked through the services" in out.getvalue()
    path.write_text(text)
    out = io.StringIO()
    call_command("registry", "plan", str(path), "--as", "sec", stdout=out)
    assert "Checked through the services as sec" in out.getvalue()
