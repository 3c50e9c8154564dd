"""Rate limits hold across processes, answer 429 with Retry-After, and survive a Redis outage.

The counter is one atomic Redis round trip shared by every process; without Redis, or
while it cannot be reached, each process counts for itself and no request fails.
"""

import logging
import threading
import time

import pytest
import redis

from governance.api import throttling
from tests import factories
from tests.conftest import require_service
from tests.workers import TEST_REDIS_URL, redis_available

SCOPE = "github:repo:read"
# Nothing listens here: the port range of this suite's own peers, never a Redis.
UNREACHABLE_REDIS = "redis://127.0.0.1:8399/0"


@pytest.fixture
def shared_redis():
    require_service(redis_available(), f"Redis at {TEST_REDIS_URL}")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for name in client.scan_iter("mandate:rl:*"):
        client.delete(name)
    yield TEST_REDIS_URL
    for name in client.scan_iter("mandate:rl:*"):
        client.delete(name)


@pytest.fixture
def checking_agent(api_as, workflow, agent, requester):
    from approvals.services import submit_request

    entitlement = factories.EntitlementFactory(scope=SCOPE, access_level="read")
    policy = factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    submit_request(
        workflow=workflow,
        entitlement=policy.entitlement,
        duration_seconds=600,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-1",
        justification="nightly run",
    )
    client = api_as(agent)

    def check():
        return client.post("/api/v1/authorize", {"workflow": workflow.slug, "scope": SCOPE, "task_ref": "run-1"})

    return check


def test_counters_in_redis_are_exact_across_processes(shared_redis):
    # Four independent counters (separate connection pools, as separate processes have).
    counters = [throttling.RedisCounter(shared_redis) for _ in range(4)]
    seen = []

    def hammer(counter):
        seen.extend(counter.hit("test:atomic", 60) for _ in range(250))

    threads = [threading.Thread(target=hammer, args=(counter,)) for counter in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 1001))  # every hit got its own number: no lost update
    ttl = redis.Redis.from_url(shared_redis).ttl(f"mandate:rl:test:atomic:{int(time.time() // 60)}")
    assert 0 < ttl <= 61


def test_slots_taken_a_block_at_a_time_never_admit_more_than_the_limit(shared_redis):
    # Three processes share a caller's window of 2,000: blocks of 10, one round trip each.
    counters = [throttling.RedisCounter(shared_redis) for _ in range(3)]
    slots = [counters[n % 3].slot("test:blocks", 3600, 2000) for n in range(2100)]
    admitted = [slot for slot in slots if slot <= 2000]
    assert len(set(admitted)) == len(admitted)  # every admitted request had its own slot
    assert 2000 - 3 * 10 <= len(admitted) <= 2000  # at most a block per process lost
    taken = int(redis.Redis.from_url(shared_redis).get(f"mandate:rl:test:blocks:{int(time.time() // 3600)}"))
    assert taken <= 2000 + 3 * 10  # once the window is used up, nobody asks Redis again


def test_over_the_limit_the_check_answers_429_with_retry_after(checking_agent, shared_redis, settings):
    settings.RATE_LIMIT_REDIS_URL = shared_redis
    settings.API_AUTHORIZE_THROTTLE_RATE = "3/min"
    assert [checking_agent().status_code for _ in range(3)] == [200, 200, 200]
    limited = checking_agent()
    assert limited.status_code == 429
    assert limited.json()["code"] == "throttled" and 1 <= int(limited["Retry-After"]) <= 60


def test_a_redis_outage_never_fails_a_request_and_the_limit_still_holds(checking_agent, settings, caplog):
    settings.RATE_LIMIT_REDIS_URL = UNREACHABLE_REDIS
    settings.API_AUTHORIZE_THROTTLE_RATE = "3/min"
    throttling._redis.pop(UNREACHABLE_REDIS, None)
    with caplog.at_level(logging.WARNING, logger="governance.api.throttling"):
        answers = [checking_agent() for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].json()["allow"]
    outages = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outages) == 1  # logged once per outage, not once per request


def test_without_redis_each_process_counts_for_itself(checking_agent, settings):
    settings.RATE_LIMIT_REDIS_URL = ""
    settings.API_AUTHORIZE_THROTTLE_RATE = "2/min"
    assert [checking_agent().status_code for _ in range(3)] == [200, 200, 429]


def test_a_rate_that_is_not_a_rate_is_refused():
    with pytest.raises(ValueError, match="600/min"):
        throttling.parse_rate("lots")
    assert throttling.parse_rate("20/s") == (20, 1) and throttling.parse_rate("600/min") == (600, 60)
