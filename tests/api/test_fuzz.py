"""Schema-driven fuzzing: generated calls to every operation never get a 5xx, and every
answer matches the schema (documented status, content type and body).

Runs in-process through the WSGI application with schemathesis, with a bounded number of
examples per operation (MANDATE_FUZZ_EXAMPLES, default 10) so it fits the normal suite.
"""

import itertools
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

from approvals.models import QueueConnection
from governance.reviews.services import open_campaign
from tests.factories import EntitlementFactory, PolicyFactory, UserFactory

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
    # An open access review (the agent, the auto-approving read policy, the owner
    # assignment) and a queue whose check needs no network.
    campaign = open_campaign(workflow)
    queue = QueueConnection.objects.create(name="Inbox", kind="portal")
    # Generated ids rarely name a real object: these paths are also called with real ones.
    pinned = {
        "/api/v1/reviews/{id}/": {"id": campaign.pk},
        "/api/v1/review-items/{id}/": {"id": campaign.items.get(kind="workload").pk},
        "/api/v1/queue-connections/{id}/": {"id": queue.pk},
        "/api/v1/workload-identities/{slug}/": {"slug": agent.slug},
    }
    return {"workflow": workflow, "policy": read, "pinned": pinned}


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


def examples(operation, mode, headers, params):
    """A Hypothesis test calling `operation` with generated cases (path pinned to `params`)."""

    @fuzz_settings
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        if params:
            case.path_parameters = {**(case.path_parameters or {}), **params}
        case.call_and_validate(headers=headers, checks=CHECKS)

    return call


def fuzz(api_schema, key, pinned=None):
    """Run every operation with generated valid and invalid input; collect all failures.

    Operations under a path of `pinned` run a second time with that path's real
    parameters, so their handlers run on an existing object, not only to a 404.
    (schemathesis' own pytest parametrisation does not run under pytest 9, so the
    operations are walked here with its Hypothesis strategies.)
    """
    failures = []
    headers = {"Authorization": f"Bearer {key}"}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        passes = [None] + [params for path, params in (pinned or {}).items() if operation.path.startswith(path)]
        for params, mode in itertools.product(passes, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
            try:
                examples(operation, mode, headers, params)()
            except Exception as exc:  # collect, so one run reports every operation
                where = f" with {params}" if params else ""
                failures.append(f"{mode.value} {operation.label}{where}: {exc}")
    return failures


def test_an_owner_never_gets_a_server_error_or_an_undocumented_answer(api_schema, api_as, owner, fuzz_world):
    failures = fuzz(api_schema, api_as(owner).api_key, fuzz_world["pinned"])
    assert not failures, "\n\n".join(failures)


def test_an_agent_never_gets_a_server_error_or_an_undocumented_answer(api_schema, api_as, agent, fuzz_world):
    failures = fuzz(api_schema, api_as(agent).api_key, fuzz_world["pinned"])
    assert not failures, "\n\n".join(failures)


def test_an_administrator_never_gets_a_server_error_or_an_undocumented_answer(
    api_schema, api_as, identity_source, fuzz_world
):
    admin = UserFactory(username="admin", is_superuser=True, is_staff=True, identity_source=identity_source)
    failures = fuzz(api_schema, api_as(admin).api_key, fuzz_world["pinned"])
    assert not failures, "\n\n".join(failures)
