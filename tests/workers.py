"""A real Celery worker process for integration tests (PostgreSQL + Redis)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available(url=TEST_REDIS_URL):
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def database_url():
    """The URL of the test database this process is using, for a subprocess to share it."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class WorkerProcess:
    """Starts `celery worker` as a subprocess against the test database and Redis."""

    def __init__(self, broker_url, log_path):
        self.broker_url = broker_url
        self.log_path = log_path
        self.process = None

    def start(self, timeout=30):
        from governance.celery import app

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "governance.settings_test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.broker_url,
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "governance",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited: {Path(self.log_path).read_text()[-2000:]}")
            if app.control.ping(timeout=0.5, destination=[f"test-{os.getpid()}@{os.uname().nodename}"]):
                return self
            time.sleep(0.3)
        raise RuntimeError(f"celery worker did not start: {Path(self.log_path).read_text()[-2000:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process:
            self.log.close()


class BeatProcess(WorkerProcess):
    """Starts `celery beat` as a subprocess reading the database schedule of the test database."""

    def __init__(self, broker_url, log_path, schedule_path):
        super().__init__(broker_url, log_path)
        self.schedule_path = schedule_path

    def start(self, timeout=2):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "governance.settings_test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.broker_url,
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "governance", "beat", "--loglevel=DEBUG", "-s", self.schedule_path],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # Beat answers no ping: make sure it did not die at start-up; callers then wait for
        # the effects of the jobs it sends.
        time.sleep(min(timeout, 2))
        if self.process.poll() is not None:
            raise RuntimeError(f"celery beat exited: {Path(self.log_path).read_text()[-2000:]}")
        return self


def reset_connection_pools(app):
    """Drop pooled broker connections so the next publish connects to the new broker URL."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_broker(transactional_db):
    """Point this process's Celery app at an empty Redis DB; restore afterwards."""
    import redis

    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    require_service(redis_available(), f"Redis at {TEST_REDIS_URL}")
    from governance.celery import app

    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    old = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url, app.conf.broker_transport_options = TEST_REDIS_URL, {"visibility_timeout": 3600}
    reset_connection_pools(app)
    yield TEST_REDIS_URL
    app.conf.broker_url, app.conf.broker_transport_options = old
    reset_connection_pools(app)


@pytest.fixture
def start_worker(celery_broker, tmp_path):
    """Call to start a real worker; every started worker is stopped at teardown."""
    workers = []

    def start():
        worker = WorkerProcess(celery_broker, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)  # before start(): a worker that fails to answer is still stopped
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate, timeout=20, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@pytest.fixture
def start_beat(celery_broker, tmp_path):
    """Call to start a real beat on the database schedule; stopped at teardown."""
    beats = []

    def start():
        beat = BeatProcess(celery_broker, tmp_path / f"beat-{len(beats)}.log", str(tmp_path / "beat-schedule"))
        beats.append(beat)
        return beat.start()

    yield start
    for beat in beats:
        beat.stop()
