"""Shared fixtures: the personas of the specification and the services tests need."""

import os

import pytest

from tests import factories

# Fixtures for a real Celery worker (celery_broker, start_worker) and real peers started by
# session fixtures (an OpenID provider, slapd), each skipping locally / failing in CI when
# it cannot run.
pytest_plugins = ["tests.workers", "tests.peers.oidc", "tests.peers.ldap"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(available: bool, what: str):
    """Skip when a real service is missing on a developer's machine; fail in CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available here")


@pytest.fixture
def postgresql_only(db):
    """For statements that exist only on PostgreSQL (the one-statement check, the sweeper's batch)."""
    from django.db import connection

    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def read_policy(workflow):
    """Agents of `workflow` may read `github:repo:read` for up to an hour, approved by policy."""
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.DEBUG = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Each test signs evidence checkpoints with a key and a file of its own.
    settings.EVIDENCE_SIGNING_KEY_DIR = str(tmp_path / "evidence-keys")
    settings.EVIDENCE_CHECKPOINT_FILE = str(tmp_path / "evidence-checkpoints.jsonl")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def identity_source(db):
    return factories.IdentitySourceFactory()


@pytest.fixture
def owner(db, identity_source):
    return factories.UserFactory(username="owner", identity_source=identity_source)


@pytest.fixture
def backup_owner(db, identity_source):
    return factories.UserFactory(username="backup", identity_source=identity_source)


@pytest.fixture
def requester(db, identity_source):
    return factories.UserFactory(username="requester", identity_source=identity_source)


@pytest.fixture
def auditor(db, identity_source):
    return factories.AuditorFactory(username="auditor", identity_source=identity_source)


@pytest.fixture
def outsider(db, identity_source):
    return factories.UserFactory(username="outsider", identity_source=identity_source)


@pytest.fixture
def workflow(db, owner, backup_owner, identity_source):
    return factories.WorkflowFactory(control_owner=owner, backup_owner=backup_owner, identity_source=identity_source)


@pytest.fixture
def agent(db, workflow, owner):
    return factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)


@pytest.fixture(scope="session")
def rt_peer():
    """A real Request Tracker 5 on 127.0.0.1 (tests/peers/rt.sh), or None if it cannot run."""
    from tests.peers import rt_server

    return rt_server.start()


@pytest.fixture
def ticket_system(request, monkeypatch):
    """A harness for one ticket system (parametrize indirectly with its kind)."""
    from tests.peers import harness

    kind = request.param
    if kind == "rt":
        rt_peer = request.getfixturevalue("rt_peer")
        require_service(rt_peer is not None, "Request Tracker 5 (tests/peers/rt.sh)")
        system = harness.RtHarness(monkeypatch, *rt_peer)
    else:
        system = harness.HARNESSES[kind](monkeypatch)
    yield system
    system.close()


@pytest.fixture(autouse=True)
def _fresh_process_state():
    # Rate-limit counters live in Redis (the cache's database) or in the process; ids
    # repeat between tests, counters must not. A broker outage one test provoked must not
    # make the next test's sends be skipped (governance/dispatch.py waits before retrying).
    from django.core.cache import cache

    from governance import dispatch
    from governance.api.throttling import forget_local_counts

    cache.clear()
    forget_local_counts()
    dispatch.forget_outage()


@pytest.fixture
def api_as(db):
    """`api_as(persona)`: an API client authenticated as that person or workload.

    People get a personal access token, workloads an API key, both through the real
    service and sent as `Authorization: Bearer …`, so every call goes through the real
    authentication, permissions and throttling.
    """
    from rest_framework.test import APIClient

    from identities.models import WorkloadIdentity
    from identities.services import issue_api_key

    def make(persona):
        holder = {"workload": persona} if isinstance(persona, WorkloadIdentity) else {"user": persona}
        _, plaintext = issue_api_key(**holder, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        client.api_key = plaintext
        return client

    return make
