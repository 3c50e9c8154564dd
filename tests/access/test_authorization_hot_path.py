"""The authorization check's hot path: one statement, a durable record, nothing stale.

On PostgreSQL (the production database): once the process has read a workload's key,
one statement checks the key again, finds the grant and records the decision; a revoked
key is refused on the next call; the decision is committed
before the answer; revocation, task completion and suspension take effect on the very
next call; the sequencer chains the intake in order and loses nothing when it fails.
"""

import itertools
from datetime import timedelta

import psycopg
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import _queries as psycopg_queries

from approvals.services import authorization, complete_task, revoke_grant, suspend_workload
from governance.evidence import decisions, intake
from governance.evidence.intake import seal_intake
from governance.evidence.models import EvidenceChainHead, EvidenceIntake, EvidenceRecord
from governance.evidence.verification import verify_workflow_chain
from identities.models import ApiKey, hash_api_key
from identities.services import revoke_api_key
from tests import factories
from tests.access.test_grants import agent_request

pytestmark = pytest.mark.usefixtures("postgresql_only")

SCOPE = "github:repo:read"


@pytest.fixture
def policy(workflow):
    entitlement = factories.EntitlementFactory(scope=SCOPE, access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


def grant_for(policy, agent, person, task="run-1"):
    request = agent_request(policy, agent, person, task=task)
    return request.grant, request.issued_token


def check(client, workflow, task="run-1"):
    response = client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": SCOPE, "task_ref": task})
    assert response.status_code == 200, response.content
    return response.json()


def decides_and_records(sql):
    return "FROM approvals_grant" in sql.replace('"', "") and "INSERT INTO governance_evidenceintake" in sql


def test_the_allow_path_is_one_statement_key_grant_and_record(api_as, policy, agent, requester, workflow):
    grant, _ = grant_for(policy, agent, requester)
    client = api_as(agent)
    with CaptureQueriesContext(connection) as first:
        assert check(client, workflow)["allow"]  # the key is read (and stamped: once a minute)
    assert "identities_apikey" in first.captured_queries[0]["sql"]
    with CaptureQueriesContext(connection) as queries:
        assert check(client, workflow)["allow"]
    statements = [query["sql"] for query in queries.captured_queries]
    # The key as this process last read it, checked again by the statement that decides and records.
    assert len(statements) == 1, statements
    assert decides_and_records(statements[0]) and "identities_apikey" in statements[0]
    assert not any("FOR UPDATE" in sql or "evidencechainhead" in sql for sql in statements)
    record = EvidenceIntake.objects.filter(workflow=workflow).latest("id")
    assert (record.outcome, record.grant_id) == ("allowed", grant.pk)


def test_a_revoked_or_expired_key_is_refused_on_the_next_call_and_decides_nothing(
    api_as, policy, agent, requester, workflow
):
    grant_for(policy, agent, requester)
    for end in (revoke_api_key, lambda key: ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now())):
        client = api_as(agent)
        assert check(client, workflow)["allow"]
        assert check(client, workflow)["allow"]  # from memory now
        end(ApiKey.objects.get(key_hash=hash_api_key(client.api_key)))
        recorded = EvidenceIntake.objects.count()
        body = {"workflow": workflow.slug, "scope": SCOPE, "task_ref": "run-1"}
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/v1/authorize", body)
        assert response.status_code == 401, response.content
        # Refused by the check's own statement; what follows is the refused key being
        # counted against the address and reported to its workflow's trail, not a decision.
        assert queries.captured_queries[0]["sql"].startswith("WITH checked")
        assert EvidenceIntake.objects.count() == recorded
        assert client.post("/api/v1/authorize", body).status_code == 401  # and forgotten: read again, refused


def test_a_remembered_key_is_read_and_stamped_again_after_a_minute(api_as, policy, agent, requester, workflow):
    grant_for(policy, agent, requester)
    client = api_as(agent)
    check(client, workflow)
    key = ApiKey.objects.get(key_hash=hash_api_key(client.api_key))
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        with CaptureQueriesContext(connection) as queries:
            assert check(client, workflow)["allow"]
        assert "identities_apikey" in queries.captured_queries[0]["sql"]
        key.refresh_from_db()
        assert timezone.now() - key.last_used_at < timedelta(seconds=5)


def test_a_deny_costs_the_same_one_statement_and_is_recorded(api_as, policy, agent, requester, workflow):
    grant, _ = grant_for(policy, agent, requester)
    client = api_as(agent)
    assert check(client, workflow)["allow"]  # the first use reads the key
    revoke_grant(grant, reason="incident 7")
    with CaptureQueriesContext(connection) as queries:
        answer = check(client, workflow)
    assert not answer["allow"] and answer["reasons"] == [f"Grant #{grant.pk} was revoked: incident 7"]
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 1, statements
    assert decides_and_records(statements[0])
    record = EvidenceIntake.objects.filter(workflow=workflow).latest("id")
    assert (record.outcome, record.grant_id) == ("denied", None)
    assert "revoked: incident 7" in record.summary


def test_the_hot_statements_are_prepared_once_per_connection(api_as, policy, agent, requester, workflow):
    grant_for(policy, agent, requester)
    client = api_as(agent)
    check(client, workflow)
    check(client, workflow)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = " ".join(row[0] for row in cursor.fetchall())
    assert "identities_apikey" in prepared
    assert "approvals_grant" in prepared
    assert "governance_evidenceintake" in prepared


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"scope": "x:none"}, "No grant of “x:none”"),
        ({"task_ref": "run-9"}, "No grant of “github:repo:read”"),
        ({"workflow": "no-such-workflow"}, "Unknown workflow “no-such-workflow”."),
    ],
)
def test_every_deny_explains_itself_in_one_statement(api_as, policy, agent, requester, workflow, body, reason):
    grant_for(policy, agent, requester)
    client = api_as(agent)
    check(client, workflow)
    payload = {"workflow": workflow.slug, "scope": SCOPE, "task_ref": "run-1", **body}
    with CaptureQueriesContext(connection) as queries:
        answer = client.post("/api/v1/authorize", payload).json()
    assert not answer["allow"] and answer["reasons"][0].startswith(reason), answer
    assert len(queries.captured_queries) == 1, [query["sql"] for query in queries.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_the_decision_is_committed_before_the_answer_goes_out(api_as, policy, agent, requester, workflow):
    grant, _ = grant_for(policy, agent, requester)
    assert check(api_as(agent), workflow)["allow"]
    # Another connection (another process, say one that survives this one) sees it at once.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params) as other:
        rows = other.execute(
            "SELECT outcome, grant_id, on_behalf_of_id FROM governance_evidenceintake WHERE workflow_id = %s",
            [workflow.pk],
        ).fetchall()
    assert rows == [("allowed", grant.pk, requester.pk)]


def test_revocation_task_completion_and_suspension_take_effect_on_the_next_call(
    api_as, policy, agent, requester, owner, workflow
):
    client = api_as(agent)
    first, _ = grant_for(policy, agent, requester, task="run-1")
    assert check(client, workflow, "run-1")["allow"]
    revoke_grant(first, by=owner, reason="incident 42")
    answer = check(client, workflow, "run-1")
    assert not answer["allow"] and "revoked: incident 42" in answer["reasons"][0]

    grant_for(policy, agent, requester, task="run-2")
    assert check(client, workflow, "run-2")["allow"]
    complete_task(workflow, "run-2", by=owner)
    answer = check(client, workflow, "run-2")
    assert not answer["allow"] and "completed" in answer["reasons"][0]

    grant_for(policy, agent, requester, task="run-3")
    assert check(client, workflow, "run-3")["allow"]
    suspend_workload(agent, by=owner, reason="prompt injection suspected")
    answer = check(client, workflow, "run-3")
    assert not answer["allow"] and "suspended" in answer["reasons"][0]


def test_a_revoked_grants_token_fails_at_once(client, policy, agent, requester, owner, workflow):
    grant, token = grant_for(policy, agent, requester)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"workflow": workflow.slug, "scope": SCOPE, "task_ref": "run-1"}
    assert client.post("/api/v1/authorize", body, content_type="application/json", **headers).json()["allow"]
    revoke_grant(grant, by=owner, reason="key leaked")
    answer = client.post("/api/v1/authorize", body, content_type="application/json", **headers).json()
    assert not answer["allow"] and "revoked" in answer["reasons"][0]


def test_unsealed_decisions_are_pending_never_missing_and_join_the_chain_in_order(
    api_as, policy, agent, requester, workflow
):
    grant_for(policy, agent, requester)
    client = api_as(agent)
    for task in ("run-1", "run-2", "run-1"):
        check(client, workflow, task)
    before = verify_workflow_chain(workflow, seal=False)
    assert before.ok and before.pending == 3
    result = verify_workflow_chain(workflow)  # seals first
    assert result.ok and result.pending == 0 and result.records == before.records + 3
    decisions = EvidenceRecord.objects.filter(workflow=workflow, kind="authorization").order_by("sequence")
    assert [(d.outcome, d.task_ref) for d in decisions] == [
        ("allowed", "run-1"),
        ("denied", "run-2"),
        ("allowed", "run-1"),
    ]
    assert not EvidenceIntake.objects.exists()


def test_a_sequencer_that_fails_mid_batch_loses_nothing(api_as, policy, agent, requester, workflow, monkeypatch):
    grant_for(policy, agent, requester)
    client = api_as(agent)
    check(client, workflow)
    check(client, workflow)
    head_before = EvidenceChainHead.objects.get(pk=workflow.pk).last_sequence
    real_chain_onto = intake.chain_onto

    def chain_then_crash(head, events, **options):
        real_chain_onto(head, events, **options)
        raise RuntimeError("killed while sealing")

    monkeypatch.setattr(intake, "chain_onto", chain_then_crash)
    with pytest.raises(RuntimeError, match="killed while sealing"):
        seal_intake()
    assert EvidenceIntake.objects.filter(workflow=workflow).count() == 2
    assert EvidenceChainHead.objects.get(pk=workflow.pk).last_sequence == head_before
    monkeypatch.setattr(intake, "chain_onto", real_chain_onto)
    assert seal_intake() == 2
    assert verify_workflow_chain(workflow).ok


@pytest.mark.parametrize("store_raw", [False, True])
def test_every_shape_of_the_check_is_short_enough_for_psycopg_to_cache_its_parsing(settings, store_raw):
    # Longer statements are parsed for their placeholders anew on every call (0.25 ms).
    settings.EVIDENCE_STORE_RAW_PAYLOADS = store_raw
    record, _ = decisions.decision_insert(
        now=timezone.now(), scope=SCOPE, task_ref="run-1", resource="", action="", workload_id=1, user_id=None
    )
    for shape in itertools.product([True, False], repeat=4):
        sql = authorization._decide_sql(shape, record)
        assert len(sql.encode("utf-8")) <= psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, shape
        assert sql.count("%s") <= psycopg_queries.MAX_CACHED_STATEMENT_PARAMS, shape
