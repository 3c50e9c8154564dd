"""The Python client against a live Mandate (gunicorn + PostgreSQL): access requests,
the check, offline token verification, decisions, errors and rate limits."""

import logging
import threading
import time

import pytest
from django.core.management import call_command
from mandate_client import (
    AuthenticationFailed,
    BadRequest,
    DecisionTimeout,
    Mandate,
    PermissionDenied,
)

from approvals.models import AccessRequest
from tests.client.conftest import MandateServer


def agent(demo, **options):
    return Mandate(demo.url, demo.agent_key, workflow=demo.workflow, on_behalf_of="rachel", **options)


def test_an_auto_approved_read_is_allowed_and_its_token_verifies_offline(demo):
    with agent(demo) as mandate:
        request = mandate.request_access(
            "jira:incident:read", task_ref="INC-1", duration_seconds=600, justification="Read the incident."
        )
        assert request.state == "active" and request.reasons and request.grant.token
        decision = mandate.authorize("jira:incident:read", task_ref="INC-1", resource="INC-1", action="read")
        assert decision.allow and decision.grant == request.grant.id and not decision.offline

        offline = mandate.authorize("jira:incident:read", task_ref="INC-1", offline=True)
        assert offline.allow and offline.offline and offline.grant == request.grant.id
        assert mandate.check_token(request.grant.token, scope="jira:incident:write").reasons == [
            "The token is for scope “jira:incident:read”, not “jira:incident:write”."
        ]
        forged = request.grant.token[:-4] + ("AAAA" if not request.grant.token.endswith("AAAA") else "BBBB")
        assert not mandate.check_token(forged).allow
        assert mandate.tokens.fetches == 1

        # A rotated signing key: the next token names a kid the cache does not know yet.
        call_command("rotate_signing_key")
        mandate.tokens.min_refresh_interval = 0
        second = mandate.request_access(
            "jira:incident:read", task_ref="INC-2", duration_seconds=600, justification="Read another incident."
        )
        assert mandate.check_token(second.grant.token, task_ref="INC-2").allow
        assert mandate.tokens.fetches == 2
        # The older token still verifies: the retired key stays published while its tokens live.
        assert mandate.check_token(request.grant.token).allow

        assert mandate.complete_task("INC-1") == 1
        denied = mandate.authorize("jira:incident:read", task_ref="INC-1")
        assert not denied.allow and "revoked" in denied.reasons[0]


def test_errors_carry_the_status_code_message_and_fields_of_the_api(demo):
    with agent(demo) as mandate:
        with pytest.raises(BadRequest) as bad:
            mandate.request_access("jira:nothing:here", task_ref="INC-1", duration_seconds=60)
        assert bad.value.status == 400 and bad.value.code == "invalid" and "entitlement" in bad.value.fields

        request = mandate.request_access(
            "jira:incident:write", task_ref="INC-3", duration_seconds=600, justification="Comment."
        )
        assert request.pending and request.approvers == ["bruno"]

    # Fiona owns the agent: separation of duties forbids her approving its request.
    with Mandate(demo.url, demo.fiona) as fiona, pytest.raises(PermissionDenied) as refused:
        fiona.approve(request)
    assert refused.value.status == 403 and refused.value.message

    with Mandate(demo.url, "mk_not-a-key") as stranger, pytest.raises(AuthenticationFailed) as unknown:
        stranger.authorize("jira:incident:read", workflow=demo.workflow)
    assert unknown.value.status == 401


def test_wait_for_decision_returns_once_an_owner_decides(demo):
    with agent(demo) as mandate, Mandate(demo.url, demo.bruno) as bruno:
        request = mandate.request_access(
            "jira:incident:write", task_ref="INC-4", duration_seconds=600, justification="Comment."
        )
        timer = threading.Timer(1.5, lambda: bruno.approve(request, "Fine for INC-4."))
        started = time.monotonic()
        timer.start()
        decided = mandate.wait_for_decision(request, timeout=30, interval=0.3)
        timer.join()
        assert decided.state == "active" and decided.grant is not None
        assert 1.4 < time.monotonic() - started < 15

        other = mandate.request_access(
            "jira:incident:write", task_ref="INC-5", duration_seconds=600, justification="Comment."
        )
        started = time.monotonic()
        with pytest.raises(DecisionTimeout) as waited:
            mandate.wait_for_decision(other, timeout=1.0, interval=0.2)
        assert waited.value.request.id == other.id and "bruno" in waited.value.message
        assert time.monotonic() - started < 3


@pytest.fixture
def throttled_server(mandate_server, tmp_path):
    """A second live server allowing each key two calls a second."""
    server = MandateServer(tmp_path / "throttled", API_THROTTLE_RATE="2/s").start()
    yield server
    server.stop()


def test_a_rate_limited_client_waits_for_retry_after(demo, throttled_server, caplog):
    caplog.set_level(logging.INFO, logger="mandate_client")
    with Mandate(throttled_server.url, demo.agent_key, workflow=demo.workflow, on_behalf_of="rachel") as mandate:
        request = mandate.request_access(
            "jira:incident:write", task_ref="INC-6", duration_seconds=600, justification="Comment."
        )
        started = time.monotonic()
        states = [mandate.get_request(request).state for _ in range(6)]
        elapsed = time.monotonic() - started
    assert states == ["pending"] * 6
    waits = [r for r in caplog.records if "429 throttled" in r.getMessage() and "retrying in" in r.getMessage()]
    assert waits, "the server never answered 429"
    # Each 429 said Retry-After: 1 (never 0), and the client waited at least that long.
    assert elapsed >= len(waits) * 1.0
    assert AccessRequest.objects.filter(task_ref="INC-6").count() == 1
