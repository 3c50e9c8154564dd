"""Schema-driven fuzzing: generated calls to every operation never get a 5xx, and every
answer matches the schema (documented status, content type and body).

Runs in-process through the WSGI application with schemathesis, with a bounded number of
examples per operation (MANDATE_FUZZ_EXAMPLES, default 10) so it fits the normal suite.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import EntitlementFactory, PolicyFactory

EXAMPLES = int(os.environ.get("MANDATE_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_world(db, settings, workflow, agent, owner, requester):
    """Some data for the generated calls to find (and collide with)."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.API_THROTTLE_RATE = "100000/min"
    read = PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope="github:repo:read"))
    PolicyFactory(
        workflow=workflow,
        entitlement=EntitlementFactory(scope="github:repo:write", access_level="write"),
        approval_mode="owner",
    )
    return {"workflow": workflow, "policy": read}


@pytest.fixture
def api_schema(fuzz_world):
    # The real WSGI handler closes "old" connections around each request; inside the
    # test's transaction that would close the test's own connection (Django's test
    # client unhooks the same receivers for the same reason).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(api_schema, key):
    """Run every operation with generated valid and invalid input; collect all failures.

    (schemathesis' own pytest parametrisation does not run under pytest 9, so the
    operations are walked here with its Hypothesis strategies.)
    """
    failures = []
    headers = {"Authorization": f"Bearer {key}"}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @fuzz_settings
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                call()
            except Exception as exc:  # collect, so one run reports every operation
                failures.append(f"{mode.value} {operation.label}: {exc}")
    return failures


def test_an_owner_never_gets_a_server_error_or_an_undocumented_answer(api_schema, api_as, owner):
    failures = fuzz(api_schema, api_as(owner).api_key)
    assert not failures, "\n\n".join(failures)


def test_an_agent_never_gets_a_server_error_or_an_undocumented_answer(api_schema, api_as, agent):
    failures = fuzz(api_schema, api_as(agent).api_key)
    assert not failures, "\n\n".join(failures)
