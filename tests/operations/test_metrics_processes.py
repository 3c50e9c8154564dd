"""Metrics and request ids across real processes: gunicorn with two workers, a Celery worker."""

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from approvals.services import submit_request
from governance import logs
from governance.tasks import heartbeat
from identities.services import issue_api_key
from tests import factories
from tests.conftest import require_service
from tests.workers import ROOT, database_url, wait_for

# Ports this suite may use for the gunicorn under test (MANDATE_TEST_GUNICORN_PORTS=a-b).
PORTS = os.environ.get("MANDATE_TEST_GUNICORN_PORTS", "8400-8449")


def free_port():
    low, high = (int(n) for n in PORTS.split("-"))
    for port in range(low, high + 1):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail(f"no free port in {PORTS}")


def call(url, *, data=None, token=None, timeout=10):
    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read().decode(), dict(response.headers)


def counted_in_another_container(metrics_dir, *, allows):
    """The file a Celery worker in another container sharing the directory keeps (its own host name)."""
    counts = MmapedDict(str(metrics_dir / "counter_worker-container-7.db"))
    key = mmap_key(
        "mandate_authorization_decisions", "mandate_authorization_decisions_total", ["result"], ["allow"], ""
    )
    counts.write_value(key, float(allows), 0.0)
    counts.close()


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    port, metrics_dir = free_port(), tmp_path / "prometheus"
    (metrics_dir).mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over by a process that is gone")
    (metrics_dir / f"histogram_{socket.gethostname()}-999999.db").write_bytes(b"and another, named as now")
    counted_in_another_container(metrics_dir, allows=5)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "governance.settings_test",
        "DATABASE_URL": database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "METRICS_TOKEN": "scrape-token",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "governance.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return call(f"{base}/healthz", timeout=2)[0] == 200
        except urllib.error.HTTPError:
            return True  # answering (503: no worker heartbeat here, which this test does not need)
        except OSError:
            return process.poll() is not None

    try:
        assert wait_for(up, timeout=40) and process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        yield base, metrics_dir
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def scrape(base):
    _status, body, _headers = call(f"{base}/metrics", token="scrape-token")
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, number = line.rpartition(" ")
            values[name] = float(number)
    return values


@pytest.mark.postgres
def test_counters_are_summed_over_gunicorn_workers(gunicorn, agent, requester, workflow):
    base, metrics_dir = gunicorn
    assert not (metrics_dir / "counter_999999.db").exists(), "files of processes that are gone are removed"
    assert not (metrics_dir / f"histogram_{socket.gethostname()}-999999.db").exists()
    assert (metrics_dir / "counter_worker-container-7.db").exists(), "another host's files are not this host's to judge"
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
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
    _key, plaintext = issue_api_key(workload=agent)
    check = {"workflow": workflow.slug, "scope": "github:repo:read", "task_ref": "run-1"}

    for n in range(40):
        body = check if n % 4 else {**check, "scope": "github:repo:admin"}
        status, answer, headers = call(f"{base}/api/v1/authorize", data=body, token=plaintext)
        assert status == 200 and json.loads(answer)["allow"] is bool(n % 4) and headers["X-Request-ID"]

    here = f"counter_{socket.gethostname()}-"
    pids = {path.stem for path in metrics_dir.glob("counter_*.db") if path.name.startswith(here)}
    assert len(pids) == 2, "both workers answered and kept their own counters"
    # Whichever worker answers the scrape, it reports the sum over both and the other container.
    for _ in range(4):
        values = scrape(base)
        assert values['mandate_authorization_decisions_total{result="allow"}'] == 30 + 5
        assert values['mandate_authorization_decisions_total{result="deny"}'] == 10
        assert values['mandate_request_duration_seconds_count{endpoint="authorize",method="POST",status="2xx"}'] == 40
        assert values["mandate_grants_active"] == 1


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery_worker
def test_a_task_logs_the_request_id_of_the_request_that_published_it(monkeypatch, start_worker, tmp_path):
    monkeypatch.setenv("LOG_FORMAT", "json")
    worker = start_worker()

    token = logs.request_id.set("req-7f3a")
    try:
        heartbeat.delay()
    finally:
        logs.request_id.reset(token)

    def logged():
        for line in Path(worker.log_path).read_text().splitlines():
            if line.startswith("{") and "governance.heartbeat" in line:
                record = json.loads(line)
                if record.get("request_id") == "req-7f3a" and "succeeded" in record["message"]:
                    return True
        return False

    assert wait_for(logged, timeout=20), Path(worker.log_path).read_text()[-3000:]
