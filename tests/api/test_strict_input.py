"""Strict input: every documented filter of every list works, an undocumented one is a 400,
and no body field is silently dropped (walk-around 5)."""

import csv
import importlib
import io
import json
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
            continue  # not a paginated list
        filters = [p for p in operation.get("parameters", []) if p["in"] == "query" and p["name"] not in PAGING]
        yield path, filters


def count(api, path, **params):
    answer = api.get(path, params)
    assert answer.status_code == 200, (path, params, answer.json())
    return answer.json()["count"]


# ------------------------------------------------------------------ every GET of the schema

# Paging and cursors, not filters: `before` pages the dossier's timeline, `after` resumes
# the OCSF stream (tests/ocsf/ follow both); `format` is checked on its own below.
CURSORS = PAGING | {"before", "after", "format"}
# Where a row names what a filter compares under another name; a filter over several
# fields (an owner of either kind, the subject of a request) matches a row holding the
# value in any of them.
ROW_FIELDS = {
    "task": ("task_ref",),
    "tool": ("tool_name",),
    "workflow": ("workflow", "slug"),
    "owner": ("control_owner", "backup_owner"),
    "subject": ("requested_by", "on_behalf_of", "workload"),
}
MOMENTS = ("1999-01-01T00:00:00Z", "2999-01-01T00:00:00Z")


def body_text(answer):
    raw = b"".join(answer.streaming_content) if getattr(answer, "streaming", False) else answer.content
    return raw.decode()


def read_rows(answer):
    """The rows of any GET answer of the API: a page's results, the dossier's events, an
    export's records or workloads (JSON, JSON Lines or CSV), the registry's workflows."""
    assert answer.status_code == 200, body_text(answer)
    kind = answer["Content-Type"].split(";")[0]
    text = body_text(answer)
    if kind == "text/csv":
        return list(csv.DictReader(io.StringIO(text)))
    if kind == "application/x-ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, list):
        return data
    if isinstance(data.get("results"), list):
        assert data.get("count", len(data["results"])) == len(data["results"]), "raise the limit: rows left out"
        return data["results"]
    if isinstance(data.get("events"), dict):
        return data["events"]["results"]
    for name in ("records", "workloads"):
        if isinstance(data.get(name), list):
            return data[name]
    if isinstance(data.get("document"), dict):
        return data["document"].get("workflows", [])
    return None


def everything(operation):
    """The query that asks an operation for all it has (its largest page)."""
    names = {p["name"] for p in operation.get("parameters", [])}
    if "offset" in names:
        return {"limit": 1000}
    return {"limit": 200} if "limit" in names else {}


def key(row):
    return row.get("id") if isinstance(row, dict) and row.get("id") is not None else json.dumps(row, sort_keys=True)


def _text(value):
    if isinstance(value, dict):
        value = value.get("slug") or value.get("username")
    return None if value in (None, "", [], {}) else str(value)


def row_values(row, name):
    """What `row` holds for filter `name`: its own field, else the fields it stands for."""
    if not isinstance(row, dict):
        return set()
    fields = (name,) if name in row else ROW_FIELDS.get(name, ())
    return {_text(row[field]) for field in fields if field in row} - {None}


def row_value(row, name):
    """The one value `row` holds for `name` (a choice, a flag), or None."""
    values = row_values(row, name)
    return next(iter(values)) if len(values) == 1 else None


def get_operations(api, schema):
    """(path with its parameters filled in, operation) of every GET in the schema; a path
    parameter takes the value of the row of its parent list that has the most to show."""
    for template, item in schema["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        if "{" not in template:
            yield template, operation
            continue
        parent, name = template.split("{")[0], template.split("{")[1].split("}")[0]
        candidates = [str(row[name]) for row in read_rows(api.get(parent, {"limit": 1000}))][:12]
        assert candidates, f"the demo has nothing under {parent}"

        def size(value, template=template, name=name, operation=operation):
            rows = read_rows(api.get(template.replace("{" + name + "}", value), everything(operation)))
            return len(rows or ())

        yield template.replace("{" + name + "}", max(candidates, key=size)), operation


def query_filters(operation):
    return [p for p in operation.get("parameters", []) if p["in"] == "query" and p["name"] not in CURSORS]


def check_filter(api, path, operation, parameter, rows):
    """Show that one documented filter works; return how (the table's coverage)."""
    name, schema = parameter["name"], parameter.get("schema", {})
    base = everything(operation)

    def ask(value):
        return api.get(path, {**base, name: value})

    def rows_for(value):
        return read_rows(ask(value))

    everyone = {key(row) for row in rows}
    choices = schema.get("enum") or schema.get("items", {}).get("enum")
    if choices:
        assert ask("no-such-choice").status_code == 400, (path, name)
        for choice in choices:
            found = {key(r) for r in rows_for(choice)}
            assert found <= everyone, (path, name, choice)
            if all(row_value(r, name) is not None for r in rows):
                assert found == {key(r) for r in rows if row_value(r, name) == choice}, (path, name, choice)
        return "each choice, the matching rows"
    if schema.get("type") == "boolean":
        yes, no = {key(r) for r in rows_for("true")}, {key(r) for r in rows_for("false")}
        assert not yes & no and yes | no == everyone, (path, name)
        return "true and false split the rows"
    if schema.get("format") == "date-time" or name in ("since", "until"):
        counts = sorted(len(rows_for(moment)) for moment in MOMENTS)
        assert counts == [0, len(rows)], (path, name, counts)
        return "one end of time keeps every row, the other none"
    values = set().union(*(row_values(r, name) for r in rows))
    if values:
        # The rarest value of the data: it narrows the most.
        value = min(sorted(values), key=lambda v: sum(v in row_values(r, name) for r in rows))
        found = rows_for(value)
        for row in found:  # every row matches (exactly, or containing it for a search-like filter)
            assert any(value.lower() in held.lower() for held in row_values(row, name)), (path, name, value, row)
        assert {key(r) for r in rows if value in row_values(r, name)} <= {key(r) for r in found} <= everyone
        return "a value of the data, exactly the rows that match"
    # The rows do not show what it compares (a search, the subject, an owner of either kind):
    # a value that matches nothing must not answer as if the filter were not there.
    answer = ask("987654321" if schema.get("type") in ("integer", "number") else "no-such-value-zz")
    assert answer.status_code in (400, 404) or len(read_rows(answer)) < len(rows), (path, name)
    return "a value matching nothing narrows"


def test_an_unknown_query_parameter_on_any_get_of_the_schema_is_a_400_naming_it(client, api_as, demo):
    """Every GET the schema lists: lists, details, exports, the inventory, the dossier."""
    api = api_as(demo)
    schema = yaml.safe_load(client.get("/api/schema/").content)
    checked = []
    for path, _operation in get_operations(api, schema):
        answer = api.get(path, {"no_such_filter": "1"})
        assert answer.status_code == 400, path
        assert "no_such_filter" in answer.json()["fields"], path
        checked.append(path)
    for covered in ("/api/v1/evidence/export/", "/api/v1/evidence/ocsf/", "/api/v1/workload-inventory/"):
        assert covered in checked
    assert any(path.endswith("/dossier/") for path in checked)


def test_every_documented_filter_of_every_get_returns_the_rows_that_match(client, api_as, demo):
    """Derived from the schema: a new endpoint or filter is in this table by being documented."""
    api = api_as(demo)
    schema = yaml.safe_load(client.get("/api/schema/").content)
    shown, unshown = {}, []
    for path, operation in get_operations(api, schema):
        parameters = operation.get("parameters", [])
        fmt = next((p for p in parameters if p["name"] == "format" and p["in"] == "query"), None)
        if fmt is not None:
            for choice in fmt["schema"]["enum"]:
                answer = api.get(path, {"format": choice})
                assert answer.status_code == 200, (path, choice)
                assert {"jsonl": "ndjson"}.get(choice, choice) in answer["Content-Type"], (path, choice)
            shown[(path, "format")] = "each format"
        filters = query_filters(operation)
        if not filters:
            continue
        rows = read_rows(api.get(path, everything(operation)))
        for parameter in filters:
            if not rows:
                unshown.append((path, parameter["name"]))  # nothing in the demo to narrow
                continue
            shown[(path, parameter["name"])] = check_filter(api, path, operation, parameter, rows)
    assert unshown == []
    assert shown[("/api/v1/evidence/", "workload")] == "a value of the data, exactly the rows that match"
    for path in ("/api/v1/evidence/export/", "/api/v1/evidence/ocsf/", "/api/v1/workload-inventory/"):
        assert any(p == path for p, _ in shown), path
    assert sorted(name for p, name in shown if p.endswith("/dossier/")) == ["kind", "since", "task", "tool", "until"]


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
