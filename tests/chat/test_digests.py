"""The daily Slack notices: one direct message a person a day, with what is due."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.chat.digests import send_chat_digests
from approvals.models import ChatDigest, NotificationPreference, SlackAccount
from governance.models import ReviewCampaign
from tests import factories
from tests.chat.conftest import ask, deliver_all

pytestmark = pytest.mark.django_db

MORNING = timezone.make_aware(timezone.datetime(2026, 12, 3, 10, 0))


@pytest.fixture
def linked(installation, owner, slack):
    slack.add_user("UOWNER", email=owner.email)
    return SlackAccount.objects.create(connection=installation, slack_user_id="UOWNER", user=owner, linked_by="admin")


def dm_texts(slack):
    return [
        "\n".join(b["text"]["text"] for b in m["blocks"]) for (c, _ts), m in slack.messages.items() if c == "DOWNER"
    ]


def test_expiring_access_reviews_due_and_waiting_requests_come_in_one_message_a_day(
    linked, slack, workflow, owner, requester, write_policy
):
    with time_machine.travel(MORNING, tick=False):
        opened = MORNING - timedelta(days=10)
        ReviewCampaign.objects.create(workflow=workflow, opened_at=opened, due_at=MORNING + timedelta(days=2))
        request = ask(write_policy, requester)
        read = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
        read_policy = factories.PolicyFactory(workflow=workflow, entitlement=read, max_ttl_seconds=3600)
        grant = ask(read_policy, owner).grant
        assert send_chat_digests() == {"claimed": 1}
        assert send_chat_digests() == {"claimed": 0}
        deliver_all()
    [text] = dm_texts(slack)
    assert "Your access that expires within a day" in text and f"/access/grants/{grant.pk}/" in text
    assert "Access reviews due" in text and workflow.name in text
    assert "Requests waiting for your decision" in text and f"#{request.pk}" in text
    assert ChatDigest.objects.get().sent_at is not None
    assert slack.rejected == []


def test_nothing_is_sent_before_the_morning_or_to_who_turned_slack_off(linked, slack, owner, requester, write_policy):
    with time_machine.travel(MORNING.replace(hour=6), tick=False):
        ask(write_policy, requester)
        assert send_chat_digests()["claimed"] == 0
    NotificationPreference.objects.create(user=owner, slack_dm=False)
    with time_machine.travel(MORNING, tick=False):
        assert send_chat_digests() == {"claimed": 0}
    assert ChatDigest.objects.count() == 0
