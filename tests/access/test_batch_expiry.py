"""The sweeper ends due grants in batches: one statement a batch, its records with it.

On PostgreSQL: the batch is chosen over the partial index of active grants (read from
EXPLAIN), every ended grant gets the evidence record, change-log entry and ticket close
the one-at-a-time path writes, and ending a grant twice changes nothing.
"""

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Grant, OutboxMessage, QueueConnection, TicketLink
from approvals.services import expire_due_grants, expire_grant, extend_grant
from approvals.services.expiry import due_batch_sql
from bench.data import copy_grants
from governance.evidence.intake import seal_intake
from governance.evidence.models import EvidenceIntake, EvidenceRecord
from governance.evidence.verification import verify_workflow_chain
from governance.verify_export import canonical_json, sha256_hex
from tests.access.test_grants import agent_grant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgresql_only")]


def grant_for(read_policy, agent, person, task):
    return agent_grant(read_policy, agent, person, task=task)


def test_the_batch_is_chosen_over_the_partial_index_of_active_grants(read_policy, agent, requester):
    template = grant_for(read_policy, agent, requester, "template")
    # A realistic table: most grants ended long ago, a few are due.
    copy_grants(template, 20_000, expires_at=timezone.now() - timedelta(days=3), status="expired")
    copy_grants(template, 50, expires_at=timezone.now() - timedelta(seconds=5))
    sql, params = due_batch_sql(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "grant_active_expiry_idx" in plan, plan
    assert "Seq Scan on approvals_grant" not in plan, plan
    assert expire_due_grants() == 50


def test_a_batch_writes_evidence_change_log_and_ticket_closes_for_every_grant(read_policy, agent, requester, workflow):
    grants = [grant_for(read_policy, agent, requester, f"run-{n}") for n in range(5)]
    queue = QueueConnection.objects.create(name="Inbox", kind="portal")
    TicketLink.objects.create(request=grants[0].request, connection=queue, external_key="ACC-1")
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert expire_due_grants(batch_size=2) == 5  # three batches
        assert expire_due_grants() == 0
    assert set(Grant.objects.filter(pk__in=[g.pk for g in grants]).values_list("status", flat=True)) == {"expired"}
    # Durable in the intake with the batch, built by the database; chained by the sequencer.
    assert verify_workflow_chain(workflow, seal=False).pending == 5
    assert seal_intake() == 5
    for grant in grants:
        record = EvidenceRecord.objects.get(grant=grant, kind="grant", outcome="expired")
        assert record.summary == f"Grant #{grant.pk} expired: Expired at the end of its lifetime."
        reason = "Expired at the end of its lifetime."
        payload = {"grant": grant.pk, "status": "expired", "reason": reason}
        assert record.payload_sha256 == sha256_hex(canonical_json(payload))  # as the one-grant path hashes it
        assert record.target_resource == "github:repo:read"
        assert (record.on_behalf_of_id, record.task_ref, record.access_request_id) == (
            requester.pk,
            grant.task_ref,
            grant.request_id,
        )
        log = LogEntry.objects.get(
            content_type=ContentType.objects.get_for_model(Grant), object_id=grant.pk, action=LogEntry.Action.UPDATE
        )
        assert log.changes["status"] == ["active", "expired"]
    closes = OutboxMessage.objects.filter(topic="ticket.close")
    assert [m.idempotency_key for m in closes] == [
        f"ticket.close:{grants[0].request_id}:{queue.pk}:grant-ended:{grants[0].pk}"
    ]
    assert "has expired" in closes[0].payload["comment"]
    # The bulk-queued close is in the change log as `OutboxMessage.objects.create` would put it.
    created = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(OutboxMessage), object_id=closes[0].pk
    )
    assert created.action == LogEntry.Action.CREATE and created.changes["topic"] == ["None", "ticket.close"]
    assert verify_workflow_chain(workflow).ok
    # The ETA task arriving late changes nothing.
    assert expire_grant(grants[0].pk, now=timezone.now() + timedelta(hours=1)) is False


def test_one_statement_ends_a_batch_with_its_change_log_and_evidence(read_policy, agent, requester, workflow):
    grants = [grant_for(read_policy, agent, requester, f"run-{n}") for n in range(3)]
    with time_machine.travel(timezone.now() + timedelta(hours=1)), CaptureQueriesContext(connection) as queries:
        assert expire_due_grants() == 3
    statements = [query["sql"].replace('"', "") for query in queries.captured_queries]
    [ending] = [sql for sql in statements if "UPDATE approvals_grant" in sql]
    assert "INSERT INTO auditlog_logentry" in ending and "INSERT INTO governance_evidenceintake" in ending
    assert "approvals_accessrequest" in ending  # the extensions waiting on the batch, found by it too
    others = [sql for sql in statements if sql is not ending]
    assert not any("governance_evidenceintake" in sql or "FROM approvals_grant" in sql for sql in others), others
    recorded = EvidenceIntake.objects.filter(workflow=workflow, kind="grant", outcome="expired")
    assert sorted(recorded.values_list("grant_id", flat=True)) == sorted(grant.pk for grant in grants)


def test_an_extension_still_waiting_when_its_grant_expires_is_cancelled(read_policy, agent, requester, workflow):
    grant = grant_for(read_policy, agent, requester, "run-1")
    read_policy.approval_mode = "owner"
    read_policy.save()
    extension = extend_grant(grant, duration_seconds=1800, justification="longer run")
    assert extension.state == "pending"
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert expire_due_grants() == 1
    extension.refresh_from_db()
    assert extension.state == "cancelled" and f"Grant #{grant.pk} ended" in extension.state_reason


def test_a_grant_not_yet_due_is_left_alone(read_policy, agent, requester):
    grant = grant_for(read_policy, agent, requester, "run-1")
    assert expire_due_grants() == 0
    grant.refresh_from_db()
    assert grant.status == "active"


def test_with_raw_payloads_kept_the_batch_keeps_the_payload_it_hashed(read_policy, agent, requester, settings):
    settings.EVIDENCE_STORE_RAW_PAYLOADS = True
    grant = grant_for(read_policy, agent, requester, "run-1")
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert expire_due_grants() == 1
    seal_intake()
    record = EvidenceRecord.objects.get(grant=grant, kind="grant", outcome="expired")
    payload = {"grant": grant.pk, "status": "expired", "reason": "Expired at the end of its lifetime."}
    assert record.raw_payload == canonical_json(payload).decode("utf-8")
    assert record.payload_sha256 == sha256_hex(canonical_json(payload))
