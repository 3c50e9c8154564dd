"""Strict input: every documented filter of every list works, an undocumented one is a 400,
and no body field is silently dropped (walk-around 5)."""

import importlib
import io
import pkgutil

import pytest
import yaml
from django.core.management import call_command
from rest_framework import serializers

from governance.api.strict import StrictSerializerMixin
from identities.models import User

pytestmark = pytest.mark.django_db
PAGING = {"limit", "offset", "ordering"}
LAX_BY_DESIGN = {
    "ErrorSerializer",  # output only: the error shape
    "EvidenceRecordSerializer",  # output only: a stored record
    "EvidenceItemSerializer",  # validated by the evidence service, which names unknown fields itself
}


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    call_command("load_demo", stdout=io.StringIO())
    return User.objects.get(username="admin")


def list_endpoints(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path, item in schema["paths"].items():
        operation = item.get("get")
        parameters = operation.get("parameters", []) if operation else []
        if "{" in path or not any(p["name"] == "limit" for p in parameters):
            continue  # not a list
        filters = [p for p in operation.get("parameters", []) if p["in"] == "query" and p["name"] not in PAGING]
        yield path, filters


def count(api, path, **params):
    answer = api.get(path, params)
    assert answer.status_code == 200, (path, params, answer.json())
    return answer.json()["count"]


def test_every_documented_filter_of_every_list_changes_the_answer(client, api_as, demo):
    """A filter that is ignored answers as if it were not there: each one is shown to bite."""
    api = api_as(demo)
    endpoints = dict(list_endpoints(client))
    assert "/api/v1/evidence/" in endpoints and "/api/v1/registry-changes/" in endpoints
    checked = []
    for path, filters in endpoints.items():
        total = count(api, path)
        for parameter in filters:
            name, schema = parameter["name"], parameter.get("schema", {})
            if total == 0:
                continue  # nothing to narrow in the demo; the unknown-filter test still covers the list
            if schema.get("enum"):
                assert api.get(path, {name: "no-such-choice"}).status_code == 400, (path, name)
            elif schema.get("type") == "boolean":
                assert count(api, path, **{name: "true"}) + count(api, path, **{name: "false"}) == total, (path, name)
            elif schema.get("format") == "date-time":
                far = [
                    count(api, path, **{name: moment}) for moment in ("1999-01-01T00:00:00Z", "2999-01-01T00:00:00Z")
                ]
                assert min(far) < total, (path, name)
            elif schema.get("type") in ("integer", "number"):
                assert count(api, path, **{name: "987654321"}) < total, (path, name)
            else:
                answer = api.get(path, {name: "no-such-value-zz"})
                assert answer.status_code == 400 or answer.json()["count"] < total, (path, name)
            checked.append((path, name))
    assert ("/api/v1/evidence/", "workload") in checked


def test_an_unknown_filter_on_any_list_is_a_400_naming_it(client, api_as, demo):
    api = api_as(demo)
    for path, _filters in list_endpoints(client):
        answer = api.get(path, {"no_such_filter": "1"})
        assert answer.status_code == 400, path
        assert "no_such_filter" in answer.json()["fields"], path


def ordering_of_every_list(client):
    """(path, the accepted `ordering` values or None when the list does not sort) per list."""
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path, _filters in list_endpoints(client):
        parameters = schema["paths"][path]["get"].get("parameters", [])
        ordering = next((p for p in parameters if p["name"] == "ordering"), None)
        yield path, ordering["schema"]["items"]["enum"] if ordering else None


def test_every_documented_ordering_of_every_list_sorts_and_an_unknown_one_is_a_400_naming_it(client, api_as, demo):
    api = api_as(demo)
    sortable = dict(ordering_of_every_list(client))
    assert sortable["/api/v1/access-requests/"] and sortable["/api/v1/evidence/"]
    for path, choices in sortable.items():
        refused = api.get(path, {"ordering": "no_such_field"})
        assert refused.status_code == 400, (path, refused.json())
        assert "ordering" in refused.json()["fields"], path
        if choices is None:
            continue  # a list without ordering refuses the parameter itself
        assert "no_such_field" in refused.json()["fields"]["ordering"][0], path
        # One bad field among good ones still refuses the whole ordering.
        assert api.get(path, {"ordering": f"{choices[0]},-nope"}).status_code == 400, path
        total = count(api, path)
        for choice in choices:
            assert count(api, path, ordering=choice) == total, (path, choice)
    ids = [
        r["id"] for r in api.get("/api/v1/access-requests/", {"ordering": "created_at", "limit": 500}).json()["results"]
    ]
    newest_first = api.get("/api/v1/access-requests/", {"ordering": "-created_at", "limit": 500}).json()["results"]
    assert len(ids) > 1 and [r["id"] for r in newest_first] == ids[::-1]


def test_evidence_filters_by_workload(api_as, demo):
    from governance.models import EvidenceRecord

    api = api_as(demo)
    record = EvidenceRecord.objects.filter(workload__isnull=False).select_related("workload").first()
    assert record is not None
    answer = api.get("/api/v1/evidence/", {"workload": record.workload.slug, "limit": 1000}).json()
    assert answer["count"] == EvidenceRecord.objects.filter(workload=record.workload).count()
    assert answer["count"] < EvidenceRecord.objects.count()


def test_unknown_body_fields_are_a_400_naming_them(api_as, owner, identity_source, agent, requester):
    created = api_as(owner).post(
        "/api/v1/workflows/",
        {
            "slug": "strict",
            "name": "Strict",
            "business_process": "x",
            "identity_source": identity_source.slug,
            "next_review_due": "2030-01-01T00:00:00Z",
            "colour": "blue",
        },
    )
    assert created.status_code == 400
    assert set(created.json()["fields"]) == {"next_review_due", "colour"}


def test_extending_with_a_justification_field_is_refused_not_dropped(api_as, workflow, requester):
    from approvals.services import submit_request
    from tests.factories import EntitlementFactory, PolicyFactory

    policy = PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(access_level="read"))
    request = submit_request(
        workflow=workflow,
        entitlement=policy.entitlement,
        duration_seconds=600,
        requested_by=requester,
        task_ref="T",
        justification="j",
    )
    answer = api_as(requester).post(
        f"/api/v1/grants/{request.grant.pk}/extend/", {"duration_seconds": 600, "justification": "more"}
    )
    assert answer.status_code == 400 and "justification" in answer.json()["fields"]


def test_every_serializer_of_the_api_is_strict():
    found = []
    for package in ("governance.api", "approvals.api", "identities.api", "governance.reviews.api"):
        module = importlib.import_module(package)
        names = [f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__)]
        for name in [package, *names]:
            for value in vars(importlib.import_module(name)).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, serializers.BaseSerializer)
                    and value.__module__.split(".")[0] in ("governance", "approvals", "identities")
                    and value.__name__ not in LAX_BY_DESIGN
                ):
                    found.append(value)
    assert found
    lax = sorted({cls.__name__ for cls in found if not issubclass(cls, StrictSerializerMixin)})
    assert lax == []
