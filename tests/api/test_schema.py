"""The OpenAPI description is valid, complete and served with its docs from this server."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_every_operation_lives_under_v1_and_needs_a_key_or_a_session(schema):
    assert set(schema["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth", "grantToken"}
    for path, method, operation in operations(schema):
        assert path.startswith("/api/v1/"), path
        assert {"bearerAuth": []} in operation["security"], (method, path)


def test_every_operation_documents_its_errors_in_the_one_error_shape(schema):
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"status", "code", "message", "fields"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"401", "403", "429"}
        if "{" in path:
            expected.add("404")
        if method in {"post", "patch", "put"}:
            expected |= {"400", "409"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            assert responses[status]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF


# Streamed exports are whole documents (CSV, JSON, JSON Lines), not pages of a list.
STREAMED_EXPORTS = {"/api/v1/evidence/ocsf/", "/api/v1/evidence/export/", "/api/v1/workload-inventory/"}
# The registry as files: the schema, the export and the drift are one document each.
STREAMED_EXPORTS |= {"/api/v1/registry/schema", "/api/v1/registry/export", "/api/v1/registry/drift"}


def test_every_list_is_paginated_filterable_and_ordered(schema):
    for path, method, operation in operations(schema):
        if method != "get" or "{" in path or path in STREAMED_EXPORTS:
            continue
        names = {p["name"] for p in operation.get("parameters", [])}
        assert {"limit", "offset", "ordering"} <= names, path
        assert len(names - {"limit", "offset", "ordering"}) >= 2, f"{path} has no filters"
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].startswith(
            "#/components/schemas/Paginated"
        )


def test_every_action_has_a_summary_and_a_unique_operation_id(schema):
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)


def test_the_docs_are_served_from_this_server_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    external = re.findall(r"""(?:src|href|url)\s*[=:(]\s*["'](https?://[^"']+)""", html)
    assert external == [], external
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # The assets ship in a Python package and are collected with the other static files.
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
