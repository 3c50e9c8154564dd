"""The smaller holes: rate limits that bursts and extra tokens cannot stretch, failed API
keys throttled per address, no workflow named to a caller who cannot see it, and the
browser-facing defaults (Content-Security-Policy, HSTS preload, session lifetime)."""

import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
import redis
import time_machine
from django.conf import settings as django_settings

from approvals.services import submit_request
from governance.api import throttling
from identities.models import SignInThrottle
from tests import factories
from tests.conftest import require_service
from tests.workers import TEST_REDIS_URL, redis_available

pytestmark = pytest.mark.django_db

SCOPE = "github:repo:read"
# The middle of a minute: a fixed window that cannot roll over during the test.
MID_WINDOW = datetime(2026, 6, 1, 12, 0, 20).astimezone()


@pytest.fixture
def shared_redis(settings):
    require_service(redis_available(), f"Redis at {TEST_REDIS_URL}")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for name in client.scan_iter("mandate:rl:*"):
        client.delete(name)
    settings.RATE_LIMIT_REDIS_URL = TEST_REDIS_URL
    yield TEST_REDIS_URL
    for name in client.scan_iter("mandate:rl:*"):
        client.delete(name)


@pytest.fixture
def checking(api_as, workflow, agent, requester):
    entitlement = factories.EntitlementFactory(scope=SCOPE, access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=600,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-1",
        justification="nightly run",
    )
    return api_as(agent)


# --- Atomic rate limits: a burst gets exactly the budget --------------------------------


@pytest.mark.parametrize("where", ["redis", "local"])
def test_a_concurrent_burst_gets_exactly_the_budget_30_of_30_not_45(where, settings, request):
    if where == "redis":
        request.getfixturevalue("shared_redis")
    else:
        settings.RATE_LIMIT_REDIS_URL = ""
    limit, window = throttling.parse_rate("30/min")
    allowed, start = [], threading.Barrier(45)

    def one_request():
        start.wait()  # all 45 at once, as the probe sent them
        allowed.append(throttling.count_hit("burst:caller", window) <= limit)

    with time_machine.travel(MID_WINDOW, tick=False):
        threads = [threading.Thread(target=one_request) for _ in range(45)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(allowed) == 30 and len(allowed) == 45


def test_the_api_lets_30_of_45_calls_through_at_30_per_minute(checking, workflow, shared_redis, settings):
    settings.API_AUTHORIZE_THROTTLE_RATE = "30/min"
    body = {"workflow": workflow.slug, "scope": SCOPE, "task_ref": "run-1"}
    with time_machine.travel(MID_WINDOW, tick=False):
        codes = [checking.post("/api/v1/authorize", body).status_code for _ in range(45)]
    assert codes.count(200) == 30 and codes.count(429) == 15 and codes[:30] == [200] * 30


def test_a_person_does_not_multiply_the_budget_by_issuing_more_tokens(api_as, owner, settings):
    settings.API_THROTTLE_RATE = "4/min"
    clients = [api_as(owner) for _ in range(3)]  # three personal access tokens of one person
    with time_machine.travel(MID_WINDOW, tick=False):
        codes = [clients[n % 3].get("/api/v1/workflows/").status_code for n in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_a_workload_does_not_multiply_the_budget_by_holding_more_keys(api_as, agent, owner, settings):
    settings.API_THROTTLE_RATE = "2/min"
    first, second = api_as(agent), api_as(agent)
    with time_machine.travel(MID_WINDOW, tick=False):
        codes = [c.get("/api/v1/workflows/").status_code for c in (first, second, first, second)]
        assert api_as(owner).get("/api/v1/workflows/").status_code == 200  # another holder's own budget
    assert codes == [200, 200, 429, 429]


# --- Failed authentication ----------------------------------------------------------


def test_failed_api_keys_are_throttled_per_address_and_the_burst_is_recorded(client, settings, api_as, agent):
    settings.API_AUTH_FAILURE_RATE = "5/min"
    bad = {"HTTP_AUTHORIZATION": "Bearer mdt_wrong_key", "REMOTE_ADDR": "203.0.113.50"}
    with time_machine.travel(MID_WINDOW, tick=False):
        codes = [client.get("/api/v1/workflows/", **bad).status_code for _ in range(8)]
        limited = client.get("/api/v1/workflows/", **bad)
        elsewhere = client.get("/api/v1/workflows/", HTTP_AUTHORIZATION="Bearer mdt_wrong", REMOTE_ADDR="192.0.2.9")
        good_key_same_address = api_as(agent).get("/api/v1/workflows/", REMOTE_ADDR="203.0.113.50")
    assert codes == [401] * 5 + [429] * 3
    assert limited.json()["code"] == "throttled" and 1 <= int(limited["Retry-After"]) <= 60
    assert elsewhere.status_code == 401
    assert good_key_same_address.status_code == 200  # a valid key still works (see ApiKeyAuthentication.refuse)
    burst = SignInThrottle.objects.get(scope="bearer", key="203.0.113.50")
    assert burst.failures == 6 and burst.blocked_until is not None


def test_failed_api_keys_are_throttled_with_redis_away(client, settings):
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:8399/0"
    settings.API_AUTH_FAILURE_RATE = "2/min"
    throttling._redis.pop("redis://127.0.0.1:8399/0", None)
    bad = {"HTTP_AUTHORIZATION": "Bearer mdt_wrong_key"}
    with time_machine.travel(MID_WINDOW, tick=False):
        codes = [client.get("/api/v1/workflows/", **bad).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


# --- Nothing named to callers who cannot see it ----------------------------------------


def test_authorize_answers_a_foreign_workflow_exactly_like_a_missing_one(api_as, agent, owner, identity_source):
    foreign = factories.WorkflowFactory(
        slug="payroll-export", name="Payroll export", control_owner=owner, identity_source=identity_source
    )
    client = api_as(agent)
    answers = {
        slug: client.post("/api/v1/authorize", {"workflow": slug, "scope": SCOPE}).json()
        for slug in (foreign.slug, "payroll-exporz")
    }
    foreign_answer, missing_answer = answers["payroll-export"], answers["payroll-exporz"]
    assert foreign_answer["reasons"] == ["Unknown workflow “payroll-export”."]
    assert foreign_answer == {
        **missing_answer,
        "reasons": [r.replace("exporz", "export") for r in missing_answer["reasons"]],
    }
    assert "Payroll export" not in str(foreign_answer)


def test_authorize_does_not_name_a_draft_workflow_to_a_person_outside_it(api_as, outsider, owner, identity_source):
    draft = factories.WorkflowFactory(
        name="Secret merger", status="draft", control_owner=owner, identity_source=identity_source
    )
    answer = api_as(outsider).post("/api/v1/authorize", {"workflow": draft.slug, "scope": SCOPE}).json()
    assert answer["reasons"] == [f"Unknown workflow “{draft.slug}”."]
    own = api_as(owner).post("/api/v1/authorize", {"workflow": draft.slug, "scope": SCOPE}).json()
    assert "draft" in own["reasons"][0]  # its owner is told why


# --- Browser-facing defaults -----------------------------------------------------------


def test_every_page_carries_a_content_security_policy_without_inline_scripts(client, owner):
    client.force_login(owner)
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in policy


def test_no_template_has_an_inline_script_or_event_handler():
    import re

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for template in root.glob("*/templates/**/*.html"):
        if ".venv" in template.parts:
            continue
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=\"", text):
            offenders.append(str(template.relative_to(root)))
    assert offenders == []


def test_sessions_last_eight_hours_by_default():
    assert django_settings.SESSION_COOKIE_AGE == 8 * 3600


def production_settings(**extra):
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "production-like-secret-" + "q8Zr!x" * 8,
        "ALLOWED_HOSTS": "mandate.example.com",
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        **extra,
    }
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.pop(name, None)  # what settings_test relaxes
    return env


def run_production(code, **extra):
    return subprocess.run(
        [sys.executable, "-c", code],
        env=production_settings(**extra),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )


SHOW = "import django; django.setup(); from django.conf import settings as s; print({names})"


def test_hsts_preload_is_off_unless_asked_for_and_check_deploy_stays_clean():
    default = run_production(SHOW.format(names="s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_AGE"))
    assert default.stdout.split() == ["False", "28800"], default.stderr
    opted_in = run_production(SHOW.format(names="s.SECURE_HSTS_PRELOAD"), SECURE_HSTS_PRELOAD="true")
    assert opted_in.stdout.strip() == "True"
    for extra in ({}, {"SECURE_HSTS_PRELOAD": "true"}):
        check = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            env=production_settings(**extra),
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
            timeout=120,
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_the_api_docs_page_loads_its_start_up_script_from_mandate_not_inline(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200 and "?script=" in page.content.decode()
    assert "<script>" not in page.content.decode()
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
