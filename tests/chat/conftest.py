"""Slack and Teams set-up: the fakes over real HTTP, an installation, a workflow routed to
a channel (and its approvers' direct messages), and the people's Slack users."""

import json
from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from approvals.models import SlackConnection, WorkflowChat
from approvals.queues.outbox import relay
from approvals.services import submit_request
from tests import factories
from tests.peers.fakes.slack import SlackFake
from tests.peers.fakes.teams import TeamsFake


@pytest.fixture
def slack(settings):
    fake = SlackFake()
    settings.SLACK_API_URL = fake.api_url
    settings.SLACK_RESPONSE_URL_PREFIX = fake.hooks_url
    yield fake
    fake.close()


@pytest.fixture
def teams():
    fake = TeamsFake()
    yield fake
    fake.close()


@pytest.fixture
def installation(db, slack):
    connection = SlackConnection(name="Acme", team_id=slack.team_id)
    connection.bot_token = slack.token
    connection.signing_secret = slack.signing_secret
    connection.save()
    return connection


@pytest.fixture
def people_in_slack(slack, owner, backup_owner, requester, outsider):
    """Slack users with the same confirmed e-mail addresses as the Mandate people."""
    for slack_id, person in (("UOWNER", owner), ("UBACKUP", backup_owner), ("UREQUESTER", requester)):
        slack.add_user(slack_id, email=person.email.upper(), name=person.username)
    slack.add_user("USTRANGER", email="stranger@elsewhere.test", name="stranger")
    return slack


@pytest.fixture
def routed(workflow, installation):
    return WorkflowChat.objects.create(workflow=workflow, slack=installation, slack_channel="C0APPROVALS")


@pytest.fixture
def write_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write", name="Repo write")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


def ask(policy, requester, **extra):
    return submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=1800,
        requested_by=requester,
        task_ref="PLAT-1234",
        justification="Push the fix for the flaky build",
        **extra,
    )


def deliver_all(rounds=10):
    """Run the relay until nothing is due (what the worker does every few seconds)."""
    for _ in range(rounds):
        if not relay():
            return


def interact(client, installation, signed):
    body, headers = signed
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.generic(
        "POST",
        reverse("chat_hooks:slack_interactivity", args=[installation.pk]),
        data=body,
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


def channel_message(slack):
    [(channel, ts, message)] = slack.message_for("C")
    return channel, ts, message


def buttons(message):
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def text_of(message):
    parts = []
    for block in message["blocks"]:
        for piece in [block.get("text")] + list(block.get("fields") or []) + list(block.get("elements") or []):
            if isinstance(piece, dict) and "text" in piece:
                parts.append(piece["text"] if isinstance(piece["text"], str) else piece["text"].get("text", ""))
    return "\n".join(parts)


def payload_of(body):
    return json.loads(parse_qs(body.decode())["payload"][0])
