"""A database that cannot be reached is a 503 with Retry-After in the error shape, not a 500.

The restart itself (a real PostgreSQL stopped and started under a running gunicorn) is a
scenario of `make faults` (faults/scenarios/database.py); here the mapping is checked.
"""

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def refuse(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def test_an_api_call_without_the_database_is_a_503_in_the_error_shape(monkeypatch):
    monkeypatch.setattr("governance.api.authentication.ApiKeyAuthentication.authenticate", refuse)
    response = Client(raise_request_exception=False).post(
        "/api/v1/authorize", {"workflow": "x", "scope": "y"}, content_type="application/json"
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "status": 503,
        "code": "unavailable",
        "message": "The service is briefly unavailable; retry shortly.",
        "fields": {},
    }


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_portal_page_without_the_database_is_a_503(monkeypatch, error):
    def broken(*args, **kwargs):
        raise error("connection already closed")

    monkeypatch.setattr("django.contrib.sessions.backends.db.SessionStore.load", broken)
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"briefly unavailable" in response.content


def test_other_errors_stay_500(monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("governance.api.authentication.ApiKeyAuthentication.authenticate", crash)
    response = Client(raise_request_exception=False).post(
        "/api/v1/authorize", {"workflow": "x", "scope": "y"}, content_type="application/json"
    )
    assert response.status_code == 500 and response.json()["code"] == "server_error"
