"""The whole path through a real Celery worker and Redis: Slack is down when the request
arrives, the request stays pending and decidable, and the message goes out once Slack is
back; a click in Slack then updates it in place."""

import pytest

from approvals.chat.messages import APPROVE
from approvals.models import AccessRequest, OutboxMessage, SlackConnection, WorkflowChat
from approvals.queues.outbox import RELAY_TASK, retry_now
from governance.celery import app
from tests import factories
from tests.chat.conftest import ask, buttons, interact
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]


def test_a_slack_outage_delays_the_message_and_never_the_request(
    client, start_worker, slack, monkeypatch, owner, requester, workflow
):
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)  # the worker process reads its settings from here
    installation = SlackConnection(name="Acme", team_id=slack.team_id)
    installation.bot_token, installation.signing_secret = slack.token, slack.signing_secret
    installation.save()
    WorkflowChat.objects.create(workflow=workflow, slack=installation, slack_channel="C0APPROVALS")
    slack.add_user("UOWNER", email=owner.email)
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    policy = factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    start_worker()

    slack.down = True
    request = ask(policy, requester)
    post = lambda: OutboxMessage.objects.filter(topic="chat.slack.post").first()  # noqa: E731
    assert wait_for(lambda: post() is not None and post().attempts >= 1 and "503" in post().last_error, timeout=30)
    assert AccessRequest.objects.get(pk=request.pk).state == "pending" and slack.messages == {}

    slack.down = False
    retry_now([post().pk])
    app.send_task(RELAY_TASK)  # what beat sends every 30 seconds
    assert wait_for(lambda: len(slack.messages) == 1, timeout=30)
    [(channel, ts)] = slack.messages

    assert interact(client, installation, slack.press(channel, ts, APPROVE, "UOWNER")).status_code == 200
    assert AccessRequest.objects.get(pk=request.pk).state == "approved"
    assert wait_for(lambda: buttons(slack.messages[(channel, ts)]) == [], timeout=30)
    assert slack.rejected == []
