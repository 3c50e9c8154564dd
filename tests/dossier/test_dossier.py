"""The agent dossier answers the six questions, in the page and in one JSON answer."""

import statistics
import time
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from approvals.services import decide, submit_request
from identities.models import WorkloadIdentity
from tests.evidence.helpers import record_events
from tests.factories import EntitlementFactory, PolicyFactory

pytestmark = pytest.mark.django_db

# Statements one dossier answer costs, whatever the workload holds: the key, the caller's
# permissions (two), the workload, one page of events, the active grants, the policies,
# the recent requests, and the approvals of those grants and requests together.
DOSSIER_STATEMENTS = 9
DOSSIER_BUDGET_SECONDS = 0.100


@contextmanager
def statements():
    """Every SQL statement run inside, counted at the database cursor. (Django's query log
    is not used: a request's start may reset it, and it stops growing at its cap.)"""
    seen = []

    def count(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield seen


@pytest.fixture
def story(workflow, agent, owner, backup_owner, requester):
    """The agent holds write access approved by the backup owner and did a few things."""
    read = PolicyFactory(workflow=workflow, entitlement=EntitlementFactory(scope="github:repo:read"))
    write = PolicyFactory(
        workflow=workflow, entitlement=EntitlementFactory(scope="github:repo:write", access_level="write")
    )
    asked = submit_request(
        workflow=workflow,
        entitlement=write.entitlement,
        workload=agent,
        on_behalf_of=requester,
        task_ref="CHG-7",
        justification="Merge the release branch.",
        duration_seconds=900,
    )
    decide(asked, approver=backup_owner, decision="approve", comment="Release day.", channel="browser")
    record_events(workflow, 3, workload=agent, kind="tool_call", task_ref="CHG-7")
    record_events(workflow, 2, workload=agent, kind="data_access", task_ref="OPS-1")
    return {"read": read, "write": write, "request": asked}


def test_the_json_dossier_answers_all_six_questions(api_as, auditor, agent, story, backup_owner, requester):
    answer = api_as(auditor).get(f"/api/v1/workload-identities/{agent.slug}/dossier").json()

    identity = answer["workload"]
    assert identity["owner"]["username"] == agent.owner.username
    assert identity["workflow"]["backup_owner"]["username"] == backup_owner.username
    assert identity["identity_source"]
    [grant] = answer["active_grants"]
    assert grant["scope"] == "github:repo:write"
    assert grant["why"]["justification"] == "Merge the release branch."
    assert grant["why"]["task_ref"] == "CHG-7"
    assert [vote["by"]["username"] for vote in grant["why"]["approvals"]] == [backup_owner.username]
    assert {e["scope"]: e["approval_mode"] for e in answer["entitlements"]} == {
        "github:repo:read": "auto",
        "github:repo:write": "owner",
    }
    assert answer["recent_requests"][0]["why"]["on_behalf_of"]["username"] == requester.username
    events = answer["events"]["results"]
    assert [e["kind"] for e in events[:2]] == ["data_access", "data_access"]
    assert all(e["sequence"] and e["sealed"] and e["record_hash"] for e in events)
    assert events == sorted(events, key=lambda e: -e["id"])
    assert answer["kill_switch"]["can_suspend"] is False  # auditors read, never act
    assert answer["kill_switch"]["suspend_api"].endswith(f"/workload-identities/{agent.slug}/suspend/")


def test_the_owner_may_pull_the_kill_switch(api_as, owner, agent, story):
    answer = api_as(owner).get(f"/api/v1/workload-identities/{agent.slug}/dossier/").json()
    assert answer["kill_switch"]["can_suspend"] is True


def test_events_are_bounded_and_page_on_to_the_end(api_as, owner, workflow, agent):
    record_events(workflow, 7, workload=agent)
    client = api_as(owner)
    first = client.get(f"/api/v1/workload-identities/{agent.slug}/dossier?limit=3").json()["events"]
    seen = [e["id"] for e in first["results"]]
    assert len(seen) == 3 and first["next"]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) >= 7
    assert seen == sorted(seen, reverse=True)


def test_events_filter_by_kind_tool_task_and_time(api_as, owner, agent, story):
    client = api_as(owner)
    base = f"/api/v1/workload-identities/{agent.slug}/events/"
    assert {e["kind"] for e in client.get(base + "?kind=data_access").json()["results"]} == {"data_access"}
    assert {e["task_ref"] for e in client.get(base + "?task=OPS-1").json()["results"]} == {"OPS-1"}
    assert [e["tool_name"] for e in client.get(base + "?tool=tool-2&kind=tool_call").json()["results"]] == ["tool-2"]
    assert client.get(base + "?until=2000-01-01").json()["results"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("kind=poem", "kind"),
        ("limit=0", "limit"),
        ("limit=500", "limit"),
        ("before=x", "before"),
        ("since=soon", "since"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(api_as, owner, agent, query, field):
    response = api_as(owner).get(f"/api/v1/workload-identities/{agent.slug}/dossier/?{query}")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_dossier_costs_a_fixed_number_of_queries_whatever_the_workload_holds(
    api_as, owner, workflow, agent, story, requester, backup_owner
):
    client = api_as(owner)
    url = f"/api/v1/workload-identities/{agent.slug}/dossier/"
    assert client.get(url).status_code == 200  # warm: the key's first use is recorded once
    with statements() as few:
        assert client.get(url).status_code == 200
    # Much more history: grants, each with its request and approval, and many events.
    for n in range(8):
        asked = submit_request(
            workflow=workflow,
            entitlement=story["write"].entitlement,
            workload=agent,
            on_behalf_of=requester,
            task_ref=f"CHG-{n}",
            justification="More work.",
            duration_seconds=900,
        )
        decide(asked, approver=backup_owner, decision="approve", comment="ok", channel="browser")
    record_events(workflow, 120, workload=agent)
    with statements() as many:
        answer = client.get(url).json()
    assert len(answer["active_grants"]) == 9 and len(answer["events"]["results"]) == 50
    assert all(grant["why"]["approvals"] for grant in answer["active_grants"])
    assert len(many) == len(few) <= DOSSIER_STATEMENTS, many


def test_the_page_costs_a_fixed_number_of_queries(client, owner, workflow, agent, story, django_assert_max_num_queries):
    record_events(workflow, 40, workload=agent)
    client.force_login(owner)
    with django_assert_max_num_queries(22):
        response = client.get(reverse("identities:workload_detail", args=[agent.slug]))
    assert response.status_code == 200


def test_the_page_shows_the_six_answers(client, owner, backup_owner, agent, story):
    client.force_login(owner)
    page = client.get(reverse("identities:workload_detail", args=[agent.slug])).content.decode()
    for text in (
        "Who it is, who owns it",
        str(backup_owner),
        "What it can do now",
        "Merge the release branch.",
        "What it may ask for",
        "Read access in a medium-risk workflow is approved automatically.",
        "Why: recent requests",
        "What it did",
        "How to stop it",
        f"Suspend {agent}",
    ):
        assert text in page, text
    filtered = client.get(reverse("identities:workload_detail", args=[agent.slug]) + "?kind=data_access")
    assert filtered.content.decode().count("Data access") >= 2
    assert client.get(reverse("identities:workload_detail", args=[agent.slug]) + "?since=never").status_code == 400


def test_outsiders_get_404_for_page_and_api(client, api_as, outsider, requester, agent):
    for person in (outsider, requester):
        client.force_login(person)
        assert client.get(reverse("identities:workload_detail", args=[agent.slug])).status_code == 404
        assert api_as(person).get(f"/api/v1/workload-identities/{agent.slug}/dossier").status_code == 404


def test_a_workload_sees_only_its_own_dossier(api_as, workflow, agent, owner):
    other = WorkloadIdentity.objects.create(name="Other", slug="other-agent", workflow=workflow, owner=owner)
    client = api_as(agent)
    assert client.get(f"/api/v1/workload-identities/{agent.slug}/dossier").status_code == 200
    assert client.get(f"/api/v1/workload-identities/{other.slug}/dossier").status_code == 404


def test_the_dossier_answers_within_100_ms_on_the_demo_data(api_as, settings):
    """Two checks. The statement count is the robust one: it does not grow with the data
    and does not care how busy the machine is. The time is the median of nine answers
    after warm-up; a busy neighbour on a shared machine only ever adds time, so one round
    within the budget proves the code meets it, and up to three rounds keep one burst of
    load elsewhere from failing the suite."""
    settings.DEMO_MODE = True
    call_command("load_demo", quiet=True)
    from identities.models import User

    client = api_as(User.objects.get(username="ada"))  # the demo's security auditor
    medians = {}
    for workload in WorkloadIdentity.objects.all():
        url = f"/api/v1/workload-identities/{workload.slug}/dossier"
        for _ in range(2):  # warm: connections, caches, the key's first use
            assert client.get(url).status_code == 200
        with statements() as seen:
            assert client.get(url).status_code == 200
        assert len(seen) <= DOSSIER_STATEMENTS, (workload.slug, seen)
        for _round in range(3):
            timings = []
            for _ in range(9):
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200
            medians[workload.slug] = statistics.median(timings)
            if medians[workload.slug] < DOSSIER_BUDGET_SECONDS:
                break
        print(f"{workload.slug}: {len(seen)} statements, median {medians[workload.slug] * 1000:.1f} ms")
    assert max(medians.values()) < DOSSIER_BUDGET_SECONDS, medians
