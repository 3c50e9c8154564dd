"""Teams: a workflow's channel hears of pending requests and their outcome as Adaptive
Cards with a deep link into the portal, where the decision is taken."""

import pytest
from django.urls import reverse

from approvals.models import OutboxMessage, WorkflowChat
from approvals.queues.outbox import relay, retry_now
from tests.chat.conftest import ask, deliver_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams_route(workflow, teams):
    route = WorkflowChat(workflow=workflow)
    route.teams_webhook = teams.webhook_url
    route.save()
    return route


def facts(card):
    return {f["title"]: f["value"] for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]}


def test_a_pending_request_and_its_outcome_reach_the_teams_channel(client, write_policy, requester, owner,
                                                                   teams_route, teams):  # fmt: skip
    request = ask(write_policy, requester)
    deliver_all()
    [card] = teams.cards
    assert card["body"][0]["text"].startswith(f"Access request #{request.pk} waits for approval")
    assert (
        facts(card)["What"] == "github:repo:write (Write)" and facts(card)["Why"] == "Push the fix for the flaky build"
    )
    [link] = card["actions"]
    assert link["type"] == "Action.OpenUrl" and link["url"].endswith(f"/access/requests/{request.pk}/")
    client.force_login(owner)
    client.post(reverse("approvals:request_decide", args=[request.pk]), {"decision": "approve"})
    deliver_all()
    assert len(teams.cards) == 2 and "approved" in teams.cards[1]["body"][0]["text"]
    assert "Owner approved in the portal" in teams.cards[1]["body"][-1]["text"]
    assert teams.rejected == []


def test_the_webhook_address_is_stored_sealed(teams_route, teams):
    stored = WorkflowChat.objects.filter(pk=teams_route.pk).values_list("teams_webhook_sealed", flat=True).get()
    assert teams.sig not in stored and "workflows" not in stored
    assert WorkflowChat.objects.get(pk=teams_route.pk).teams_webhook == teams.webhook_url


def test_a_teams_outage_is_retried_and_never_leaks_the_address(write_policy, requester, teams_route, teams):
    teams.down = True
    ask(write_policy, requester)
    assert relay() == {"retry": 1}
    row = OutboxMessage.objects.get(topic="chat.teams.post")
    assert "503" in row.last_error and teams.sig not in row.last_error and "workflows" not in row.last_error
    teams.down = False
    retry_now([row.pk])
    deliver_all()
    assert len(teams.cards) == 1
