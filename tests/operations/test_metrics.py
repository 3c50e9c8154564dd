"""GET /metrics: who may scrape it, what it counts as things happen, and what it reads from the database."""

import ipaddress
import json
import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from approvals.models import Grant, OutboxMessage, QueueConnection
from approvals.queues.connections import call_adapter
from approvals.services import expire_grant, revoke_grant, submit_request
from approvals.tickets import TicketError
from governance.evidence.intake import record_decision, seal_intake
from governance.models import Heartbeat
from identities.services import issue_api_key
from tests import factories

pytestmark = pytest.mark.django_db


def samples(response):
    """{(name, frozenset(labels)): value} of an exposition."""
    assert response.status_code == 200, response.content
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def read_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


def grant_for(policy, agent, person, *, seconds=600, task="run-1"):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        workload=agent,
        on_behalf_of=person,
        task_ref=task,
        justification="nightly run",
    ).grant


# --- access -----------------------------------------------------------------------------


def test_scrapers_need_the_token_or_an_allowed_address(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    assert client.get("/metrics").status_code == 200, "loopback is allowed by default"
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    with_token = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert with_token.status_code == 200 and with_token["Content-Type"].startswith("text/plain")
    assert client.post("/metrics").status_code in {403, 405}


def test_an_allow_list_admits_its_networks_only(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_FROM = [ipaddress.ip_network("10.1.0.0/16")]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


# --- counted as it happens --------------------------------------------------------------


def test_authorization_decisions_are_counted_by_result_and_timed(client, read_policy, agent, requester):
    grant_for(read_policy, agent, requester)
    _key, plaintext = issue_api_key(workload=agent)
    allowed, denied = (
        value("mandate_authorization_decisions_total", result="allow"),
        value("mandate_authorization_decisions_total", result="deny"),
    )
    timed = value("mandate_request_duration_seconds_count", endpoint="authorize", method="POST", status="2xx")

    for scope in ("github:repo:read", "github:repo:read", "github:repo:admin"):
        response = client.post(
            "/api/v1/authorize",
            {"workflow": read_policy.workflow.slug, "scope": scope, "task_ref": "run-1"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {plaintext}",
        )
        assert response.status_code == 200, response.content

    assert value("mandate_authorization_decisions_total", result="allow") == allowed + 2
    assert value("mandate_authorization_decisions_total", result="deny") == denied + 1
    assert value("mandate_request_duration_seconds_count", endpoint="authorize", method="POST", status="2xx") == (
        timed + 3
    )


def test_ended_grants_are_counted_by_cause_with_the_expiry_lag(
    read_policy, agent, requester, django_capture_on_commit_callbacks
):
    expired, revoked = (
        value("mandate_grants_ended_total", cause="expired"),
        value("mandate_grants_ended_total", cause="revoked"),
    )
    lags, lag_sum = value("mandate_grant_expiry_lag_seconds_count"), value("mandate_grant_expiry_lag_seconds_sum")
    late = grant_for(read_policy, agent, requester, task="a")
    gone = grant_for(read_policy, agent, requester, task="b")

    with django_capture_on_commit_callbacks(execute=True):
        expire_grant(late.pk, now=late.expires_at + timedelta(seconds=42))
        revoke_grant(Grant.objects.get(pk=gone.pk), reason="incident")

    assert value("mandate_grants_ended_total", cause="expired") == expired + 1
    assert value("mandate_grants_ended_total", cause="revoked") == revoked + 1
    assert value("mandate_grant_expiry_lag_seconds_count") == lags + 1
    assert value("mandate_grant_expiry_lag_seconds_sum") == pytest.approx(lag_sum + 42, abs=1)


def test_ticket_system_errors_are_counted_by_kind_and_permanence():
    connection = QueueConnection.objects.create(name="Inbox", kind="portal")
    before = value("mandate_ticket_errors_total", kind=connection.kind, permanent="false")

    def failing(adapter):
        raise TicketError("the service is down", permanent=False)

    with pytest.raises(TicketError):
        call_adapter(connection, failing)

    assert value("mandate_ticket_errors_total", kind=connection.kind, permanent="false") == before + 1


# --- read from the database at scrape time ----------------------------------------------


def test_database_gauges_are_read_at_scrape_time_in_a_few_queries(
    client, read_policy, agent, requester, django_assert_max_num_queries
):
    now = timezone.now()
    grant_for(read_policy, agent, requester)
    Heartbeat.objects.create(name="beat", seen_at=now - timedelta(seconds=90))
    OutboxMessage.objects.create(
        topic="ticket.open", payload={"connection_id": 999}, idempotency_key="k1", next_attempt_at=now
    )
    # Two authorization decisions waiting for the sequencer, the older one for 40 seconds.
    for age in (40, 5):
        record_decision(
            workflow=read_policy.workflow,
            kind="authorization",
            outcome="allowed",
            summary="check",
            occurred_at=now - timedelta(seconds=age),
        )

    with django_assert_max_num_queries(8):
        found = samples(client.get("/metrics"))

    assert found[("mandate_grants_active", frozenset())] == 1
    assert found[("mandate_access_requests_pending", frozenset())] == 0
    assert found[("mandate_review_items_overdue", frozenset())] == 0
    assert found[("mandate_outbox_backlog", frozenset({("connection", "999")}))] == 1
    assert found[("mandate_evidence_intake_backlog", frozenset())] == 2
    assert 40 <= found[("mandate_evidence_intake_oldest_age_seconds", frozenset())] <= 150
    assert 85 <= found[("mandate_celery_heartbeat_age_seconds", frozenset({("name", "beat")}))] <= 200


# --- request ids and structured logs -------------------------------------------------------


def test_json_logs_carry_the_request_id_route_status_duration_and_subject(client, agent, caplog):
    from governance.logs import MandateJsonFormatter, RequestIdFilter

    _key, plaintext = issue_api_key(workload=agent)
    formatter, id_filter = MandateJsonFormatter(), RequestIdFilter()

    with caplog.at_level(logging.INFO, logger="mandate.request"):
        response = client.get(
            "/api/v1/workflows/", HTTP_AUTHORIZATION=f"Bearer {plaintext}", HTTP_X_REQUEST_ID="trace-123"
        )

    assert response["X-Request-ID"] == "trace-123"
    record = next(r for r in caplog.records if r.name == "mandate.request")
    id_filter.filter(record)
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "trace-123" and line["status"] == 200 and line["level"] == "INFO"
    assert line["route"] == "/api/v1/workflows/" and line["subject"] == f"workload:{agent.slug}"
    assert line["duration_ms"] >= 0 and line["method"] == "GET"
    unsafe = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert unsafe["X-Request-ID"] != "bad id\nwith newline" and len(unsafe["X-Request-ID"]) == 32


# --- the Grafana dashboard ---------------------------------------------------------------


def test_the_grafana_dashboard_only_queries_metrics_mandate_exposes(client):
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy/grafana/mandate.json").read_text())
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    exposed = set()
    for line in client.get("/metrics").content.decode().splitlines():
        if line.startswith("# TYPE mandate_"):
            _hash, _type, name, kind = line.split()
            exposed |= {name.removesuffix("_total") + suffix for suffix in suffixes[kind]}

    queried = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}" and panel["targets"], panel["title"]
        for target in panel["targets"]:
            queried |= set(re.findall(r"\bmandate_[a-z_]+", target["expr"]))

    assert queried and queried <= exposed, queried - exposed
    documented = (Path(__file__).resolve().parents[2] / "docs/operations-metrics.md").read_text()
    for name in queried:
        assert name in documented or name.rsplit("_", 1)[0] in documented, name


def test_the_evidence_intake_backlog_empties_when_the_sequencer_runs(client, read_policy):
    record_decision(workflow=read_policy.workflow, kind="authorization", outcome="denied", summary="check")
    assert samples(client.get("/metrics"))[("mandate_evidence_intake_backlog", frozenset())] == 1
    seal_intake()
    found = samples(client.get("/metrics"))
    assert found[("mandate_evidence_intake_backlog", frozenset())] == 0
    assert found[("mandate_evidence_intake_oldest_age_seconds", frozenset())] == 0
