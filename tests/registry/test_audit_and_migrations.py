"""Changes are in the audit log; migrations match the models."""

import io

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_a_workflow_change_is_in_the_audit_log(workflow):
    workflow.risk_tier = "critical"
    workflow.save()
    entry = LogEntry.objects.get_for_object(workflow).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert entry.changes_dict["risk_tier"] == ["medium", "critical"]


def test_api_key_hashes_never_reach_the_audit_log(agent):
    from identities.services import issue_api_key

    key, plaintext = issue_api_key(workload=agent)
    entries = LogEntry.objects.get_for_object(key)
    assert entries.exists()
    for entry in entries:
        assert key.key_hash not in str(entry.changes) and plaintext not in str(entry.changes)


def test_makemigrations_is_clean():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
