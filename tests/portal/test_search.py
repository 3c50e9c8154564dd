"""The header's search finds workflows, workloads, people and requests — only what the caller may see."""

import pytest
from django.urls import reverse

from tests import factories

from .conftest import ask

pytestmark = pytest.mark.django_db


def search(client, q):
    return client.get(reverse("governance:search"), {"q": q})


@pytest.fixture
def hidden_workflow(identity_source):
    """A retired workflow of someone else: not in the requester's catalogue."""
    stranger = factories.UserFactory(username="stranger", display_name="Sam Stranger")
    workflow = factories.WorkflowFactory(
        name="Payroll export", slug="payroll-export", control_owner=stranger, status="retired"
    )
    factories.WorkloadIdentityFactory(workflow=workflow, owner=stranger, name="Payroll bot", slug="payroll-bot")
    return workflow


def test_an_owner_finds_a_request_by_task_reference_and_by_number(as_owner, write_policy, requesters_agent, requester):
    found = ask(write_policy, agent=requesters_agent, for_whom=requester, task_ref="INC-4711")

    by_task = search(as_owner, "inc-4711").context["results"]
    by_number = search(as_owner, f"#{found.pk}").context["results"]

    assert by_task.requests == [found] and by_number.requests == [found]
    assert f'href="{found.get_absolute_url()}"' in search(as_owner, "INC-4711").content.decode()


def test_workflows_workloads_and_people_are_found_by_name(as_owner, workflow, agent, owner):
    workflow.name = "Incident enrichment"
    workflow.save(update_fields=["name"])
    agent.name = "Incident enricher"
    agent.save(update_fields=["name"])

    results = search(as_owner, "incident").context["results"]
    assert results.workflows == [workflow] and results.workloads == [agent]
    assert search(as_owner, owner.username).context["results"].people == [owner]


def test_a_requester_finds_neither_what_she_may_not_see_nor_its_owner(as_requester, hidden_workflow, write_policy):
    someone_elses = ask(write_policy, person=factories.UserFactory(), task_ref="PAY-1")

    for query in ("payroll", "stranger", "PAY-1", f"#{someone_elses.pk}"):
        assert search(as_requester, query).context["results"].empty, query


def test_an_auditor_finds_everything(as_auditor, hidden_workflow):
    results = search(as_auditor, "payroll").context["results"]
    assert results.workflows == [hidden_workflow] and [w.slug for w in results.workloads] == ["payroll-bot"]
    assert [p.username for p in search(as_auditor, "stranger").context["results"].people] == ["stranger"]


def test_search_costs_the_same_few_queries_however_much_it_finds(
    as_auditor, write_policy, requesters_agent, requester, django_assert_max_num_queries
):
    for n in range(12):
        factories.WorkflowFactory(name=f"Busy workflow {n}")
        ask(write_policy, agent=requesters_agent, for_whom=requester, task_ref=f"BUSY-{n}")

    # Session and user, the navigation badge, then one query per kind of result.
    with django_assert_max_num_queries(9):
        response = search(as_auditor, "busy")
    results = response.context["results"]
    assert len(results.workflows) == 10 and len(results.requests) == 10


def test_a_one_letter_query_finds_nothing_and_says_why(as_owner, workflow):
    response = search(as_owner, "w")
    assert response.context["results"].empty
    assert "two characters" in response.content.decode()


def test_the_header_search_box_is_on_every_page_and_needs_a_sign_in(client, as_owner):
    page = as_owner.get(reverse("governance:dashboard")).content.decode()
    assert 'role="search"' in page and f'action="{reverse("governance:search")}"' in page
    assert client.get(reverse("governance:search"), {"q": "x"}).status_code == 302
