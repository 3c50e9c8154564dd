"""/healthz reports database, cache, broker and worker heartbeat: `down` (503) only without
the database; cache, broker or worker away is `degraded` (200, still serving)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import Heartbeat
from governance.tasks import heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_broker(settings, tmp_path):
    from governance.celery import app

    folder = tmp_path / "broker"
    folder.mkdir()
    old = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    yield
    app.conf.broker_url, app.conf.broker_transport_options = old


def test_healthy_when_database_broker_and_worker_are_alive(client, file_broker):
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert body["checks"]["worker"]["ok"] is True


def test_degraded_without_a_worker_heartbeat(client, file_broker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["failing"] == ["worker"]


def test_degraded_when_the_heartbeat_is_stale(client, file_broker, settings):
    Heartbeat.objects.create(name="worker", seen_at=timezone.now() - settings.HEARTBEAT_MAX_AGE - timedelta(seconds=1))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert "last heartbeat" in response.json()["checks"]["worker"]["error"]


def test_degraded_when_the_broker_is_unreachable(client):
    from governance.celery import app

    heartbeat()
    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["failing"] == ["broker"]


def test_degraded_when_redis_is_unreachable(client, file_broker, settings):
    heartbeat()
    settings.REDIS_URL = settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded" and body["failing"] == ["cache"]
    assert body["checks"]["cache"]["rate_limits"] == "per process until Redis is back"


def test_down_when_the_database_is_unreachable(client, file_broker, monkeypatch):
    from django.db import OperationalError

    from governance import health

    def refused():
        raise OperationalError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", refused)
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "down"
    assert body["failing"] == ["database", "worker"]


def test_healthz_needs_no_login_and_reveals_no_secrets(client, file_broker, settings):
    heartbeat()
    body = client.get("/healthz").content.decode()
    assert settings.SECRET_KEY not in body


def test_a_change_of_health_is_logged_once(client, file_broker, caplog, monkeypatch):
    import logging

    from governance import health

    monkeypatch.setattr(health, "_last", {"status": "ok", "failing": []})
    caplog.set_level(logging.WARNING, logger="governance.health")
    for _ in range(3):
        client.get("/healthz")  # no worker heartbeat yet: degraded
    heartbeat()
    client.get("/healthz")
    messages = [r.getMessage() for r in caplog.records if r.name == "governance.health"]
    assert len(messages) == 2
    assert messages[0].startswith("health: degraded (worker: no worker heartbeat yet")
    assert messages[1] == "health: ok again (was degraded: worker)"
