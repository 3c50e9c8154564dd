"""Expiry through a real Celery worker and Redis, and the sweeper as the safety net."""

import pytest
import redis

from approvals.models import Grant
from approvals.services import submit_request
from approvals.tasks import expire_due_grants
from tests import factories
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]


def short_grant(seconds=2):
    workflow = factories.WorkflowFactory()
    agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=workflow.control_owner)
    policy = factories.PolicyFactory(workflow=workflow, entitlement=factories.EntitlementFactory())
    request = submit_request(
        workflow=workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        workload=agent,
        on_behalf_of=workflow.control_owner,
        task_ref="run-1",
        justification="short task",
    )
    return request.grant


def status(grant):
    return Grant.objects.get(pk=grant.pk).status


def test_a_real_worker_expires_a_two_second_grant_at_its_eta(start_worker):
    start_worker()
    grant = short_grant(seconds=2)
    assert status(grant) == "active"
    assert wait_for(lambda: status(grant) == "expired", timeout=20)
    assert Grant.objects.get(pk=grant.pk).end_reason == "Expired at the end of its lifetime."


def test_the_sweeper_expires_a_grant_whose_eta_message_was_lost(start_worker, celery_broker):
    grant = short_grant(seconds=1)
    # The ETA message sits in Redis until a worker takes it; flushing the broker loses it.
    assert redis.Redis.from_url(celery_broker).dbsize() > 0
    redis.Redis.from_url(celery_broker).flushdb()
    start_worker()
    wait_for(lambda: False, timeout=2)  # past expires_at, and no ETA task left to run
    assert status(grant) == "active"
    expire_due_grants.delay()  # what beat sends every minute
    assert wait_for(lambda: status(grant) == "expired", timeout=20)
