"""Approving in Slack: the pending request's message, the buttons, the deny modal, the
person behind a Slack user, and the same rules as everywhere else."""

import time

import pytest
from django.urls import reverse

from approvals.chat.messages import APPROVE, DENY, REASON_BLOCK, REASON_INPUT
from approvals.models import (
    AccessRequest,
    ChatMessage,
    NotificationPreference,
    OutboxMessage,
    SlackAccount,
    SlackActionReceipt,
)
from approvals.queues.outbox import relay, retry_now
from governance.models import EvidenceRecord
from tests.chat.conftest import ask, buttons, channel_message, deliver_all, interact, payload_of, text_of

pytestmark = pytest.mark.django_db


def pending(write_policy, requester, slack):
    request = ask(write_policy, requester)
    deliver_all()
    return request, channel_message(slack)


def test_a_pending_request_is_posted_with_everything_needed_to_decide(
    write_policy, requester, routed, slack, owner, backup_owner
):
    request, (channel, ts, message) = pending(write_policy, requester, slack)
    text = text_of(message)
    for fact in ("Requester", "github:repo:write", "30 min", "PLAT-1234", "Push the fix for the flaky build",
                 "Owner", "Backup", f"/access/requests/{request.pk}/", "Waiting for approval: 0 of 1"):  # fmt: skip
        assert fact in text, fact
    assert "*Policy*" in text
    assert buttons(message) == [APPROVE, DENY]
    assert ChatMessage.objects.get(request=request).ts == ts
    assert slack.rejected == []


def test_the_owner_approves_in_slack_and_the_message_shows_it_in_place(
    client, write_policy, requester, routed, people_in_slack, owner
):
    slack = people_in_slack
    request, (channel, ts, _message) = pending(write_policy, requester, slack)
    response = interact(client, routed.slack, slack.press(channel, ts, APPROVE, "UOWNER"))
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.state == "approved" and request.grant.status == "active"
    approval = request.approvals.get()
    assert (approval.approver, approval.channel) == (owner, "chat")
    evidence = EvidenceRecord.objects.filter(workflow=request.workflow, kind="approval", access_request=request).last()
    assert evidence.summary.endswith(f"request #{request.pk} via chat")
    # Mapped by the confirmed e-mail address Slack gave, and remembered.
    assert SlackAccount.objects.get(slack_user_id="UOWNER").user == owner
    deliver_all()
    message = slack.messages[(channel, ts)]
    assert message["updates"] == 1 and buttons(message) == []
    assert "Approved" in text_of(message) and "Owner approved in Slack" in text_of(message)
    assert slack.rejected == []


def test_deny_asks_for_a_reason_in_a_modal(client, write_policy, requester, routed, people_in_slack):
    slack = people_in_slack
    request, (channel, ts, _message) = pending(write_policy, requester, slack)
    assert interact(client, routed.slack, slack.press(channel, ts, DENY, "UBACKUP")).status_code == 200
    [opened] = slack.views
    assert opened["user"] == "UBACKUP" and AccessRequest.objects.get(pk=request.pk).state == "pending"
    too_short = slack.submit_view(opened["view"], "UBACKUP", {REASON_BLOCK: {REASON_INPUT: "no"}})
    answer = interact(client, routed.slack, too_short).json()
    assert answer["response_action"] == "errors" and REASON_BLOCK in answer["errors"]
    submitted = slack.submit_view(opened["view"], "UBACKUP", {REASON_BLOCK: {REASON_INPUT: "Use the staging repo"}})
    assert interact(client, routed.slack, submitted).status_code == 200
    request.refresh_from_db()
    assert request.state == "denied" and "Use the staging repo" in request.state_reason
    deliver_all()
    message = slack.messages[(channel, ts)]
    assert buttons(message) == [] and "Denied" in text_of(message) and "Use the staging repo" in text_of(message)
    assert slack.rejected == []


def test_a_decision_in_the_portal_updates_the_slack_message(client, write_policy, requester, routed, slack, owner):
    request, (channel, ts, _message) = pending(write_policy, requester, slack)
    client.force_login(owner)
    decide_url = reverse("approvals:request_decide", args=[request.pk])
    response = client.post(decide_url, {"decision": "deny", "comment": "No"})
    assert response.status_code in (200, 302)
    deliver_all()
    message = slack.messages[(channel, ts)]
    assert buttons(message) == [] and "Owner denied in the portal" in text_of(message)


class TestRefusals:
    def test_a_forged_signature_is_refused_and_changes_nothing(self, client, write_policy, requester, routed,
                                                              people_in_slack):  # fmt: skip
        slack = people_in_slack
        request, (channel, ts, _m) = pending(write_policy, requester, slack)
        body, headers = slack.press(channel, ts, APPROVE, "UOWNER")
        forged = slack.sign(payload_of(body), secret="not-the-signing-secret")
        response = interact(client, routed.slack, forged)
        assert response.status_code == 401 and "signature" in response.json()["message"]
        assert AccessRequest.objects.get(pk=request.pk).state == "pending"

    def test_a_stale_action_is_refused(self, client, write_policy, requester, routed, people_in_slack):
        slack = people_in_slack
        request, (channel, ts, _m) = pending(write_policy, requester, slack)
        body, headers = slack.press(channel, ts, APPROVE, "UOWNER")
        payload = payload_of(body)
        stale = slack.sign(payload, timestamp=time.time() - 6 * 60)
        response = interact(client, routed.slack, stale)
        assert response.status_code == 401 and "too old" in response.json()["message"]
        assert AccessRequest.objects.get(pk=request.pk).state == "pending"

    def test_a_replayed_action_is_refused(self, client, write_policy, requester, routed, people_in_slack, owner):
        slack = people_in_slack
        write_policy.approval_mode = "two_person"
        write_policy.save()
        request, (channel, ts, _m) = pending(write_policy, requester, slack)
        signed = slack.press(channel, ts, APPROVE, "UOWNER")
        assert interact(client, routed.slack, signed).status_code == 200
        again = interact(client, routed.slack, signed)
        assert again.status_code == 401 and "replay" in again.json()["message"]
        assert request.approvals.count() == 1 and SlackActionReceipt.objects.count() == 1

    def test_another_workspace_is_refused(self, client, write_policy, requester, routed, people_in_slack):
        slack = people_in_slack
        request, (channel, ts, _m) = pending(write_policy, requester, slack)
        body, _headers = slack.press(channel, ts, APPROVE, "UOWNER")
        payload = payload_of(body)
        payload["team"]["id"] = "T0OTHER"
        assert interact(client, routed.slack, slack.sign(payload)).status_code == 403

    @pytest.mark.parametrize("slack_user", ["USTRANGER", "UNCONFIRMED", "UNKNOWN"])
    def test_an_unmapped_slack_user_cannot_decide(self, client, write_policy, requester, routed, people_in_slack,
                                                   owner, slack_user):  # fmt: skip
        slack = people_in_slack
        slack.add_user("UNCONFIRMED", email=owner.email, confirmed=False)
        request, (channel, ts, _m) = pending(write_policy, requester, slack)
        assert interact(client, routed.slack, slack.press(channel, ts, APPROVE, slack_user)).status_code == 200
        assert AccessRequest.objects.get(pk=request.pk).state == "pending" and not request.approvals.exists()
        deliver_all()
        [(to, text)] = slack.ephemerals
        assert to == slack_user and "does not know who you are" in text
        assert not SlackAccount.objects.filter(slack_user_id=slack_user).exists()

    def test_the_requester_cannot_approve_their_own_request_from_slack(
        self, client, write_policy, requester, routed, people_in_slack
    ):
        slack = people_in_slack
        # Even as an owner of the workflow: separation of duties is the service's rule.
        routed.workflow.backup_owner = requester
        routed.workflow.save()
        request, (channel, ts, _m) = pending(write_policy, requester, slack)
        interact(client, routed.slack, slack.press(channel, ts, APPROVE, "UREQUESTER"))
        assert AccessRequest.objects.get(pk=request.pk).state == "pending"
        deliver_all()
        [(to, text)] = slack.ephemerals
        assert to == "UREQUESTER" and "your own request" in text
        # Nor can they open the deny form.
        interact(client, routed.slack, slack.press(channel, ts, DENY, "UREQUESTER"))
        assert slack.views == []


def test_two_person_approval_needs_two_distinct_people_across_channels(
    client, write_policy, requester, routed, people_in_slack, owner, backup_owner
):
    slack = people_in_slack
    write_policy.approval_mode = "two_person"
    write_policy.save()
    request, (channel, ts, _m) = pending(write_policy, requester, slack)
    interact(client, routed.slack, slack.press(channel, ts, APPROVE, "UOWNER"))
    request.refresh_from_db()
    assert request.state == "pending" and request.approvals.count() == 1
    deliver_all()
    assert "1 of 2" in text_of(slack.messages[(channel, ts)])
    # The same person again, now in the portal: refused.
    client.force_login(owner)
    again = client.post(reverse("approvals:request_decide", args=[request.pk]), {"decision": "approve"})
    assert again.status_code == 409
    assert AccessRequest.objects.get(pk=request.pk).state == "pending"
    # A second, distinct person in the portal completes it.
    client.force_login(backup_owner)
    client.post(reverse("approvals:request_decide", args=[request.pk]), {"decision": "approve"})
    request.refresh_from_db()
    assert request.state == "approved" and {a.channel for a in request.approvals.all()} == {"chat", "browser"}
    deliver_all()
    text = text_of(slack.messages[(channel, ts)])
    assert "Owner approved in Slack" in text and "Backup approved in the portal" in text


def test_a_slack_outage_leaves_the_request_pending_and_the_message_goes_out_later(
    client, write_policy, requester, routed, slack, owner
):
    slack.down = True
    request = ask(write_policy, requester)
    assert relay() == {"retry": 1}
    row = OutboxMessage.objects.get(topic="chat.slack.post")
    assert "503" in row.last_error and row.attempts == 1
    routed.slack.refresh_from_db()
    assert "503" in routed.slack.last_error
    assert AccessRequest.objects.get(pk=request.pk).state == "pending" and slack.messages == {}
    slack.down = False
    retry_now([row.pk])
    deliver_all()
    channel, ts, message = channel_message(slack)
    assert buttons(message) == [APPROVE, DENY]
    # Decisions never waited for Slack: one taken now still updates the message.
    client.force_login(owner)
    client.post(reverse("approvals:request_decide", args=[request.pk]), {"decision": "approve"})
    deliver_all()
    assert buttons(slack.messages[(channel, ts)]) == []


def test_approvers_with_a_linked_slack_user_get_a_direct_message(
    write_policy, requester, routed, people_in_slack, owner, backup_owner
):
    slack = people_in_slack
    routed.slack_dm_approvers = True
    routed.save()
    SlackAccount.objects.create(connection=routed.slack, slack_user_id="UOWNER", user=owner, linked_by="admin")
    SlackAccount.objects.create(connection=routed.slack, slack_user_id="UBACKUP", user=backup_owner, linked_by="admin")
    NotificationPreference.objects.create(user=backup_owner, slack_dm=False)
    ask(write_policy, requester)
    deliver_all()
    assert sorted(c for (c, _ts) in slack.messages) == ["C0APPROVALS", "DOWNER"]
    assert slack.rejected == []
