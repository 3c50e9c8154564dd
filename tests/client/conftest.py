"""A live Mandate for the client tests: gunicorn in its own process on the test database,
the demo data loaded, and API keys for the incident-enrichment agent and its people.

The server runs from `governance.wsgi` with the test settings, the database of this test
session (tests commit: `transactional_db`) and its own `var/` folder. Its port is the
first free one of MANDATE_TEST_CLIENT_PORTS (default 8300-8349).
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.db import connection

from identities.models import User, WorkloadIdentity
from identities.services import issue_api_key
from tests.conftest import require_service
from tests.workers import ROOT, WorkerProcess, database_url

AGENT = "incident-enricher"
WORKFLOW = "incident-enrichment"
SERVER_SCRIPT = Path(__file__).with_name("jira_mcp_server.py")


def free_port():
    first, _, last = os.environ.get("MANDATE_TEST_CLIENT_PORTS", "8300-8349").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in MANDATE_TEST_CLIENT_PORTS ({first}-{last})")


class MandateServer:
    def __init__(self, workdir, **env):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env
        self.process = None

    def start(self, timeout=60):
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "CELERY_BROKER_URL")}
        env.update(
            DJANGO_SETTINGS_MODULE="governance.settings_test",
            DATABASE_URL=database_url(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SITE_URL=self.url,
            MANDATE_VAR_DIR=str(self.workdir / "var"),
            **self.extra_env,
        )
        self.log = open(self.workdir / "gunicorn.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "governance.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--worker-class",
                "gthread",
                "--timeout",
                "60",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(self.workdir / 'gunicorn.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/.well-known/jwks.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer: {(self.workdir / 'gunicorn.log').read_text()[-3000:]}")

    stop = WorkerProcess.stop


@pytest.fixture
def mandate_server(transactional_db, tmp_path):
    """A gunicorn serving the test database, one a test: each test's flush gives the
    database new content-type ids, which a longer-lived server would still have cached."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    server = MandateServer(tmp_path / "mandate-server").start()
    yield server
    server.stop()


@dataclass
class Demo:
    url: str
    agent_key: str
    fiona: str
    bruno: str
    workflow: str = WORKFLOW
    agent: str = AGENT

    def as_person(self, token):
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@pytest.fixture
def demo(mandate_server, transactional_db, settings):
    """The demo data in the live server's database, with fresh keys."""
    settings.DEMO_MODE = True
    call_command("load_demo", quiet=True)
    workload = WorkloadIdentity.objects.get(slug=AGENT)
    return Demo(
        url=mandate_server.url,
        agent_key=issue_api_key(workload=workload, name="client tests")[1],
        fiona=issue_api_key(user=User.objects.get(username="fiona"))[1],
        bruno=issue_api_key(user=User.objects.get(username="bruno"))[1],
    )
